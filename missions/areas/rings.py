"""Validation of one polygon ring read from a file, with messages naming ring and vertex.

Checks, in order: each vertex is a finite (lat, lon) in range (and latitude beyond ±90 that would
be valid swapped is called out as swapped lat/lon); the ring is closed (closed with a warning when
the format requires closure); at least 3 distinct vertices; non-zero area; no self-intersection
(shapely/GEOS ``is_valid_reason``, plus the two edges that cross).
"""

from __future__ import annotations

import logging
import math
import re

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon

from missions.errors import AreaError, InputError
from missions.geo import check_lat_lon

log = logging.getLogger("missions.areas")

Coord = tuple[float, float]
"""(lon_deg, lat_deg): GeoJSON order, as shapely geometries in dronepatrol hold them."""


def parse_vertex(raw, where: str, order: str = "lonlat") -> Coord:
    """One vertex from a file value: a list/tuple of at least two numbers.

    Args:
        raw: The value read (``[lon, lat]`` or ``[lon, lat, alt]`` for ``order="lonlat"``,
            ``[lat, lon, ...]`` for ``order="latlon"``).
        where: Location for messages (``"area.geojson: ring 0 (outer), vertex 3"``).
        order: Coordinate order of the format.

    Returns:
        ``(lon, lat)``.

    Raises:
        AreaError: Not two numbers.
    """
    if isinstance(raw, (str, bytes)) or not hasattr(raw, "__len__") or len(raw) < 2:
        raise AreaError(f"{where}: expected a coordinate pair, got {raw!r}")
    a, b = raw[0], raw[1]
    vals = []
    for v in (a, b):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise AreaError(f"{where}: coordinate {v!r} is not a number") from None
        vals.append(float(v))
    return (vals[0], vals[1]) if order == "lonlat" else (vals[1], vals[0])


def validate_ring(
    points: list[Coord],
    where: str,
    *,
    closure_required: bool,
    labels: list[str] | None = None,
) -> list[Coord]:
    """Validate a ring and return it closed, without repeated consecutive vertices.

    Args:
        points: Vertices as ``(lon, lat)`` in file order (vertex numbers in messages are indexes
            into this list, 0-based).
        where: Location prefix for messages (file, feature, ring).
        closure_required: The format requires the last vertex to repeat the first (GeoJSON, KML);
            an open ring is then closed with a warning. Formats whose rings are implicitly closed
            (.plan, fence .txt, config) pass False.
        labels: Name of each vertex in messages (default ``"vertex <i>"``, 0-based), e.g.
            ``"vertex 3 (line 5)"`` for line-oriented files.

    Returns:
        The closed ring as a list of ``(lon, lat)``.

    Raises:
        AreaError: A coordinate out of range (swapped lat/lon named), fewer than 3 distinct
            vertices, zero area, or a self-intersection (with GEOS's reason and the crossing edges).
    """
    names = labels if labels is not None else [f"vertex {i}" for i in range(len(points))]
    for i, (lon, lat) in enumerate(points):
        try:
            check_lat_lon(lat, lon, f"{where}, {names[i]}")
        except InputError as exc:
            raise AreaError(str(exc)) from None
    if not points:
        raise AreaError(f"{where}: empty ring")
    idx = list(range(len(points)))
    pts = list(points)
    if len(pts) >= 2 and pts[0] == pts[-1]:
        pts, idx = pts[:-1], idx[:-1]
    elif closure_required and len(pts) >= 2:
        log.warning("%s: ring is not closed (last vertex differs from the first); closed it", where)
    clean: list[Coord] = []
    clean_idx: list[int] = []
    for p, i in zip(pts, idx, strict=False):
        if clean and p == clean[-1]:
            continue
        clean.append(p)
        clean_idx.append(i)
    while len(clean) > 1 and clean[0] == clean[-1]:
        clean.pop()
        clean_idx.pop()
    distinct = len(set(clean))
    if distinct < 3:
        raise AreaError(
            f"{where}: fewer than 3 distinct vertices ({distinct}); a ring needs 3 or more"
        )
    poly = Polygon(clean)
    if shapely.MultiPoint(clean).convex_hull.area == 0.0:
        raise AreaError(f"{where}: the vertices are collinear (the ring has zero area)")
    if not poly.is_valid:
        reason = shapely.is_valid_reason(poly)
        raise AreaError(
            f"{where}: {_describe_invalid(clean, [names[i] for i in clean_idx], reason)}"
        )
    return [*clean, clean[0]]


def _describe_invalid(ring: list[Coord], names: list[str], reason: str) -> str:
    """'self-intersecting ring: the edge vertex 2 -> vertex 3 crosses the edge vertex 5 -> 6 ...'."""
    n = len(ring)
    edges = [LineString([ring[k], ring[(k + 1) % n]]) for k in range(n)]
    tree = shapely.STRtree(edges)
    a_idx, b_idx = tree.query(edges, predicate="intersects")
    label = lambda k: f"{names[k]} -> {names[(k + 1) % n]}"  # noqa: E731
    for a, b in zip(a_idx.tolist(), b_idx.tolist(), strict=False):
        if a >= b:
            continue
        adjacent = b == a + 1 or (a == 0 and b == n - 1)
        inter = edges[a].intersection(edges[b])
        if adjacent and inter.length == 0.0:
            continue
        p = inter.representative_point()
        verb = "overlaps" if inter.length > 0 else "crosses"
        return (
            f"self-intersecting ring: the edge {label(a)} {verb} the edge {label(b)} near "
            f"{p.y:.6f}, {p.x:.6f} (lat, lon) (shapely: {reason})"
        )
    at = _reason_point(reason)
    if at is not None:
        d = np.hypot(*(np.asarray(ring) - np.asarray(at)).T)
        k = int(np.argmin(d))
        return f"invalid ring near {names[k]} (shapely: {reason})"
    return f"invalid ring (shapely: {reason})"


def _reason_point(reason: str) -> tuple[float, float] | None:
    m = re.search(r"\[\s*([-\d.eE+]+)\s+([-\d.eE+]+)", reason)
    if not m:
        return None
    x, y = float(m.group(1)), float(m.group(2))
    return (x, y) if math.isfinite(x) and math.isfinite(y) else None
