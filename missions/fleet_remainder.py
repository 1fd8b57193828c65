"""What a fleet vehicle that failed or landed early left uncovered, and the plan that hands it
to another vehicle (``fleet.reassign``, ``docs/fleet.md``).

A vehicle flies sorties of mission items (:class:`missions.planner.Sortie`); while it flies, the
autopilot reports the item it is executing (MAVLink MISSION_CURRENT ``seq``): every item with a
lower ``seq`` has been reached. From the highest ``seq`` it reported in a sortie (and its last
position in AUTO on the leg towards that item) this module says which transects were flown,
whole or up to that position (:func:`flown_transects`), and what ground of its part is left
(:func:`uncovered_ground`): the part's free area minus the camera footprint swept along the
flown transects (:func:`missions.coverage.transects_coverage`, the planner's own measure).
Ground covered only during connections is not counted (conservative). Slivers thinner than
:data:`MIN_WIDTH_M` or pieces smaller than :data:`MIN_PIECE_M2` are not worth a flight: they
are reported as ``negligible_m2``.

:func:`worth_flying` keeps the transect pieces not flown that see some of that ground, and
:func:`plan_remainder` plans them for another vehicle as they were planned (lead-ins, order),
cut into sorties from that vehicle's home that fit its battery, connections and home legs
routed inside the fence and around the no-fly zones, in its altitude layer
(:func:`missions.fleet_layers.plan_layered`).
:func:`joint_fence` is the fence that vehicle flies under from then on: one inclusion polygon
holding its own fence and the remainder's, and the district's no-fly zones.

Everything is in the local metres of the district's frame (``Area.frame``, x east, y north).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from missions.areas import Area
from missions.coverage import coverage_fraction, transects_coverage
from missions.errors import PlanningError
from missions.fleet_layers import plan_layered
from missions.grid import Segment
from missions.items import MAV_CMD_NAV_WAYPOINT
from missions.mission_items import MAX_FENCE_VERTICES, fence_items
from missions.shapes import local_to_geo, polygons_of

__all__ = [
    "MIN_PIECE_M2",
    "MIN_WIDTH_M",
    "Remainder",
    "TransectLeg",
    "flown_transects",
    "joint_fence",
    "plan_remainder",
    "transect_legs",
    "uncovered_ground",
    "worth_flying",
]

MIN_WIDTH_M = 2.0
"""Uncovered slivers thinner than this (metres) are negligible (where two swaths meet)."""
MIN_PIECE_M2 = 20.0
"""An uncovered piece smaller than this (m²) is negligible: no sortie is planned for it."""
MATCH_TOL_M = 0.5
"""A mission item within this distance of a transect end is that end (degE7 rounding is ~1 cm)."""


@dataclass(frozen=True)
class TransectLeg:
    """A transect of a sortie and the mission items that fly it.

    Attributes:
        segment: The transect, local metres.
        start_seq: ``seq`` of the last item at its start before ``end_seq``.
        end_seq: ``seq`` of the first item at its end: the vehicle flies the transect while it
            executes this item.
    """

    segment: Segment
    start_seq: int
    end_seq: int


def _item_xy(items, frame) -> tuple[list[int], np.ndarray]:
    """``seq`` and local (x, y) of each NAV_WAYPOINT item."""
    wps = [it for it in items if it.command == MAV_CMD_NAV_WAYPOINT]
    if not wps:
        return [], np.zeros((0, 2))
    lat = np.array([it.x for it in wps], float)
    lon = np.array([it.y for it in wps], float)
    x, y = frame.to_local(lat, lon)
    return [int(it.seq) for it in wps], np.column_stack([x, y])


def transect_legs(sortie, frame, tol_m: float = MATCH_TOL_M) -> list[TransectLeg]:
    """Each transect of ``sortie`` with the items that fly it, in flight order.

    Args:
        sortie: A :class:`missions.planner.Sortie` (its ``items`` may be layered:
            :func:`missions.fleet_layers.apply_layer` adds vertical waypoint pairs).
        frame: The local frame of ``sortie.transects`` (the plan's ``frame``).
        tol_m: Matching distance, metres.

    Returns:
        One :class:`TransectLeg` per transect found among the items (a transect whose ends are
        not waypoints is left out; the planner never makes one).
    """
    seqs, xy = _item_xy(sortie.items, frame)
    out: list[TransectLeg] = []
    cursor = 0
    for t in sortie.transects:
        a, b = np.asarray(t.a, float), np.asarray(t.b, float)
        da = np.hypot(*(xy[cursor:] - a).T) if len(xy) > cursor else np.zeros(0)
        hits = np.flatnonzero(da < tol_m)
        if not len(hits):
            continue
        ia = cursor + int(hits[0])
        first = ia if t.length < tol_m else ia + 1
        db = np.hypot(*(xy[first:] - b).T) if len(xy) > first else np.zeros(0)
        hb = np.flatnonzero(db < tol_m)
        if not len(hb):
            continue
        ib = first + int(hb[0])
        # the start is the last item at ``a`` before the end (a vertical pair: the lower one)
        while ia + 1 < ib and np.hypot(*(xy[ia + 1] - a)) < tol_m:
            ia += 1
        out.append(TransectLeg(t, seqs[ia], seqs[ib]))
        cursor = ib
    return out


def flown_transects(
    sortie, frame, current_seq: int, position_xy=None, *, completed: bool = False
) -> tuple[list[Segment], list[Segment]]:
    """Split a sortie's transects into flown and not flown, from what the vehicle reported.

    Args:
        sortie: The :class:`missions.planner.Sortie` it flew (as uploaded).
        frame: Local frame of the sortie's geometry.
        current_seq: The highest MISSION_CURRENT ``seq`` it reported in this sortie (-1: none):
            every item with a lower ``seq`` was reached.
        position_xy: Its last position in AUTO while executing ``current_seq``, local metres
            (x, y), or None: on a transect it was flying, the part up to this point (projected
            onto the transect) is flown, the rest is not.
        completed: True when the sortie was flown past its last survey waypoint: every transect
            is flown.

    Returns:
        ``(flown, left)``: transect pieces flown and not flown (a transect cut at the vehicle's
        position gives one piece to each), local metres.
    """
    if completed:
        return list(sortie.transects), []
    flown: list[Segment] = []
    left: list[Segment] = []
    legs = transect_legs(sortie, frame)
    matched = {id(leg.segment) for leg in legs}
    for leg in legs:
        t = leg.segment
        if leg.end_seq < current_seq:
            flown.append(t)
        elif leg.end_seq == current_seq and leg.start_seq < current_seq and position_xy is not None:
            a, b = np.asarray(t.a, float), np.asarray(t.b, float)
            d = b - a
            n2 = float(d @ d)
            f = (
                0.0
                if n2 <= 0
                else float(np.clip((np.asarray(position_xy, float) - a) @ d / n2, 0, 1))
            )
            p = tuple(float(v) for v in a + f * d)
            if f > 0:
                flown.append(Segment(t.line, t.a, p, t.heading))
            if f < 1:
                left.append(Segment(t.line, p, t.b, t.heading))
        else:
            left.append(t)
    left += [t for t in sortie.transects if id(t) not in matched]  # never reported: not flown
    return flown, left


@dataclass
class Remainder:
    """Ground of a job (a vehicle's part or a re-assigned remainder) left uncovered.

    Attributes:
        ground_local: The uncovered ground worth flying, local metres (Polygon or MultiPolygon;
            empty when nothing is left).
        pieces: Its connected pieces, each a Polygon without interior rings (what is planned).
        transects_left: Transect pieces of the job not flown.
        area_m2: Area of ``ground_local``, m².
        negligible_m2: Uncovered slivers and specks left out of ``ground_local``, m².
        target_m2: The job's ground to cover, m².
    """

    ground_local: BaseGeometry
    pieces: list[Polygon] = field(default_factory=list)
    transects_left: int = 0
    area_m2: float = 0.0
    negligible_m2: float = 0.0
    target_m2: float = 0.0

    @property
    def empty(self) -> bool:
        """True when nothing worth a flight is left."""
        return not self.pieces

    @property
    def pct(self) -> float:
        """``area_m2`` as a share of the job's ground, percent."""
        return 100.0 * self.area_m2 / self.target_m2 if self.target_m2 > 0 else 0.0


def uncovered_ground(
    target_local: BaseGeometry,
    footprint,
    flown: list[Segment],
    *,
    transects_left: int = 0,
    min_width_m: float = MIN_WIDTH_M,
    min_piece_m2: float = MIN_PIECE_M2,
) -> Remainder:
    """The ground of ``target_local`` the camera did not sweep along the ``flown`` transects.

    Args:
        target_local: Ground to cover, local metres (a part's ``area.free_local``: no-fly zones
            already cut out).
        footprint: The camera footprint at the survey altitude (:class:`missions.camera.Footprint`).
        flown: Transect pieces flown (:func:`flown_transects`).
        transects_left: Number of transect pieces not flown (carried into the result).
        min_width_m: Slivers thinner than this are negligible, metres.
        min_piece_m2: Pieces smaller than this are negligible, m².

    Returns:
        The :class:`Remainder`.
    """
    covered = transects_coverage([(t.a, t.b, t.heading) for t in flown], footprint)
    raw = target_local.difference(covered) if not covered.is_empty else target_local
    r = 0.5 * float(min_width_m)
    opened = raw.buffer(-r, join_style="mitre").buffer(r, join_style="mitre").intersection(raw)
    pieces = [p for p in polygons_of(opened) if p.area >= min_piece_m2]
    ground = shapely.union_all(pieces) if pieces else Polygon()
    return Remainder(
        ground_local=ground,
        pieces=[Polygon(p.exterior) for p in pieces],
        transects_left=int(transects_left),
        area_m2=float(ground.area),
        negligible_m2=max(0.0, float(raw.area) - float(ground.area)),
        target_m2=float(target_local.area),
    )


def worth_flying(left: list[Segment], remainder: Remainder, footprint) -> list[Segment]:
    """The transect pieces not flown whose swept footprint sees some of ``remainder``'s ground
    (at least :data:`MIN_PIECE_M2`, or a tenth of the piece's own swath), in their order."""
    if remainder.empty:
        return []
    out = []
    for t in left:
        swath = transects_coverage([(t.a, t.b, t.heading)], footprint)
        seen = swath.intersection(remainder.ground_local).area
        if seen >= min(MIN_PIECE_M2, 0.1 * swath.area) and seen > 0:
            out.append(t)
    return out


def plan_remainder(
    left: list[Segment], part_area: Area, home, layer_alt: float, camera, survey, sorties,
    fence, rally, *, angle_deg: float, avoid=None, who: str = "vehicle", ground=None,
):  # fmt: skip
    """Plan the transects a vehicle did not fly as extra sorties of another vehicle.

    The transect pieces are flown as they were planned (their lead-ins and turnarounds, their
    order), so the remainder is covered as the failed vehicle's plan would have covered it. They
    are cut into sorties from the new vehicle's home that fit the battery, with connections and
    home legs routed as the planner routes them (inside the fence, around no-fly zones:
    :func:`missions.route_order._split_sorties` in a :func:`missions.plan_space.make_context` of
    the failed part from that home), then put in the vehicle's transit layer
    (:func:`missions.fleet_layers.plan_layered`: the layer climbs come off each sortie's budget).

    Args:
        left: The transect pieces to fly, in order (:func:`worth_flying`), local metres.
        part_area: The :class:`~missions.areas.Area` they belong to (the failed vehicle's part,
            the district's frame and no-fly zones).
        home: The new vehicle's home (``lat_deg``, ``lon_deg``, ``alt_m`` AMSL).
        layer_alt: Its transit altitude above home, metres.
        camera, survey, sorties, fence, rally: That vehicle's settings (as
            :func:`missions.planner.plan_patrol`; ``sorties.endurance_min`` is its pack's).
        angle_deg: The fleet's transect direction (reported in the plan's stats), degrees.
        avoid: Local-metre ground its survey-altitude connections stay out of (the parts of the
            vehicles still flying, with half the survey gap; None: nothing); a connection that
            must enter it is flown at the layer.
        who: The vehicle, for messages (``"drone 1"``).
        ground: The remainder's ground (local metres): ``stats.coverage_pct`` is measured on
            it (default the part's free area).

    Returns:
        A :class:`missions.planner.PatrolPlan` whose ``area`` is ``part_area`` and whose fence
        holds the part and a corridor to the new home.

    Raises:
        PlanningError: Nothing to fly, or a transect the battery cannot reach from that home
            and come back, or no route inside the fence; prefixed with ``who``.
    """
    from missions.plan_space import make_context
    from missions.planner import _assemble
    from missions.route_order import _split_sorties

    if not left:
        raise PlanningError(f"{who}: nothing left to re-assign")

    def planner(sp):
        """The remainder's route with the sortie settings ``sp`` (the layer taken off)."""
        ctx = make_context(part_area, camera, survey, sp, fence, home, who, avoid)
        ctx.warnings = [w for w in ctx.warnings if not w.startswith("home is ")]
        paths, segs = _split_sorties(ctx, list(left))
        return _assemble(ctx, survey, fence, rally, angle_deg, segs, None, paths)

    plan, _total, _fixed = plan_layered(
        part_area, camera, survey, sorties, fence, rally, home, float(layer_alt), avoid,
        who=who, planner=planner,
    )  # fmt: skip
    target = ground if ground is not None else part_area.free_local
    plan.stats.coverage_pct = 100.0 * coverage_fraction(plan.coverage_local(), target)
    plan.stats.area_m2 = float(target.area)
    return plan


def _outer(geom: BaseGeometry) -> Polygon:
    """One polygon without interior rings holding ``geom`` (its convex hull when in pieces),
    simplified outwards to at most :data:`MAX_FENCE_VERTICES` vertices."""
    polys = polygons_of(geom)
    if len(polys) == 1:
        poly = Polygon(polys[0].exterior)
    else:
        poly = Polygon(shapely.convex_hull(geom).exterior)
    tol = 0.25
    out = poly
    while len(out.exterior.coords) - 1 > MAX_FENCE_VERTICES:
        cand = poly.buffer(tol, join_style="mitre").simplify(tol, preserve_topology=True)
        out = Polygon(polygons_of(cand)[0].exterior)
        tol *= 2.0
    return out


def joint_fence(plans, district: Area) -> tuple[Polygon, list]:
    """The fence of a vehicle that flies its own plan and a re-assigned remainder.

    Args:
        plans: The plans it flies under this fence (its own, the remainder's): each one's
            ``fence_local`` (its ground buffered by ``fence.margin_m``, with a corridor to home
            when home lies outside) is inside the result.
        district: The district: its no-fly zones are the exclusion zones, its fence return
            point is kept when inside.

    Returns:
        ``(fence_local, fence_items)``: the inclusion polygon (local metres; the convex hull when
        the plans' fences do not touch) and the fence mission items (mission_type FENCE:
        inclusion, exclusions, circles, return point).
    """
    from missions.planner import fence_exclusions

    frame = district.frame
    fence_local = _outer(shapely.union_all([p.fence_local for p in plans]))
    exclusions, circles = fence_exclusions(district)
    rp = district.return_point
    if rp is not None and math.isfinite(rp[0]):
        x, y = frame.to_local(rp[0], rp[1])
        if not fence_local.contains(shapely.Point(float(x), float(y))):
            rp = None
    items = fence_items(local_to_geo(fence_local, frame), exclusions, circles, rp)
    return fence_local, items
