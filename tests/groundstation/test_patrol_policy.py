"""The alert policy's decisions (groundstation.policy) against a scripted vehicle.

The vehicle here obeys at once (GUIDED goto arrives immediately) so that each decision of the
policy can be checked alone; the real flights are in ``tests/groundstation/test_patrol.py`` and
``tests/e2e/``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from types import SimpleNamespace

import pytest

from detection.alerts import Alert, AlertKind
from groundstation.config import load_config
from groundstation.policy import AlertPolicy, PolicyRequest
from missions.geo import LocalFrame, Pose, distance_m

FRAME = LocalFrame(41.79, 123.43)


def geo(x, y):
    lat, lon = FRAME.to_geo(x, y)
    return float(lat), float(lon)


@dataclass
class State:
    mode: str = "AUTO"
    armed: bool = True
    on_ground: bool = False
    mission_seq: int | None = 7
    pose: Pose | None = None
    groundspeed_m_s: float = 0.0


@dataclass
class FakeVehicle:
    """Obeys at once; records every command."""

    state_: State
    calls: list = field(default_factory=list)
    leave_guided_on_goto: bool = False

    @property
    def pose(self):
        return self.state_.pose

    def state(self):
        return self.state_

    def goto(self, lat, lon, alt):
        self.calls.append(("goto", lat, lon, alt))
        self.state_.mode = "RTL" if self.leave_guided_on_goto else "GUIDED"
        self.state_.pose = replace(self.state_.pose, lat_deg=lat, lon_deg=lon)

    def resume_mission(self, seq):
        self.calls.append(("resume", seq))
        self.state_.mode = "AUTO"

    def set_speed(self, speed_m_s):
        self.calls.append(("speed", speed_m_s))

    def set_mode(self, mode):
        self.calls.append(("mode", mode))
        self.state_.mode = mode

    def rtl(self):
        self.calls.append(("rtl",))
        self.state_.mode = "RTL"


class FakeTicket:
    def __init__(self, accepted=True):
        self.accepted = accepted
        self.reason = "queued" if accepted else "cooldown_place"
        self.waited = False

    def __bool__(self):
        return self.accepted

    def wait(self, timeout_s):
        self.waited = True
        return True


class FakePatrol:
    """What AlertPolicy uses of a Patrol."""

    def __init__(self, policy: str = "hover_and_speak", **policy_overrides):
        overrides = {"policy.alert_policy": policy, "policy.confirm_s": 0.0}
        overrides.update({f"policy.{k}": v for k, v in policy_overrides.items()})
        self.cfg = load_config(None, {"camera.gimbal_pitch_deg": -45.0, **overrides})
        self.vehicle = FakeVehicle(
            State(pose=Pose(t_s=0, lat_deg=geo(0, -40)[0], lon_deg=geo(0, -40)[1], alt_m=20.0))
        )
        self.link = SimpleNamespace(command_long=self._command_long)
        self.commands = []
        self.events = []
        self.recorder = SimpleNamespace(event=lambda kind, **kw: self.events.append((kind, kw)))
        self.airspace = SimpleNamespace(allows=lambda lat, lon: True)
        self.summary = SimpleNamespace(holds=0)
        self.spoken = []
        self.announcer = SimpleNamespace(submit=self._submit)
        self.tickets = []
        self.logs = []
        self.phases = []
        self.following = None
        self.stopping = threading.Event()
        self._frames = 0

    @property
    def frames_processed(self):
        self._frames += 1  # as if detection processed a frame between two looks
        return self._frames

    def _command_long(self, command, params, **kw):
        self.commands.append((command, tuple(params)))

    def _submit(self, alert):
        self.spoken.append(alert)
        t = FakeTicket()
        self.tickets.append(t)
        return t

    def log(self, text, level="info"):
        self.logs.append((level, text))

    def set_phase(self, phase):
        self.phases.append(phase)

    def wall(self, vehicle_s):
        return vehicle_s / 1000.0  # a very fast clock: waits are short


def gathering(x=0.0, y=0.0):
    lat, lon = geo(x, y)
    return Alert(kind=AlertKind.GATHERING, t_s=time.time(), lat_deg=lat, lon_deg=lon, count=6)


def alert_request(a):
    return PolicyRequest("alert", time.monotonic(), a.lat_deg, a.lon_deg, a, a.count)


def kinds(p):
    return [k for k, _ in p.events]


def test_hover_and_speak_holds_faces_speaks_waits_and_resumes_at_the_same_item():
    p = FakePatrol()
    policy = AlertPolicy(p, p.cfg.policy)
    policy.survey_seqs = (3, 30)
    policy.survey_speed_m_s = 3.0
    a = gathering()
    policy.handle(alert_request(a))
    goto = [c for c in p.vehicle.calls if c[0] == "goto"]
    assert len(goto) == 1
    # watched from 20 m back toward the vehicle (south), at the vehicle's altitude
    _, lat, lon, alt = goto[0]
    assert distance_m(lat, lon, a.lat_deg, a.lon_deg) == pytest.approx(20.0, abs=0.1)
    assert lat < a.lat_deg and alt == 20.0
    # turned to face it (MAV_CMD_CONDITION_YAW = 115, heading north)
    assert (
        p.commands
        and p.commands[0][0] == 115
        and p.commands[0][1][0] == pytest.approx(0.0, abs=0.5)
    )
    assert p.spoken == [a] and p.tickets[0].waited
    # resumed at the interrupted item, at the survey speed again
    assert p.vehicle.calls[-2:] == [("resume", 7), ("speed", 3.0)]
    assert kinds(p) == ["hold", "resume"]
    assert p.events[0][1]["reason"] == "gathering" and p.events[0][1]["alert_id"] == a.id
    assert p.summary.holds == 1
    assert p.phases[:3] == ["hold", "speaking", "hold"] and p.phases[-1] == "survey"
    # the same place again soon: spoken, no second hold
    p.vehicle.state_.mode = "AUTO"
    b = gathering(3.0, 2.0)
    policy.handle(alert_request(b))
    assert len([c for c in p.vehicle.calls if c[0] == "goto"]) == 1
    assert p.spoken == [a, b]


@pytest.mark.parametrize(("policy_name", "spoken"), [("speak_only", 1), ("log_only", 0)])
def test_other_policies_never_move_the_vehicle(policy_name, spoken):
    p = FakePatrol(policy_name)
    policy = AlertPolicy(p, p.cfg.policy)
    policy.survey_seqs = (3, 30)
    a = gathering()
    policy.handle(alert_request(a))
    policy.handle(PolicyRequest("candidate", time.monotonic(), a.lat_deg, a.lon_deg, count=5))
    assert p.vehicle.calls == []
    assert len(p.spoken) == spoken


def test_no_hold_outside_the_survey_or_outside_the_airspace():
    p = FakePatrol()
    policy = AlertPolicy(p, p.cfg.policy)
    policy.survey_seqs = (3, 30)
    p.vehicle.state_.mission_seq = 31  # the final RTL item: going home
    policy.handle(alert_request(gathering()))
    assert p.vehicle.calls == [] and len(p.spoken) == 1
    p.vehicle.state_.mission_seq = 7
    p.airspace.allows = lambda lat, lon: False
    policy.handle(alert_request(gathering(10, -10)))
    assert p.vehicle.calls == [] and len(p.spoken) == 2
    assert any("outside the fence" in text for _, text in p.logs)


@pytest.mark.parametrize("policy_name", ["speak_only", "hover_and_speak"])
def test_a_reminder_is_spoken_only_within_the_loudspeakers_range(policy_name):
    p = FakePatrol(policy_name)
    policy = AlertPolicy(p, p.cfg.policy)
    policy.survey_seqs = (3, 30)
    p.vehicle.state_.mission_seq = 31  # no hold: only the speaking is checked
    far = Alert(kind=AlertKind.UNMASKED, t_s=0.0, lat_deg=geo(0, 60)[0], lon_deg=geo(0, 60)[1])
    near = Alert(kind=AlertKind.UNMASKED, t_s=0.0, lat_deg=geo(0, -30)[0], lon_deg=geo(0, -30)[1])
    assert policy.speak(far) is None  # 100 m away: beyond broadcast.range_m (50 m)
    assert policy.speak(near)  # 22 m away (20 m up)
    assert p.spoken == [near]
    (kind, ev), = [e for e in p.events if e[0] == "reminder_suppressed"]  # fmt: skip
    assert ev["reason"] == "out_of_range" and ev["distance_m"] > 50


def test_a_candidate_is_watched_and_confirmed_by_a_gathering_alert_nearby():
    p = FakePatrol()
    policy = AlertPolicy(p, p.cfg.policy)
    policy.survey_seqs = (3, 30)
    lat, lon = geo(0, 0)
    a = gathering(1.0, 1.0)
    # the detector confirms while the vehicle holds
    threading.Timer(0.05, lambda: policy.submit(alert_request(a))).start()
    policy.handle(PolicyRequest("candidate", time.monotonic(), lat, lon, count=5))
    assert kinds(p) == ["hold", "check_end", "resume"]
    assert p.events[0][1]["reason"] == "confirm"
    assert p.events[1][1] == {"confirmed": True}
    assert p.spoken == [a]
    assert p.vehicle.calls[-1] == ("resume", 7)


def test_an_unconfirmed_candidate_resumes_the_mission_without_speaking():
    p = FakePatrol()
    policy = AlertPolicy(p, p.cfg.policy)
    policy.survey_seqs = (3, 30)
    lat, lon = geo(0, 0)
    policy.handle(PolicyRequest("candidate", time.monotonic(), lat, lon, count=5))
    assert kinds(p) == ["hold", "check_end", "resume"]
    assert p.events[1][1] == {"confirmed": False}
    assert p.spoken == [] and p.vehicle.calls[-1] == ("resume", 7)
    # a stale candidate is ignored
    p.vehicle.state_.mode = "AUTO"
    lat2, lon2 = geo(100, 100)
    policy.handle(PolicyRequest("candidate", time.monotonic() - 60, lat2, lon2, count=5))
    assert len([c for c in p.vehicle.calls if c[0] == "goto"]) == 1


def test_a_vehicle_that_leaves_guided_is_left_alone():
    p = FakePatrol()
    p.vehicle.leave_guided_on_goto = True  # e.g. a failsafe RTL right then
    policy = AlertPolicy(p, p.cfg.policy)
    policy.survey_seqs = (3, 30)
    policy.handle(alert_request(gathering()))
    assert kinds(p) == ["hold", "hold_abandoned"]
    assert not any(c[0] == "resume" for c in p.vehicle.calls)
    assert p.spoken == []


@pytest.mark.parametrize(("action", "rtl"), [("rtl", True), ("warn", False)])
def test_low_battery(action, rtl):
    p = FakePatrol(low_battery_action=action)
    policy = AlertPolicy(p, p.cfg.policy)
    policy.survey_seqs = (3, 30)
    policy.handle(PolicyRequest("low_battery", time.monotonic()))
    assert (("rtl",) in p.vehicle.calls) is rtl
    assert policy.low_battery
    # no holds any more on a low battery: a gathering is only spoken
    p.vehicle.state_.mode = "AUTO"
    policy.handle(alert_request(gathering()))
    assert not any(c[0] == "goto" for c in p.vehicle.calls)
    assert len(p.spoken) == 1
