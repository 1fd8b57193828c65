"""Fleet planning: split one district between N vehicles of balanced flight time.

Method (strip partition with iterative proportional re-cutting, a one-dimensional form of
recursive coordinate bisection, Berger & Bokhari, IEEE Trans. Computers 36(5), 1987):

1. The transect direction is fixed first: the configured ``survey.angle_deg``, or for ``auto`` the
   angle :func:`missions.planner.plan_patrol` chooses for the whole district (that single-vehicle
   plan is also the reference the fleet is compared with).
2. The district is cut by N - 1 lines parallel to the transects (perpendicular to the direction
   in which the lawnmower sweep advances), so each vehicle flies whole transects of its own strip
   and no turnaround crosses into a neighbour's strip. A cut direction whose strips are not each
   one polygon (a concave district) is replaced by the next of 90, 45, 135... degrees off.
3. Initial cut positions give every strip the same free area (district minus no-fly zones).
   Each strip is then planned by the single-vehicle planner (its routing around no-fly zones,
   coverage repair and battery-sized sorties) and its flight time T_i measured with the
   planner's own model (:mod:`missions.flight_time`, plus the altitude-layer climbs below).
   T_i is modelled as a fixed part F_i (take-offs, landings, layer climbs: it does not scale
   with the strip) plus a density (T_i - F_i) / A_i per m² of free area; new cuts make the
   modelled times equal (bisection on the common time, :meth:`Strips.balanced_cuts`) and the
   strips are planned again. Rounds stop at ``tolerance`` (max/min flight time), a repeated
   split or ``max_rounds``. Then, since the time is a step function of a strip's width (one
   transect more or less), the best cuts are also tried snapped midway between the
   single-vehicle grid's transect lines, and the longest strip's cut is moved half a transect
   inwards while that lowers the imbalance. The best split planned wins.

Altitude layers: with N >= 2 vehicles, vehicle k (0-based) takes off to and transits at
``survey.alt_m + (k + 1) * layer_separation_m`` above home: the leg from home to its first
transect, the leg back home (and the RTL, which keeps the altitude above RTL_ALT), and any
connection that leaves its own strip. It descends vertically onto the first transect and climbs
vertically off the last one; survey legs and connections inside its strip stay at the survey
altitude (the strips are disjoint, and no vehicle transits at the survey altitude). With one
vehicle the plan is exactly the single-vehicle plan. The extra climb and descent time is taken
off each part's battery budget before its sorties are cut, so every layered sortie still fits.

Homes: given ``homes[k]`` is vehicle k's take-off point (strips are assigned to homes by the
permutation with the least total home-to-strip distance). Without homes each vehicle takes off
inside its own strip, at the point of the strip's free area (kept ``HOME_INSET_M`` off the edges
and no-fly zones) nearest the strip's centroid: distinct homes at least 2 x HOME_INSET_M apart.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import Point, Polygon

from missions.areas import Area
from missions.errors import PlanningError
from missions.fleet_layers import _With, plan_layered
from missions.fleet_split import HOME_INSET_M, Strips, assign_homes, derived_home
from missions.plan_space import ARDUPILOT_FENCE_ALT_MAX_M
from missions.planner import PatrolPlan, plan_patrol
from missions.settings import GeoPoint
from missions.shapes import local_to_geo

__all__ = ["HOME_INSET_M", "FleetPlan", "VehiclePart", "plan_fleet", "plan_fleet_from_config"]

log = logging.getLogger(__name__)

MAX_VEHICLES = 32
"""Largest fleet the planner splits for."""
MIN_PART_M2 = 100.0
"""A part's free area must be at least this (m²); more vehicles than that allows is an error."""
SURVEY_GAP_M = 10.0
"""Default horizontal gap between neighbouring vehicles' survey-altitude legs, metres."""
MOVE_STEPS = (2.0, 1.0, 0.5, 0.25)
"""Cut moves of the final refinement, in transect spacings (or 5 % of a strip's mean width)."""
CUT_ANGLES_OFF = (0.0, 90.0, 45.0, 135.0, 22.5, 67.5, 112.5, 157.5)
"""Cut directions tried, degrees off the transect direction, until every strip is one polygon."""


