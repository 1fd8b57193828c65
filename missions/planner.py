"""Survey patrol planner: district → transects → routed sorties → mission, fence and rally items.

What it guarantees (each is checked by property tests over random concave and holed areas):

* Transects are clipped to the district minus the no-fly holes (kept ``no_fly_clearance_m`` away
  from them): no transect crosses a hole or leaves the district, concave notches included (no
  convex hull anywhere).
* Connections between transects are shortest paths inside the free area (visibility graph,
  :mod:`missions.routing`): they go around holes and along concave boundaries, never straight
  across them. Legs to and from home stay inside the fence and outside the holes too.
* The camera footprint swept along the transects covers the free area; gaps left by concave
  corners are filled with extra coverage segments (:mod:`missions.coverage` explains the measure).
* Every waypoint lies inside the inclusion fence (the district buffered by ``fence.margin_m``) and
  outside every exclusion zone.
* Each sortie starts and ends at home and fits the battery: flight time (see
  :mod:`missions.flight_time`) ≤ endurance × (1 − reserve).

Grid angle ``auto`` ranks every 10 degrees plus the directions of the district's long edges by a
straight-line tour estimate, fully plans (routing, coverage repair, sorties) the best four and the
winner's ±5 degree neighbours; the shortest total route wins and is reported as the chosen angle.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import asdict, dataclass, field

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from missions.areas import Area
from missions.camera import Footprint, footprint, transect_spacing
from missions.coverage import coverage_fraction, transects_coverage
from missions.errors import AreaError, PlanningError
from missions.flight_time import FlightModel
from missions.geo import LocalFrame
from missions.grid import (
    Segment,
    apply_turnaround,
    boustrophedon_order,
    cheapest_insertion,
    direction,
    estimated_length,
    transect_lines,
    two_opt,
)
from missions.items import MissionItem
from missions.mission_items import MAX_FENCE_VERTICES, fence_items, rally_items, sortie_items
from missions.routing import Router, path_length
from missions.settings import GeoPoint
from missions.shapes import geo_to_local, local_to_geo, polygons_of

log = logging.getLogger(__name__)

ANGLE_STEP_DEG = 5.0
"""Coarse step of the automatic grid-angle search, degrees."""
FULL_CANDIDATES = 4
"""Number of best-estimated angles that are fully planned when the angle is ``auto``."""
FENCE_MARGIN_M = 2.0
"""Waypoints stay this far inside the inclusion fence (ArduPilot FENCE_MARGIN default, 2 m)."""
UNCOVERED_GOAL = 0.002
"""Coverage repair stops once less than this share of the free area is uncovered."""
REPAIR_ROUNDS = 4
"""Rounds of coverage repair (each adds segments through the largest uncovered pieces)."""
ARDUPILOT_FENCE_ALT_MAX_M = 100.0
"""ArduCopter FENCE_ALT_MAX default, metres above home."""
MAX_SPACE_VERTICES = 800
"""Flyable regions with more vertices are simplified inward for planning (see ``_tame``)."""
MIN_PARTIAL_M = 30.0
"""A sortie is filled up with part of the next transect when at least this much of it fits."""


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


# --- the planner -----------------------------------------------------------------------------------------


@dataclass
class _Context:
    area: Area
    home: GeoPoint
    home_xy: tuple[float, float]
    fp: Footprint
    spacing: float
    turnaround: float
    fence_local: Polygon
    fly: BaseGeometry
    transit: BaseGeometry
    home_space: BaseGeometry
    target: BaseGeometry
    model: FlightModel
    budget_s: float
    corner_xy: tuple[float, float] | None
    warnings: list[str]
    clearance: float
    risk_regions: dict | None = None
    revisit_s: float | None = None
    _routers: dict = field(default_factory=dict)

    @property
    def symmetric(self) -> bool:
        """True when the footprint is centred on the vehicle along the track (a nadir camera):
        then flying a transect either way sees the same ground."""
        ys = self.fp.corners[:, 1]
        return abs(float(ys.min() + ys.max())) < 1e-6

    @property
    def fly_inner(self) -> BaseGeometry:
        """The flyable region shrunk by 5 cm (points strictly inside it), cached."""
        got = self._routers.get("_fly_inner")
        if got is None:
            got = self.fly.buffer(-0.05)
            if got.is_empty:
                got = self.fly
            self._routers["_fly_inner"] = got
        return got

    def router(self, name: str) -> Router:
        """The cached :class:`Router` in the transit space (``transit``) or the home space."""
        r = self._routers.get(name)
        if r is None:
            space = self.transit if name == "transit" else self.home_space
            r = Router(
                space, inset_m=min(0.5, self.clearance / 2), snap_m=max(25.0, self.clearance * 4)
            )
            self._routers[name] = r
        return r

    def warn(self, msg: str) -> None:
        """Record a planning warning once and log it."""
        if msg not in self.warnings:
            self.warnings.append(msg)
            log.warning("%s", msg)


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
    ctx = _context(area, camera, survey, sorties, fence, home, home_source, avoid)
    if risk_map is not None:
        ctx.risk_regions = risk_map.regions_local(area.frame)
        ctx.revisit_s = 60.0 * revisit_min if revisit_min else None
    if survey.angle_deg == "auto":
        angle, built = _auto_angle(ctx)
    else:
        angle = float(survey.angle_deg) % 180.0
        built = _build_best(ctx, angle)
    segs, covered, sortie_paths = built
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


def _context(
    area: Area, camera, survey, sorties, fence, home, home_source="", avoid=None
) -> _Context:
    warnings: list[str] = []
    fp = footprint(camera, survey.alt_m)
    spacing = transect_spacing(fp, survey.side_overlap, survey.spacing_m)
    if spacing > fp.width_m + 1e-9:
        warnings.append(
            f"transect spacing {spacing:.1f} m is wider than the camera footprint "
            f"{fp.width_m:.1f} m: strips between transects will not be seen"
        )
    if fence.enabled and survey.alt_m > ARDUPILOT_FENCE_ALT_MAX_M:
        warnings.append(
            f"survey altitude {survey.alt_m:g} m is above ArduCopter's default FENCE_ALT_MAX "
            f"({ARDUPILOT_FENCE_ALT_MAX_M:g} m): raise FENCE_ALT_MAX on the vehicle or the fence "
            "will trigger"
        )
    clearance = float(getattr(survey, "no_fly_clearance_m", 5.0))
    hx, hy = area.frame.to_local(home.lat_deg, home.lon_deg)
    home_xy = (float(hx), float(hy))
    hp = Point(home_xy)
    for h, poly in zip(area.holes, area.holes_local, strict=False):
        if poly.contains(hp):
            raise PlanningError(
                f"home ({home.lat_deg:.6f}, {home.lon_deg:.6f}"
                + (f", from {home_source}" if home_source else "")
                + f") is inside the no-fly zone '{h.name}' ({h.where}): take off elsewhere"
            )
    target = area.free_local
    if target.is_empty or target.area < 1.0:
        if area.holes:
            raise PlanningError(
                f"{area.source}: nothing to cover: the no-fly zones cover the whole district"
            )
        raise PlanningError(
            f"{area.source}: nothing to cover: the district's area is "
            f"{area.polygon_local.area:.2g} m², less than 1 m²: check the file's coordinates"
        )

    fence_local = _fence_polygon(area, home_xy, float(fence.margin_m), warnings)
    fence_inner = fence_local.buffer(-FENCE_MARGIN_M, join_style="mitre")
    keepout = (
        area.keepout_local.buffer(clearance, join_style="mitre", mitre_limit=2.0)
        if area.holes
        else Polygon()
    )
    fly = area.polygon_local.intersection(fence_inner)
    if not keepout.is_empty:
        fly = fly.difference(keepout)
    if fly.is_empty:
        raise PlanningError(
            f"{area.source}: no room to fly: the district minus the no-fly zones "
            f"(kept {clearance:g} m away) is empty"
        )
    turnaround = float(survey.turnaround_m)
    fly = _tame(fly)
    transit = fly
    if turnaround > 0:
        band = area.polygon_local.buffer(turnaround, join_style="mitre").intersection(fence_inner)
        transit = _tame(band.difference(keepout) if not keepout.is_empty else band).union(fly)
    if avoid is not None and not avoid.is_empty:
        fly, transit = _tame(fly.difference(avoid)), _tame(transit.difference(avoid))
        if fly.is_empty:
            raise PlanningError(f"{area.source}: no room to fly outside the avoided region")
    home_space = fence_inner.difference(keepout) if not keepout.is_empty else fence_inner
    home_space = _tame(home_space).union(transit)
    corner = survey.start_corner
    corner_xy = None
    if corner != "auto":
        minx, miny, maxx, maxy = area.polygon_local.bounds
        corner_xy = (minx if "w" in corner else maxx, miny if "s" in corner else maxy)
    takeoff = survey.takeoff_alt_m if survey.takeoff_alt_m is not None else survey.alt_m
    model = FlightModel(
        speed_m_s=float(survey.speed_m_s),
        alt_m=float(survey.alt_m),
        takeoff_alt_m=float(takeoff),
        climb_m_s=float(sorties.climb_m_s),
        descent_m_s=float(sorties.descent_m_s),
        accel_m_s2=float(getattr(sorties, "accel_m_s2", 2.5)),
    )
    budget = float(sorties.endurance_min) * 60.0 * (1.0 - float(sorties.reserve_pct) / 100.0)
    if budget <= model.fixed_s:
        raise PlanningError(
            f"battery budget {budget / 60:.1f} min (endurance {sorties.endurance_min:g} min minus "
            f"{sorties.reserve_pct:g}% reserve) does not even cover take-off and landing "
            f"({model.fixed_s:.0f} s)"
        )
    return _Context(
        area=area,
        home=home,
        home_xy=home_xy,
        fp=fp,
        spacing=spacing,
        turnaround=turnaround,
        fence_local=fence_local,
        fly=fly,
        transit=transit,
        home_space=home_space,
        target=target,
        model=model,
        budget_s=budget,
        corner_xy=corner_xy,
        warnings=warnings,
        clearance=clearance,
    )


def _tame(geom: BaseGeometry, max_vertices: int = MAX_SPACE_VERTICES) -> BaseGeometry:
    """A version of ``geom`` with at most ``max_vertices`` vertices that lies inside ``geom``.

    Survey-grade or OSM boundaries can have thousands of vertices (or GPS noise) that make routing
    slow and block visibility. The region is shrunk by a tolerance, simplified with the same
    tolerance (Douglas-Peucker keeps every point within it), and clipped to the original, so the
    result never reaches outside; the tolerance doubles until the vertex count fits.
    """
    if shapely.get_num_coordinates(geom) <= max_vertices:
        return geom
    tol = 0.5
    out = geom
    while tol < 1e4:
        cand = geom.buffer(-tol, join_style="mitre").simplify(tol, preserve_topology=True)
        cand = shapely.union_all([p for p in polygons_of(cand.intersection(geom)) if p.area > 1.0])
        if cand.is_empty:
            break
        out = cand
        if shapely.get_num_coordinates(out) <= max_vertices:
            break
        tol *= 2.0
    return out


def _fence_polygon(area: Area, home_xy, margin: float, warnings: list[str]) -> Polygon:
    """Inclusion fence: the district buffered by the margin (plus a corridor to an outside home).

    The result has at most 255 vertices and contains the buffered district (simplification is done
    on a slightly larger polygon so that it never cuts into the area).
    """
    incl = area.polygon_local.buffer(margin, join_style="mitre", mitre_limit=2.0)
    hp = Point(home_xy)
    if not incl.buffer(-FENCE_MARGIN_M - 1.0).contains(hp):
        near = nearest_points(area.polygon_local, hp)[0]
        width = max(margin, 10.0)
        corridor = LineString([home_xy, (near.x, near.y)]).buffer(width, join_style="mitre")
        incl = shapely.union_all([incl, corridor, hp.buffer(width)])
        dist = hp.distance(area.polygon_local)
        warnings.append(
            f"home is {dist:.0f} m outside the district: the fence includes a corridor from home "
            "to the district"
        )
    incl = (
        Polygon(polygons_of(incl)[0].exterior)
        if not isinstance(incl, Polygon)
        else Polygon(incl.exterior)
    )
    tol = 0.25
    out = incl
    while True:
        cand = incl.buffer(tol, join_style="mitre").simplify(tol, preserve_topology=True)
        cand = (
            Polygon(cand.exterior)
            if isinstance(cand, Polygon)
            else Polygon(polygons_of(cand)[0].exterior)
        )
        out = cand
        if len(out.exterior.coords) - 1 <= MAX_FENCE_VERTICES:
            break
        tol *= 2.0
    return out


def _auto_angle(ctx: _Context):
    """Grid angle with the shortest total route (see the module notes).

    The total routed length is rugged in the angle (cells, sortie cuts and coverage repair change
    discretely), so a cheap estimate only preselects: every 10 degrees plus the directions of the
    district's long edges are ranked by a straight-line tour estimate, the best
    :data:`FULL_CANDIDATES` are fully planned, the winner's ±5 degree neighbours too, and the
    winner finally gets the 2-opt variant.
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
        """Plan the whole patrol at grid angle ``ang`` (cached) and return its total time."""
        ang = round(ang % 180.0, 3)
        if ang not in built:
            built[ang] = _build(ctx, ang)
        return _total(built[ang])

    for _, ang in scored[:FULL_CANDIDATES]:
        full(ang)
    best = min(built, key=lambda a: _total(built[a]))
    full(best - ANGLE_STEP_DEG)
    full(best + ANGLE_STEP_DEG)
    best = min(built, key=lambda a: _total(built[a]))
    if not ctx.symmetric:
        return best, built[best]
    improved = _build(ctx, best, improve=True)
    if _total(improved) < _total(built[best]) - 1e-6:
        return best, improved
    return best, built[best]


