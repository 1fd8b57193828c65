"""The shape of a route: which legs of a sortie's path cross or overlap one another.

What counts as a self-crossing (the measure of issue 12's "the demo route has no self-crossing
legs", used by the planner's leg ordering, ``benchmarks/route_shape.py`` and ``benchmarks/plan.py``):

* A *leg* is a straight piece between consecutive points of a sortie's ``path_local`` (home →
  take-off leg → transects and the connections between them → return leg → home); legs shorter
  than 5 cm are ignored (a repeated point).
* Two legs that are not neighbours in the path (neighbours share an end point by construction)
  *cross* when they have any point in common: a proper crossing, one touching the other, or a
  collinear overlap. The first and last legs of a closed path (both end at home) count as
  neighbours.
* The *survey part* of a sortie is everything between the end of the take-off leg and the start
  of the return leg: the ground the camera is meant to see. The take-off and return legs (with
  their routed detours) are the *home legs*. With home inside the district (the demo block: the
  simulator's home lies 1 m from the third transect; the demo district: home in the middle), a
  sortie whose transects lie on both sides of home, or beyond other transects, has to cross them
  to reach home unless its home legs are detoured round the transect ends through the fence margin,
  which the planner does not do; so crossings are reported separately for the survey part and for
  the home legs.

Segment intersection is the orientation test (Cormen et al., *Introduction to Algorithms*, 3rd ed.,
§33.1), vectorised over all pairs with a tolerance of 1 mm for touching and collinear cases.
"""

from __future__ import annotations

import numpy as np

MIN_LEG_M = 0.05
"""Legs shorter than this are ignored (repeated points)."""
TOUCH_M = 1e-3
"""Two legs closer than this count as touching."""


def _orient(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Twice the signed area of triangles (p, q, r), element-wise over (..., 2) arrays."""
    return (q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1]) - (q[..., 1] - p[..., 1]) * (
        r[..., 0] - p[..., 0]
    )


def _on_segment(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """r lies within the bounding box of p–q (enlarged by the tolerance)."""
    lo = np.minimum(p, q) - TOUCH_M
    hi = np.maximum(p, q) + TOUCH_M
    return np.all((r >= lo) & (r <= hi), axis=-1)


def intersecting_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Which pairs of segments intersect (touching and collinear overlap included).

    Args:
        a: (N, 2) segment starts, metres.
        b: (N, 2) segment ends, metres.

    Returns:
        (N, N) symmetric boolean matrix; the diagonal is False.
    """
    a = np.asarray(a, float).reshape(-1, 2)
    b = np.asarray(b, float).reshape(-1, 2)
    n = len(a)
    if n < 2:
        return np.zeros((n, n), bool)
    ai, bi = a[:, None, :], b[:, None, :]
    aj, bj = a[None, :, :], b[None, :, :]
    li = np.hypot(*(b - a).T)[:, None]
    lj = np.hypot(*(b - a).T)[None, :]
    o1 = _orient(ai, bi, aj)
    o2 = _orient(ai, bi, bj)
    o3 = _orient(aj, bj, ai)
    o4 = _orient(aj, bj, bi)
    # an orientation within TOUCH_M (as a distance from the other segment's line) counts as 0
    t1 = np.abs(o1) <= TOUCH_M * li
    t2 = np.abs(o2) <= TOUCH_M * li
    t3 = np.abs(o3) <= TOUCH_M * lj
    t4 = np.abs(o4) <= TOUCH_M * lj
    proper = (o1 * o2 < 0) & (o3 * o4 < 0) & ~(t1 | t2 | t3 | t4)
    touch = (
        (t1 & _on_segment(ai, bi, aj))
        | (t2 & _on_segment(ai, bi, bj))
        | (t3 & _on_segment(aj, bj, ai))
        | (t4 & _on_segment(aj, bj, bi))
    )
    out = proper | touch
    np.fill_diagonal(out, False)
    return out | out.T


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
    m = intersecting_pairs(p[legs], p[legs + 1])
    k = np.arange(len(legs))
    m[k[:-1], k[1:]] = m[k[1:], k[:-1]] = False
    closed = float(np.hypot(*(p[0] - p[-1]))) < MIN_LEG_M
    if closed and legs[0] == 0 and legs[-1] == n_legs - 1:
        m[0, -1] = m[-1, 0] = False
    ii, jj = np.nonzero(np.triu(m))
    return [(int(legs[i]), int(legs[j])) for i, j in zip(ii, jj, strict=True)]


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
