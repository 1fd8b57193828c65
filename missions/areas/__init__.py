"""Districts and no-fly zones: read, validate, and hold them in a local metric frame.

Example:
    >>> from missions.areas import load_area
    >>> area = load_area("configs/districts/demo.geojson")          # doctest: +SKIP
    >>> area.name, round(area.area_m2), len(area.holes)              # doctest: +SKIP

Supported files (the format is detected from the content, not the extension):

* GeoJSON (RFC 7946): Polygon, MultiPolygon, Feature, FeatureCollection; interior rings are holes.
* KML / KMZ: Polygon placemarks with outerBoundaryIs / innerBoundaryIs.
* QGroundControl ``.plan`` geoFence (v1 and v2): inclusion polygons/circles are the area,
  exclusion polygons/circles are holes.
* MAVLink fence lists saved as WPL (``fence.waypoints``).
* Mission Planner fence ``.txt``: ``lat lon`` per line, the first line is the return point.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from missions.areas.model import Area, Hole, RawArea, build_area
from missions.areas.readers import (
    GEOJSON_TYPES,
    read_fence_items,
    read_fence_txt,
    read_geojson,
    read_kml,
    read_qgc_geofence,
)
from missions.errors import AreaError, MissionFileError
from missions.textio import decode_text, loads_json, read_bytes

__all__ = ["Area", "Hole", "area_from_config", "load_area", "read_area_file"]

log = logging.getLogger("missions.areas")


def read_area_file(path: str | os.PathLike) -> RawArea:
    """Read any supported area file into a :class:`RawArea` (rings validated, parts not merged).

    Raises:
        AreaError: The file is missing, of an unknown kind, or holds a bad polygon; or it is
            not a regular file, too big, binary, or nested too deeply to read.
    """
    try:
        return _read_area_file(path)
    except RecursionError:
        raise AreaError(f"{path}: nested too deeply to be an area file") from None


def _read_area_file(path: str | os.PathLike) -> RawArea:
    p = Path(path)
    source = str(p)
    data = read_bytes(p, AreaError, "area file")
    if data[:2] == b"PK":
        return read_kml(data, source)
    text = decode_text(data, source, AreaError)
    head = text.lstrip("\ufeff \t\n")
    if not head:
        raise AreaError(f"{source}: empty file")
    if head.startswith("<"):
        # the original bytes: the XML declaration may name another encoding (Latin-1...)
        return read_kml(data.lstrip(b"\xef\xbb\xbf \t\r\n"), source)
    if head.startswith(("{", "[")) or p.suffix.lower() in (".geojson", ".json", ".plan"):
        # by content, or by a JSON name: a broken .geojson is a JSON error, not a "fence file"
        obj = loads_json(text, source, AreaError)
        if isinstance(obj, dict) and obj.get("type") in GEOJSON_TYPES:
            return read_geojson(obj, source)
        from missions.formats.qgc_json import is_qgc_json

        if isinstance(obj, dict) and (is_qgc_json(obj) or "geoFence" in obj):
            return read_qgc_geofence(obj, source)
        raise AreaError(
            f"{source}: JSON but neither GeoJSON (type Polygon/MultiPolygon/Feature/FeatureCollection) "
            "nor a QGroundControl .plan with a geoFence"
        )
    from missions.formats.wpl import is_wpl, parse_wpl

    if is_wpl(text):
        try:
            mf = parse_wpl(text, source)
        except MissionFileError as exc:
            raise AreaError(str(exc)) from None
        if not mf.fence:
            raise AreaError(
                f"{source}: a WPL mission without fence items; an area needs fence polygon vertices "
                "(MAV_CMD 5001) or a polygon file (GeoJSON, KML, .plan geoFence)"
            )
        return read_fence_items(mf.fence, source)
    return read_fence_txt(text, source)


def load_area(
    path: str | os.PathLike,
    *,
    no_fly=(),
    home=None,
    max_home_distance_km: float = 50.0,
    name: str | None = None,
) -> Area:
    """Read, validate and build a district :class:`Area`.

    Args:
        path: Area file (GeoJSON, KML/KMZ, .plan geoFence, fence WPL, fence .txt).
        no_fly: Extra no-fly zones (``missions.settings.NoFlyZone``-like: ``name``, ``polygon``
            of ``[lat, lon]``, or ``center`` + ``radius_m``).
        home: Home (an object with ``lat_deg``/``lon_deg``) to check the area against; default the
            ``home`` point in the file, if any. The check catches swapped lat/lon.
        max_home_distance_km: Largest accepted distance between home and the area.
        name: Name override.

    Returns:
        The :class:`Area` (``polygon_geo``, ``holes``, ``frame``, ``free_local``...).

    Raises:
        AreaError: One line naming file, ring and vertex: unreadable file, self-intersecting ring
            (with shapely's reason and the crossing edges), fewer than 3 distinct vertices,
            coordinates out of range or swapped, KML without polygon, separate parts, an area
            thousands of km from home.
    """
    raw = read_area_file(path)
    area = build_area(raw, no_fly=no_fly, name=name)
    if home is not None:
        area.check_home(float(home.lat_deg), float(home.lon_deg), max_home_distance_km, "home")
    elif area.home_hint is not None:
        lat, lon, _ = area.home_hint
        area.check_home(lat, lon, max_home_distance_km, "the home point in the file")
    return area


def area_from_config(cfg, area_path: str | os.PathLike | None = None) -> Area:
    """Load the area named by a config (duck-typed ``cfg.area`` section) or by ``area_path``.

    Raises:
        AreaError: No area file given, or the file is bad.
    """
    section = cfg.area
    path = area_path if area_path is not None else section.district
    if path is None:
        raise AreaError("no area given: pass an area file or set area.district in the config")
    return load_area(
        path,
        no_fly=section.no_fly,
        home=section.home,
        max_home_distance_km=section.max_home_distance_km,
    )
