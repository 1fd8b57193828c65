"""Planner behaviour on explicit shapes: concave U/L districts, holes, angle, corner, turnaround,
sorties, mission/fence/rally items, and the demo district."""

from __future__ import annotations

import math

import numpy as np
import pytest
from planning_helpers import (
    assert_connections_inside_area,
    assert_route_avoids_holes,
    assert_waypoints_in_fence,
    fence_polygons,
    flown_legs,
    home_at,
    make_area,
    transect_coverage,
)
from planning_helpers import settings as plan_settings
from shapely.geometry import LineString, Point, Polygon, box

from groundstation.config import REPO_ROOT, load_config
from missions.errors import PlanningError
from missions.items import (
    MAV_CMD_DO_CHANGE_SPEED,
    MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
    MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
    MAV_CMD_NAV_RALLY_POINT,
    MAV_CMD_NAV_RETURN_TO_LAUNCH,
    MAV_CMD_NAV_TAKEOFF,
    MAV_CMD_NAV_WAYPOINT,
    MAV_FRAME_GLOBAL,
    MAV_FRAME_GLOBAL_RELATIVE_ALT,
    MAV_MISSION_TYPE_FENCE,
    MAV_MISSION_TYPE_RALLY,
)
from missions.planner import plan_from_config, plan_patrol
from missions.settings import GeoPoint, NoFlyZone

# U: 600 m x 500 m with a 200 m wide notch open to the north, 350 m deep
U = box(0, 0, 600, 500).difference(box(200, 150, 400, 520))
NOTCH = box(200, 150, 400, 500)
# L: two arms
L = box(0, 0, 700, 200).union(box(0, 0, 200, 700))


def _plan(area, home_xy, **kw):
    cam, survey, sorties, fence, rally = plan_settings(**kw)
    return plan_patrol(area, cam, survey, sorties, fence, rally, home_at(area, *home_xy))


def _local_legs(plan):
    return [LineString([a, b]) for legs in flown_legs(plan) for a, b in legs]


@pytest.mark.parametrize("angle", [90.0, 0.0, 45.0, "auto"])
def test_u_shape_route_never_crosses_the_notch(angle):
    """Transects across the notch are split; every leg stays out of it (no convex hull)."""
    area = make_area(U)
    plan = _plan(area, (100, 50), angle_deg=angle)
    notch = NOTCH.buffer(-2.0)
    for leg in _local_legs(plan):
        assert not leg.intersects(notch), f"leg {leg} crosses the notch"
    assert_connections_inside_area(plan)
    assert transect_coverage(plan, 40.0) >= 0.99
    # the fence follows the notch too: its middle is outside the fence
    incl, _ = fence_polygons(plan)
    c = NOTCH.centroid
    lat, lon = area.frame.to_geo(c.x, c.y + 100)
    assert not incl[0].contains(Point(lon, lat))
    assert plan.fence_local.area < 0.9 * plan.fence_local.convex_hull.area


def test_u_shape_east_west_transects_are_split_at_the_notch():
    area = make_area(U)
    plan = _plan(area, (100, 50), angle_deg=90.0)
    lines = {}
    for t in plan.transects:
        if t.line >= 0:
            lines.setdefault(t.line, []).append(t)
    split = [segs for segs in lines.values() if len(segs) == 2]
    assert len(split) >= 4  # the lines north of y=150 meet the notch
    for segs in split:
        xs = sorted(x for t in segs for x in (t.a[0], t.b[0]))
        # two pieces, one west and one east of the notch
        assert xs[1] < 200.0 + 1e-6 and xs[2] > 400.0 - 1e-6


def test_l_shape_auto_angle_stays_inside():
    area = make_area(L)
    plan = _plan(area, (50, 50))
    assert_connections_inside_area(plan)
    inner_corner = box(210, 210, 700, 700)
    for leg in _local_legs(plan):
        assert leg.intersection(inner_corner).length < 1e-6
    assert transect_coverage(plan, 40.0) >= 0.99


def test_square_with_hole_routes_around_it():
    outer = box(0, 0, 800, 800)
    hole = box(300, 300, 500, 500)
    area = make_area(outer, [hole])
    plan = _plan(area, (50, 50), angle_deg=0.0)
    assert_route_avoids_holes(plan)
    assert_waypoints_in_fence(plan)
    assert_connections_inside_area(plan)
    hole_local = area.holes_local[0]
    for leg in _local_legs(plan):
        assert leg.distance(hole_local) >= 4.99  # no_fly_clearance_m default 5 m
    column = [t for t in plan.transects if 300 < t.a[0] < 500 and t.line >= 0]
    assert any(max(t.a[1], t.b[1]) < 300 for t in column)  # south of the hole
    assert any(min(t.a[1], t.b[1]) > 500 for t in column)  # north of the hole
    assert transect_coverage(plan, 40.0) >= 0.99