@dataclass
class VehiclePart:
    """One vehicle's share of a fleet plan.

    Attributes:
        index: Vehicle index, 0..N-1.
        part_area: Its contiguous part of the district, (lon, lat) shapely Polygon (no holes cut).
        home: Its take-off point (``alt_m`` AMSL).
        plan: Its full :class:`~missions.planner.PatrolPlan` (sorties with layered mission items,
            fence, rally, stats; ``plan.area`` is the part with the district's no-fly zones).
        transit_alt_m: Altitude of its transit legs above home, metres (its layer).
        flight_time_s: Estimated flight time of all its sorties, layer climbs included, seconds.
    """

    index: int
    part_area: Polygon
    home: GeoPoint
    plan: PatrolPlan
    transit_alt_m: float
    flight_time_s: float

    @property
    def route_length_m(self) -> float:
        """Horizontal length of all its sorties, metres."""
        return float(self.plan.stats.route_length_m)

    def to_dict(self) -> dict:
        """JSON-serialisable summary (the geometry as GeoJSON, no mission items)."""
        return {
            "index": self.index,
            "home": {"lat_deg": self.home.lat_deg, "lon_deg": self.home.lon_deg,
                     "alt_m": self.home.alt_m},
            "transit_alt_m": self.transit_alt_m,
            "survey_alt_m": self.plan.stats.alt_m,
            "flight_time_s": round(self.flight_time_s, 1),
            "route_length_m": round(self.route_length_m, 1),
            "sorties": [
                {"index": s.index, "flight_time_s": round(s.flight_time_s, 1),
                 "length_m": round(s.length_m, 1), "items": len(s.items)}
                for s in self.plan.sorties
            ],
            "area_m2": round(self.plan.stats.area_m2, 1),
            "coverage_pct": round(self.plan.stats.coverage_pct, 3),
            "part_area": shapely.geometry.mapping(self.part_area),
            "warnings": list(self.plan.warnings),
        }  # fmt: skip


@dataclass
class FleetPlan:
    """A district split between vehicles.

    Attributes:
        area: The whole district.
        parts: One :class:`VehiclePart` per vehicle, by index.
        angle_deg: Transect direction of every part, degrees clockwise from north.
        cut_angle_deg: Direction of the cut lines, degrees clockwise from north.
        layer_separation_m: Vertical distance between transit layers, metres.
        single: The single-vehicle reference plan (None when not computed).
        survey_gap_m: Horizontal gap kept between neighbours' survey-altitude legs, metres.
        rounds: Re-cutting rounds planned.
        planning_time_s: Wall time of :func:`plan_fleet`, seconds.
    """

    area: Area
    parts: list[VehiclePart]
    angle_deg: float
    cut_angle_deg: float
    layer_separation_m: float
    single: PatrolPlan | None = None
    survey_gap_m: float = 0.0
    rounds: int = 0
    planning_time_s: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def n_vehicles(self) -> int:
        """Number of vehicles."""
        return len(self.parts)

    @property
    def imbalance(self) -> float:
        """Largest over smallest vehicle flight time (1.0 = perfectly balanced)."""
        t = [p.flight_time_s for p in self.parts]
        return max(t) / min(t) if min(t) > 0 else math.inf

    def coverage_local(self):
        """Union of the parts' camera coverage, local metres of :attr:`area`'s frame."""
        return shapely.union_all([p.plan.coverage_local() for p in self.parts])

    def coverage_pct(self) -> float:
        """Share of the district's free area covered by the union of the parts, percent."""
        from missions.coverage import coverage_fraction

        return 100.0 * coverage_fraction(self.coverage_local(), self.area.free_local)

    def summary(self) -> dict:
        """Fleet figures: per-vehicle flight time, total length, imbalance, vs the single plan."""
        times = [p.flight_time_s for p in self.parts]
        out = {
            "vehicles": self.n_vehicles,
            "flight_time_s": [round(t, 1) for t in times],
            "max_flight_time_s": round(max(times), 1),
            "imbalance": round(self.imbalance, 4),
            "route_length_m": round(sum(p.route_length_m for p in self.parts), 1),
            "sorties": sum(len(p.plan.sorties) for p in self.parts),
            "coverage_pct": round(self.coverage_pct(), 3),
            "angle_deg": self.angle_deg,
            "cut_angle_deg": self.cut_angle_deg,
            "layer_separation_m": self.layer_separation_m,
            "survey_gap_m": self.survey_gap_m,
            "rounds": self.rounds,
            "planning_time_s": round(self.planning_time_s, 3),
        }
        if self.single is not None:
            out["single"] = {
                "flight_time_s": round(self.single.stats.flight_time_s, 1),
                "route_length_m": round(self.single.stats.route_length_m, 1),
                "sorties": self.single.stats.sorties,
                "coverage_pct": round(self.single.stats.coverage_pct, 3),
            }
        return out

    def to_dict(self) -> dict:
        """JSON-serialisable fleet plan: summary and every part (``"format": "dronepatrol-fleet"``)."""
        return {
            "format": "dronepatrol-fleet",
            "version": 1,
            "area": {"name": self.area.name, "source": str(self.area.source)},
            "summary": self.summary(),
            "parts": [p.to_dict() for p in self.parts],
            "warnings": list(self.warnings),
        }


