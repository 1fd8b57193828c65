"""What a fleet vehicle left uncovered, and the remainder planned for another vehicle
(missions/fleet_remainder.py).

A 160 x 90 m block with a 20 x 15 m no-fly zone, split between two vehicles (oblique camera as
in the demo fleet, east-west transects). Vehicle 2 "stops" at a chosen mission item and
position; the remainder is measured against the planner's own coverage model and planned for
vehicle 1 from its home, in its layer, within its battery and a fence holding both parts.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, box

from missions.coverage import transects_coverage
from missions.errors import PlanningError
from missions.fleet import plan_fleet
from missions.fleet_remainder import (
    MIN_PIECE_M2,
    flown_transects,
    joint_fence,
    plan_remainder,
    transect_legs,
    uncovered_ground,
    worth_flying,
)
from missions.items import MAV_CMD_NAV_TAKEOFF, MAV_CMD_NAV_WAYPOINT
from missions.shapes import geo_to_local
from tests.missions.planning_helpers import (
    assert_route_avoids_holes,
    fence_polygons,
    flown_legs,
    make_area,
    settings,
)

SURVEY_ALT = 18.0


@pytest.fixture(scope="module")
def fleet():
    cam, sv, so, fe, ra = settings(
        alt_m=SURVEY_ALT, angle_deg=90, hfov_deg=50, gimbal_pitch_deg=-45, speed_m_s=3,
        side_overlap=0.1,
    )  # fmt: skip
    area = make_area(box(0, 0, 160, 90), holes=[box(60, 40, 80, 55)])
    fp = plan_fleet(area, 2, cam, sv, so, fe, layer_separation_m=10, rally=ra)
    return fp, (cam, sv, so, fe, ra)


def stopped(part, leg_index: int, fraction: float | None):
    """Vehicle ``part`` stopped on its first sortie's transect ``leg_index``: MISSION_CURRENT at
    that transect's end item, last AUTO position ``fraction`` along it (None: not known)."""
    s = part.plan.sorties[0]
    leg = transect_legs(s, part.plan.frame)[leg_index]
    pos = None
    if fraction is not None:
        a, b = np.asarray(leg.segment.a), np.asarray(leg.segment.b)
        pos = tuple(a + fraction * (b - a))
    return s, leg, flown_transects(s, part.plan.frame, leg.end_seq, pos)


def test_every_transect_is_found_among_the_layered_items(fleet):
    fp, _ = fleet
    for part in fp.parts:
        frame = part.plan.frame
        for s in part.plan.sorties:
            legs = transect_legs(s, frame)
            assert [leg.segment for leg in legs] == list(s.transects)
            for leg in legs:
                assert leg.start_seq < leg.end_seq
                for seq, end in ((leg.start_seq, leg.segment.a), (leg.end_seq, leg.segment.b)):
                    it = s.items[seq]
                    assert it.command == MAV_CMD_NAV_WAYPOINT and it.z == SURVEY_ALT
                    x, y = frame.to_local(it.x, it.y)
                    assert np.hypot(x - end[0], y - end[1]) < 0.05


def test_flown_transects_are_cut_at_the_reported_item_and_position(fleet):
    fp, _ = fleet
    part = fp.parts[1]
    s, leg, (flown, left) = stopped(part, 2, 0.4)
    legs = transect_legs(s, part.plan.frame)
    assert flown[:2] == [legs[0].segment, legs[1].segment]
    assert len(flown) == 3 and flown[2].a == leg.segment.a
    assert flown[2].length == pytest.approx(0.4 * leg.segment.length, abs=0.01)
    assert left[0].b == leg.segment.b and left[1:] == [g.segment for g in legs[3:]]
    total = sum(t.length for t in s.transects)
    assert sum(t.length for t in flown + left) == pytest.approx(total, abs=0.01)
    # the position unknown: the transect in flight counts as not flown at all
    _, _, (flown2, left2) = stopped(part, 2, None)
    assert flown2 == flown[:2] and left2 == [g.segment for g in legs[2:]]
    # nothing reported yet: nothing flown; past the end: everything
    assert flown_transects(s, part.plan.frame, -1) == ([], list(s.transects))
    assert flown_transects(s, part.plan.frame, len(s.items))[1] == []
    assert flown_transects(s, part.plan.frame, 0, completed=True) == (list(s.transects), [])


