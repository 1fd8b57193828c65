"""Vehicle state, events and commands against a vehicle (built-in simulator, or SITL when set)."""

from __future__ import annotations

import threading
import time

import pytest
from _transfer_samples import survey_mission
from pymavlink import mavutil

from groundstation import mission_transfer as mt
from groundstation.link import Link
from groundstation.vehicle import (
    COPTER_MODES,
    ArmError,
    Vehicle,
    VehicleTimeoutError,
    mode_number,
)
from missions.errors import InputError
from missions.geo import distance_m, offset


def ready_vehicle(endpoint, **link_kw):
    link = Link.connect(endpoint.url, timeout_s=30, **link_kw)
    vehicle = Vehicle(link)
    return link, vehicle


def test_mode_names_are_arducopter_custom_modes():
    expected = {
        "STABILIZE": 0, "ACRO": 1, "ALT_HOLD": 2, "AUTO": 3, "GUIDED": 4, "LOITER": 5, "RTL": 6,
        "CIRCLE": 7, "LAND": 9, "DRIFT": 11, "SPORT": 13, "POSHOLD": 16, "BRAKE": 17,
        "SMART_RTL": 21,
    }  # fmt: skip
    for name, number in expected.items():
        assert COPTER_MODES[name] == number
        assert mode_number(name.lower()) == number
    with pytest.raises(InputError, match="unknown ArduCopter mode 'HOVER'.*GUIDED"):
        mode_number("HOVER")


def test_telemetry_is_requested_and_fills_the_state(vehicle_endpoint):
    with Link.connect(vehicle_endpoint.url, timeout_s=30) as link:
        # A fresh ArduCopter streams nothing but HEARTBEAT until asked (no SYS_STATUS either).
        assert link.wait_message("GLOBAL_POSITION_INT", timeout_s=1.5) is None
        vehicle = Vehicle(link)
        # The first SYS_STATUS can come after position, home and GPS (ArduCopter 4.7): wait
        # for the battery too rather than read it once.
        s = vehicle.wait_until(
            lambda s: (
                s.pose is not None
                and s.home is not None
                and s.gps.fix_type >= 3
                and s.battery.voltage_v is not None
            ),
            timeout_s=60,
            what="position, home, GPS and battery",
        )
        assert s.mode == "STABILIZE" and not s.armed and s.link_ok
        assert distance_m(s.home.lat_deg, s.home.lon_deg, 41.79, 123.43) < 50
        assert distance_m(s.pose.lat_deg, s.pose.lon_deg, s.home.lat_deg, s.home.lon_deg) < 50
        assert s.pose.amsl_m == pytest.approx(s.home.alt_m, abs=5)
        assert abs(s.pose.t_s - time.time()) < 60
        assert s.battery.voltage_v and s.battery.voltage_v > 5
        assert s.on_ground
        vehicle.close()


def test_no_pose_before_the_first_fix_when_position_is_0_0(sim_factory):
    """Before its first GPS fix ArduCopter (and the simulator) sends GLOBAL_POSITION_INT with
    lat = lon = 0: that is no position, and neither the pose nor its history may hold it."""
    from sim.settings import SimSettings

    sim = sim_factory(settings=SimSettings(ready_delay_s=40.0), speedup=2.0)  # fix after ~5 s
    with Link.connect(sim.url, timeout_s=30) as link:
        zeros = []
        link.subscribe(
            "GLOBAL_POSITION_INT",
            lambda m: zeros.append(m) if m.lat == 0 and m.lon == 0 else None,
        )
        vehicle = Vehicle(link)
        deadline = time.monotonic() + 10
        while not zeros and time.monotonic() < deadline:
            time.sleep(0.05)
        assert zeros, "the simulator sent no GLOBAL_POSITION_INT without a position"
        assert vehicle.pose is None and vehicle.state().pose is None
        s = vehicle.wait_until(lambda s: s.pose is not None, timeout_s=60, what="a position")
        assert distance_m(s.pose.lat_deg, s.pose.lon_deg, 41.79, 123.43) < 50
        assert vehicle.pose_at(zeros[0]._timestamp) is None  # nothing before the first fix
        vehicle.close()


