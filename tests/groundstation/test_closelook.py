"""The close look (groundstation.closelook) against a scripted vehicle that flies at once.

Each rule is checked alone here: the floor, the fence and no-fly zones, the gimbal restored,
the mission resumed at the interrupted item, the budget and the battery reserve. The flight on
the embedded simulator is ``test_close_look_on_the_sim`` below and the demo patrol
(tests/e2e/test_patrol_e2e.py).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from types import SimpleNamespace

import numpy as np
import pytest
from test_patrol_policy import FRAME, geo
from test_patrol_policy import State as _PolicyState

from detection.faces import MaskLabel
from groundstation.closelook import face_too_small, look_point, look_wanted
from groundstation.config import load_config
from groundstation.policy import AlertPolicy, PolicyRequest
from missions.geo import Pose, distance_m


@dataclass
class State(_PolicyState):
    """The policy tests' vehicle state, with a battery."""

    battery: SimpleNamespace = field(default_factory=lambda: SimpleNamespace(remaining_pct=80.0))


@dataclass
class FlyingVehicle:
    """Arrives at once (position and altitude); records commands and every altitude flown."""

    state_: State
    calls: list = field(default_factory=list)
    altitudes: list = field(default_factory=list)
    gimbal: list = field(default_factory=list)
    drain_pct_per_goto: float = 0.0

    @property
    def pose(self):
        return self.state_.pose

    def state(self):
        return self.state_

    def goto(self, lat, lon, alt):
        self.calls.append(("goto", lat, lon, alt))
        self.altitudes.append(alt)
        self.state_.mode = "GUIDED"
        self.state_.pose = replace(self.state_.pose, lat_deg=lat, lon_deg=lon, alt_m=alt)
        self.state_.battery.remaining_pct -= self.drain_pct_per_goto

    def point_gimbal(self, pitch_deg, yaw_deg=float("nan")):
        self.gimbal.append(pitch_deg)
        return "gimbal_manager"

    def resume_mission(self, seq):
        self.calls.append(("resume", seq))
        self.state_.mode = "AUTO"

    def set_speed(self, speed_m_s):
        self.calls.append(("speed", speed_m_s))

    def set_mode(self, mode):
        self.state_.mode = mode

    def rtl(self):
        self.calls.append(("rtl",))


class Patrol:
    """What AlertPolicy and CloseLook use of a Patrol."""

    def __init__(self, label="unmasked", allows=None, **close_look):
        overrides = {"camera.gimbal_pitch_deg": -45.0, "policy.close_look.watch_s": 5.0}
        overrides.update({f"policy.close_look.{k}": v for k, v in close_look.items()})
        self.cfg = load_config(None, overrides)
        self.vehicle = FlyingVehicle(
            State(pose=Pose(t_s=0, lat_deg=geo(0, -30)[0], lon_deg=geo(0, -30)[1], alt_m=18.0))
        )
        self.link = SimpleNamespace(command_long=lambda *a, **k: None)
        self.events = []
        self.recorder = SimpleNamespace(event=lambda kind, **kw: self.events.append((kind, kw)))
        self.airspace = SimpleNamespace(allows=allows or (lambda lat, lon: True))
        self.summary = SimpleNamespace(holds=0)
        self.announcer = SimpleNamespace(wait_idle=lambda t: True, submit=lambda a: None)
        self.logs = []
        self.phases = []
        self.stopping = threading.Event()
        self.frames_processed = 0
        self.scale = 1.0
        self.faces_known = True
        self.label = label
        self.pipeline = None

    def mask_label_near(self, lat, lon, radius_m):
        self.frames_processed += 1
        return self.label  # the detector's settled label for the person there

    def log(self, text, level="info"):
        self.logs.append((level, text))

    def set_phase(self, phase):
        self.phases.append(phase)

    def wall(self, vehicle_s):
        return vehicle_s / 1000.0


def request(x=0.0, y=0.0, track_id=5):
    lat, lon = geo(x, y)
    return PolicyRequest("close_look", __import__("time").monotonic(), lat, lon, track_id=track_id)