def _total(built) -> float:
    return sum(path_length(p) for p in built[2])


def _build_best(ctx: _Context, angle: float):
    """:func:`_build` with and without the 2-opt pass; the shorter routed total wins.

    A 2-opt pass over the transect order helps some layouts and hurts others once the route is
    cut into sorties, so both are routed and compared.
    """
    plain = _build(ctx, angle)
    if not ctx.symmetric:
        return plain
    improved = _build(ctx, angle, improve=True)
    return improved if _total(improved) < _total(plain) - 1e-6 else plain


def _build(ctx: _Context, angle: float, improve: bool = False):
    """Transects → order → turnaround → coverage repair (→ 2-opt) → sorties, for one angle."""
    lines = transect_lines(ctx.fly, angle, ctx.spacing)
    order = boustrophedon_order(lines, angle, ctx.home_xy, ctx.corner_xy)
    if not order:
        raise PlanningError(
            f"{ctx.area.source}: no transect fits in the district at angle {angle:g}"
        )
    order = apply_turnaround(order, ctx.turnaround, ctx.transit)
    order, covered = _repair_coverage(ctx, angle, order)
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


def _repair_coverage(ctx: _Context, angle: float, order: list[Segment]):
    """Add segments through uncovered pieces (concave corners, spikes) until coverage is reached."""
    d = direction(angle)
    covered = transects_coverage([(s.a, s.b, s.heading) for s in order], ctx.fp)
    total = ctx.target.area
    # pieces smaller than 2 % of the footprint are slivers along a ragged boundary: not worth a
    # detour each (they count against the coverage figure, which stays honest)
    thr = max(1.0, total * 1e-5, 0.02 * float(ctx.fp.polygon.area))
    ys = ctx.fp.corners[:, 1]
    for _ in range(REPAIR_ROUNDS):
        uncovered = ctx.target.difference(covered)
        if uncovered.area <= UNCOVERED_GOAL * total:
            break
        pieces = sorted(polygons_of(uncovered), key=lambda g: g.area, reverse=True)
        added = []
        for q in pieces:
            if q.area < thr or len(added) >= 60:
                break
            # a piece out of reach (a pocket of a ragged boundary) is not worth a detour
            seg, seen = _repair_segment(ctx, q, d, float(ys.min()), float(ys.max()))
            if seg is not None and seen >= min(0.5 * q.area, thr):
                added.append(seg)
        if not added:
            break
        for seg in added:
            order = cheapest_insertion(order, seg, ctx.home_xy, allow_reverse=ctx.symmetric)
        covered = shapely.union_all(
            [covered, transects_coverage([(s.a, s.b, s.heading) for s in added], ctx.fp)]
        )
    return order, covered


