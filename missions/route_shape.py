"""The shape of a route: which legs of a sortie's path cross or overlap one another.

What counts as a self-crossing (the measure of issue 12's "the demo route has no self-crossing
legs", used by the planner's leg ordering, ``benchmarks/route_shape.py`` and ``benchmarks/plan.py``):

* A *leg* is a straight piece between consecutive points of a sortie's ``path_local`` (home →
  take-off leg → transects and the connections between them → return leg → home); legs shorter
  than 5 cm are ignored (a repeated point).
* Two legs that are not neighbours in the path (neighbours share an end point by construction)
  *cross* when they come closer than :data:`NEAR_M` (25 cm): a proper crossing, one touching the
  other, or a collinear overlap (also one flown a few millimetres beside the other). The first and last legs of a closed path (both end at home) count as
  neighbours.
* The *survey part* of a sortie is everything between the end of the take-off leg and the start
  of the return leg: the ground the camera is meant to see. The take-off and return legs (with
  their routed detours) are the *home legs*. With home inside the district (the demo block: the
  simulator's home lies 1 m from the third transect; the demo district: home in the middle), a
  sortie whose transects lie on both sides of home, or beyond other transects, has to cross them
  to reach home unless its home legs are detoured round the transect ends through the fence margin
  (:mod:`missions.home_legs` does that where the battery and a bounded detour allow); so crossings
  are reported separately for the survey part and for the home legs.

Distances (:func:`segment_distance`, checked against GEOS in the tests) are computed for the
pairs whose bounding boxes overlap.
"""

from __future__ import annotations

import numpy as np

MIN_LEG_M = 0.05
"""Legs shorter than this are ignored (repeated points)."""
NEAR_M = 0.25
"""Legs closer than this count as touching (a pass flown 1 cm beside another overlaps it)."""


def intersecting_pairs(a: np.ndarray, b: np.ndarray, skip_neighbours: bool = False) -> np.ndarray:
    """Pairs of segments that intersect or nearly do (touching and collinear overlap included).

    Args:
        a: (N, 2) segment starts, metres.
        b: (N, 2) segment ends, metres.
        skip_neighbours: Leave out the pairs (k, k+1).

    Returns:
        (K, 2) index pairs ``i < j`` of segments closer than :data:`NEAR_M`: bounding boxes
        (enlarged by it) propose pairs, :func:`segment_distance` decides.
    """
    a = np.asarray(a, float).reshape(-1, 2)
    b = np.asarray(b, float).reshape(-1, 2)
    n = len(a)
    if n < 2:
        return np.zeros((0, 2), int)
    lo = np.minimum(a, b) - NEAR_M
    hi = np.maximum(a, b) + NEAR_M
    over = (
        (lo[:, None, 0] <= hi[None, :, 0])
        & (lo[None, :, 0] <= hi[:, None, 0])
        & (lo[:, None, 1] <= hi[None, :, 1])
        & (lo[None, :, 1] <= hi[:, None, 1])
    )
    ii, jj = np.nonzero(np.triu(over, k=2 if skip_neighbours else 1))
    keep = maybe_near(a[ii], b[ii], a[jj], b[jj])
    ii, jj = ii[keep], jj[keep]
    if len(ii) == 0:
        return np.zeros((0, 2), int)
    near = segment_distance(a[ii], b[ii], a[jj], b[jj]) <= NEAR_M
    return np.column_stack([ii[near], jj[near]])


def maybe_near(a1, b1, a2, b2, near: float = NEAR_M) -> np.ndarray:
    """False where segments a1–b1 and a2–b2 (element-wise over (K, 2) arrays) are surely more
    than ``near`` apart: both ends of one lie on the same side of the other's line, farther than
    ``near`` from it. A cheap filter before :func:`segment_distance` (long parallel transects at
    an angle have overlapping bounding boxes but lie a spacing apart)."""

    def far(p, q, r, s):
        """Both r and s more than ``near`` from line p–q, on the same side."""
        pq = q - p
        ln = np.hypot(pq[:, 0], pq[:, 1])
        ok = ln > 0
        ln = np.where(ok, ln, 1.0)
        dr = (pq[:, 0] * (r[:, 1] - p[:, 1]) - pq[:, 1] * (r[:, 0] - p[:, 0])) / ln
        ds = (pq[:, 0] * (s[:, 1] - p[:, 1]) - pq[:, 1] * (s[:, 0] - p[:, 0])) / ln
        return ok & (((dr > near) & (ds > near)) | ((dr < -near) & (ds < -near)))

    return ~(far(a1, b1, a2, b2) | far(a2, b2, a1, b1))


