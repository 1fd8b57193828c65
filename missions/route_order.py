"""Route building: transect order, coverage repair, connections and the cut into sorties.

:func:`build_route` plans one grid angle: transects (:mod:`missions.grid`) in boustrophedon order,
turnaround, coverage-repair segments through what the footprint missed, the optional risk
ordering (:mod:`missions.risk_plan`) and 2-opt, then the cut into sorties that fit the battery with
connections routed inside the free area (:mod:`missions.routing`). :func:`auto_angle` and
:func:`build_best` choose between variants by total routed length.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.ops import nearest_points

from missions.chain_count import ChainCounter
from missions.coverage import transects_coverage
from missions.errors import PlanningError
from missions.grid import (
    Segment,
    _free_extension,
    apply_turnaround,
    boustrophedon_order,
    cells,
    cheapest_insertion,
    direction,
    estimated_length,
    transect_lines,
    two_opt,
)
from missions.leg_order import (
    MAX_EVALUATIONS,
    cached,
    chain_points,
    insert_counted,
    order_cells,
)
from missions.plan_space import PlanContext
from missions.route_shape import crossing_pairs, survey_span
from missions.routing import Router, path_length
from missions.shapes import polygons_of

ANGLE_STEP_DEG = 5.0
"""Coarse step of the automatic grid-angle search, degrees."""
FULL_CANDIDATES = 4
"""Number of best-estimated angles that are fully planned when the angle is ``auto``."""
FINAL_CANDIDATES = 2
"""Grid angles (shortest first) that get the leg-order search when the angle is ``auto``."""
LENGTH_SLACK = 0.05
"""A route with fewer self-crossings is preferred when at most this much longer (share)."""
UNCOVERED_GOAL = 0.0005
"""Coverage repair stops once less than this share of the free area is uncovered."""
REPAIR_ROUNDS = 4
"""Rounds of coverage repair (each adds segments through the largest uncovered pieces)."""
MIN_PARTIAL_M = 30.0
"""A sortie is filled up with part of the next transect when at least this much of it fits."""


def auto_angle(ctx: PlanContext):
    """Grid angle and its built route (see :mod:`missions.planner`'s notes).

    The total routed length is rugged in the angle (cells, sortie cuts and coverage repair change
    discretely), so a cheap estimate only preselects: every 10 degrees plus the directions of the
    district's long edges are ranked by a straight-line tour estimate, the best
    :data:`FULL_CANDIDATES` are planned without the leg-order search, the winner's ±5 degree
    neighbours too, and the :data:`FINAL_CANDIDATES` shortest get :func:`build_best`.
    """
    ext = np.asarray(ctx.area.polygon_local.exterior.coords)
    edges = np.diff(ext, axis=0)
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    coarse = set(np.round(np.arange(0.0, 180.0, 2 * ANGLE_STEP_DEG), 6).tolist())
    for k in np.argsort(lengths)[::-1][:6]:
        coarse.add(round(math.degrees(math.atan2(edges[k, 0], edges[k, 1])) % 180.0, 3))
    mrr = ctx.area.polygon_local.minimum_rotated_rectangle
    if isinstance(mrr, Polygon):
        c = np.asarray(mrr.exterior.coords)
        for e in np.diff(c, axis=0)[:2]:
            coarse.add(round(math.degrees(math.atan2(e[0], e[1])) % 180.0, 3))
    scored = []
    for ang in sorted(coarse):
        lines = transect_lines(ctx.fly, ang, ctx.spacing)
        order = boustrophedon_order(lines, ang, ctx.home_xy, ctx.corner_xy)
        if order:
            scored.append((estimated_length(order, ctx.home_xy), ang))
    if not scored:
        raise PlanningError(f"{ctx.area.source}: no transect fits in the district")
    scored.sort()
    built: dict[float, tuple] = {}

    def full(ang: float) -> float:
        """Plan the whole patrol at grid angle ``ang`` quickly (no leg-order search; cached) and
        return its total length."""
        ang = round(ang % 180.0, 3)
        if ang not in built:
            built[ang] = build_route(ctx, ang, search=0)
        return total_length(built[ang])

    for _, ang in scored[:FULL_CANDIDATES]:
        full(ang)
    best = min(built, key=lambda a: total_length(built[a]))
    full(best - ANGLE_STEP_DEG)
    full(best + ANGLE_STEP_DEG)
    # the two shortest angles get the leg-order search; fewest crossings, then shortest, wins
    ranked = sorted(built, key=lambda a: total_length(built[a]))[:FINAL_CANDIDATES]
    finals = [(ang, build_best(ctx, ang, quick=built[ang])) for ang in ranked]
    return finals[_pick([f[1] for f in finals])]


def total_length(built) -> float:
    """Total routed length of a built route (``(sortie_segs, covered, sortie_paths)``), metres."""
    return sum(path_length(p) for p in built[2])


def route_key(built) -> tuple[int, float]:
    """(self-crossings of the sorties' survey parts, total length): smaller is better."""
    crossings = 0
    for segs, path in zip(built[0], built[2], strict=True):
        if segs:
            i0, i1 = survey_span(path, segs[0].a, segs[-1].b)
            crossings += len(crossing_pairs(path, i0, i1))
    return (crossings, total_length(built))


def _pick(builts: list) -> int:
    """Index of the preferred built route: the fewest crossings among those at most
    :data:`LENGTH_SLACK` longer than the shortest, then the shortest."""
    keys = [route_key(b) for b in builts]
    shortest = min(k[1] for k in keys)
    ok = [i for i, k in enumerate(keys) if k[1] <= (1.0 + LENGTH_SLACK) * shortest + 1e-6]
    return min(ok, key=lambda i: keys[i])


def build_best(ctx: PlanContext, angle: float, quick=None):
    """:func:`build_route` with the leg-order search, without it, and with the 2-opt pass; the
    fewest crossings among the nearly shortest wins (:func:`_pick`).

    A 2-opt pass over the transect order helps some layouts and hurts others once the route is
    cut into sorties, and the search minimises the crossings of one chain (the cut into sorties
    adds home legs), so the variants are routed and compared. ``quick``: the variant without
    the search when already built (:func:`auto_angle` has it).
    """
    cands = [
        build_route(ctx, angle),
        quick if quick is not None else build_route(ctx, angle, search=0),
    ]
    if ctx.symmetric:
        cands.append(build_route(ctx, angle, improve=True, search=0))
    return cands[_pick(cands)]


def build_route(
    ctx: PlanContext, angle: float, improve: bool = False, search: int = MAX_EVALUATIONS
):
    """Transects → cells → leg order → coverage repair (→ 2-opt) → sorties, for one angle.

    Args:
        ctx: The planning context.
        angle: Transect direction, degrees clockwise from north.
        improve: Also run 2-opt over the order (a nadir camera only).
        search: Candidate orders the leg-order search (:func:`missions.leg_order.order_cells`)
            may evaluate; 0: nearest-neighbour order and cheapest insertion of repairs only (the
            quick estimate used to rank grid angles).
    """
    lines = transect_lines(ctx.fly, angle, ctx.spacing)
    groups = [c for c in cells(lines, angle) if c]
    if not groups:
        raise PlanningError(
            f"{ctx.area.source}: no transect fits in the district at angle {angle:g}"
        )
    # turnaround extends both ends: the same whichever way a piece is flown
    groups = [apply_turnaround(c, ctx.turnaround, ctx.transit) for c in groups]
    ys = ctx.fp.corners[:, 1]
    order = order_cells(
        groups,
        ctx.home_xy,
        first_near=ctx.corner_xy,
        extend=_lead_in(ctx) if ctx.lead_m > 0 else None,
        repair_m=4.0 * float(ys.max() - ys.min()) + 4.0 * ctx.spacing,
        connect=_search_connect(ctx),
        max_evaluations=search,
    )
    order, covered = _repair_coverage(ctx, angle, order, uncross=search > 0)
    if ctx.risk_regions is not None:
        from missions.risk_plan import prioritise, with_revisits

        order, labels = prioritise(order, ctx.risk_regions, ctx.fp)
        if ctx.revisit_s:
            order, labels = with_revisits(
                order, labels, ctx.revisit_s, ctx.model.speed_m_s, ctx.home_xy
            )
        improve = False  # 2-opt would mix the risk classes up
    if improve and ctx.symmetric:  # 2-opt reverses segments: only for a direction-free camera
        order = two_opt(order, ctx.home_xy, keep_first=ctx.corner_xy is not None)
    sortie_paths, sortie_segs = _split_sorties(ctx, order)
    return (sortie_segs, covered, sortie_paths)


def _search_connect(ctx: PlanContext):
    """Connections as the leg-order search sees them: routed in the transit space (cached per
    run), straight where no route exists (those get the full treatment of :func:`_connect`)."""
    got = ctx._routers.get("_search_connect")
    if got is None:
        got = cached(lambda a, b: ctx.router("transit").path(a, b))
        ctx._routers["_search_connect"] = got
    return got


def _lead_in(ctx: PlanContext):
    """The lead-in function of :func:`missions.leg_order.order_cells` for ``ctx``: a piece's start
    moved back by up to ``ctx.lead_m`` inside the transit space; cut short when it meets a no-fly
    zone or the fence (by more than 0.5 m)."""

    def extend(s: Segment) -> tuple[Segment, bool]:
        """The piece with its lead-in, and whether the lead-in is cut short."""
        h = np.asarray(s.heading, float)
        a = np.asarray(s.a, float)
        e = _free_extension(a, -h, ctx.lead_m, ctx.transit)
        na = a - e * h
        return Segment(s.line, (float(na[0]), float(na[1])), s.b, s.heading), e < ctx.lead_m - 0.5

    return extend


def _repair_coverage(ctx: PlanContext, angle: float, order: list[Segment], uncross: bool = True):
    """Add segments through uncovered pieces (concave corners, spikes) until coverage is reached.

    With ``uncross`` each one goes where it adds no self-crossing (:func:`insert_uncrossed`),
    a third of a spacing beside the piece when that avoids flying over a transect; without, at
    the cheapest place (:func:`missions.grid.cheapest_insertion`).
    """
    d = direction(angle)
    covered = transects_coverage([(s.a, s.b, s.heading) for s in order], ctx.fp)
    total = ctx.target.area
    # pieces smaller than 2 % of the footprint are slivers along a ragged boundary: not worth a
    # detour each (they count against the coverage figure, which stays honest)
    thr = max(1.0, total * 1e-5, 0.02 * float(ctx.fp.polygon.area))
    ys = ctx.fp.corners[:, 1]
    counter = ChainCounter()
    for _ in range(REPAIR_ROUNDS):
        uncovered = ctx.target.difference(covered)
        if uncovered.area <= UNCOVERED_GOAL * total:
            break
        pieces = sorted(polygons_of(uncovered), key=lambda g: g.area, reverse=True)
        added = []
        left = np.array([-d[1], d[0]])
        connect = _search_connect(ctx)
        for q in pieces:
            if q.area < thr or len(added) >= 60:
                break
            # the pass goes through the piece; when that puts it on (or beside) a transect, where
            # it would overlap it, a pass a third of a spacing to either side is tried
            if not uncross:
                seg, seen = _repair_segment(ctx, q, d, float(ys.min()), float(ys.max()))
                if seg is not None and seen >= min(0.5 * q.area, thr):
                    order = cheapest_insertion(order, seg, ctx.home_xy, allow_reverse=ctx.symmetric)
                    added.append(seg)
                continue
            first, best = None, None
            for off in (0.0, ctx.spacing / 3.0, -ctx.spacing / 3.0):
                seg, seen = _repair_segment(ctx, q, d, float(ys.min()), float(ys.max()), left * off)
                # a piece out of reach (a pocket of a ragged boundary) is not worth a detour
                if seg is None or seen < min(0.5 * q.area, thr):
                    continue
                cand, more = insert_counted(
                    order, seg, ctx.home_xy, allow_reverse=ctx.symmetric, connect=connect,
                    counter=counter,
                )  # fmt: skip
                if first is None:
                    first = (cand, seg)
                if more <= 0:
                    length = path_length(chain_points(cand, connect))
                    if best is None or length < best[0]:
                        best = (length, cand, seg)
                    if off == 0.0:
                        break  # through the piece itself, uncrossed: nothing better to try
            if best is not None:
                first = best[1:]
            if first is not None:
                order = first[0]
                added.append(first[1])
        if not added:
            break
        covered = shapely.union_all(
            [covered, transects_coverage([(s.a, s.b, s.heading) for s in added], ctx.fp)]
        )
    return order, covered


def _repair_segment(
    ctx: PlanContext, q: Polygon, d: np.ndarray, ymin: float, ymax: float, shift=(0.0, 0.0)
):
    """A transect piece through the uncovered piece ``q``, and how much of ``q`` it sees (m²).

    The segment lies on the transect-direction line through a point of ``q`` (or the nearest
    flyable point), clipped to the flyable region and to the positions from which the footprint
    (``ymin``..``ymax`` metres ahead of the vehicle) reaches ``q``. Both directions of flight are
    tried; they differ for a camera that looks ahead.
    """
    rp = q.representative_point()
    rp = Point(rp.x + float(shift[0]), rp.y + float(shift[1]))
    if not ctx.fly.covers(rp):
        rp = nearest_points(ctx.fly_inner, rp)[0]
    p = np.array([rp.x, rp.y])
    minx, miny, maxx, maxy = ctx.fly.bounds
    big = math.hypot(maxx - minx, maxy - miny) + 10.0
    ray = LineString([p - big * d, p + big * d])
    piece = None
    for part in shapely.get_parts(ray.intersection(ctx.fly)):
        if part.geom_type == "LineString" and part.distance(Point(p)) < 1e-3:
            piece = part
            break
    up = float(p @ d)
    qu = np.asarray(q.exterior.coords) @ d
    q0, q1 = float(qu.min()), float(qu.max())
    lo, hi = (up, up) if piece is None else (float((np.asarray(piece.coords) @ d).min()),
                                             float((np.asarray(piece.coords) @ d).max()))  # fmt: skip
    best, best_seen = None, -1.0
    # flying along +d the footprint covers u + [ymin, ymax]; along -d it covers u - [ymin, ymax]
    for sign, s0, s1 in ((1.0, q0 - ymax, q1 - ymin), (-1.0, q0 + ymin, q1 + ymax)):
        u0, u1 = max(lo, s0), min(hi, s1)
        if u0 > u1:
            u0 = u1 = min(max(up, lo), hi)
        a = p + (u0 - up) * d
        b = p + (u1 - up) * d
        h = sign * d
        if sign < 0:
            a, b = b, a
        seg = Segment(
            -1, (float(a[0]), float(a[1])), (float(b[0]), float(b[1])), (float(h[0]), float(h[1]))
        )
        seen = transects_coverage([(seg.a, seg.b, seg.heading)], ctx.fp).intersection(q).area
        if seen > best_seen:
            best, best_seen = seg, float(seen)
        if ctx.symmetric:
            break
    return best, best_seen


def _connect(ctx: PlanContext, a, b) -> list:
    path = ctx.router("transit").path(a, b)
    if path is None:
        path = _local_path(ctx, a, b)
    if path is None:
        path = ctx.router("home").path(a, b)
        if path is None:
            raise PlanningError(
                f"{ctx.area.source}: part of the district cannot be reached without crossing a "
                "no-fly zone or the fence (a no-fly zone cuts it off)"
            )
        ctx.warn(
            "a no-fly zone cuts the district into separate parts: the route between them leaves "
            "the district (inside the fence margin)"
        )
    return path


def _local_path(ctx: PlanContext, a, b):
    """Retry a failed transit route on the part of the space around a and b, at full detail.

    The global graph thins its nodes on very detailed boundaries; around two points the local
    graph is small enough to keep every reflex vertex.
    """
    pa, pb = Point(a), Point(b)
    comps = polygons_of(ctx.transit)
    ca = [c for c in comps if c.buffer(0.05).covers(pa)]
    if not ca or not ca[0].buffer(0.05).covers(pb):
        return None
    d = pa.distance(pb)
    window = LineString([a, b]).buffer(max(3.0 * d, 100.0))
    local = ca[0].intersection(window)
    return Router(local, inset_m=min(0.5, ctx.clearance / 2)).path(a, b)


def _home_leg(ctx: PlanContext, a, b) -> list:
    """A leg between home and the district inside the fence, outside the no-fly zones, and out
    of the district's concave notches when that is possible."""
    path = ctx.router("home").path(a, b)
    if path is None and ctx.home_space_any is not None:
        path = ctx.router("home_any").path(a, b)
    if path is None:
        raise PlanningError(
            f"{ctx.area.source}: no path between home and the district inside the fence that "
            "avoids the no-fly zones"
        )
    return path


def _split_sorties(ctx: PlanContext, order: list[Segment], straight: bool = False):
    """Cut the ordered transects into sorties that start and end at home and fit the battery.

    With ``straight=True`` connections and home legs are straight lines (a fast estimate used to
    rank grid angles); otherwise they are routed inside the free area and the fence.
    """
    home = ctx.home_xy
    model, budget = ctx.model, ctx.budget_s
    ret_cache: dict[tuple, list] = {}

    def ret(p):
        """The leg from ``p`` back home (straight, or routed and cached)."""
        if straight:
            return [p, home]
        key = (round(p[0], 6), round(p[1], 6))
        got = ret_cache.get(key)
        if got is None:
            got = _home_leg(ctx, p, home)
            ret_cache[key] = got
        return got

    pending = deque(order)
    paths: list[list] = []
    seg_lists: list[list[Segment]] = []
    while pending:
        path = [home]
        segs: list[Segment] = []
        while pending:
            s = pending[0]
            if straight:
                conn = [path[-1], s.a]
            else:
                conn = _home_leg(ctx, home, s.a) if not segs else _connect(ctx, path[-1], s.a)
            cand = [*path, *conn[1:], s.b]
            if model.sortie_s([*cand, *ret(s.b)[1:]]) <= budget:
                path = cand
                segs.append(s)
                pending.popleft()
                continue
            # fly as much of the transect as the battery allows (fills the sortie)
            f = _fit_fraction(ctx, cand[:-1], s, ret)
            if segs and (f * s.length < MIN_PARTIAL_M or (1.0 - f) * s.length < 1.0):
                break
            if f * s.length < 1.0:
                need = model.sortie_s([*cand[:-1], *ret(s.a)[1:]])
                lat, lon = ctx.area.frame.to_geo(s.a[0], s.a[1])
                dist_km = path_length(cand[:-1]) / 1000.0
                raise PlanningError(
                    f"the battery budget ({budget / 60:.1f} min after the reserve) cannot reach the "
                    f"transect at {float(lat):.6f}, {float(lon):.6f} ({dist_km:.1f} km from home) "
                    f"and come back: that alone takes {need / 60:.1f} min; raise "
                    "sorties.endurance_min, lower sorties.reserve_pct or take off closer"
                )
            a, b = np.asarray(s.a), np.asarray(s.b)
            m = tuple((a + f * (b - a)).tolist())
            pending.popleft()
            pending.appendleft(Segment(s.line, m, s.b, s.heading))
            pending.appendleft(Segment(s.line, s.a, m, s.heading))
        path = [*path, *ret(path[-1])[1:]]
        paths.append(_dedup(path))
        seg_lists.append(segs)
    return paths, seg_lists


def _fit_fraction(ctx: PlanContext, head: list, s: Segment, ret) -> float:
    """Largest share f of segment s such that head + (s.a → s.a + f·(s.b − s.a)) + return fits.

    Regula falsi with the Illinois modification on the time surplus (time grows almost linearly
    along the segment), bracketed so it always returns a fitting fraction.
    """
    a, b = np.asarray(s.a), np.asarray(s.b)

    def surplus(f: float) -> float:
        """Sortie time over the budget when flying fraction ``f`` of ``s``, seconds."""
        m = tuple((a + f * (b - a)).tolist())
        return ctx.model.sortie_s([*head, m, *ret(m)[1:]]) - ctx.budget_s

    lo, flo = 0.0, surplus(0.0)
    if flo > 0:
        return 0.0
    hi, fhi = 1.0, surplus(1.0)
    if fhi <= 0:
        return 1.0
    tol = 0.5 / max(s.length, 1.0)
    side = 0
    for _ in range(40):
        if hi - lo <= tol or flo > -0.5:
            break
        f = (lo * fhi - hi * flo) / (fhi - flo)
        f = min(max(f, lo + tol / 2), hi - tol / 2)
        ft = surplus(f)
        if ft <= 0:
            lo, flo = f, ft
            if side == -1:
                fhi /= 2.0
            side = -1
        else:
            hi, fhi = f, ft
            if side == 1:
                flo /= 2.0
            side = 1
    return lo


def _dedup(path: list) -> list:
    out = [tuple(map(float, path[0]))]
    for p in path[1:]:
        q = (float(p[0]), float(p[1]))
        if math.hypot(q[0] - out[-1][0], q[1] - out[-1][1]) > 1e-6:
            out.append(q)
    return out
