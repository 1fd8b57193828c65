"""Property tests of the planner over random simple, concave and holed districts (hypothesis).

For every generated district the plan must: cover at least 99 % of (district minus holes) with the
camera footprint swept along the transects; never let a leg (transect, connection, home leg, RTL)
enter a hole; keep every waypoint inside the inclusion fence and outside the exclusions; keep the
connections between transects inside the district; fit every sortie in the battery budget.
"""

from __future__ import annotations

import math
import os

import numpy as np
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from planning_helpers import (
    assert_connections_inside_area,
    assert_route_avoids_holes,
    assert_waypoints_in_fence,
    home_at,
    make_area,
    transect_coverage,
)
from planning_helpers import settings as plan_settings
from shapely.geometry import Polygon, box

from missions.planner import plan_patrol

PROPS = settings(
    # DRONEPATROL_PROPERTY_EXAMPLES=500 for a long soak run
    max_examples=int(os.environ.get("DRONEPATROL_PROPERTY_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@st.composite
def star_polygons(draw, min_r=150.0, max_r=600.0):
    """Star-shaped polygons around (0, 0): always simple, concave when radii vary."""
    n = draw(st.integers(min_value=4, max_value=11))
    gaps = draw(st.lists(st.floats(0.3, 1.0), min_size=n, max_size=n))
    ang = np.cumsum(gaps) / np.sum(gaps) * 2 * math.pi
    radii = draw(st.lists(st.floats(min_r, max_r), min_size=n, max_size=n))
    pts = [(r * math.cos(a), r * math.sin(a)) for r, a in zip(radii, ang, strict=True)]
    poly = Polygon(pts)
    assume(poly.is_valid and poly.area > 40_000)
    return poly


@st.composite
def rectilinear_polygons(draw):
    """L, U, T and Z shapes: unions of 2-3 overlapping rectangles, randomly rotated."""
    k = draw(st.integers(2, 3))
    rects = []
    x0, y0 = 0.0, 0.0
    for _ in range(k):
        w = draw(st.floats(80, 500))
        h = draw(st.floats(80, 500))
        rects.append(box(x0, y0, x0 + w, y0 + h))
        corner = draw(st.sampled_from(["right", "top"]))
        # the next rectangle starts inside the current one so the union is connected
        if corner == "right":
            x0, y0 = x0 + w * draw(st.floats(0.5, 0.9)), y0 + h * draw(st.floats(0.0, 0.5))
        else:
            x0, y0 = x0 + w * draw(st.floats(0.0, 0.5)), y0 + h * draw(st.floats(0.5, 0.9))
    poly = shapely.union_all(rects)
    assume(isinstance(poly, Polygon) and not poly.interiors and poly.area > 40_000)
    rot = draw(st.floats(0, 180))
    poly = shapely.affinity.rotate(poly, rot, origin="centroid")
    c = poly.centroid
    return shapely.affinity.translate(poly, -c.x, -c.y)


@st.composite
def holed_polygons(draw):
    """A district with 1-3 convex no-fly holes that leave a passable free area around them."""
    outer = draw(st.one_of(star_polygons(min_r=300.0, max_r=700.0), rectilinear_polygons()))
    holes: list[Polygon] = []
    for _ in range(draw(st.integers(1, 3))):
        r = draw(st.floats(25, 90))
        room = outer.buffer(-(r * 1.2 + 45.0))
        if room.is_empty:
            break
        minx, miny, maxx, maxy = room.bounds
        cx = draw(st.floats(minx, maxx))
        cy = draw(st.floats(miny, maxy))
        if not room.contains(shapely.Point(cx, cy)):
            continue
        m = draw(st.integers(4, 8))
        rot = draw(st.floats(0, 2 * math.pi))
        hole = Polygon(
            [
                (
                    cx + r * math.cos(rot + 2 * math.pi * i / m),
                    cy + r * math.sin(rot + 2 * math.pi * i / m),
                )
                for i in range(m)
            ]
        )
        if any(hole.distance(h) < 45.0 for h in holes):
            continue
        holes.append(hole)
    assume(holes)
    return outer, holes


def _home(draw, area, inside: bool):
    free = area.free_local
    if inside:
        p = (
            free.buffer(-10).representative_point()
            if not free.buffer(-10).is_empty
            else free.representative_point()
        )
        return home_at(area, p.x, p.y)
    # outside the district, 60-150 m from its boundary
    ext = area.polygon_local.exterior
    t = draw(st.floats(0, 1))
    q = ext.interpolate(t, normalized=True)
    c = area.polygon_local.centroid
    d = np.array([q.x - c.x, q.y - c.y])
    d /= max(np.hypot(*d), 1e-9)
    off = draw(st.floats(60, 150))
    p = np.array([q.x, q.y]) + off * d
    assume(not area.polygon_local.buffer(20).contains(shapely.Point(*p)))
    return home_at(area, float(p[0]), float(p[1]))


@PROPS
@given(
    poly=st.one_of(star_polygons(), rectilinear_polygons()),
    data=st.data(),
    angle=st.one_of(st.just("auto"), st.floats(0, 179)),
    alt=st.sampled_from([30.0, 40.0, 60.0]),
)
def test_simple_and_concave_districts(poly, data, angle, alt):
    area = make_area(poly)
    inside = data.draw(st.booleans())
    home = _home(data.draw, area, inside)
    cam, survey, sorties, fence, rally = plan_settings(alt_m=alt, angle_deg=angle)
    plan = plan_patrol(area, cam, survey, sorties, fence, rally, home)
    cov = transect_coverage(plan, alt)
    assert cov >= 0.99, f"coverage {cov:.4f} < 0.99"
    assert_route_avoids_holes(plan)
    assert_waypoints_in_fence(plan)
    assert_connections_inside_area(plan)
    assert all(s.flight_time_s <= plan.stats.sortie_budget_s + 1e-6 for s in plan.sorties)


@PROPS
@given(shape=holed_polygons(), data=st.data(), angle=st.one_of(st.just("auto"), st.floats(0, 179)))
def test_holed_districts(shape, data, angle):
    outer, holes = shape
    area = make_area(outer, holes)
    home = _home(data.draw, area, data.draw(st.booleans()))
    cam, survey, sorties, fence, rally = plan_settings(alt_m=40.0, angle_deg=angle)
    plan = plan_patrol(area, cam, survey, sorties, fence, rally, home)
    cov = transect_coverage(plan, 40.0)
    assert cov >= 0.99, f"coverage {cov:.4f} < 0.99"
    assert_route_avoids_holes(plan)
    assert_waypoints_in_fence(plan)
    assert_connections_inside_area(plan)
    assert all(s.flight_time_s <= plan.stats.sortie_budget_s + 1e-6 for s in plan.sorties)


@PROPS
@given(
    shape=holed_polygons(),
    data=st.data(),
    turnaround=st.sampled_from([-8.0, 12.0, 30.0]),
    endurance=st.sampled_from([8.0, 12.0]),
)
def test_turnaround_and_short_battery(shape, data, turnaround, endurance):
    """Turnaround extensions never reach into holes or past the fence; many small sorties fit."""
    outer, holes = shape
    area = make_area(outer, holes)
    home = _home(data.draw, area, True)
    cam, survey, sorties, fence, rally = plan_settings(
        alt_m=40.0, turnaround_m=turnaround, endurance_min=endurance
    )
    plan = plan_patrol(area, cam, survey, sorties, fence, rally, home)
    cov = transect_coverage(plan, 40.0)
    assert cov >= 0.99, f"coverage {cov:.4f} < 0.99"
    assert_route_avoids_holes(plan)
    assert_waypoints_in_fence(plan)
    # no connections-inside-the-district check: turnaround extensions fly beyond it
    assert all(s.flight_time_s <= plan.stats.sortie_budget_s + 1e-6 for s in plan.sorties)