def _point_segment(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of points p to segments a–b, element-wise over (K, 2) arrays."""
    ab = b - a
    den = np.einsum("ij,ij->i", ab, ab)
    t = np.where(den > 0, np.einsum("ij,ij->i", p - a, ab) / np.where(den > 0, den, 1.0), 0.0)
    t = np.clip(t, 0.0, 1.0)
    return np.hypot(*(a + t[:, None] * ab - p).T)


def segment_distance(a1, b1, a2, b2) -> np.ndarray:
    """Distance between segments a1–b1 and a2–b2, element-wise over (K, 2) arrays, metres.

    Zero when they cross (opposite orientations on both sides: Cormen et al., *Introduction to
    Algorithms*, 3rd ed., §33.1); otherwise the least of the four end-point-to-segment distances.
    """

    def orient(p, q, r):
        """Twice the signed area of the triangles (p, q, r)."""
        return (q[:, 0] - p[:, 0]) * (r[:, 1] - p[:, 1]) - (q[:, 1] - p[:, 1]) * (r[:, 0] - p[:, 0])

    cross = (orient(a1, b1, a2) * orient(a1, b1, b2) < 0) & (
        orient(a2, b2, a1) * orient(a2, b2, b1) < 0
    )
    d = np.minimum.reduce(
        [
            _point_segment(a1, a2, b2),
            _point_segment(b1, a2, b2),
            _point_segment(a2, a1, b1),
            _point_segment(b2, a1, b1),
        ]
    )
    return np.where(cross, 0.0, d)


def crossing_pairs(path, first: int = 0, last: int | None = None) -> list[tuple[int, int]]:
    """Pairs of non-neighbouring legs of a path that cross, touch or overlap (module notes).

    Args:
        path: (N, 2) points, metres.
        first: Only legs with index >= ``first`` take part (leg k joins points k and k+1).
        last: Only legs with index < ``last`` take part (default: all).

    Returns:
        ``(i, j)`` leg indices, i < j, in increasing order.
    """
    p = np.asarray(path, float).reshape(-1, 2)
    if len(p) < 4:
        return []
    n_legs = len(p) - 1
    last = n_legs if last is None else min(last, n_legs)
    idx = np.arange(n_legs)
    keep = (idx >= first) & (idx < last) & (np.hypot(*(p[1:] - p[:-1]).T) >= MIN_LEG_M)
    legs = idx[keep]
    if len(legs) < 3:
        return []
    # neighbours: consecutive kept legs (skipped short legs join their neighbours' end points)
    pairs = intersecting_pairs(p[legs], p[legs + 1], skip_neighbours=True)
    closed = float(np.hypot(*(p[0] - p[-1]))) < MIN_LEG_M
    wrap = closed and legs[0] == 0 and legs[-1] == n_legs - 1
    out = []
    for i, j in pairs.tolist():
        if j - i == 1 or (wrap and i == 0 and j == len(legs) - 1):
            continue
        out.append((int(legs[i]), int(legs[j])))
    return sorted(out)


def survey_span(path, first_xy, last_xy) -> tuple[int, int]:
    """Leg indices ``(first, last)`` of a sortie's survey part (module notes).

    Args:
        path: (N, 2) sortie path from home to home, metres.
        first_xy: Start of the sortie's first transect.
        last_xy: End of the sortie's last transect.

    Returns:
        The survey legs are ``first <= k < last`` (leg k joins points k and k+1).
    """
    p = np.asarray(path, float).reshape(-1, 2)
    d0 = np.hypot(*(p - np.asarray(first_xy, float)).T)
    d1 = np.hypot(*(p - np.asarray(last_xy, float)).T)
    i0 = int(np.argmin(d0))
    i1 = i0 + int(np.argmin(d1[i0:]))
    return i0, i1


def sortie_crossings(sortie) -> dict[str, int]:
    """Self-crossings of one planned sortie (``path_local`` and ``transects``).

    Returns:
        ``{"survey": n, "all": m}``: crossing pairs within the survey part, and over the whole
        path including the home legs.
    """
    path = np.asarray(sortie.path_local, float)[:, :2]
    every = crossing_pairs(path)
    if not sortie.transects:
        return {"survey": 0, "all": len(every)}
    i0, i1 = survey_span(path, sortie.transects[0].a, sortie.transects[-1].b)
    return {"survey": len(crossing_pairs(path, i0, i1)), "all": len(every)}


def plan_crossings(plan) -> dict[str, int]:
    """:func:`sortie_crossings` summed over a plan's sorties."""
    out = {"survey": 0, "all": 0}
    for s in plan.sorties:
        c = sortie_crossings(s)
        out["survey"] += c["survey"]
        out["all"] += c["all"]
    return out
