"""Shapely geometries between geographic (lon, lat) and local metric (east, north) coordinates.

Geographic shapely geometries in dronepatrol follow GeoJSON order: ``x = longitude``,
``y = latitude`` (degrees, WGS-84). Local geometries are in metres in a
:class:`~missions.geo.LocalFrame` (azimuthal equidistant, ``x`` east, ``y`` north).
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from missions.geo import LocalFrame


def geo_to_local(geom: BaseGeometry, frame: LocalFrame) -> BaseGeometry:
    """Project a (lon, lat) geometry into ``frame`` (metres east, north)."""

    def fn(coords: np.ndarray) -> np.ndarray:
        """(N, 2) lon, lat -> (N, 2) east, north metres."""
        x, y = frame.to_local(coords[:, 1], coords[:, 0])
        return np.column_stack([np.asarray(x, float), np.asarray(y, float)])

    return shapely.transform(geom, fn)


def local_to_geo(geom: BaseGeometry, frame: LocalFrame) -> BaseGeometry:
    """Inverse of :func:`geo_to_local`: local metres -> (lon, lat) degrees."""

    def fn(coords: np.ndarray) -> np.ndarray:
        """(N, 2) east, north metres -> (N, 2) lon, lat."""
        lat, lon = frame.to_geo(coords[:, 0], coords[:, 1])
        return np.column_stack([np.asarray(lon, float), np.asarray(lat, float)])

    return shapely.transform(geom, fn)


def circle_polygon_local(cx: float, cy: float, radius_m: float, segments: int = 64) -> Polygon:
    """A regular polygon that CONTAINS the circle (circumscribed), for keep-out zones.

    The vertices lie at ``radius / cos(pi / segments)`` so every edge is tangent to the circle:
    planning around the polygon never cuts into the circle.
    """
    r = radius_m / math.cos(math.pi / segments)
    ang = np.linspace(0.0, 2.0 * math.pi, segments, endpoint=False)
    return Polygon(np.column_stack([cx + r * np.cos(ang), cy + r * np.sin(ang)]))


def circle_polygon_geo(
    lat_deg: float, lon_deg: float, radius_m: float, segments: int = 64
) -> Polygon:
    """Circumscribed polygon of a geodesic circle, in (lon, lat) degrees."""
    frame = LocalFrame(lat_deg, lon_deg)
    return local_to_geo(circle_polygon_local(0.0, 0.0, radius_m, segments), frame)


def polygons_of(geom: BaseGeometry | None) -> list[Polygon]:
    """The non-empty polygons of any geometry (Polygon, MultiPolygon, GeometryCollection)."""
    if geom is None or geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    return [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and not g.is_empty]