def test_arming_in_auto_is_refused_with_the_vehicle_reason(vehicle_endpoint):
    """ArduCopter cannot arm in AUTO: the error carries its 'Arm: ...' STATUSTEXT."""
    link, vehicle = ready_vehicle(vehicle_endpoint)
    try:
        vehicle.wait_until(lambda s: not vehicle.initialising(s), 90, "EKF and home")
        mt.upload_and_verify(link, survey_mission(6), 0)
        vehicle.set_mode("AUTO")
        with pytest.raises(ArmError) as err:
            vehicle.arm(timeout_s=30)
        assert "AUTO mode not armable" in str(err.value)
        assert any("AUTO mode not armable" in r for r in err.value.reasons)
        assert not vehicle.state().armed
    finally:
        vehicle.close()
        link.close()


def test_prearm_failure_is_reported_with_its_reason(sim_factory):
    sim = sim_factory(speedup=20, params={"BATT_ARM_VOLT": 30.0})
    with Link.connect(sim.url, timeout_s=30) as link:
        vehicle = Vehicle(link)
        vehicle.set_mode("GUIDED")
        with pytest.raises(ArmError) as err:
            vehicle.arm(timeout_s=60)
        msg = str(err.value)
        assert "refused with MAV_RESULT_FAILED" in msg
        assert "Arm: Battery 1 below minimum arming voltage" in msg
        assert "\n" not in msg
        vehicle.close()


@pytest.mark.slow
def test_guided_flight_commands(vehicle_endpoint):
    link, vehicle = ready_vehicle(vehicle_endpoint)
    modes: list[str] = []
    vehicle.on_event(lambda ev: modes.append(ev.data["mode"]), ["mode"])
    armed_events = []
    vehicle.on_event(lambda ev: armed_events.append(ev.kind), ["armed", "disarmed"])
    wall = vehicle_endpoint.wall_s
    try:
        vehicle.set_mode("GUIDED")
        vehicle.arm(timeout_s=max(60, wall(120)))
        vehicle.takeoff(15, timeout_s=max(30, wall(90)))
        s = vehicle.state()
        assert s.armed and s.mode == "GUIDED" and s.pose.alt_m >= 14.25
        home = s.home
        lat, lon = offset(home.lat_deg, home.lon_deg, 45.0, 80.0)
        vehicle.set_speed(6)
        vehicle.goto(lat, lon, 20, wait=True, tolerance_m=3, timeout_s=max(30, wall(120)))
        s = vehicle.state()
        assert distance_m(s.pose.lat_deg, s.pose.lon_deg, lat, lon) < 3.5
        assert s.pose.alt_m == pytest.approx(20, abs=3)
        if vehicle_endpoint.kind == "builtin":
            # the telemetry pose matches where the simulated vehicle really is
            true = vehicle_endpoint.handle.true_pose()
            mine = vehicle.pose_at(true.t_s, max_age_s=5)
            assert distance_m(mine.lat_deg, mine.lon_deg, true.lat_deg, true.lon_deg) < 5
        vehicle.hold()
        vehicle.brake()
        vehicle.land()
        s = vehicle.wait_landed_disarmed(max(60, wall(180)))
        assert not s.armed and s.pose.alt_m < 1.0
    finally:
        vehicle.close()
        link.close()
    assert modes == ["GUIDED", "BRAKE", "LAND"]  # hold() keeps GUIDED
    assert armed_events == ["armed", "disarmed"]