def test_auto_angle_minimises_route_length_and_follows_the_long_side():
    # 1400 m x 210 m strip (4 transects wide at 53.7 m spacing), long side at bearing 30 degrees
    strip = Polygon([(0, 0), (181.9, -105.0), (881.9, 1107.4), (700, 1212.4)])
    area = make_area(strip)
    home = (95.9, -43.8)  # at the south-west end
    plan = _plan(area, home, endurance_min=120.0)  # one sortie
    ang = plan.stats.angle_deg
    assert abs(ang - 30.0) <= 1.0, ang
    fixed = {
        a: _plan(area, home, angle_deg=a, endurance_min=120.0)
        for a in (0.0, 25.0, 35.0, 60.0, 90.0, 120.0, 150.0)
    }
    best_fixed = min(p.stats.route_length_m for p in fixed.values())
    assert plan.stats.route_length_m <= best_fixed
    assert fixed[120.0].stats.angle_deg == 120.0
    for t in fixed[120.0].transects:
        if t.length > 1:
            bearing = math.degrees(math.atan2(t.b[0] - t.a[0], t.b[1] - t.a[1])) % 180
            assert abs(bearing - 120.0) < 1e-6


@pytest.mark.parametrize("corner", ["sw", "se", "nw", "ne"])
def test_start_corner(corner):
    area = make_area(box(0, 0, 600, 400))
    plan = _plan(area, (300, 200), start_corner=corner, angle_deg=0.0)
    minx, miny, maxx, maxy = area.polygon_local.bounds
    want = (minx if "w" in corner else maxx, miny if "s" in corner else maxy)
    start = plan.transects[0].a
    assert math.dist(start, want) < 60, (start, want)


def test_turnaround_extends_past_the_ends_but_not_past_the_fence():
    area = make_area(box(0, 0, 500, 400))
    base = _plan(area, (250, 200), angle_deg=0.0, turnaround_m=0.0)
    ext = _plan(area, (250, 200), angle_deg=0.0, turnaround_m=10.0)
    cut = _plan(area, (250, 200), angle_deg=0.0, turnaround_m=-20.0)
    lb = sorted(t.length for t in base.transects if t.line >= 0)
    le = sorted(t.length for t in ext.transects if t.line >= 0)
    lc = sorted(t.length for t in cut.transects if t.line >= 0)
    assert le[-1] == pytest.approx(lb[-1] + 20.0, abs=0.1)
    assert lc[-1] == pytest.approx(lb[-1] - 40.0, abs=0.1)
    big = _plan(area, (250, 200), angle_deg=0.0, turnaround_m=100.0, margin_m=20.0)
    assert_waypoints_in_fence(big)
    assert max(t.length for t in big.transects) <= lb[-1] + 2 * 18.5  # margin minus 2 m


def test_sorties_fit_the_battery_and_each_starts_and_ends_at_home():
    area = make_area(box(0, 0, 1000, 800))
    plan = _plan(area, (500, -50), endurance_min=8.0, reserve_pct=20.0, speed_m_s=10.0, alt_m=50.0)
    budget = 8 * 60 * 0.8
    assert plan.stats.sortie_budget_s == pytest.approx(budget)
    assert len(plan.sorties) >= 3
    hx, hy = plan.frame.to_local(plan.home.lat_deg, plan.home.lon_deg)
    for s in plan.sorties:
        assert s.flight_time_s <= budget + 1e-6
        assert np.allclose(s.path_local[0], (hx, hy)) and np.allclose(s.path_local[-1], (hx, hy))
        items = s.items
        assert items[0].seq == 0 and items[0].frame == MAV_FRAME_GLOBAL
        assert (items[0].x, items[0].y) == (plan.home.lat_deg, plan.home.lon_deg)
        assert items[1].command == MAV_CMD_NAV_TAKEOFF and items[1].z == 50.0
        assert items[2].command == MAV_CMD_DO_CHANGE_SPEED and items[2].param2 == 10.0
        assert items[-1].command == MAV_CMD_NAV_RETURN_TO_LAUNCH
        wps = [it for it in items if it.command == MAV_CMD_NAV_WAYPOINT and it.seq > 0]
        assert len(wps) == len(s.waypoints_local)
        assert all(it.frame == MAV_FRAME_GLOBAL_RELATIVE_ALT and it.z == 50.0 for it in wps)
        assert all(it.frame == MAV_FRAME_GLOBAL_RELATIVE_ALT for it in items[1:])
        assert s.length_m == pytest.approx(LineString(s.path_local).length)
    # splitting into sorties loses no coverage: the transects of all sorties still cover the area
    assert transect_coverage(plan, 50.0) >= 0.99
    one = _plan(area, (500, -50), endurance_min=600.0, speed_m_s=10.0, alt_m=50.0)
    assert len(one.sorties) == 1
    flown = sum(t.length for t in plan.transects)
    assert flown == pytest.approx(sum(t.length for t in one.transects), rel=0.05)