# --- the fleet planner ------------------------------------------------------------------------------


def plan_fleet(
    area: Area, n_vehicles: int, camera, survey, sorties, fence, homes=None,
    layer_separation_m: float = 10.0, *, rally=None, home_alt_m: float = 0.0,
    single: PatrolPlan | None = None, tolerance: float = 1.03, max_rounds: int = 8,
    risk_map=None, revisit_min: float | None = None, survey_gap_m: float = SURVEY_GAP_M,
) -> FleetPlan:  # fmt: skip
    """Split ``area`` between ``n_vehicles`` and plan each part (see the module notes).

    Args:
        area: The district (:func:`missions.areas.load_area`).
        n_vehicles: Number of vehicles, 1..:data:`MAX_VEHICLES`.
        camera, survey, sorties, fence: As for :func:`missions.planner.plan_patrol`.
        homes: One home per vehicle (``lat_deg``, ``lon_deg``, ``alt_m`` AMSL), or None to
            derive one inside each part.
        layer_separation_m: Vertical distance between transit layers, metres (> 0).
        rally: ``RallySettings``-like; each part keeps the points within its fence margin.
        home_alt_m: AMSL altitude of derived homes, metres.
        single: The single-vehicle plan of ``area`` if already computed (else planned here when
            needed, from ``homes[0]`` or a derived home).
        tolerance: Stop re-cutting when max/min flight time is at most this.
        max_rounds: Most re-cutting rounds (each plans every part once).
        risk_map, revisit_min: Passed to each part's :func:`plan_patrol`.
        survey_gap_m: Horizontal gap kept between the survey-altitude legs of neighbouring
            vehicles, metres (each keeps half of it from a cut line; legs to and from home,
            at the layers, may cross).

    Returns:
        The :class:`FleetPlan`; ``n_vehicles == 1`` gives the single plan as its only part.

    Raises:
        PlanningError: Bad ``n_vehicles``, ``homes`` or ``layer_separation_m``; a district that
            cannot be cut into that many contiguous parts of at least :data:`MIN_PART_M2`; any
            part's planning error (prefixed with the vehicle).
    """
    t0 = time.perf_counter()
    n = _check_n(n_vehicles)
    if not (isinstance(layer_separation_m, int | float) and 0 < layer_separation_m < math.inf):
        raise PlanningError(f"layer separation must be > 0 m, got {layer_separation_m!r}")
    if not (isinstance(survey_gap_m, int | float) and 0 <= survey_gap_m < math.inf):
        raise PlanningError(f"survey gap must be >= 0 m, got {survey_gap_m!r}")
    if homes is not None:
        homes = [_geopoint(h) for h in homes]
        if len(homes) != n:
            raise PlanningError(f"{len(homes)} homes given for {n} vehicles: give one per vehicle")
        if len({(round(h.lat_deg, 7), round(h.lon_deg, 7)) for h in homes}) != n:
            raise PlanningError("two vehicles share a home: give each vehicle its own home")
    free_m2 = area.free_local.area
    if free_m2 / n < MIN_PART_M2:
        raise PlanningError(
            f"{area.source}: {free_m2:.0f} m² to cover cannot be split between {n} vehicles "
            f"(each part needs at least {MIN_PART_M2:g} m²)"
        )
    rally = rally if rally is not None else _With(object(), points=[])
    clearance = float(getattr(survey, "no_fly_clearance_m", 5.0))
    if single is None and (n == 1 or survey.angle_deg == "auto"):
        ref = homes[0] if homes else derived_home(area, area.polygon_local, clearance, home_alt_m)
        single = plan_patrol(area, camera, survey, sorties, fence, rally, ref,
                             risk_map=risk_map, revisit_min=revisit_min)  # fmt: skip
    if n == 1:
        part = VehiclePart(0, area.polygon_geo, single.home, single, float(survey.alt_m),
                           float(single.stats.flight_time_s))  # fmt: skip
        fp = FleetPlan(area, [part], single.stats.angle_deg, single.stats.angle_deg,
                       float(layer_separation_m), single)  # fmt: skip
        fp.planning_time_s = time.perf_counter() - t0
        return fp
    angle = float(single.stats.angle_deg if survey.angle_deg == "auto" else survey.angle_deg) % 180
    geo, cuts = _contiguous_split(area, angle, n)
    job = _Job(area, homes, camera, _With(survey, angle_deg=angle), sorties, fence, rally,
               clearance, home_alt_m, float(layer_separation_m), risk_map, revisit_min)  # fmt: skip
    step = _lattice_step(area, camera, survey, geo, angle)
    state = {"best": None, "rounds": 0, "seen": {}, "error": None}

    def evaluate(cuts):
        """Plan the split at ``cuts`` (cached); None when it is not a valid split."""
        key = tuple(round(c, 2) for c in cuts)
        if key in state["seen"]:
            return state["seen"][key]
        state["seen"][key] = None
        if np.any(np.diff(geo.bounds(cuts)) <= 0.5):
            return None
        pieces = geo.pieces(cuts)
        if any(len(p) != 1 for p in pieces) or any(
            p[0].difference(area.keepout_local).area < MIN_PART_M2 for p in pieces
        ):
            return None
        strips = [p[0] for p in pieces]
        state["rounds"] += 1
        try:
            parts, order, fixed = _plan_parts(job, strips, geo.gaps(cuts, survey_gap_m))
        except PlanningError as exc:  # this split cannot be flown; another may
            state["error"] = state["error"] or exc
            return None
        times = [p.flight_time_s for p in parts]
        got = (max(times) / min(times), parts, order, fixed, strips, list(cuts))
        log.debug(
            "fleet round %d: cuts %s times %s", state["rounds"], key, [round(t) for t in times]
        )
        state["seen"][key] = got
        if state["best"] is None or got[0] < state["best"][0]:
            state["best"] = got
        return got

    # phase 1: proportional re-cutting on the time model
    for _ in range(max_rounds):
        got = evaluate(cuts)
        if got is None or got[0] <= tolerance:
            break
        imb, parts, order, fixed, strips, _c = got
        dens, fx = [], []
        for j in range(n):
            k = order.index(j)
            a = max(strips[j].difference(area.keepout_local).area, 1.0)
            dens.append(max(parts[k].flight_time_s - fixed[k], 1.0) / a)
            fx.append(fixed[k])
        new = geo.balanced_cuts(n, geo.bounds(cuts), dens, fx)
        if tuple(round(c, 2) for c in new) in state["seen"]:
            break
        cuts = new
    if state["best"] is not None and state["best"][0] > tolerance and step:
        evaluate(geo.snap(state["best"][5], step))  # whole transects of the single grid
    # phase 2: move a cut of the longest strip inwards (two transects, then one, a half, a
    # quarter) while that lowers the imbalance
    unit = step if step else 0.05 * (geo.hi - geo.lo) / n
    level, budget = 0, max_rounds
    while budget > 0 and level < len(MOVE_STEPS):
        best = state["best"]
        if best is None or best[0] <= tolerance:
            break
        imb, parts, order, _f, _s, bc = best
        times = [parts[order.index(j)].flight_time_s for j in range(n)]
        j = int(np.argmax(times))
        improved = False
        for side in sorted((-1, 1), key=lambda sd: times[j + sd] if 0 <= j + sd < n else 1e18):
            c = j if side == 1 else j - 1  # index of the cut between strip j and j + side
            if not 0 <= c < n - 1:
                continue
            moved = list(bc)
            moved[c] -= side * MOVE_STEPS[level] * unit
            before = state["rounds"]
            evaluate(moved)
            budget -= state["rounds"] - before
            if state["best"][0] < imb:
                improved = True
                break
        if not improved:
            level += 1
    if state["best"] is None:
        if state["error"] is not None:
            raise state["error"]
        raise PlanningError(f"{area.source}: no contiguous split into {n} parts found")
    parts, rounds = state["best"][1], state["rounds"]
    warnings = [f"vehicle {p.index + 1}: {w}" for p in parts for w in p.plan.warnings]
    top = parts[-1].transit_alt_m
    if getattr(fence, "enabled", False) and top > ARDUPILOT_FENCE_ALT_MAX_M:
        warnings.append(
            f"vehicle {n} transits at {top:g} m, above ArduCopter's default FENCE_ALT_MAX "
            f"({ARDUPILOT_FENCE_ALT_MAX_M:g} m): raise FENCE_ALT_MAX or lower the layer separation"
        )
    fp = FleetPlan(area, parts, angle, geo.cut_angle_deg, float(layer_separation_m), single,
                   float(survey_gap_m), rounds, warnings=warnings)  # fmt: skip
    fp.planning_time_s = time.perf_counter() - t0
    return fp


