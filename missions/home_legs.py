"""Take-off and return legs that do not cross the sortie they belong to.

A sortie flies home → take-off leg → survey part → return leg → home; the return's last
leg is flown by RTL, straight from the last waypoint to home. With home inside the district (the
demo block: the simulator's home lies 1 m beside the second transect) the shortest legs to and
from home cross transects and connections of the same sortie. The survey part is a simple
polyline once the leg order has no self-crossings, and a simple arc does not separate the plane
(the Jordan arc theorem), so a leg from home to its start that avoids it exists as long as the
fence leaves room round its ends; with that leg the take-off leg and the survey part form one
arc again, and a return leg round it closes the loop without a crossing.

:func:`uncross_home_legs` re-routes a crossing home leg as the shortest path (:class:`Router`,
a visibility graph) in the home space minus a band of ``clearance`` metres round the rest of the
sortie (small discs round home and the leg's far end stay open, so the leg can reach them). A
new leg is kept only when the sortie then has fewer crossings (:mod:`missions.route_shape`),
still fits the battery budget and is at most :data:`MAX_EXTRA` longer; otherwise the sortie keeps
its shortest legs.
"""

from __future__ import annotations

import shapely
from shapely.geometry import LineString, Point

from missions.route_shape import crossing_pairs, survey_span
from missions.routing import Router, path_length

TRIES_M = ((4.0, 5.0), (3.0, 15.0), (1.0, 2.0), (1.0, 6.0), (0.5, 12.0))
"""(clearance, opening) pairs tried in this order, metres: the band kept round the sortie's own
legs, and the radius of the discs round the leg's two ends left open (home may lie closer to a
transect than the band: the demo's home is 1.1 m from one). The first pair that removes every
crossing wins."""


MAX_EXTRA = 0.25
"""New legs are kept only when the sortie gets at most this much longer (share): with home in the
middle of a small block the way round the transects' ends is a good part of its perimeter (the
demo block: +1.7 %; generated 200 m blocks: 2 to 21 %); a detour longer than that costs more
flight than a crossing costs clarity (and :func:`missions.route_order.auto_angle` chose the angle
by the shortest legs)."""
MIN_SLACK_S = 5.0
"""Sorties with less battery time than this left are not re-routed, seconds."""


def home_crossings(path, n_take: int, n_ret: int) -> int:
    """Crossing pairs of a sortie path that involve its take-off or return leg.

    Args:
        path: (N, 2) points home → … → home, metres.
        n_take: Legs of the take-off part (home to the first transect's start).
        n_ret: Legs of the return part (last transect's end to home).
    """
    n_legs = len(path) - 1
    return sum(1 for i, j in crossing_pairs(path) if i < n_take or j >= n_legs - n_ret)


def _avoiding(space, keep_out: list, a, b, clearance: float, gate: float, inset: float):
    """Shortest path a → b in ``space`` minus a ``clearance`` band round the polyline
    ``keep_out`` (discs of radius ``gate`` round a and b stay open), or None."""
    if len(keep_out) < 2:
        return None
    band = LineString(keep_out).buffer(clearance, cap_style="square", join_style="mitre")
    band = band.difference(shapely.union_all([Point(a).buffer(gate), Point(b).buffer(gate)]))
    free = space.difference(band)
    return Router(free, inset_m=inset, snap_m=gate).path(a, b)


def uncross_home_legs(ctx, path: list, n_take: int, n_ret: int) -> tuple[list, int, int]:
    """Re-route the take-off and return legs of one sortie round its own legs (module notes).

    Args:
        ctx: The :class:`~missions.plan_space.PlanContext` (home space, model, budget).
        path: The sortie's points home → … → home, local metres.
        n_take: Legs of the take-off part (``path[: n_take + 1]``).
        n_ret: Legs of the return part (``path[-n_ret - 1 :]``).

    Returns:
        ``(path, n_take, n_ret)``: the sortie with the new legs, or unchanged.
    """
    pts = [tuple(map(float, p)) for p in path]
    before = home_crossings(pts, n_take, n_ret)
    if before == 0:
        return path, n_take, n_ret
    # a re-routed leg is longer (its space is smaller): a sortie filled up to the battery budget
    # (all but the last of a large district) has no room for one
    if ctx.model.sortie_s(pts) > ctx.budget_s - MIN_SLACK_S:
        return path, n_take, n_ret
    length = path_length(pts)
    take, survey, back = (
        pts[: n_take + 1],
        pts[n_take : len(pts) - n_ret],
        pts[len(pts) - n_ret - 1 :],
    )
    space = ctx.home_space
    inset = min(0.5, ctx.clearance / 2)
    best = (before, path, n_take, n_ret)
    for clearance, gate in TRIES_M:
        new_take = take
        if any(i < n_take for i, _ in crossing_pairs(pts)):
            # round the survey part only: an arc does not enclose home, an arc and a return
            # leg may
            new_take = _avoiding(space, survey, take[0], take[-1], clearance, gate, inset)
            if new_take is None:
                continue
            if ctx.model.sortie_s([*new_take, *survey[1:], *back[1:]]) > ctx.budget_s:
                continue  # the return leg can only get longer
        new_back = _avoiding(
            space, [*new_take, *survey[1:]], back[0], back[-1], clearance, gate, inset
        )
        if new_back is None:
            continue
        cand = [*new_take, *survey[1:], *new_back[1:]]
        nt, nr = len(new_take) - 1, len(new_back) - 1
        got = home_crossings(cand, nt, nr)
        if (
            got < best[0]
            and ctx.model.sortie_s(cand) <= ctx.budget_s
            and path_length(cand) <= (1.0 + MAX_EXTRA) * length
        ):
            best = (got, cand, nt, nr)
        if best[0] == 0:
            break
    return best[1], best[2], best[3]


def uncross_sorties(ctx, sortie_segs: list, sortie_paths: list) -> list:
    """:func:`uncross_home_legs` for every sortie of a built route.

    Args:
        ctx: The planning context.
        sortie_segs: Each sortie's transect pieces in flight order.
        sortie_paths: Each sortie's points home → … → home.

    Returns:
        The sortie paths, with new home legs where they remove crossings.
    """
    out = []
    for segs, path in zip(sortie_segs, sortie_paths, strict=True):
        if segs:
            i0, i1 = survey_span(path, segs[0].a, segs[-1].b)
            path = uncross_home_legs(ctx, path, i0, len(path) - 1 - i1)[0]
        out.append(path)
    return out