def test_pose_history_interpolates_between_telemetry_poses(vehicle_endpoint):
    link, vehicle = ready_vehicle(vehicle_endpoint)
    try:
        vehicle.wait_until(lambda s: len(vehicle.pose_history) >= 5, 30, "five poses")
        hist = vehicle.pose_history
        assert all(a.t_s <= b.t_s for a, b in zip(hist, hist[1:], strict=False))
        a, b = hist[-3], hist[-2]
        mid = (a.t_s + b.t_s) / 2
        p = vehicle.pose_at(mid)
        assert p.t_s == mid
        assert min(a.lat_deg, b.lat_deg) <= p.lat_deg <= max(a.lat_deg, b.lat_deg)
        assert vehicle.pose_at(hist[0].t_s - 10) is None
        assert vehicle.pose_at(time.time() + 3600) is None
        assert vehicle.pose_at(hist[-1].t_s + 0.1, max_age_s=1.0).lat_deg == hist[-1].lat_deg
    finally:
        vehicle.close()
        link.close()


def test_link_loss_and_recovery_are_detected(sim_factory):
    sim = sim_factory(speedup=10)
    lost, back = threading.Event(), threading.Event()
    with Link.connect(sim.url, timeout_s=30, link_lost_s=1.0) as link:
        vehicle = Vehicle(link)
        events = []
        vehicle.on_event(lambda ev: events.append(ev.kind), ["link_lost", "link_recovered"])
        link.on_link_lost(lost.set)
        link.on_link_recovered(back.set)
        sim.cut_link(3.0)
        assert lost.wait(15), "link loss not detected"
        assert not link.link_ok and not vehicle.state().link_ok
        assert back.wait(30), "link recovery not detected"
        assert link.link_ok
        vehicle.wait_until(lambda s: s.link_ok, 5, "link ok")
        assert events[:2] == ["link_lost", "link_recovered"]
        vehicle.close()


def test_wait_until_times_out_with_the_state_in_the_message(vehicle_endpoint):
    link, vehicle = ready_vehicle(vehicle_endpoint)
    try:
        with pytest.raises(VehicleTimeoutError, match=r"waiting for flying .*disarmed"):
            vehicle.wait_until(lambda s: s.armed, 0.5, "flying")
    finally:
        vehicle.close()
        link.close()


def test_tlog_holds_both_directions(vehicle_endpoint, tmp_path):
    path = tmp_path / "flight.tlog"
    link, vehicle = ready_vehicle(vehicle_endpoint, tlog_path=path)
    vehicle.wait_until(lambda s: s.pose is not None, 30, "a position")
    vehicle.close()
    link.close()
    log = mavutil.mavlink_connection(str(path))
    seen = set()
    last_t = 0.0
    while (m := log.recv_match()) is not None:
        seen.add((m.get_srcSystem(), m.get_type()))
        assert m._timestamp >= last_t - 1.0
        last_t = m._timestamp
    assert (vehicle_endpoint.sysid, "HEARTBEAT") in seen
    assert (vehicle_endpoint.sysid, "GLOBAL_POSITION_INT") in seen
    assert (255, "HEARTBEAT") in seen  # ours
    assert (255, "COMMAND_LONG") in seen  # the telemetry requests


def test_reset_battery_between_sorties(sim_factory):
    """MAV_CMD_BATTERY_RESET (how SITL's battery gets "a fresh pack" between sorties): accepted
    on the ground, the charge is back to 100 %; refused while armed."""
    from sim.settings import BatterySettings, SimSettings

    sim = sim_factory(
        settings=SimSettings(ready_delay_s=2, battery=BatterySettings(initial_remaining=0.5)),
        speedup=20,
    )
    with Link.connect(sim.url, timeout_s=30) as link:
        vehicle = Vehicle(link)
        assert vehicle.reset_battery()
        with sim.lock:
            assert sim.vehicle.battery.remaining > 0.95  # was 0.5 (idle drain since: tiny)
        vehicle.close()


def test_sitl_pack_caps_the_planned_endurance():
    from sim.settings import SitlSettings

    assert SitlSettings().endurance_min == pytest.approx(6.6)
    assert SitlSettings(battery_mah=5000, flight_current_a=25).endurance_min == pytest.approx(12.0)