def _lattice_step(area: Area, camera, survey, geo: Strips, angle: float) -> float | None:
    """Transect spacing when the cuts run along the transects (cuts then fall midway between
    the single-vehicle plan's transect lines), else None (cuts anywhere)."""
    if abs(((geo.cut_angle_deg - angle) + 90.0) % 180.0 - 90.0) > 1e-6:
        return None
    from missions.camera import footprint, transect_spacing

    fp = footprint(camera, survey.alt_m)
    return float(transect_spacing(fp, survey.side_overlap, survey.spacing_m))


def _check_n(n_vehicles) -> int:
    if isinstance(n_vehicles, bool) or not isinstance(n_vehicles, int | np.integer):
        raise PlanningError(f"number of vehicles must be an integer, got {n_vehicles!r}")
    n = int(n_vehicles)
    if n < 1 or n > MAX_VEHICLES:
        raise PlanningError(f"number of vehicles must be 1..{MAX_VEHICLES}, got {n}")
    return n


def _contiguous_split(area: Area, angle: float, n: int) -> tuple[Strips, list[float]]:
    """The first cut direction (see :data:`CUT_ANGLES_OFF`) whose equal-area strips are each one
    polygon, and those cuts.

    Raises:
        PlanningError: No direction tried gives contiguous strips.
    """
    for off in CUT_ANGLES_OFF:
        geo = Strips(area, angle + off)
        cuts = geo.equal_area_cuts(n)
        if all(len(p) == 1 for p in geo.pieces(cuts)):
            return geo, cuts
    raise PlanningError(
        f"{area.source}: cannot cut the district into {n} contiguous parts of equal area along "
        "any direction tried: plan fewer vehicles or split the district by hand"
    )


