"""Unit tests of the simulator's pieces: storage rules, fence geometry, battery, parameters, model."""

from __future__ import annotations

import math

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.geo import LocalFrame, offset
from missions.items import MissionItem
from sim.battery import Battery, cell_voltage
from sim.fence import (
    FENCE_TYPE_ALT_MAX,
    FENCE_TYPE_CIRCLE,
    FENCE_TYPE_POLYGON,
    FenceGeometry,
    breaches,
)
from sim.mission_store import store_fence_item, store_mission_item, store_rally_item, validate_fence
from sim.params import ParameterStore
from sim.settings import BatterySettings, SimSettings
from sim.vehicle import Mode, Vehicle, sqrt_controller

HOME = (41.79, 123.43)


def test_mission_storage_matches_ardupilot_rules():
    wp = MissionItem(seq=3, frame=6, command=16, param1=3.9, param2=7.0, param4=math.nan,
                     x=41.7912345678, y=123.4312345678, z=33.339)  # fmt: skip
    result, stored = store_mission_item(wp)
    assert result == mavlink.MAV_MISSION_ACCEPTED
    assert stored.frame == 3  # _INT frame reads back as the plain one
    assert (stored.param1, stored.param2, stored.param4) == (3.0, 0.0, 0.0)
    assert stored.to_wire()["x"] == 417912346 and stored.z == pytest.approx(33.33)
    speed = MissionItem(seq=4, frame=3, command=178, param1=1, param2=7.5, param3=-1, x=5, y=6, z=7)
    _, stored = store_mission_item(speed)
    # ArduCopter 4.7 (measured): the throttle param3 is a float, -1 reads back -1.0
    assert (stored.frame, stored.x, stored.z, stored.param3) == (0, 0.0, 0.0, -1.0)
    rtl = MissionItem(seq=5, frame=3, command=20, x=41.0, y=123.0, z=30)
    assert store_mission_item(rtl)[1].z == 0.0
    assert store_mission_item(MissionItem(seq=1, frame=3, command=16, x=95, y=0, z=1))[0] == (
        mavlink.MAV_MISSION_INVALID_PARAM5_X
    )
    assert store_mission_item(MissionItem(seq=1, frame=3, command=16, param1=math.inf))[0] == (
        mavlink.MAV_MISSION_INVALID_PARAM1
    )
    assert (
        store_mission_item(MissionItem(seq=1, frame=3, command=0))[0] == mavlink.MAV_MISSION_INVALID
    )


def test_fence_and_rally_storage():
    circle = MissionItem(
        seq=0, frame=3, command=5003, param1=55.5, x=41.79, y=123.43, mission_type=1
    )
    result, stored = store_fence_item(circle)
    assert result == 0 and stored.frame == 0 and stored.param1 == 55.5
    assert stored.autocontinue == 0  # measured on ArduCopter 4.7: fence items read back 0
    assert store_fence_item(MissionItem(seq=0, frame=2, command=5003))[0] == (
        mavlink.MAV_MISSION_UNSUPPORTED_FRAME
    )
    assert store_fence_item(MissionItem(seq=0, frame=3, command=16))[0] == (
        mavlink.MAV_MISSION_UNSUPPORTED
    )
    rally = MissionItem(seq=0, frame=6, command=5100, x=41.79, y=123.43, z=-12.7, mission_type=2)
    assert store_rally_item(rally)[1].z == -12.0
    assert store_rally_item(rally)[1].autocontinue == 0  # measured on ArduCopter 4.7
    tri = [MissionItem(seq=i, frame=3, command=5001, param1=3, x=41.79 + i * 1e-3, y=123.43)
           for i in range(3)]  # fmt: skip
    assert validate_fence(tri) is None
    assert "incomplete" in validate_fence(tri[:2])
    bad_circle = [MissionItem(seq=0, frame=3, command=5004, param1=0, x=41.79, y=123.43)]
    assert "radius" in validate_fence(bad_circle)


