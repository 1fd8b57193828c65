"""An offline base map: raster tiles from an MBTiles file (``overlay.basemap``).

MBTiles 1.3 (Mapbox spec): an SQLite file with ``metadata(name, value)`` and
``tiles(zoom_level, tile_column, tile_row, tile_data)``; rows count from the south (TMS), so an
XYZ request ``z/x/y`` reads ``tile_row = 2**z - 1 - y``. Raster formats only (png, jpg, webp).
Make one for a district with any MBTiles tool (e.g. ``gdal_translate -of MBTILES`` on an
orthophoto, or a tile downloader run where the internet is allowed); the ground station never
fetches tiles itself.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from missions.errors import ConfigError

MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


class MBTiles:
    """Read-only tile access to an MBTiles file (thread-safe).

    Args:
        path: The ``.mbtiles`` file.

    Raises:
        ConfigError: The file is missing, not SQLite, has no ``tiles`` table, or holds vector
            tiles (``pbf``) the page cannot draw.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"overlay.basemap: {self.path} does not exist")
        try:
            self._db = sqlite3.connect(
                f"file:{self.path.resolve()}?mode=ro", uri=True, check_same_thread=False
            )
            meta = dict(self._db.execute("SELECT name, value FROM metadata").fetchall())
            zooms = self._db.execute(
                "SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles"
            ).fetchone()
        except sqlite3.Error as exc:
            raise ConfigError(
                f"overlay.basemap: {self.path} is not an MBTiles file ({exc})"
            ) from exc
        self.format = str(meta.get("format", "png")).lower()
        if self.format not in MEDIA_TYPES:
            raise ConfigError(
                f"overlay.basemap: {self.path} holds {self.format} tiles; use raster tiles "
                "(png, jpg or webp)"
            )
        self.name = meta.get("name", self.path.stem)
        self.attribution = meta.get("attribution", "")
        self.minzoom = int(meta.get("minzoom", zooms[0] if zooms[0] is not None else 0))
        self.maxzoom = int(meta.get("maxzoom", zooms[1] if zooms[1] is not None else 0))
        self.bounds = [float(v) for v in meta["bounds"].split(",")] if "bounds" in meta else None
        self._lock = threading.Lock()

    def tile(self, z: int, x: int, y: int) -> tuple[bytes, str] | None:
        """The tile at XYZ ``z/x/y`` as ``(bytes, media type)``, or None when absent."""
        if z < 0 or not (0 <= x < 2**z and 0 <= y < 2**z):
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                (z, x, 2**z - 1 - y),
            ).fetchone()
        return (bytes(row[0]), MEDIA_TYPES[self.format]) if row else None

    def info(self) -> dict:
        """What the page needs: ``url``, ``minzoom``, ``maxzoom``, ``bounds`` (W,S,E,N), name."""
        return {
            "url": "/api/tiles/{z}/{x}/{y}",
            "name": self.name,
            "attribution": self.attribution,
            "minzoom": self.minzoom,
            "maxzoom": self.maxzoom,
            "bounds": self.bounds,
        }


def write_mbtiles(path: str | Path, tiles: dict[tuple[int, int, int], bytes], **meta: str) -> Path:
    """Write tiles (``{(z, x, y) XYZ: image bytes}``) as an MBTiles file (tests, small maps).

    Args:
        path: Output file (replaced).
        tiles: The tiles, keyed by XYZ address.
        **meta: Metadata rows (``name``, ``format`` (default ``png``), ``bounds``...).

    Returns:
        ``path``.
    """
    path = Path(path)
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    try:
        db.executescript(
            "CREATE TABLE metadata (name TEXT, value TEXT);"
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,"
            " tile_data BLOB);"
            "CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);"
        )
        zs = [z for z, _, _ in tiles] or [0]
        meta = {"name": path.stem, "format": "png", "minzoom": min(zs), "maxzoom": max(zs), **meta}
        db.executemany("INSERT INTO metadata VALUES (?, ?)", [(k, str(v)) for k, v in meta.items()])
        db.executemany(
            "INSERT INTO tiles VALUES (?, ?, ?, ?)",
            [(z, x, 2**z - 1 - y, data) for (z, x, y), data in tiles.items()],
        )
        db.commit()
    finally:
        db.close()
    return path