def run(patrol, req=None):
    policy = AlertPolicy(patrol, patrol.cfg.policy)
    policy.survey_seqs = (3, 20)
    policy.survey_speed_m_s = 3.0
    policy.handle(req or request())
    return policy


def kinds(patrol):
    return [k for k, _ in patrol.events]


def test_close_look_descends_to_the_look_altitude_points_the_gimbal_and_resumes():
    p = Patrol()
    run(p)
    cl = p.cfg.policy.close_look
    assert min(p.vehicle.altitudes) == cl.look_alt_m
    assert p.vehicle.altitudes[-1] == 18.0  # climbed back to the survey altitude
    # pointed at the face, then restored to the camera's survey pitch
    assert p.vehicle.gimbal[0] < -20 and p.vehicle.gimbal[-1] == -45.0
    assert ("resume", 7) in p.vehicle.calls and ("speed", 3.0) in p.vehicle.calls
    look = p.vehicle.calls[0]
    assert distance_m(look[1], look[2], *geo(0, 0)) == pytest.approx(cl.standoff_m, abs=0.2)
    assert kinds(p)[:2] == ["close_look", "gimbal"]
    result = dict(p.events)["close_look_result"]
    assert result["mask"] == "unmasked" and result["track_id"] == 5
    assert "close_look_end" in kinds(p) and "resume" in kinds(p)


def test_never_below_the_floor():
    p = Patrol(look_alt_m=2.0, min_alt_m=5.0)
    run(p)
    assert min(p.vehicle.altitudes) == 5.0


def test_look_point_stays_in_the_allowed_airspace():
    # everything south of the person is a no-fly zone: the look is taken from the north side
    def allows(lat, lon):
        return FRAME.to_local(lat, lon)[1] > 1.0

    p = Patrol(allows=allows)
    run(p)
    _, lat, lon, _ = p.vehicle.calls[0]
    assert allows(lat, lon)


def test_no_allowed_look_point_means_no_look():
    p = Patrol(allows=lambda lat, lon: False)
    run(p)
    assert not p.vehicle.calls
    assert dict(p.events)["close_look_skipped"]["reason"].startswith("no look point")


def test_one_look_per_place_and_a_budget_per_sortie():
    p = Patrol(max_per_sortie=1)
    policy = run(p)
    policy.handle(request(0.5, 0.5, track_id=6))  # the same person, another track: not again
    # the same person geotagged 7.8 m off from further away (as in a CI run of the demo): not again
    policy.handle(request(3.7, 6.9, track_id=None))
    assert len([e for e in p.events if e[0] == "close_look"]) == 1
    assert "close_look_skipped" not in dict(p.events)  # not refused by the budget: not looked at
    policy.handle(request(40, 0, track_id=7))  # somebody else: the budget is spent
    looks = [e for e in p.events if e[0] == "close_look"]
    assert len(looks) == 1
    assert "budget" in dict(p.events)["close_look_skipped"]["reason"]
    policy.close_look.new_sortie()
    policy.handle(request(80, 0, track_id=8))
    assert len([e for e in p.events if e[0] == "close_look"]) == 2


def test_a_person_seen_during_a_look_is_looked_at_after_it():
    p = Patrol()
    policy = AlertPolicy(p, p.cfg.policy)
    policy.survey_seqs = (3, 20)
    policy.survey_speed_m_s = 3.0
    # seen from the look point while the drone watches the first person (the demo's case)
    other = request(40, 0, track_id=9)
    policy.requests.put(other)
    policy.handle(request())
    assert len([e for e in p.events if e[0] == "close_look"]) == 1
    # its age counts from the end of the look, not from when it was seen (a real look lasts
    # longer than the 10 s freshness limit)
    req = policy.next_request(0.0)
    assert req is not None and time.monotonic() - req.t_mono < 1.0
    other.t_mono -= 60.0  # as if seen a minute before the look ended
    policy.deferred.insert(0, other)
    policy._restamp_deferred_looks()
    req = policy.next_request(0.0)
    assert req is not None and req.kind == "close_look" and req.track_id == 9
    policy.handle(req)
    looks = [kw for k, kw in p.events if k == "close_look"]
    assert [kw["track_id"] for kw in looks] == [5, 9]


