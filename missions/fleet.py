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
3. Initial cut positions give every strip the same free area (district minus no-fly zones),
   found by bisection on the clipped area. Each strip is then planned by the single-vehicle
   planner (its routing around no-fly zones, coverage repair and battery-sized sorties) and its
   flight time T_i measured with the planner's own model (:mod:`missions.flight_time`, plus the
   altitude-layer climbs below). The time density T_i / A_i of each strip defines a cumulative
   time profile along the sweep axis; new cuts split that profile into N equal shares (bisection
   again). This repeats until max/min flight time is within ``tolerance`` or ``max_rounds``
   rounds were planned; the best round wins.

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

import itertools
import logging
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.ops import nearest_points

from missions.areas import Area
from missions.errors import PlanningError
from missions.flight_time import FlightModel
from missions.grid import direction
from missions.items import (
    MAV_CMD_NAV_TAKEOFF,
    MAV_CMD_NAV_WAYPOINT,
    MAV_FRAME_GLOBAL_RELATIVE_ALT,
    MissionItem,
)
from missions.planner import PatrolPlan, plan_patrol
from missions.settings import GeoPoint
from missions.shapes import local_to_geo, polygons_of

log = logging.getLogger(__name__)

MAX_VEHICLES = 32
"""Largest fleet the planner splits for."""
MIN_PART_M2 = 100.0
"""A part's free area must be at least this (m²); more vehicles than that allows is an error."""
HOME_INSET_M = 5.0
"""Derived homes lie this far inside their strip's free area (so homes are >= 10 m apart)."""
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
        rounds: Re-cutting rounds planned.
        planning_time_s: Wall time of :func:`plan_fleet`, seconds.
    """

    area: Area
    parts: list[VehiclePart]
    angle_deg: float
    cut_angle_deg: float
    layer_separation_m: float
    single: PatrolPlan | None = None
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


class _With:
    """A settings object with some attributes overridden (duck-typed settings stay duck-typed)."""

    def __init__(self, base, **over):
        self._base, self._over = base, over

    def __getattr__(self, name):
        if name in self.__dict__.get("_over", {}):
            return self._over[name]
        return getattr(self._base, name)


# --- geometry of the strips -------------------------------------------------------------------------


def _axis(cut_angle_deg: float) -> np.ndarray:
    """Unit vector across cut lines running at ``cut_angle_deg`` (their left normal), local x/y."""
    d = direction(cut_angle_deg)
    return np.array([-d[1], d[0]])


def _extent(geom, u: np.ndarray) -> tuple[float, float]:
    w = np.asarray(shapely.get_coordinates(geom)) @ u
    return float(w.min()), float(w.max())


def _slab(u: np.ndarray, lo: float, hi: float, reach: float) -> Polygon:
    """The band lo <= p·u <= hi, clipped to a square of half-size ``reach`` about the origin."""
    v = np.array([-u[1], u[0]])
    pts = [lo * u - reach * v, hi * u - reach * v, hi * u + reach * v, lo * u + reach * v]
    return Polygon([tuple(p) for p in pts])


def _pieces(geom) -> list[Polygon]:
    return [p for p in polygons_of(geom) if p.area >= 1.0]


def _strips(area: Area, u, cuts, reach) -> list:
    lo, hi = _extent(area.polygon_local, u)
    bounds = [lo - 1.0, *cuts, hi + 1.0]
    return [
        area.polygon_local.intersection(_slab(u, a, b, reach))
        for a, b in zip(bounds[:-1], bounds[1:], strict=False)
    ]


def _cuts_for(area: Area, u, reach, density: list[tuple[float, float, float]], n: int) -> list:
    """Cut positions splitting the density-weighted free area into n equal shares.

    ``density`` is a list of (lo, hi, weight per m²) bands along ``u``; bisection on the
    (monotone) weighted area below a position.
    """
    free = area.free_local

    def mass(c: float) -> float:
        m = 0.0
        for lo, hi, rho in density:
            top = min(hi, c)
            if top > lo:
                m += rho * free.intersection(_slab(u, lo, top, reach)).area
        return m

    lo0, hi0 = density[0][0], density[-1][1]
    total = mass(hi0)
    cuts = []
    for k in range(1, n):
        target = total * k / n
        a, b = lo0, hi0
        for _ in range(50):
            m = 0.5 * (a + b)
            if mass(m) < target:
                a = m
            else:
                b = m
            if b - a < 0.05:
                break
        cuts.append(0.5 * (a + b))
    return cuts


# --- homes and layers -------------------------------------------------------------------------------


def _derived_home(area: Area, strip, clearance: float, alt_m: float) -> GeoPoint:
    """The point of the strip's free area, inset from edges and no-fly zones, nearest its centroid."""
    free = strip.difference(area.keepout_local.buffer(clearance)) if area.holes else strip
    inner = free.buffer(-HOME_INSET_M)
    if inner.is_empty:
        inner = free.buffer(-0.5) if not free.buffer(-0.5).is_empty else free
    c = strip.centroid
    p = c if inner.contains(c) else nearest_points(inner, c)[0]
    lat, lon = area.frame.to_geo(p.x, p.y)
    return GeoPoint(lat_deg=float(lat), lon_deg=float(lon), alt_m=float(alt_m))