def test_uncovered_ground_is_the_part_minus_what_the_flown_transects_saw(fleet):
    fp, _ = fleet
    part = fp.parts[1]
    target = part.plan.area.free_local
    fpr = part.plan.footprint
    none = uncovered_ground(target, fpr, [])
    assert none.area_m2 == pytest.approx(target.area, rel=1e-6) and none.pct == pytest.approx(100)
    every = uncovered_ground(target, fpr, list(part.plan.transects))
    assert every.empty and every.area_m2 == 0.0
    s, leg, (flown, left) = stopped(part, 2, 0.4)
    rem = uncovered_ground(target, fpr, flown, transects_left=len(left))
    seen = transects_coverage([(t.a, t.b, t.heading) for t in flown], fpr)
    assert 0 < rem.area_m2 < target.area and rem.transects_left == len(left)
    # what is left and what was seen make the part, up to the slivers left out
    assert rem.ground_local.intersection(seen).area < 1.0
    union = rem.ground_local.union(seen).intersection(target).area
    assert union + rem.negligible_m2 == pytest.approx(target.area, abs=1.0)
    assert all(p.area >= MIN_PIECE_M2 for p in rem.pieces)
    # the transects not flown see it; the ones that see nothing of it are dropped
    todo = worth_flying(left, rem, fpr)
    assert todo and set(map(id, todo)) <= set(map(id, left))
    swept = transects_coverage([(t.a, t.b, t.heading) for t in todo], fpr)
    assert swept.intersection(rem.ground_local).area / rem.area_m2 > 0.99


def remainder_for_vehicle_1(fleet, **sorties):
    fp, (cam, sv, so, fe, ra) = fleet
    one, two = fp.parts
    _, _, (flown, left) = stopped(two, 1, 0.5)
    rem = uncovered_ground(two.plan.area.free_local, two.plan.footprint, flown)
    todo = worth_flying(left, rem, two.plan.footprint)
    so = so.model_copy(update=sorties)
    plan = plan_remainder(
        todo, two.plan.area, one.home, one.transit_alt_m, cam, sv, so, fe, ra,
        angle_deg=fp.angle_deg, who="drone 1", ground=rem.ground_local,
    )  # fmt: skip
    return fp, rem, plan


def test_remainder_is_planned_from_the_other_home_in_its_layer_and_covered(fleet):
    fp, rem, plan = remainder_for_vehicle_1(fleet)
    one = fp.parts[0]
    assert plan.home == one.home
    assert plan.stats.coverage_pct > 99.0
    # the plan's transects see the remainder, measured independently of the plan's stats
    seen = transects_coverage([(t.a, t.b, t.heading) for t in plan.transects], plan.footprint)
    assert seen.intersection(rem.ground_local).area / rem.area_m2 > 0.99
    for s in plan.sorties:
        assert s.flight_time_s <= plan.stats.sortie_budget_s + 1e-6
        takeoff = [it for it in s.items if it.command == MAV_CMD_NAV_TAKEOFF]
        assert [it.z for it in takeoff] == [one.transit_alt_m]  # its own layer, not vehicle 2's
        zs = {it.z for it in s.items if it.command == MAV_CMD_NAV_WAYPOINT and it.seq > 0}
        assert zs == {SURVEY_ALT, one.transit_alt_m}
    assert_route_avoids_holes(plan)


def test_joint_fence_holds_both_parts_and_every_leg_and_keeps_the_no_fly_zone(fleet):
    fp, rem, plan = remainder_for_vehicle_1(fleet)
    one, two = fp.parts
    local, items = joint_fence([one.plan, plan], fp.area)
    frame = fp.area.frame
    for p in (one, two):
        assert local.buffer(0.01).contains(geo_to_local(p.part_area, frame))
    assert local.buffer(0.01).contains(rem.ground_local)
    plan.fence_items = items
    incl, excl = fence_polygons(plan)
    assert len(incl) == 1 and len(excl) == 1
    fence = geo_to_local(incl[0], frame)
    assert fence.buffer(-0.5).area < local.area < fence.buffer(0.5).area
    hole = fp.area.holes_local[0]
    assert geo_to_local(excl[0], frame).buffer(0.01).contains(hole)
    for legs in flown_legs(plan) + flown_legs(one.plan):
        for a, b in legs:
            assert fence.buffer(0.1).covers(LineString([a, b]))


def test_remainder_sorties_fit_a_small_battery(fleet):
    _, rem, plan = remainder_for_vehicle_1(fleet, endurance_min=3.0, reserve_pct=10)
    assert len(plan.sorties) >= 2
    budget = 3.0 * 60 * 0.9
    assert plan.stats.sortie_budget_s == pytest.approx(budget)
    assert all(s.flight_time_s <= budget + 1e-6 for s in plan.sorties)
    assert plan.stats.coverage_pct > 99.0


def test_a_remainder_the_battery_cannot_reach_is_a_clear_error(fleet):
    with pytest.raises(PlanningError, match=r"^drone 1: .*battery"):
        remainder_for_vehicle_1(fleet, endurance_min=0.6, reserve_pct=10)


def test_nothing_left_is_not_planned(fleet):
    fp, (cam, sv, so, fe, ra) = fleet
    one, two = fp.parts
    with pytest.raises(PlanningError, match="nothing left"):
        plan_remainder([], two.plan.area, one.home, one.transit_alt_m, cam, sv, so, fe, ra,
                       angle_deg=fp.angle_deg, who="drone 1")  # fmt: skip
    assert shapely.is_empty(uncovered_ground(two.plan.area.free_local, two.plan.footprint,
                                             list(two.plan.transects)).ground_local)  # fmt: skip