def test_battery_at_the_reserve_means_no_look():
    p = Patrol(reserve_pct=40.0)
    p.vehicle.state_.battery.remaining_pct = 39.0
    run(p)
    assert not p.vehicle.calls
    assert "battery" in dict(p.events)["close_look_skipped"]["reason"]


def test_battery_reaching_the_reserve_during_the_look_gives_up_cleanly():
    p = Patrol(label="unknown", reserve_pct=40.0)
    p.vehicle.state_.battery.remaining_pct = 45.0
    p.vehicle.drain_pct_per_goto = 10.0  # the descent costs 10 %: 35 % at the look point
    run(p)
    result = dict(p.events)["close_look_result"]
    assert result["mask"] == "unknown" and "reserve" in result["reason"]
    assert p.vehicle.altitudes[-1] == 18.0 and p.vehicle.gimbal[-1] == -45.0
    assert ("resume", 7) in p.vehicle.calls


def test_face_never_big_enough_is_unknown_not_unmasked():
    p = Patrol(label="unknown")
    run(p)
    result = dict(p.events)["close_look_result"]
    assert result["mask"] == "unknown"


def test_no_look_outside_the_survey_or_with_other_policies():
    p = Patrol()
    p.vehicle.state_.mission_seq = 30  # the return leg, past the survey items
    run(p)
    assert not p.vehicle.calls


def test_look_point_geometry():
    lat, lon = geo(0, 0)
    vlat, vlon = geo(0, -40)
    pt = look_point(lat, lon, vlat, vlon, alt_m=6.0, min_alt_m=5.0, standoff_m=6.0)
    x, y = FRAME.to_local(pt.lat_deg, pt.lon_deg)
    assert (x, y) == pytest.approx((0.0, -6.0), abs=0.05)  # on the side the vehicle comes from
    assert pt.yaw_deg == pytest.approx(0.0, abs=0.5)  # facing north, at the person
    assert pt.pitch_deg == pytest.approx(-np.degrees(np.arctan2(6.0 - 1.6, 6.0)), abs=0.1)


def _frame(people):
    """A FrameResult-like frame: raw detections ``(x_m, y_m, box height px)`` and, for tracked
    ones, a Person with its label."""
    import supervision as sv

    xyxy = np.array([[0, 0, h / 3, h] for _, _, h, *_ in people], float)
    dets = sv.Detections(xyxy=xyxy, confidence=np.full(len(people), 0.8))
    dets.data["xy_m"] = np.array([(x, y) for x, y, *_ in people], float)
    dets.data["lat_lon"] = np.array([geo(x, y) for x, y, *_ in people], float)
    persons = [
        SimpleNamespace(xy_m=(x, y), track_id=rest[1], mask=rest[0])
        for x, y, _, *rest in people
        if rest
    ]
    return SimpleNamespace(raw_detections=dets, persons=persons)


def test_look_wanted_for_a_person_alone_whose_face_is_too_small():
    frame = _frame(
        [
            (0, 0, 90),  # alone, face too small, seen once (no track yet): wanted
            (30, 0, 400),  # big enough to judge from here: not wanted
            (60, 0, 90, MaskLabel.MASKED, 3),  # already judged: not wanted
            (90, 0, 90, MaskLabel.UNKNOWN, 4),  # tracked, unknown: wanted, with its track
            *[(120 + dx, 0, 90) for dx in (0, 1.5, 3.0)],  # a group: the gathering's business
        ]
    )
    wanted = look_wanted(frame, min_face_px=24, eps_m=2.5)
    assert [(round(FRAME.to_local(w.lat_deg, w.lon_deg)[0]), w.track_id) for w in wanted] == [
        (0, None),
        (90, 4),
    ]
    assert face_too_small(np.array([0, 0, 30, 90.0]), 24)
    assert not face_too_small(np.array([0, 0, 130, 400.0]), 24)