@dataclass
class _Job:
    """What every part's planning shares."""

    area: Area
    homes: list | None
    camera: object
    survey: object
    sorties: object
    fence: object
    rally: object
    clearance: float
    home_alt_m: float
    separation_m: float
    risk_map: object
    revisit_min: float | None


def _plan_parts(job: _Job, strips, avoids) -> tuple[list[VehiclePart], list[int], list[float]]:
    """Plan every strip for its vehicle; ``avoids[j]``: where strip j's survey must not go.

    Returns:
        Parts by vehicle index, the strip index of each vehicle, and each vehicle's fixed time
        (seconds that do not scale with its area; see
        :func:`missions.fleet_layers.apply_layer`).
    """
    area, survey, sorties, n = job.area, job.survey, job.sorties, len(strips)
    if job.homes is None:
        order = list(range(n))
        hs = [
            derived_home(area, s, job.clearance, job.home_alt_m, a)
            for s, a in zip(strips, avoids, strict=True)
        ]
    else:
        order = assign_homes(area, strips, job.homes)
        hs = list(job.homes)
    parts, fixed = [], []
    for k in range(n):
        strip, avoid = strips[order[k]], avoids[order[k]]
        layer_alt = float(survey.alt_m) + (k + 1) * job.separation_m
        sub = Area(
            name=f"{area.name} (part {k + 1} of {n})", source=f"{area.source} part {k + 1}/{n}",
            polygon_geo=local_to_geo(strip, area.frame), holes=list(area.holes),
            frame=area.frame, coord_order=area.coord_order,
        )  # fmt: skip
        rally = _With(job.rally, points=[p for p in job.rally.points if _near(area, strip, p, job)])
        plan, total, fx = plan_layered(
            sub, job.camera, survey, sorties, job.fence, rally, hs[k], layer_alt, avoid,
            who=f"vehicle {k + 1}", risk_map=job.risk_map, revisit_min=job.revisit_min,
        )  # fmt: skip
        parts.append(VehiclePart(k, local_to_geo(strip, area.frame), _geopoint(hs[k]), plan,
                                 layer_alt, total))  # fmt: skip
        fixed.append(fx)
    return parts, order, fixed


