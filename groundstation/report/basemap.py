"""A base map under the report's maps, from the XYZ tiles the overlay uses (``overlay.tile_url``).

Tiles are read once per report from the configured template: a local tile folder
(``file:///srv/tiles/{z}/{x}/{y}.png`` or a plain path) or a tile server on the district office's
network (``http://127.0.0.1:8081/{z}/{x}/{y}.png``), each request with a timeout. The mosaic is
embedded in the page like every figure, so the report stays self-contained. Tiles that cannot be
read leave the map without a base (said in the report's notes), never a failed report.

Web Mercator tiles (slippy-map numbering). The mosaic is placed in the map's local east-north
metres by its corners: over a district a few kilometres wide the Mercator scale changes by far
less than 0.1 %, below a pixel of the figure.
"""

from __future__ import annotations

import math
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_TILES = 36
"""At most this many tiles per map (6 × 6)."""
TIMEOUT_S = 5.0
"""Per-tile read timeout, seconds."""


def tile_xy(lat: float, lon: float, z: int) -> tuple[float, float]:
    """Fractional tile coordinates of a WGS-84 point at zoom ``z``."""
    n = 2**z
    lat_r = math.radians(max(-85.0511, min(85.0511, lat)))
    return (lon + 180.0) / 360.0 * n, (1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n


def tile_corner(x: float, y: float, z: int) -> tuple[float, float]:
    """``(lat, lon)`` of tile coordinates ``(x, y)`` at zoom ``z``."""
    n = 2**z
    lon = x / n * 360.0 - 180.0
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
    return lat, lon


def tiles_for(bounds: tuple[float, float, float, float], max_tiles: int = MAX_TILES):
    """The zoom and tiles covering ``bounds`` (lon0, lat0, lon1, lat1), as fine as ``max_tiles``
    allows (zoom <= 19).

    Returns:
        ``(z, [(x, y), ...])``.
    """
    lon0, lat0, lon1, lat1 = bounds
    for z in range(19, -1, -1):
        x0, y0 = tile_xy(lat1, lon0, z)
        x1, y1 = tile_xy(lat0, lon1, z)
        xs = range(int(math.floor(x0)), int(math.floor(x1)) + 1)
        ys = range(int(math.floor(y0)), int(math.floor(y1)) + 1)
        if len(xs) * len(ys) <= max_tiles:
            return z, [(x, y) for y in ys for x in xs]
    return 0, [(0, 0)]


@dataclass
class BaseMap:
    """A tile mosaic: ``image`` (H, W, 3) RGB uint8 and its corners ``nw`` / ``se`` (lat, lon)."""

    image: np.ndarray
    nw: tuple[float, float]
    se: tuple[float, float]


def _read(url: str) -> bytes:
    if url.startswith("file://"):
        return Path(url[len("file://") :]).read_bytes()
    if "://" not in url:
        return Path(url).read_bytes()
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as r:
        return r.read()


def load_basemap(template: str, bounds: tuple[float, float, float, float]) -> BaseMap:
    """Read and stitch the tiles of ``template`` covering ``bounds`` (lon0, lat0, lon1, lat1).

    Raises:
        OSError: A tile cannot be read or decoded (the caller draws no base map).
    """
    import cv2

    z, tiles = tiles_for(bounds)
    xs = sorted({x for x, _ in tiles})
    ys = sorted({y for _, y in tiles})
    rows = []
    for y in ys:
        row = []
        for x in xs:
            url = template.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))
            data = np.frombuffer(_read(url), np.uint8)
            img = cv2.imdecode(data, cv2.IMREAD_COLOR)
            if img is None:
                raise OSError(f"tile {url} is not an image")
            row.append(cv2.resize(img, (256, 256)) if img.shape[:2] != (256, 256) else img)
        rows.append(np.hstack(row))
    mosaic = cv2.cvtColor(np.vstack(rows), cv2.COLOR_BGR2RGB)
    return BaseMap(mosaic, tile_corner(xs[0], ys[0], z), tile_corner(xs[-1] + 1, ys[-1] + 1, z))


def draw_basemap(ax, base: BaseMap, frame) -> None:
    """Draw ``base`` under everything on a local-metres axes of ``frame`` (limits unchanged)."""
    lim = ax.get_xlim(), ax.get_ylim()
    x0, y1 = frame.to_local(*base.nw)
    x1, y0 = frame.to_local(*base.se)
    ax.imshow(
        base.image, extent=(float(x0), float(x1), float(y0), float(y1)), origin="upper", zorder=0
    )
    ax.set_xlim(*lim[0])
    ax.set_ylim(*lim[1])
