"""Survey patrol planner: district → transects → routed sorties → mission, fence and rally items.

What it guarantees (each is checked by property tests over random concave and holed areas):

* Transects are clipped to the district minus the no-fly holes (kept ``no_fly_clearance_m`` away
  from them): no transect crosses a hole or leaves the district, concave notches included (no
  convex hull anywhere). Exceptions, both inside the fence and outside the holes: a positive
  ``turnaround_m`` extends both ends, and for a camera that looks ahead each transect starts with
  a lead-in as long as the footprint's near edge is ahead of the vehicle.
* Transects are flown cell by cell (boustrophedon cells), cells ordered and oriented by a local
  search that first avoids self-crossings of the survey route, then shortens it
  (:mod:`missions.leg_order`; the measure is :mod:`missions.route_shape`).
* Connections between transects are shortest paths inside the free area (visibility graph,
  :mod:`missions.routing`): they go around holes and along concave boundaries, never straight
  across them. Legs to and from home stay inside the fence and outside the holes too.
* The camera footprint swept along the transects covers the free area; gaps left by concave
  corners are filled with extra coverage segments, each inserted where it adds no crossing when
  there is such a place (:mod:`missions.coverage` explains the measure).
* Every waypoint lies inside the inclusion fence (the district buffered by ``fence.margin_m``) and
  outside every exclusion zone.
* Each sortie starts and ends at home and fits the battery: flight time (see
  :mod:`missions.flight_time`) ≤ endurance × (1 − reserve).
* A take-off or return leg that crosses its own sortie is routed round it when that fits the
  battery and adds at most a quarter to the sortie (:mod:`missions.home_legs`; not for
  risk-ordered plans).

Grid angle ``auto`` ranks every 10 degrees plus the directions of the district's long edges by a
straight-line tour estimate, plans (routing, coverage repair, sorties; no leg-order search) the
best four and the winner's ±5 degree neighbours; the two shortest are planned again with the
leg-order search and the 2-opt variant, and the route with the fewest self-crossings among those
at most 5 % longer than the shortest wins and is reported as the chosen angle.

The work is split in three modules: :mod:`missions.plan_space` (fence, flyable, transit and home
spaces, flight model), :mod:`missions.route_order` (transect order, coverage repair, sorties) and
this one (the public API, the results and their mission, fence and rally items).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import shapely
from shapely.geometry import MultiLineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from missions.areas import Area
from missions.camera import Footprint
from missions.coverage import coverage_fraction, transects_coverage
from missions.errors import AreaError
from missions.geo import LocalFrame
from missions.grid import Segment
from missions.home_legs import uncross_sorties
from missions.items import MissionItem
from missions.mission_items import MAX_FENCE_VERTICES, fence_items, rally_items, sortie_items
from missions.plan_space import PlanContext, make_context
from missions.route_order import auto_angle, build_best
from missions.routing import path_length
from missions.settings import GeoPoint
from missions.shapes import geo_to_local, local_to_geo, polygons_of

log = logging.getLogger(__name__)


# --- results ------------------------------------------------------------------------------------------


@dataclass
class Sortie:
    """One flight from home back to home.

    Attributes:
        index: 1-based sortie number.
        items: Mission items (seq 0 home, NAV_TAKEOFF, DO_CHANGE_SPEED, NAV_WAYPOINTs, RTL).
        path_local: (N, 2) horizontal path flown, local metres, from home to home.
        waypoints_local: (M, 2) positions of the NAV_WAYPOINTs, local metres.
        transects: Transect segments flown in this sortie, in order.
        length_m: Horizontal length of ``path_local``, metres.
        flight_time_s: Estimated flight time including take-off and landing, seconds.
    """

    index: int
    items: list[MissionItem]
    path_local: np.ndarray
    waypoints_local: np.ndarray
    transects: list[Segment]
    length_m: float
    flight_time_s: float


@dataclass
class PlanStats:
    """Figures of a plan (printed by ``dronepatrol plan``, saved in plan.json).

    Attributes:
        area_m2: Area to cover: district minus no-fly zones, m².
        transects: Transect segments flown (a line cut by a hole counts twice; coverage-repair
            segments and sortie cuts count too).
        transect_lines: Distinct transect lines used.
        waypoints: NAV_WAYPOINT items over all sorties.
        route_length_m: Horizontal length of all sorties, home to home, metres.
        flight_time_s: Estimated flight time of all sorties (:mod:`missions.flight_time`), s.
        sorties: Number of sorties (battery changes + 1).
        gsd_cm_px: Ground sampling distance at the image centre, cm/px.
        coverage_pct: Share of ``area_m2`` swept by the footprint along the transects, percent
            (:mod:`missions.coverage`).
        angle_deg: Transect direction, degrees clockwise from north (the chosen one for ``auto``).
        spacing_m: Distance between transects, metres.
        footprint_w_m: Footprint width across the track, metres.
        footprint_h_m: Footprint length along the track, metres.
        alt_m: Survey altitude above home, metres.
        speed_m_s: Ground speed, m/s.
        turnaround_m: Turnaround distance used, metres.
        holes: Number of no-fly zones.
        sortie_budget_s: Flight time allowed per sortie (endurance minus reserve), seconds.
        planning_time_s: Wall time :func:`plan_patrol` took, seconds.
    """

    area_m2: float
    transects: int
    transect_lines: int
    waypoints: int
    route_length_m: float
    flight_time_s: float
    sorties: int
    gsd_cm_px: float
    coverage_pct: float
    angle_deg: float
    spacing_m: float
    footprint_w_m: float
    footprint_h_m: float
    alt_m: float
    speed_m_s: float
    turnaround_m: float
    holes: int
    sortie_budget_s: float
    planning_time_s: float = 0.0

    def as_dict(self) -> dict:
        """JSON-serialisable dict."""
        return asdict(self)


@dataclass
class PatrolPlan:
    """A planned patrol: sorties with their mission items, plus fence and rally items.

    Attributes:
        area: The district.
        home: Home position (``alt_m`` AMSL).
        frame: Local metric frame of all ``*_local`` geometry (the area's frame).
        footprint: Camera footprint at the survey altitude.
        sorties: Sorties in flight order.
        fence_items: Fence list (mission_type FENCE); empty when the fence is disabled.
        rally_items: Rally list (mission_type RALLY).
        fence_local: Inclusion fence polygon, local metres.
        transects: All transect segments in flight order (after turnaround and coverage repair).
        stats: Plan figures.
        warnings: Things the operator should know (route leaves the district to reach a part cut
            off by a no-fly zone, spacing wider than the footprint...).
    """

    area: Area
    home: GeoPoint
    frame: LocalFrame
    footprint: Footprint
    sorties: list[Sortie]
    fence_items: list[MissionItem]
    rally_items: list[MissionItem]
    fence_local: Polygon
    transects: list[Segment]
    stats: PlanStats
    warnings: list[str] = field(default_factory=list)
    risk_map: object | None = None
    """The :class:`~missions.risk.RiskMap` planned with, or None."""
    risk: dict | None = None
    """Per risk class figures (:func:`missions.risk_plan.risk_stats`), or None without a map."""
    home_source: str = ""
    """Where :attr:`home` came from, in words (set by :func:`plan_from_config`)."""

    def coverage_local(self, include_connections: bool = False) -> BaseGeometry:
        """Ground swept by the camera footprint, local metres.

        Args:
            include_connections: False (default, the reported ``coverage_pct``): transects only.
                True: the whole path of every sortie, as flown with the camera on.
        """
        if include_connections:
            from missions.coverage import swept_area

            return shapely.union_all(
                [swept_area(s.path_local, self.footprint) for s in self.sorties]
            )
        return transects_coverage([(t.a, t.b, t.heading) for t in self.transects], self.footprint)

    def coverage_geo(self, include_connections: bool = False) -> BaseGeometry:
        """:meth:`coverage_local` in (lon, lat)."""
        return local_to_geo(self.coverage_local(include_connections), self.frame)

    def coverage_pct(self, include_connections: bool = False) -> float:
        """Share of the free area (district minus holes) covered, percent."""
        return 100.0 * coverage_fraction(
            self.coverage_local(include_connections), self.area.free_local
        )

    @property
    def route_local(self) -> MultiLineString:
        """Every sortie's path (home to home), local metres."""
        return MultiLineString([s.path_local for s in self.sorties if len(s.path_local) >= 2])

    @property
    def route_geo(self) -> MultiLineString:
        """Every sortie's path in (lon, lat)."""
        return local_to_geo(self.route_local, self.frame)

    @property
    def fence_geo(self) -> Polygon:
        """Inclusion fence polygon in (lon, lat)."""
        return local_to_geo(self.fence_local, self.frame)


def plan_patrol(
    area: Area, camera, survey, sorties, fence, rally, home, *, home_source: str = "",
    risk_map=None, revisit_min: float | None = None, avoid=None,
) -> PatrolPlan:  # fmt: skip
    """Plan a survey patrol over ``area``.

    Args:
        area: The district (:func:`missions.areas.load_area`).
        camera: ``CameraSettings``-like (field of view or sensor, image size, gimbal pitch).
        survey: ``SurveySettings``-like: ``alt_m``, ``angle_deg`` (number or ``"auto"``),
            ``side_overlap``, ``spacing_m``, ``turnaround_m``, ``start_corner``, ``speed_m_s``,
            ``takeoff_alt_m``, ``no_fly_clearance_m``.
        sorties: ``SortieSettings``-like: ``endurance_min``, ``reserve_pct``, ``climb_m_s``,
            ``descent_m_s``, ``accel_m_s2``.
        fence: ``FenceSettings``-like: ``enabled``, ``margin_m``.
        rally: ``RallySettings``-like: ``points`` (lat_deg, lon_deg, alt_m above home).
        home: Home with ``lat_deg``, ``lon_deg``, ``alt_m`` (AMSL).
        home_source: Where ``home`` came from, for messages (``"sim.home"``...).
        risk_map: A :class:`~missions.risk.RiskMap`: transects are cut and re-ordered so red
            ground is seen first, then orange, then yellow (:mod:`missions.risk_plan`).
        revisit_min: With ``risk_map``, fly the red ground again every this many minutes.
        avoid: Local-metre geometry the survey altitude part of the route (transects,
            turnarounds, connections) stays out of; legs to and from home may cross it. The
            area to cover is unchanged. Used by :mod:`missions.fleet` to keep a gap from the
            neighbouring vehicles' parts.

    Returns:
        The :class:`PatrolPlan`.

    Raises:
        PlanningError: Home inside a no-fly zone, nothing left to cover, an unreachable part, or
            a battery too small to reach the area and come back.
    """
    t0 = time.perf_counter()
    ctx = make_context(area, camera, survey, sorties, fence, home, home_source, avoid)
    if risk_map is not None:
        ctx.risk_regions = risk_map.regions_local(area.frame)
        ctx.revisit_s = 60.0 * revisit_min if revisit_min else None
    if survey.angle_deg == "auto":
        angle, built = auto_angle(ctx)
    else:
        angle = float(survey.angle_deg) % 180.0
        built = build_best(ctx, angle)
    segs, covered, sortie_paths = built
    if risk_map is None:
        # (a risk-ordered route flies red ground first and again on time: legs re-routed round
        # it could pass red ground in between, so it keeps its shortest legs)
        sortie_paths = uncross_sorties(ctx, segs, sortie_paths)
    plan = _assemble(ctx, survey, fence, rally, angle, segs, covered, sortie_paths)
    if risk_map is not None:
        from missions.risk_plan import risk_stats

        plan.risk_map = risk_map
        plan.risk = risk_stats(
            plan.sorties, ctx.risk_regions, ctx.target, ctx.fp, ctx.model, risk_map.counts()
        )
    plan.stats.planning_time_s = time.perf_counter() - t0
    return plan


def plan_from_config(cfg, area_path=None) -> PatrolPlan:
    """Load the area named by a config and plan it with the config's settings.

    Home is, in order: ``cfg.area.home``; a ``home`` point in the area file; the embedded sim's home
    when ``cfg.connection.url == "sim"``; the area's first vertex.

    Args:
        cfg: ``groundstation.config.Config``-like object (sections ``area``, ``camera``,
            ``survey``, ``sorties``, ``fence``, ``rally``; optionally ``connection``, ``sim``).
        area_path: Area file overriding ``cfg.area.district``.

    Raises:
        AreaError: Bad area file or area far from home; PlanningError: see :func:`plan_patrol`.
    """
    from missions.areas import area_from_config

    area = area_from_config(cfg, area_path)
    home, source = choose_home(cfg, area)
    risk_map, revisit = None, None
    path = getattr(cfg.area, "risk_map", None)
    if path is None and getattr(cfg.area, "risk_revisit_min", None) is not None:
        from missions.errors import ConfigError

        raise ConfigError(
            "area.risk_revisit_min (--revisit) needs a risk map: set area.risk_map (--risk-map)"
        )
    if path is not None:
        from missions.risk import load_risk_map

        risk_map = load_risk_map(path, cfg.area.risk_point_radius_m)
        revisit = cfg.area.risk_revisit_min
    plan = plan_patrol(
        area, cfg.camera, cfg.survey, cfg.sorties, cfg.fence, cfg.rally, home,
        home_source=source, risk_map=risk_map, revisit_min=revisit,
    )  # fmt: skip
    plan.home_source = source
    return plan


def resolve_home(cfg, area: Area) -> GeoPoint:
    """Home for a config and an area (see :func:`choose_home`), checked against the area."""
    return choose_home(cfg, area)[0]


def home_source(cfg, area: Area) -> str:
    """Where :func:`resolve_home` takes home from, in words for messages."""
    return choose_home(cfg, area)[1]


def choose_home(cfg, area: Area) -> tuple[GeoPoint, str]:
    """Home for a config and an area, and where it came from in words.

    In order: ``cfg.area.home`` (``--home``); a home point in the area file (a ``.plan``'s
    plannedHomePosition, a GeoJSON/KML point named home); the embedded simulator's home
    (``connection.url: sim``) when the area lies within ``area.max_home_distance_km`` of it (the
    demo configs); the file's fence return point; else the point of the area's boundary nearest
    its centroid. So a real area file far from the simulator plans without ``--home``.

    Raises:
        AreaError: ``cfg.area.home`` is too far from the area (swapped lat/lon...).
    """
    max_km = cfg.area.max_home_distance_km
    if cfg.area.home is not None:
        return cfg.area.home, "area.home (--home)"
    if area.home_hint is not None:
        lat, lon, alt = area.home_hint
        return GeoPoint(lat_deg=lat, lon_deg=lon, alt_m=alt), f"the home point in {area.source}"
    connection = getattr(cfg, "connection", None)
    sim = getattr(cfg, "sim", None)
    if sim is not None and getattr(connection, "url", None) == "sim":
        h = sim.home
        try:
            area.check_home(h.lat_deg, h.lon_deg, max_km, "the embedded sim's home (sim.home)")
        except AreaError:
            pass  # a real area elsewhere: its own home below
        else:
            return (
                GeoPoint(lat_deg=h.lat_deg, lon_deg=h.lon_deg, alt_m=h.alt_m),
                "the embedded simulator's home, sim.home; set area.home (--home) to choose",
            )
    if area.return_point is not None:
        lat, lon, alt = area.return_point
        if math.isfinite(lat) and math.isfinite(lon) and (lat, lon) != (0.0, 0.0):
            return (
                GeoPoint(lat_deg=lat, lon_deg=lon, alt_m=0.0),
                f"the fence return point in {area.source}; set area.home (--home) to choose",
            )
    poly = area.polygon_local
    edge = nearest_points(poly.exterior, poly.centroid)[0]
    lat, lon = area.frame.to_geo(edge.x, edge.y)
    return (
        GeoPoint(lat_deg=float(lat), lon_deg=float(lon), alt_m=0.0),
        "the point of the district's boundary nearest its centre; set area.home (--home) to choose",
    )


def _assemble(
    ctx: PlanContext, survey, fence, rally, angle, sortie_segs, covered, sortie_paths
) -> PatrolPlan:
    area, frame, home = ctx.area, ctx.area.frame, ctx.home
    takeoff = survey.takeoff_alt_m if survey.takeoff_alt_m is not None else survey.alt_m
    sorties: list[Sortie] = []
    for i, (path, segs) in enumerate(zip(sortie_paths, sortie_segs, strict=False), 1):
        p = np.asarray(path, float)
        wps = p[1:-1] if len(p) > 2 else np.zeros((0, 2))
        latlon = frame.to_geo_array(wps) if len(wps) else np.zeros((0, 2))
        items = sortie_items(home, latlon, survey.alt_m, takeoff, survey.speed_m_s)
        sorties.append(
            Sortie(
                index=i,
                items=items,
                path_local=p,
                waypoints_local=wps,
                transects=list(segs),
                length_m=path_length(p),
                flight_time_s=ctx.model.sortie_s(p),
            )
        )
    fence_list: list[MissionItem] = []
    if fence.enabled:
        exclusions, circles = fence_exclusions(area)
        rp = area.return_point
        if rp is not None:
            x, y = frame.to_local(rp[0], rp[1])
            if not ctx.fence_local.contains(Point(float(x), float(y))):
                ctx.warn(
                    "the fence return point from the area file lies outside the fence: not uploaded"
                )
                rp = None
        fence_list = fence_items(local_to_geo(ctx.fence_local, frame), exclusions, circles, rp)
    rally_list = rally_items(rally.points)
    for k, pt in enumerate(rally.points):
        x, y = frame.to_local(pt.lat_deg, pt.lon_deg)
        q = Point(float(x), float(y))
        if not ctx.fence_local.contains(q) or area.keepout_local.contains(q):
            ctx.warn(f"rally point {k} lies outside the fence or inside a no-fly zone")
    all_segs = [s for segs in sortie_segs for s in segs]
    covered = transects_coverage([(s.a, s.b, s.heading) for s in all_segs], ctx.fp)
    cov = coverage_fraction(covered, ctx.target)
    stats = PlanStats(
        area_m2=float(ctx.target.area),
        transects=len(all_segs),
        transect_lines=len({s.line for s in all_segs if s.line >= 0}),
        waypoints=sum(len(s.waypoints_local) for s in sorties),
        route_length_m=float(sum(s.length_m for s in sorties)),
        flight_time_s=float(sum(s.flight_time_s for s in sorties)),
        sorties=len(sorties),
        gsd_cm_px=ctx.fp.gsd_cm_px,
        coverage_pct=100.0 * cov,
        angle_deg=float(angle),
        spacing_m=ctx.spacing,
        footprint_w_m=ctx.fp.width_m,
        footprint_h_m=ctx.fp.height_m,
        alt_m=float(survey.alt_m),
        speed_m_s=float(survey.speed_m_s),
        turnaround_m=ctx.turnaround,
        holes=len(area.holes),
        sortie_budget_s=ctx.budget_s,
    )
    return PatrolPlan(
        area=area,
        home=home
        if isinstance(home, GeoPoint)
        else GeoPoint(
            lat_deg=home.lat_deg, lon_deg=home.lon_deg, alt_m=getattr(home, "alt_m", 0.0)
        ),
        frame=frame,
        footprint=ctx.fp,
        sorties=sorties,
        fence_items=fence_list,
        rally_items=rally_list,
        fence_local=ctx.fence_local,
        transects=all_segs,
        stats=stats,
        warnings=list(ctx.warnings),
    )


def fence_exclusions(area: Area) -> tuple[list[Polygon], list[tuple[float, float, float]]]:
    """The fence's exclusion zones of ``area``'s no-fly zones: polygons (lon, lat) of at most
    255 vertices that contain each hole, and circles ``(lat, lon, radius_m)``."""
    exclusions, circles = [], []
    for h in area.holes:
        if h.circle is not None:
            circles.append(h.circle)
        else:
            exclusions.append(_fence_safe(h.polygon_geo, area.frame))
    return exclusions, circles


def _fence_safe(poly_geo: Polygon, frame: LocalFrame) -> Polygon:
    """An exclusion polygon with at most 255 vertices that still contains the hole."""
    if len(poly_geo.exterior.coords) - 1 <= MAX_FENCE_VERTICES:
        return poly_geo
    local = geo_to_local(poly_geo, frame)
    tol = 0.25
    while True:
        cand = local.buffer(tol, join_style="mitre").simplify(tol, preserve_topology=True)
        cand = Polygon(polygons_of(cand)[0].exterior)
        if len(cand.exterior.coords) - 1 <= MAX_FENCE_VERTICES:
            return local_to_geo(cand, frame)
        tol *= 2.0