def _near(area: Area, strip, pt, job: _Job) -> bool:
    """True when rally point ``pt`` lies within the fence margin of ``strip``."""
    x, y = area.frame.to_local(pt.lat_deg, pt.lon_deg)
    return strip.buffer(float(job.fence.margin_m)).contains(Point(float(x), float(y)))


def _geopoint(h) -> GeoPoint:
    if isinstance(h, GeoPoint):
        return h
    return GeoPoint(lat_deg=float(h.lat_deg), lon_deg=float(h.lon_deg),
                    alt_m=float(getattr(h, "alt_m", 0.0)))  # fmt: skip


def plan_fleet_from_config(
    cfg, n_vehicles: int, area_path=None, homes=None, layer_separation_m: float = 10.0, **kw
) -> FleetPlan:
    """:func:`plan_fleet` with a config's settings (duck-typed like
    :func:`missions.planner.plan_from_config`; ``cfg`` needs sections ``area``, ``camera``,
    ``survey``, ``sorties``, ``fence``, ``rally``).

    Without ``homes`` the single-vehicle reference plan is
    :func:`~missions.planner.plan_from_config` (so one vehicle gives exactly that plan), and
    derived homes take its home's AMSL altitude. A risk map set in the config applies to every part.

    Raises:
        AreaError, ConfigError, PlanningError: As :func:`plan_from_config` and :func:`plan_fleet`.
    """
    from missions.planner import plan_from_config

    single = plan_from_config(cfg, area_path) if homes is None else None
    if single is not None:
        area, alt = single.area, float(single.home.alt_m)
        risk_map = single.risk_map
    else:
        from missions.areas import area_from_config
        from missions.planner import choose_home

        area = area_from_config(cfg, area_path)
        alt = float(choose_home(cfg, area)[0].alt_m)
        risk_map = None
        if getattr(cfg.area, "risk_map", None) is not None:
            from missions.risk import load_risk_map

            risk_map = load_risk_map(cfg.area.risk_map, cfg.area.risk_point_radius_m)
    revisit = getattr(cfg.area, "risk_revisit_min", None) if risk_map is not None else None
    return plan_fleet(
        area, n_vehicles, cfg.camera, cfg.survey, cfg.sorties, cfg.fence, homes,
        layer_separation_m, rally=cfg.rally, home_alt_m=alt, single=single,
        risk_map=risk_map, revisit_min=revisit, **kw,
    )  # fmt: skip