def _assign(area: Area, strips, homes) -> list[int]:
    """strip index of each home (least total home-to-strip distance; greedy beyond 7 vehicles)."""
    pts = [Point(*map(float, area.frame.to_local(h.lat_deg, h.lon_deg))) for h in homes]
    d = np.array([[s.distance(p) for s in strips] for p in pts])
    n = len(homes)
    if n <= 7:
        best = min(itertools.permutations(range(n)), key=lambda pm: d[range(n), pm].sum())
        return list(best)
    out, used = [], set()
    for k in range(n):
        j = min((j for j in range(n) if j not in used), key=lambda j: d[k, j])
        used.add(j)
        out.append(j)
    return out


def layer_overhead_s(model: FlightModel, layer_m: float) -> float:
    """Extra time per sortie for flying transits ``layer_m`` above the survey altitude, seconds.

    Climb at take-off and descent before landing (``layer_m`` each), plus the vertical descent
    onto the first transect and the climb off the last one.
    """
    up, down = layer_m / model.climb_m_s, layer_m / model.descent_m_s
    return 2.0 * (up + down)


def _layered(plan: PatrolPlan, part_local, survey_alt: float, layer_alt: float, sorties):
    """Re-write each sortie's mission items with the transit layer; return the plan's new time.

    Waypoints before the first transect start and after the last transect end (the home legs),
    and connections that leave ``part_local`` (grown by the turnaround distance plus 2 m), fly at
    ``layer_alt``; vertical waypoints are added where the altitude changes. Times are recomputed.
    """
    frame = plan.frame
    keep = part_local.buffer(max(plan.stats.turnaround_m, 0.0) + 2.0)
    model = FlightModel(
        speed_m_s=plan.stats.speed_m_s, alt_m=layer_alt, takeoff_alt_m=layer_alt,
        climb_m_s=float(sorties.climb_m_s), descent_m_s=float(sorties.descent_m_s),
        accel_m_s2=float(getattr(sorties, "accel_m_s2", 2.5)),
    )  # fmt: skip
    dz = layer_alt - survey_alt
    total = 0.0
    for s in plan.sorties:
        path = np.asarray(s.path_local, float)
        n = len(path)
        alt = np.full(n, layer_alt)
        # survey spans: transect a..b index ranges along the path
        marks = []
        j = 0
        for t in s.transects:
            ia = _find(path, t.a, j)
            ib = _find(path, t.b, ia if ia is not None else j)
            if ia is None or ib is None:
                continue
            marks.append((ia, ib))
            j = ib
        extra = 0.0
        if marks:
            for (ia, ib), nxt in zip(marks, [*marks[1:], None], strict=False):
                alt[ia : ib + 1] = survey_alt
                if nxt is not None:
                    conn = path[ib : nxt[0] + 1]
                    inside = len(conn) < 2 or keep.covers(shapely.LineString(conn))
                    if inside:
                        alt[ib : nxt[0] + 1] = survey_alt
                    else:
                        extra += dz / model.climb_m_s + dz / model.descent_m_s
        # waypoints = path[1:-1]; duplicate a vertex where the altitude steps
        wps, zs = [], []
        for i in range(1, n - 1):
            before = alt[i - 1] if i >= 1 else layer_alt
            here = alt[i]
            if before != here and before == layer_alt and here == survey_alt:
                wps += [path[i], path[i]]
                zs += [layer_alt, survey_alt]
            elif i + 1 < n and alt[i + 1] == layer_alt and here == survey_alt:
                wps += [path[i], path[i]]
                zs += [survey_alt, layer_alt]
            else:
                wps.append(path[i])
                zs.append(here)
        latlon = frame.to_geo_array(np.asarray(wps)) if wps else np.zeros((0, 2))
        items = list(s.items[:3])
        items[1] = replace(items[1], z=float(layer_alt))
        rel = MAV_FRAME_GLOBAL_RELATIVE_ALT
        for (lat, lon), z in zip(latlon, zs, strict=True):
            items.append(MissionItem(seq=len(items), frame=rel, command=MAV_CMD_NAV_WAYPOINT,
                                     x=float(lat), y=float(lon), z=float(z)))  # fmt: skip
        items.append(replace(s.items[-1], seq=len(items)))
        assert items[1].command == MAV_CMD_NAV_TAKEOFF
        s.items = items
        s.flight_time_s = model.fixed_s + model.route_s(path) + (
            (dz / model.descent_m_s + dz / model.climb_m_s) if marks else 0.0
        ) + extra  # fmt: skip
        total += s.flight_time_s
    plan.stats.flight_time_s = float(total)
    plan.stats.waypoints = sum(len(s.items) - 4 for s in plan.sorties)
    return total


