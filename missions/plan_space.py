"""The spaces a patrol plan lives in: flyable region, transit and home spaces, fence, flight model.

:func:`make_context` turns an area and the planner's settings into a :class:`PlanContext`: the
camera footprint and transect spacing, the inclusion fence (district buffered by the margin, plus a
corridor to a home outside it), the flyable region (district inside the fence margin minus the
no-fly zones kept ``no_fly_clearance_m`` away), the transit space (the flyable region plus the
turnaround band) and the home space (everything inside the fence outside the no-fly zones), the
flight-time model and the battery budget. :mod:`missions.route_order` plans routes in it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from missions.areas import Area
from missions.camera import Footprint, footprint, transect_spacing
from missions.errors import PlanningError
from missions.flight_time import FlightModel
from missions.mission_items import MAX_FENCE_VERTICES
from missions.routing import Router
from missions.settings import GeoPoint
from missions.shapes import polygons_of

log = logging.getLogger("missions.planner")

FENCE_MARGIN_M = 2.0
"""Waypoints stay this far inside the inclusion fence (ArduPilot FENCE_MARGIN default, 2 m)."""
ARDUPILOT_FENCE_ALT_MAX_M = 100.0
"""ArduCopter FENCE_ALT_MAX default, metres above home."""
MAX_SPACE_VERTICES = 800
"""Flyable regions with more vertices are simplified inward for planning (see :func:`tame`)."""


@dataclass
class PlanContext:
    """Everything one planning run shares: the area, home, footprint, spaces, model and budget."""

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
    home_space_any: BaseGeometry | None = None
    """The home space including the district's concave notches (None: the same as
    ``home_space``): used only when no home leg exists without them."""
    lead_m: float = 0.0
    """Lead-in before each transect's start for a camera that looks ahead, metres (0: nadir)."""
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
            space = {"transit": self.transit, "home_any": self.home_space_any}.get(
                name, self.home_space
            )
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


def make_context(
    area: Area, camera, survey, sorties, fence, home, home_source="", avoid=None
) -> PlanContext:
    """The planning context of one run (see the module notes).

    ``avoid`` (local-metre geometry, optional) is taken out of the survey-altitude spaces
    (transects, turnarounds, lead-ins, connections); legs to and from home may still cross it
    (:mod:`missions.fleet` keeps a gap from the neighbouring vehicles' parts with it).

    Raises:
        PlanningError: Home inside a no-fly zone, nothing to cover, no room to fly, or a battery
            budget that does not cover take-off and landing.
    """
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

    fence_local = fence_polygon(area, home_xy, float(fence.margin_m), warnings)
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
    fly = tame(fly)
    transit = fly
    if turnaround > 0:
        band = area.polygon_local.buffer(turnaround, join_style="mitre").intersection(fence_inner)
        transit = tame(band.difference(keepout) if not keepout.is_empty else band).union(fly)
    # a camera that looks ahead sees the ground from ymin metres in front: each transect starts
    # that far before the district's edge (a lead-in, inside the fence; missions.leg_order), but
    # never into a concave notch of the district (the notch is someone else's ground)
    ymin = float(fp.corners[:, 1].min())
    lead = ymin if ymin > 0.05 else 0.0
    if lead > 0:
        outer = area.polygon_local
        band = outer.buffer(lead, join_style="mitre").intersection(fence_inner)
        band = band.difference(outer.convex_hull.difference(outer.buffer(0.01)))
        if not keepout.is_empty:
            band = band.difference(keepout)
        transit = tame(band).union(transit)
    if avoid is not None and not avoid.is_empty:
        fly, transit = tame(fly.difference(avoid)), tame(transit.difference(avoid))
        if fly.is_empty:
            raise PlanningError(f"{area.source}: no room to fly outside the avoided region")
    home_space = fence_inner.difference(keepout) if not keepout.is_empty else fence_inner
    # legs to and from home do not cut through the district's concave notches either (unless
    # home is in one): the notch is someone else's ground, as for the lead-ins above
    notches = [
        g
        for g in polygons_of(
            area.polygon_local.convex_hull.difference(area.polygon_local.buffer(0.01))
        )
        if not g.buffer(clearance).covers(hp)
    ]
    home_space_any = None
    if notches:
        home_space_any = tame(home_space).union(transit)
        home_space = home_space.difference(shapely.union_all(notches))
    home_space = tame(home_space).union(transit)
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
    return PlanContext(
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
        lead_m=lead,
        home_space_any=home_space_any,
    )


def tame(geom: BaseGeometry, max_vertices: int = MAX_SPACE_VERTICES) -> BaseGeometry:
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


def fence_polygon(area: Area, home_xy, margin: float, warnings: list[str]) -> Polygon:
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