def test_fence_breaches():
    frame = LocalFrame(*HOME)
    ring = [offset(*HOME, b, 100.0) for b in (0, 90, 180, 270)]
    items = [MissionItem(seq=i, frame=3, command=5001, param1=4, x=la, y=lo) for i, (la, lo) in
             enumerate(ring)]  # fmt: skip
    c = offset(*HOME, 90, 30.0)
    items.append(MissionItem(seq=4, frame=3, command=5004, param1=10, x=c[0], y=c[1]))
    geo = FenceGeometry(items, frame)
    assert not geo.polygon_breached(0.0, 0.0)
    assert geo.polygon_breached(30.0, 0.0)  # inside the exclusion circle
    assert geo.polygon_breached(70.0, 70.0)  # outside the diamond
    home_xy = (0.0, 0.0)
    kw = dict(home_xy=home_xy, radius_m=50.0, alt_max_m=40.0, alt_min_m=-10.0)
    assert breaches(geo, 7, 0.0, 0.0, 10.0, **kw) == 0
    assert breaches(geo, 7, 0.0, 60.0, 45.0, **kw) == FENCE_TYPE_ALT_MAX | FENCE_TYPE_CIRCLE
    assert breaches(geo, FENCE_TYPE_POLYGON, 70.0, 70.0, 10.0, **kw) == FENCE_TYPE_POLYGON


def test_battery_drains_and_sags():
    b = Battery(
        BatterySettings(capacity_mah=1000, hover_current_a=20, internal_resistance_ohm=0.05)
    )
    assert b.voltage_v == pytest.approx(12.6, abs=0.1)
    b.step(36.0, armed=True, airborne=True, speed_m_s=0.0, climb_m_s=0.0)  # 20 A for 36 s
    assert b.consumed_mah == pytest.approx(200.0)
    assert b.remaining == pytest.approx(0.8)
    assert b.voltage_v == pytest.approx(3 * cell_voltage(0.8) - 20 * 0.05)
    assert cell_voltage(0.0) < cell_voltage(0.5) < cell_voltage(1.0) == pytest.approx(4.2)


def test_parameter_store_types_and_errors():
    p = ParameterStore({"wpnav_speed": 500})
    assert p["WPNAV_SPEED"] == 500.0
    assert p.set("DISARM_DELAY", 300.0) and p["DISARM_DELAY"] == 127  # INT8 clamps
    assert not p.set("MIS_TOTAL", 3) and p.set("MIS_TOTAL", 3, force=True)
    assert not p.set("NOPE", 1)
    with pytest.raises(KeyError, match="WPNAV_SPEED"):
        ParameterStore({"WPNAV_SPED": 1})


def test_sqrt_controller_brakes_within_acceleration():
    assert sqrt_controller(0.5, 1.0, 2.5) == pytest.approx(0.5)
    v = sqrt_controller(100.0, 1.0, 2.5)
    assert v == pytest.approx(math.sqrt(2 * 2.5 * (100 - 1.25)))
    assert sqrt_controller(-100.0, 1.0, 2.5) == -v


def test_vehicle_model_takeoff_goto_and_yaw_toward_travel():
    v = Vehicle(SimSettings(ready_delay_s=1.0), ParameterStore())
    for _ in range(40):
        v.step(0.05)
    assert v.ekf_ready and v.home is not None
    assert v.set_mode(Mode.GUIDED) and v.arm() == mavlink.MAV_RESULT_ACCEPTED
    assert v.user_takeoff(10.0) == mavlink.MAV_RESULT_ACCEPTED
    for _ in range(400):
        v.step(0.05)
    assert v.relative_alt_m == pytest.approx(10.0, abs=0.2)
    lat, lon = offset(*HOME, 90.0, 200.0)
    assert v.guided_goto(lat, lon, 10.0, 3)
    top = 0.0
    for _ in range(200):
        v.step(0.05)
        top = max(top, v.groundspeed)
    assert top == pytest.approx(10.0, abs=0.05)  # WPNAV_SPEED
    assert v.yaw_deg == pytest.approx(90.0, abs=1.0)
    assert v.pitch_deg < 0  # nose down flying forward
    for _ in range(600):
        v.step(0.05)
    assert v.reached_target()
    assert v.battery.consumed_mah > 0


def _texts(v: Vehicle) -> list[str]:
    out = [ev.text for ev in v.events if ev.kind == "text"]
    v.events.clear()
    return out


def _run_to(v: Vehicle, t_s: float) -> list[str]:
    out: list[str] = []
    while v.t < t_s - 1e-9:
        v.step(min(0.05, t_s - v.t))
        out += _texts(v)
    return out