def test_battery_too_small_is_a_clear_error():
    area = make_area(box(0, 0, 400, 400))
    with pytest.raises(PlanningError, match="battery budget"):
        _plan(area, (-3000, -3000), endurance_min=3.0)


def test_home_inside_a_no_fly_zone_is_refused():
    area = make_area(box(0, 0, 600, 600), [box(250, 250, 350, 350)])
    with pytest.raises(PlanningError, match="inside the no-fly zone"):
        _plan(area, (300, 300))


def test_fence_items_inclusion_margin_exclusions_and_circle():
    area = make_area(box(0, 0, 600, 600), [box(100, 100, 200, 180)])
    from missions.areas.model import Hole
    from missions.shapes import circle_polygon_geo

    lat, lon = area.frame.to_geo(450.0, 450.0)
    area.holes.append(
        Hole("pond", circle_polygon_geo(lat, lon, 40.0), "test", circle=(lat, lon, 40.0))
    )
    area.__dict__.pop("holes_local", None)
    area.__dict__.pop("keepout_local", None)
    area.__dict__.pop("free_local", None)
    plan = _plan(area, (20, 20), margin_m=30.0)
    items = plan.fence_items
    assert all(
        it.mission_type == MAV_MISSION_TYPE_FENCE and it.frame == MAV_FRAME_GLOBAL for it in items
    )
    assert [it.seq for it in items] == list(range(len(items)))
    incl, excl = fence_polygons(plan)
    from missions.shapes import geo_to_local

    fence_local = geo_to_local(incl[0], area.frame)
    assert fence_local.buffer(1.0).contains(area.polygon_local.buffer(30.0))
    assert area.polygon_local.buffer(30.0 + 2.0, join_style="mitre").contains(fence_local)
    assert (
        len(excl) == 1
        and int(
            [it for it in items if it.command == MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION][
                0
            ].param1
        )
        == 4
    )
    circles = [it for it in items if it.command == MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION]
    assert len(circles) == 1 and circles[0].param1 == 40.0
    assert_route_avoids_holes(plan)
    assert_waypoints_in_fence(plan)


def test_rally_points_and_disabled_fence():
    area = make_area(box(0, 0, 400, 400))
    rally = [GeoPoint(lat_deg=41.7905, lon_deg=123.4305, alt_m=30.0)]
    cam, survey, sorties, fence, rally_s = plan_settings(enabled=False, points=rally)
    plan = plan_patrol(area, cam, survey, sorties, fence, rally_s, home_at(area, 10, 10))
    assert plan.fence_items == []
    (r,) = plan.rally_items
    assert (r.command, r.mission_type, r.frame) == (
        MAV_CMD_NAV_RALLY_POINT,
        MAV_MISSION_TYPE_RALLY,
        3,
    )
    assert (r.x, r.y, r.z) == (41.7905, 123.4305, 30.0)


def test_home_outside_gets_a_fence_corridor_and_warning():
    area = make_area(box(0, 0, 400, 400))
    plan = _plan(area, (700, 200))
    assert any("outside the district" in w for w in plan.warnings)
    assert_waypoints_in_fence(plan)
    incl, _ = fence_polygons(plan)
    assert incl[0].contains(Point(plan.home.lon_deg, plan.home.lat_deg))


def test_hole_cutting_the_district_in_two_is_crossed_inside_the_fence():
    # the hole reaches 5 m past the district's edges but not past the 20 m fence margin
    area = make_area(box(0, 0, 900, 300), [box(400, -5, 500, 305)])
    plan = _plan(area, (100, 100))
    assert any("separate parts" in w for w in plan.warnings)
    assert_route_avoids_holes(plan)
    assert_waypoints_in_fence(plan)
    assert transect_coverage(plan, 40.0) >= 0.99


def test_part_cut_off_by_a_no_fly_zone_is_an_error():
    area = make_area(box(0, 0, 900, 300), [box(400, -50, 500, 350)])
    with pytest.raises(PlanningError, match="cannot be reached"):
        _plan(area, (100, 100))


def test_oblique_camera_and_sensor_model():
    area = make_area(box(0, 0, 400, 300))
    plan = _plan(area, (10, 10), gimbal_pitch_deg=-60.0)
    assert plan.footprint.polygon.bounds[1] > 0  # footprint lies ahead of the vehicle
    sensor = _plan(area, (10, 10), hfov_deg=None, sensor_width_mm=13.2, focal_length_mm=8.8,
                   image_width_px=5472, image_height_px=3648, alt_m=100.0)  # fmt: skip
    assert sensor.stats.gsd_cm_px == pytest.approx(2.74, abs=0.01)