def _find(path: np.ndarray, p, start: int) -> int | None:
    d = np.hypot(path[start:, 0] - p[0], path[start:, 1] - p[1])
    k = int(np.argmin(d)) if len(d) else -1
    return start + k if k >= 0 and d[k] < 1e-3 else None


# --- the fleet planner ------------------------------------------------------------------------------


def plan_fleet(
    area: Area, n_vehicles: int, camera, survey, sorties, fence, homes=None,
    layer_separation_m: float = 10.0, *, rally=None, home_alt_m: float = 0.0,
    single: PatrolPlan | None = None, tolerance: float = 1.05, max_rounds: int = 6,
    risk_map=None, revisit_min: float | None = None,
) -> FleetPlan:  # fmt: skip
    """Split ``area`` between ``n_vehicles`` and plan each part (see the module notes).

    Args:
        area: The district (:func:`missions.areas.load_area`).
        n_vehicles: Number of vehicles, 1..:data:`MAX_VEHICLES`.
        camera, survey, sorties, fence: As for :func:`missions.planner.plan_patrol`.
        homes: One home per vehicle (``lat_deg``, ``lon_deg``, ``alt_m`` AMSL), or None to
            derive one inside each part.
        layer_separation_m: Vertical distance between transit layers, metres (> 0).
        rally: ``RallySettings``-like; each part keeps the points inside its own fence.
        home_alt_m: AMSL altitude of derived homes, metres.
        single: The single-vehicle plan of ``area`` if already computed (else planned here,
            from ``homes[0]`` or a derived home).
        tolerance: Stop re-cutting when max/min flight time is at most this.
        max_rounds: Most re-cutting rounds (each plans every part once).
        risk_map, revisit_min: Passed to each part's :func:`plan_patrol`.

    Returns:
        The :class:`FleetPlan`; ``n_vehicles == 1`` gives the single plan as its only part.

    Raises:
        PlanningError: Bad ``n_vehicles`` or ``homes``; a district that cannot be cut into that
            many parts of at least :data:`MIN_PART_M2`; any part's planning error.
    """
    t0 = time.perf_counter()
    if isinstance(n_vehicles, bool) or not isinstance(n_vehicles, int | np.integer):
        raise PlanningError(f"number of vehicles must be an integer, got {n_vehicles!r}")
    n = int(n_vehicles)
    if n < 1 or n > MAX_VEHICLES:
        raise PlanningError(f"number of vehicles must be 1..{MAX_VEHICLES}, got {n}")
    if not (layer_separation_m > 0 and math.isfinite(layer_separation_m)):
        raise PlanningError(f"layer separation must be > 0 m, got {layer_separation_m!r}")
    if homes is not None:
        homes = [_geopoint(h) for h in homes]
        if len(homes) != n:
            raise PlanningError(f"{len(homes)} homes given for {n} vehicles: give one per vehicle")
        keys = {(round(h.lat_deg, 7), round(h.lon_deg, 7)) for h in homes}
        if len(keys) != n:
            raise PlanningError("two vehicles share a home: give each vehicle its own home")
    free_m2 = area.free_local.area
    if free_m2 / n < MIN_PART_M2:
        raise PlanningError(
            f"{area.source}: {free_m2:.0f} m² to cover cannot be split between {n} vehicles "
            f"(each part needs at least {MIN_PART_M2:g} m²)"
        )
    rally = rally if rally is not None else _With(object(), points=[])
    clearance = float(getattr(survey, "no_fly_clearance_m", 5.0))
    ref_home = homes[0] if homes else None
    if single is None and (n == 1 or survey.angle_deg == "auto"):
        if ref_home is None:
            ref_home = _derived_home(area, area.polygon_local, clearance, home_alt_m)
        single = plan_patrol(area, camera, survey, sorties, fence, rally, ref_home,
                             risk_map=risk_map, revisit_min=revisit_min)  # fmt: skip
    if n == 1:
        part = VehiclePart(0, area.polygon_geo, single.home, single, float(survey.alt_m),
                           float(single.stats.flight_time_s))  # fmt: skip
        fp = FleetPlan(area, [part], single.stats.angle_deg, single.stats.angle_deg,
                       layer_separation_m, single, 0)  # fmt: skip
        fp.planning_time_s = time.perf_counter() - t0
        return fp
    angle = float(single.stats.angle_deg if survey.angle_deg == "auto" else survey.angle_deg) % 180
    part_survey = _With(survey, angle_deg=angle)
    reach = 4.0 * max(1.0, math.hypot(*np.subtract(area.polygon_local.bounds[2:],
                                                    area.polygon_local.bounds[:2])))  # fmt: skip
    cut_angle, u, cuts = None, None, None
    for off in CUT_ANGLES_OFF:
        cand = (angle + off) % 180.0
        uu = _axis(cand)
        lo, hi = _extent(area.polygon_local, uu)
        cc = _cuts_for(area, uu, reach, [(lo - 1.0, hi + 1.0, 1.0)], n)
        if all(len(_pieces(s)) == 1 for s in _strips(area, uu, cc, reach)):
            cut_angle, u, cuts = cand, uu, cc
            break
    if cut_angle is None:
        raise PlanningError(
            f"{area.source}: cannot cut the district into {n} contiguous parts of equal area "
            "along any direction tried: plan fewer vehicles or split the district by hand"
        )
    base_model = FlightModel(speed_m_s=float(survey.speed_m_s), alt_m=float(survey.alt_m),
                             takeoff_alt_m=float(survey.alt_m), climb_m_s=float(sorties.climb_m_s),
                             descent_m_s=float(sorties.descent_m_s))  # fmt: skip
    best, rounds, warnings = None, 0, []
    for _ in range(max_rounds):
        strips = [_pieces(s) for s in _strips(area, u, cuts, reach)]
        if any(len(s) != 1 for s in strips) or any(
            s[0].difference(area.keepout_local).area < MIN_PART_M2 for s in strips
        ):
            break  # this round's cuts broke contiguity: keep the best so far
        strips = [s[0] for s in strips]
        rounds += 1
        parts, order = _plan_parts(area, strips, homes, camera, part_survey, sorties, fence,
                                   rally, clearance, home_alt_m, layer_separation_m, base_model,
                                   risk_map, revisit_min)  # fmt: skip
        times = [p.flight_time_s for p in parts]
        imb = max(times) / min(times)
        if best is None or imb < best[0]:
            best = (imb, parts, list(cuts))
        if imb <= tolerance:
            break
        # re-cut: density of each strip = its time per m² of free area
        lo, hi = _extent(area.polygon_local, u)
        bounds = [lo - 1.0, *cuts, hi + 1.0]
        dens = []
        for j in range(n):
            owner = parts[order.index(j)]
            a = max(strips[j].difference(area.keepout_local).area, 1.0)
            dens.append((bounds[j], bounds[j + 1], owner.flight_time_s / a))
        cuts = _cuts_for(area, u, reach, dens, n)
    if best is None:
        raise PlanningError(f"{area.source}: no contiguous split into {n} parts found")
    parts = best[1]
    for p in parts:
        warnings += [f"vehicle {p.index + 1}: {w}" for w in p.plan.warnings]
    fp = FleetPlan(area, parts, angle, cut_angle, float(layer_separation_m), single, rounds,
                   warnings=warnings)  # fmt: skip
    fp.planning_time_s = time.perf_counter() - t0
    return fp


