"""The hand-over of a remainder without flying (groundstation/fleet_reassign.py): a real fleet
plan of a small block, vehicles stood in by plain objects with the attributes the re-assigner
reads, :meth:`VehiclePatrol.accept` itself. Fast: no simulator, one fleet plan per module."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest
from shapely.geometry import box

from groundstation.fleet_reassign import FLYING, Job, Reassigner
from groundstation.fleet_vehicle import VehiclePatrol
from missions.fleet import plan_fleet
from missions.fleet_remainder import transect_legs
from tests.missions.planning_helpers import make_area, settings


@pytest.fixture(scope="module")
def fleet_plan():
    cam, sv, so, fe, ra = settings(
        alt_m=18, angle_deg=90, hfov_deg=50, gimbal_pitch_deg=-45, speed_m_s=3, side_overlap=0.1
    )
    area = make_area(box(0, 0, 160, 90), holes=[box(60, 40, 80, 55)])
    fp = plan_fleet(area, 2, cam, sv, so, fe, layer_separation_m=10, rally=ra)
    return fp, SimpleNamespace(camera=cam, survey=sv, sorties=so, fence=fe, rally=ra)


class Events:
    def __init__(self):
        self.events, self.lines = [], []

    def event(self, kind, **data):
        self.events.append({"kind": kind, **data})


def make_fleet(fp, cfg, tmp_path, reassign=True):
    rec = Events()
    rec.plan_dir = tmp_path
    fleet = SimpleNamespace(
        cfg=SimpleNamespace(fleet=SimpleNamespace(reassign=reassign)),
        aborting=threading.Event(),
        fleet_plan=fp,
        recorder=rec,
        vehicles=[],
        refresh_routes=lambda: None,
    )
    fleet.log = lambda text, level="info": rec.lines.append(text)
    for k, part in enumerate(fp.parts):
        own = Job(0, k + 1, k + 1, part.plan, part.plan.area.free_local)
        v = SimpleNamespace(
            sysid=k + 1, index=k, part=part, cfg=cfg, fleet=fleet, pack=None,
            plan=SimpleNamespace(frame=part.plan.frame, home=part.plan.home,
                                 sorties=list(part.plan.sorties)),
            jobs=[own], queue=[(own, k) for k in range(1, len(part.plan.sorties) + 1)],
            current=None, _flown_order=[], log=lambda text: None,
        )  # fmt: skip
        v.accept = VehiclePatrol.accept.__get__(v)
        v.remaining_flight_s = VehiclePatrol.remaining_flight_s.__get__(v)
        fleet.vehicles.append(v)
    r = Reassigner(fleet)
    fleet.reassigner = r
    for v in fleet.vehicles:
        r.state[v.sysid] = FLYING
    return fleet, r


def stop_vehicle_2(fleet):
    """Vehicle 2 flew its first transect and half of the second, then stopped."""
    two = fleet.vehicles[1]
    s = two.part.plan.sorties[0]
    leg = transect_legs(s, two.part.plan.frame)[1]
    a, b = np.asarray(leg.segment.a), np.asarray(leg.segment.b)
    two.jobs[0].progress = (1, leg.end_seq, tuple((a + b) / 2))
    two.queue.clear()
    return two


def test_remainder_goes_after_the_current_sortie_with_a_joint_fence(fleet_plan, tmp_path):
    fp, cfg = fleet_plan
    fleet, r = make_fleet(fp, cfg, tmp_path)
    one = fleet.vehicles[0]
    # vehicle 1 is flying its first sortie (its queue: nothing more of its own)
    one.current = (one.jobs[0], 1)
    one.queue.clear()
    two = stop_vehicle_2(fleet)
    r.vehicle_ended(two, interrupted=False)
    assert r.state[2] == "ended" and r.uncovered == []
    [handed] = r.reassignments
    assert (handed["from"], handed["to"], handed["status"]) == (2, 1, "queued")
    [job] = one.jobs[1:]
    assert job.origin == 2 and [k for j, k in one.queue if j is job] == list(
        range(1, len(job.plan.sorties) + 1)
    )
    assert one.plan.sorties[-len(job.plan.sorties) :] == job.plan.sorties
    # its plan flies from vehicle 1's home, under a fence holding both parts
    assert job.plan.home == one.part.home
    from missions.shapes import geo_to_local

    for part in fp.parts:
        assert job.plan.fence_local.buffer(0.01).contains(
            geo_to_local(part.part_area, fp.area.frame)
        )
    kinds = [e["kind"] for e in fleet.recorder.events]
    assert kinds == ["part_remainder", "part_reassigned"]
    assert (tmp_path / "reassigned-1" / "plan.json").is_file()
    assert any("re-assigned to drone 1" in line for line in fleet.recorder.lines)


def test_a_battery_that_cannot_reach_the_remainder_leaves_it_uncovered_with_the_reason(
    fleet_plan, tmp_path
):
    fp, cfg = fleet_plan
    tiny = SimpleNamespace(**vars(cfg))
    tiny.sorties = cfg.sorties.model_copy(update={"endurance_min": 0.6, "reserve_pct": 10})
    fleet, r = make_fleet(fp, cfg, tmp_path)
    fleet.vehicles[0].cfg = tiny
    two = stop_vehicle_2(fleet)
    r.vehicle_ended(two, interrupted=False)
    assert r.reassignments == [] and fleet.vehicles[0].jobs[1:] == []
    [u] = r.uncovered
    assert u["origin"] == 2 and u["sorties"] == [1] and u["area_m2"] > 100
    assert u["reason"].startswith("drone 1 cannot fly it: ") and "battery budget" in u["reason"]


def test_without_reassign_or_when_interrupted_the_remainder_is_only_reported(fleet_plan, tmp_path):
    fp, cfg = fleet_plan
    for reassign, interrupted, reason in (
        (False, False, "fleet.reassign is off"),
        (True, True, "the fleet was interrupted"),
    ):
        fleet, r = make_fleet(fp, cfg, tmp_path, reassign=reassign)
        two = stop_vehicle_2(fleet)
        r.vehicle_ended(two, interrupted=interrupted)
        assert r.reassignments == []
        assert [(u["origin"], u["reason"]) for u in r.uncovered] == [(2, reason)]