def test_demo_district_plans_from_default_config():
    cfg = load_config(None, {"area.district": str(REPO_ROOT / "configs/districts/demo.geojson")})
    plan = plan_from_config(cfg)
    assert plan.area.name.startswith("Demo district")
    assert len(plan.area.holes) == 2
    assert (plan.home.lat_deg, plan.home.lon_deg) == (41.79, 123.43)  # the file's home point
    assert 1.5e6 < plan.stats.area_m2 < 4e6
    assert plan.stats.coverage_pct >= 99.0
    assert transect_coverage(plan, cfg.survey.alt_m) >= 0.99
    assert_route_avoids_holes(plan)
    assert_waypoints_in_fence(plan)
    assert_connections_inside_area(plan)


def test_config_no_fly_zones_are_avoided():
    zone = NoFlyZone(
        name="stadium", center=GeoPoint(lat_deg=41.7880, lon_deg=123.4250), radius_m=80.0
    )
    cfg = load_config(
        None,
        {
            "area.district": str(REPO_ROOT / "configs/districts/demo.geojson"),
            "area.no_fly": [zone.model_dump()],
        },
    )
    plan = plan_from_config(cfg)
    assert len(plan.area.holes) == 3
    assert_route_avoids_holes(plan)
    circles = [it for it in plan.fence_items if it.command == MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION]
    assert len(circles) == 1 and circles[0].param1 == 80.0


@pytest.mark.slow
def test_detailed_ragged_boundary_is_planned_safely():
    """A survey-grade boundary of 1200 vertices with metre-scale noise: simplified inward for
    planning, yet coverage, holes, fence and in-district connections all hold."""
    rng = np.random.default_rng(2)
    ang = np.sort(rng.uniform(0, 2 * math.pi, 1200))
    r = 700 + 150 * np.sin(ang * 5) + rng.normal(0, 10.0, ang.size)
    poly = Polygon(np.column_stack([r * np.cos(ang), r * np.sin(ang)]))
    area = make_area(poly, [box(-100, -100, 100, 100)])
    plan = _plan(area, (300, 300), endurance_min=40.0)
    assert transect_coverage(plan, 40.0) >= 0.99
    assert_route_avoids_holes(plan)
    assert_waypoints_in_fence(plan)
    assert_connections_inside_area(plan)


def _seen_by_sampling(plan, step_m: float = 2.0) -> float:
    """Share of the free area seen, by brute force: grid points inside the footprint trapezoid
    placed every metre along every transect (independent of missions.coverage's convex hulls)."""
    import shapely

    free = plan.area.free_local
    minx, miny, maxx, maxy = free.bounds
    gx, gy = np.meshgrid(
        np.arange(minx, maxx, step_m) + step_m / 2, np.arange(miny, maxy, step_m) + step_m / 2
    )
    inside = shapely.contains_xy(free, gx.ravel(), gy.ravel())
    px, py = gx.ravel()[inside], gy.ravel()[inside]
    seen = np.zeros(px.size, bool)
    corners = np.asarray(plan.footprint.polygon.exterior.coords)  # x right, y forward
    for t in plan.transects:
        a, b, u = np.asarray(t.a), np.asarray(t.b), np.asarray(t.heading)
        r = np.array([u[1], -u[0]])
        n = max(2, int(math.dist(t.a, t.b)) + 1)
        for k in range(n):
            v = a + (b - a) * k / (n - 1)
            poly = Polygon(v + corners[:, :1] * r + corners[:, 1:2] * u)
            seen |= shapely.contains_xy(poly, px, py)
    return float(seen.mean())


def test_oblique_camera_covers_a_block_with_a_hole():
    """A forward-looking camera sees nothing under or behind the vehicle: corners where transects
    start are filled by segments flown the other way, and the repair keeps their direction."""
    area = make_area(box(-90, -55, 90, 55), [box(25, -5, 55, 20)])
    plan = _plan(area, (0, 0), alt_m=20.0, hfov_deg=60.0, gimbal_pitch_deg=-45.0,
                 angle_deg=90.0, side_overlap=0.1, speed_m_s=5.0)  # fmt: skip
    assert plan.footprint.polygon.bounds[1] > 5.0  # the near edge is ahead of the vehicle
    assert plan.stats.coverage_pct >= 99.0
    assert _seen_by_sampling(plan) >= 0.99  # brute force agrees
    assert_route_avoids_holes(plan)
    assert_waypoints_in_fence(plan)