def _repair_segment(ctx: _Context, q: Polygon, d: np.ndarray, ymin: float, ymax: float):
    """A transect piece through the uncovered piece ``q``, and how much of ``q`` it sees (m²).

    The segment lies on the transect-direction line through a point of ``q`` (or the nearest
    flyable point), clipped to the flyable region and to the positions from which the footprint
    (``ymin``..``ymax`` metres ahead of the vehicle) reaches ``q``. Both directions of flight are
    tried; they differ for a camera that looks ahead.
    """
    rp = q.representative_point()
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


def _connect(ctx: _Context, a, b) -> list:
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


def _local_path(ctx: _Context, a, b):
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


def _home_leg(ctx: _Context, a, b) -> list:
    path = ctx.router("home").path(a, b)
    if path is None:
        raise PlanningError(
            f"{ctx.area.source}: no path between home and the district inside the fence that "
            "avoids the no-fly zones"
        )
    return path


def _split_sorties(ctx: _Context, order: list[Segment], straight: bool = False):
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


def _fit_fraction(ctx: _Context, head: list, s: Segment, ret) -> float:
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


def _assemble(
    ctx: _Context, survey, fence, rally, angle, sortie_segs, covered, sortie_paths
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
        exclusions, circles = [], []
        for h in area.holes:
            if h.circle is not None:
                circles.append(h.circle)
            else:
                exclusions.append(_fence_safe(h.polygon_geo, frame))
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