def test_boot_texts_arming_refusals_and_armable_time_as_sitl():
    """ArduCopter SITL 4.7 at speed-up 1 (measured, ../shared/notes/ardupilot.md): boot
    STATUSTEXTs, "Arm: Gyros inconsistent" for ~20 s, then "AHRS: waiting for home", then
    "Need Position Estimate"; "PreArm: Need Position Estimate" every 30 s; armable at ~42.8 s
    by default; "Arming motors" / "Disarming motors"."""
    settings = SimSettings()
    assert settings.ready_delay_s == pytest.approx(42.8)
    v = Vehicle(settings, ParameterStore())
    boot = _run_to(v, 5.0)
    assert "ArduPilot Ready" in boot and "Calibrating barometer" in boot
    assert v.set_mode(Mode.GUIDED)
    assert v.arm() == mavlink.MAV_RESULT_FAILED and _texts(v) == ["Arm: Gyros inconsistent"]
    boot += _run_to(v, 20.2)  # home comes at 0.48 x 42.8 = 20.5 s
    assert v.home is None
    assert v.arm() == mavlink.MAV_RESULT_FAILED
    assert _texts(v) == ["Arm: AHRS: waiting for home"]
    later = _run_to(v, 35.0)
    boot += later
    assert "EKF3 IMU0 origin set" in later and v.home is not None
    assert later.count("PreArm: Need Position Estimate") == 1  # t = 31 s (then every 30 s)
    assert v.arm() == mavlink.MAV_RESULT_FAILED and _texts(v) == ["Arm: Need Position Estimate"]
    later = _run_to(v, 42.85)
    assert "EKF3 IMU0 is using GPS" in later
    boot_texts = [t for t in boot + later if "EKF3" in t or "arometer" in t or "Ready" in t]
    assert len(boot_texts) >= 13
    assert v.ekf_ready and v.arm() == mavlink.MAV_RESULT_ACCEPTED
    assert _texts(v) == ["Arming motors"]
    assert v.disarm() == mavlink.MAV_RESULT_ACCEPTED and _texts(v) == ["Disarming motors"]


def test_ready_delay_is_configurable_for_fast_tests():
    v = Vehicle(SimSettings(ready_delay_s=2.0), ParameterStore())
    _run_to(v, 2.05)
    assert v.set_mode(Mode.GUIDED) and v.arm() == mavlink.MAV_RESULT_ACCEPTED


def test_sitl_battery_model_as_measured():
    """ArduPilot SITL's default battery (measured on 4.7): constant 12.60 V, 0 A at rest,
    27-32 A in flight, BATT_CAPACITY 3300 mAh: empty within about 8 minutes of flight."""
    b = Battery(BatterySettings(model="sitl"))
    assert b.capacity_mah == 3300.0 and b.voltage_v == pytest.approx(12.6)
    b.step(60.0, armed=True, airborne=False, speed_m_s=0.0, climb_m_s=0.0)
    assert b.current_a == 0.0 and b.consumed_mah == 0.0
    b.step(1.0, armed=True, airborne=True, speed_m_s=8.0, climb_m_s=0.0)
    assert 27.0 <= b.current_a <= 32.0
    b.step(6 * 60.0 - 1.0, armed=True, airborne=True, speed_m_s=8.0, climb_m_s=0.0)
    assert 0.05 <= b.remaining <= 0.25  # "a 6-minute sortie ended at 20 %"
    assert b.voltage_v == pytest.approx(12.6)  # no sag: no voltage failsafe by default
    b.step(2 * 60.0, armed=True, airborne=True, speed_m_s=8.0, climb_m_s=0.0)
    assert b.remaining == 0.0
    assert Battery(BatterySettings(model="sitl", capacity_mah=5000)).capacity_mah == 5000
    v = Vehicle(SimSettings(battery=BatterySettings(model="sitl")), ParameterStore())
    assert v.params["BATT_CAPACITY"] == 3300


def test_parameters_as_sitl_copter_parm():
    """Values and types ArduCopter SITL 4.7 reports with copter.parm (measured)."""
    p = ParameterStore()
    assert p["FRAME_TYPE"] == 0 and p["FENCE_RADIUS"] == 150
    assert p["FS_THR_ENABLE"] == 1 and p["TERRAIN_ENABLE"] == 1 and p["MIS_TOTAL"] == 1
    types = {name: ptype for _, name, _, ptype in p.items()}
    assert types["RTL_ALT_FINAL"] == mavlink.MAV_PARAM_TYPE_INT16
