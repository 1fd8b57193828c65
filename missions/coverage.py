"""Ground coverage: the camera footprint swept along a path.

How coverage is computed (the planner's ``coverage_pct`` and anyone comparing against it):

1. For each straight segment A→B of a path, the footprint polygon (vehicle heading frame, see
   :class:`missions.camera.Footprint`) is rotated to the segment's heading and placed at A and at B.
2. A convex footprint translated along a segment sweeps exactly the convex hull of its two end
   placements; that hull is the segment's swept area.
3. The union of the swept areas is the covered ground; coverage % =
   ``area(covered ∩ target) / area(target) · 100`` with target = district minus no-fly holes.

The planner reports the coverage of its TRANSECTS only (the camera also films during connections
and home legs, so a flown track covers at least as much). Analysts can call :func:`swept_area` on a
recorded track (local metres) with the same footprint to compare like with like.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from missions.camera import Footprint


def swept_segments(
    starts: np.ndarray, ends: np.ndarray, fp: Footprint, headings=None
) -> np.ndarray:
    """Swept footprint of each segment (vectorised).

    Args:
        starts: (M, 2) segment starts, local metres ``[x_east, y_north]``.
        ends: (M, 2) segment ends.
        fp: Camera footprint.
        headings: Optional (M, 2) unit heading vectors, used for zero-length segments (a single
            waypoint); default: the segment direction, north when it has no length.

    Returns:
        (M,) array of shapely Polygons.
    """
    a = np.asarray(starts, float).reshape(-1, 2)
    b = np.asarray(ends, float).reshape(-1, 2)
    if len(a) == 0:
        return np.empty(0, dtype=object)
    d = b - a
    n = np.hypot(d[:, 0], d[:, 1])
    ok = n > 1e-9
    u = np.zeros_like(d)
    u[:, 1] = 1.0  # north when nothing else is known
    u[ok] = d[ok] / n[ok, None]
    if headings is not None:
        h = np.asarray(headings, float).reshape(-1, 2)
        u[~ok] = h[~ok]
    r = np.column_stack([u[:, 1], -u[:, 0]])  # right of heading
    c = fp.corners  # (K, 2): x right, y forward
    k = len(c)
    off = c[None, :, 0:1] * r[:, None, :] + c[None, :, 1:2] * u[:, None, :]  # (M, K, 2)
    pts = np.concatenate([a[:, None, :] + off, b[:, None, :] + off], axis=1)  # (M, 2K, 2)
    m = len(a)
    mp = shapely.multipoints(pts.reshape(-1, 2), indices=np.repeat(np.arange(m), 2 * k))
    return shapely.convex_hull(mp)


def swept_area(path_xy: np.ndarray, fp: Footprint) -> BaseGeometry:
    """Ground covered by the footprint along a polyline (local metres).

    Args:
        path_xy: (N, 2) points ``[x_east_m, y_north_m]``; N == 1 gives one footprint (north up).
        fp: Camera footprint.

    Returns:
        A Polygon or MultiPolygon (empty for an empty path).
    """
    p = np.asarray(path_xy, float).reshape(-1, 2)
    if len(p) == 0:
        return Polygon()
    if len(p) == 1:
        return shapely.union_all(swept_segments(p, p, fp))
    p = merge_collinear(p)
    return shapely.union_all(swept_segments(p[:-1], p[1:], fp))


def merge_collinear(path_xy: np.ndarray, rel_tol: float = 1e-9) -> np.ndarray:
    """Drop the interior points of a polyline where it goes straight on.

    A point is dropped when the segments before and after it both have length and point the same
    way (cross product within ``rel_tol`` of the product of their lengths, dot product positive).
    The swept area is unchanged: a convex footprint swept along A→B then B→C with one heading
    covers exactly what it covers along A→C. Zero-length steps (hovering) are kept, since their
    footprint is placed north-up. A recorded track sampled at 5-10 Hz along straight transects
    shrinks to a few points per leg, which makes the union much cheaper.

    Args:
        path_xy: (N, 2) points, metres.
        rel_tol: Relative tolerance of the straightness test.

    Returns:
        (M, 2) points, M <= N, first and last kept.
    """
    p = np.asarray(path_xy, float).reshape(-1, 2)
    if len(p) < 3:
        return p
    d1 = p[1:-1] - p[:-2]
    d2 = p[2:] - p[1:-1]
    n1 = np.hypot(d1[:, 0], d1[:, 1])
    n2 = np.hypot(d2[:, 0], d2[:, 1])
    cross = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    dot = (d1 * d2).sum(axis=1)
    straight = (n1 > 1e-9) & (n2 > 1e-9) & (np.abs(cross) <= rel_tol * n1 * n2) & (dot > 0)
    keep = np.ones(len(p), bool)
    keep[1:-1] = ~straight
    return p[keep]


def transects_coverage(transects, fp: Footprint) -> BaseGeometry:
    """Union of the swept footprints of transect segments.

    Args:
        transects: Iterable of ``(start_xy, end_xy, heading_xy)`` (local metres; heading is the
            unit direction of flight, used when start == end).
        fp: Camera footprint.
    """
    rows = list(transects)
    if not rows:
        return Polygon()
    a = np.array([r[0] for r in rows], float)
    b = np.array([r[1] for r in rows], float)
    h = np.array([r[2] for r in rows], float)
    return shapely.union_all(swept_segments(a, b, fp, headings=h))


def coverage_fraction(covered: BaseGeometry, target: BaseGeometry) -> float:
    """``area(covered ∩ target) / area(target)`` in [0, 1] (1.0 for an empty target)."""
    total = float(target.area)
    if total <= 0:
        return 1.0
    return float(covered.intersection(target).area) / total
