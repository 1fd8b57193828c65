"""Helpers for the officers' page tests: a tiny generated MBTiles base map and a scripted hub."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from groundstation.overlay.tiles import write_mbtiles

DISTRICT = [
    [123.43, 41.79],
    [123.432, 41.79],
    [123.432, 41.791],
    [123.43, 41.791],
    [123.43, 41.79],
]
HOLE = [[123.4305, 41.7903], [123.4308, 41.7903], [123.4308, 41.7906], [123.4305, 41.7903]]
BOUNDS = (123.428, 41.789, 123.434, 41.792)
"""West, south, east, north (degrees) of the generated base map."""


def tile_xy(lat_deg: float, lon_deg: float, z: int) -> tuple[int, int]:
    """XYZ tile holding a point (slippy-map formula, Web Mercator)."""
    n = 2**z
    x = int((lon_deg + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat_deg))) / math.pi) / 2 * n)
    return x, y


def make_basemap(path: Path, zooms=(15, 16, 17, 18)) -> Path:
    """A small MBTiles of PNG tiles over :data:`BOUNDS`: a beige ground with a street grid and
    the tile's address written on it, so a screenshot shows tiles were drawn."""
    import cv2

    w, s, e, n = BOUNDS
    tiles = {}
    for z in zooms:
        x0, y0 = tile_xy(n, w, z)
        x1, y1 = tile_xy(s, e, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                img = np.full((256, 256, 3), (214, 230, 238), np.uint8)  # BGR beige
                for k in range(0, 256, 64):
                    cv2.line(img, (k + 20, 0), (k + 20, 255), (255, 255, 255), 6)
                    cv2.line(img, (0, k + 40), (255, k + 40), (255, 255, 255), 6)
                cv2.putText(img, f"{z}/{x}/{y}", (8, 128), 0, 0.6, (120, 120, 120), 1)
                ok, png = cv2.imencode(".png", img)
                tiles[(z, x, y)] = png.tobytes()
    return write_mbtiles(path, tiles, name="test streets", bounds=",".join(map(str, BOUNDS)))