def _plan_parts(area, strips, homes, camera, survey, sorties, fence, rally, clearance, home_alt,
                sep, base_model, risk_map, revisit_min):  # fmt: skip
    """Plan every strip for its vehicle: (parts by vehicle index, strip index of each vehicle)."""
    n = len(strips)
    if homes is None:
        order = list(range(n))
        hs = [_derived_home(area, s, clearance, home_alt) for s in strips]
    else:
        order = _assign(area, strips, homes)
        hs = list(homes)
    parts = []
    for k in range(n):
        strip = strips[order[k]]
        layer_alt = float(survey.alt_m) + (k + 1) * sep
        sub = Area(
            name=f"{area.name} (part {k + 1} of {n})", source=f"{area.source} part {k + 1}/{n}",
            polygon_geo=local_to_geo(strip, area.frame), holes=list(area.holes),
            frame=area.frame, coord_order=area.coord_order,
        )  # fmt: skip
        pr = _With(rally, points=[p for p in rally.points if _near(area, strip, p, fence)])
        over = layer_overhead_s(base_model, layer_alt - float(survey.alt_m))
        for _attempt in range(4):
            budget = float(sorties.endurance_min) * 60.0 * (1 - float(sorties.reserve_pct) / 100)
            scale = 60.0 * (1 - float(sorties.reserve_pct) / 100)
            sp = _With(sorties, endurance_min=float(sorties.endurance_min) - over / scale)
            plan = plan_patrol(sub, camera, survey, sp, fence, pr, hs[k], home_source=f"vehicle {k + 1}",
                               risk_map=risk_map, revisit_min=revisit_min)  # fmt: skip
            plan.stats.sortie_budget_s = budget
            total = _layered(plan, strip, float(survey.alt_m), layer_alt, sorties)
            worst = max(s.flight_time_s for s in plan.sorties)
            if worst <= budget + 1e-6:
                break
            over += worst - budget + 1.0
        else:
            raise PlanningError(f"vehicle {k + 1}: a layered sortie does not fit the battery")
        parts.append(VehiclePart(k, local_to_geo(strip, area.frame), _geopoint(hs[k]), plan,
                                 layer_alt, float(total)))  # fmt: skip
    return parts, order


def _near(area: Area, strip, pt, fence) -> bool:
    x, y = area.frame.to_local(pt.lat_deg, pt.lon_deg)
    return strip.buffer(float(fence.margin_m)).contains(Point(float(x), float(y)))


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
