"""Failsafes as on ArduCopter: battery low -> RTL, critical -> LAND, GCS loss -> RTL, fence -> RTL;
and a GUIDED destination beyond the enabled fence is refused, as ArduCopter refuses it."""

from __future__ import annotations

import time

from _simclient import Gcs, home_placeholder, waypoint
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.geo import offset
from missions.items import MissionItem

HOME = (41.79, 123.43, 50.0)


def _takeoff(gcs: Gcs, alt: float = 20.0) -> None:
    gcs.request_streams(10)
    gcs.wait_armable()
    assert gcs.set_mode("GUIDED") == 0
    assert gcs.arm() == 0
    assert gcs.command(mavlink.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, alt) == 0
    gcs.wait_alt(alt - 0.5)


def test_battery_low_rtl_then_critical_land(sim_factory):
    params = {
        "BATT_FS_LOW_ACT": 2,  # RTL
        "BATT_FS_CRT_ACT": 1,  # Land
        "BATT_LOW_MAH": 900,
        "BATT_CRT_MAH": 850,  # reached ~11 simulated s after low, while RTL descends
    }
    sim = sim_factory(speedup=25, home=HOME, params=params)
    with sim.lock:
        sim.vehicle.battery.consumed_mah = 5200 - 960
    with Gcs(sim.url, sim.speedup) as gcs:
        _takeoff(gcs, 20)
        gcs.mode_is("RTL", sim_s=60)
        assert any(t.startswith("Battery 1 is low") for t in gcs.texts)
        gcs.mode_is("LAND", sim_s=120)
        assert any(t.startswith("Battery 1 is critical") for t in gcs.texts)
        hb = gcs.wait_disarmed(sim_s=120)
        assert hb.custom_mode == 9


def test_gcs_heartbeat_loss_triggers_rtl(sim_factory):
    sim = sim_factory(speedup=10, home=HOME, params={"FS_GCS_ENABLE": 1, "FS_GCS_TIMEOUT": 5})
    with Gcs(sim.url, sim.speedup) as gcs:
        gcs.heartbeat_send()
        gcs.request_streams(10)
        gcs.wait_armable()
        assert gcs.set_mode("GUIDED") == 0
        assert gcs.arm() == 0
        assert gcs.command(mavlink.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 10) == 0
        # keep heartbeats coming while climbing (10 Hz wall = 1 Hz simulated at 10x)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            gcs.heartbeat_send()
            m = gcs.poll(0.1)
            if m is not None and m.get_type() == "GLOBAL_POSITION_INT" and m.relative_alt > 9500:
                break
        assert gcs.recv("HEARTBEAT").custom_mode == 4
        # stop sending heartbeats: after FS_GCS_TIMEOUT the vehicle returns
        gcs.mode_is("RTL", sim_s=30)
        assert "GCS Failsafe" in gcs.texts


def _square_fence(half_diagonal_m: float = 70.0) -> list[MissionItem]:
    ring = [offset(HOME[0], HOME[1], b, half_diagonal_m) for b in (45, 135, 225, 315)]
    return [
        MissionItem(seq=i, frame=6, command=5001, param1=4, x=lat, y=lon, mission_type=1)
        for i, (lat, lon) in enumerate(ring)
    ]


def test_fence_breach_triggers_rtl(sim_factory):
    """An AUTO mission that leads out of the fence (ArduCopter does not check waypoints against
    the fence) breaches it: "Polygon fence breached", RTL, land at home."""
    sim = sim_factory(speedup=20, home=HOME, params={"FENCE_ENABLE": 1, "FENCE_TYPE": 4})
    lat, lon = offset(HOME[0], HOME[1], 0.0, 150.0)
    with Gcs(sim.url, sim.speedup) as gcs:
        assert gcs.upload(_square_fence(), mission_type=1)[0] == 0
        assert gcs.upload([home_placeholder(), waypoint(1, lat, lon, 15.0)])[0] == 0
        _takeoff(gcs, 15)
        assert gcs.set_mode("AUTO") == 0
        gcs.mode_is("RTL", sim_s=60)
        assert "Polygon fence breached" in gcs.texts  # AC_Fence 4.7 wording (measured)
        # FENCE_STATUS is streamed while the fence is enabled (ArduCopter 4.7, measured)
        status = gcs.recv("FENCE_STATUS", cond=lambda m: m.breach_count >= 1)
        assert status.breach_type in (0, mavlink.FENCE_BREACH_BOUNDARY)
        hb = gcs.wait_disarmed(sim_s=200)
        assert hb.custom_mode == 6
        assert "Fence breach cleared" in gcs.texts


def _position_target(gcs: Gcs, lat: float, lon: float, alt: float) -> None:
    gcs.m.mav.set_position_target_global_int_send(
        0, gcs.sysid, gcs.compid, mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, 0b110111111000,
        int(lat * 1e7), int(lon * 1e7), alt, 0, 0, 0, 0, 0, 0, 0, 0,
    )  # fmt: skip


def test_guided_destination_beyond_the_fence_is_refused(sim_factory):
    """``ModeGuided::set_destination`` -> ``AC_Fence::check_destination_within_fence``: a target
    outside the polygon or above FENCE_ALT_MAX is ignored (SET_POSITION_TARGET_GLOBAL_INT has no
    ACK) or answered MAV_RESULT_FAILED (DO_REPOSITION); a target inside is flown to."""
    params = {"FENCE_ENABLE": 1, "FENCE_TYPE": 5, "FENCE_ALT_MAX": 40}
    sim = sim_factory(speedup=20, home=HOME, params=params)
    with Gcs(sim.url, sim.speedup) as gcs:
        assert gcs.upload(_square_fence(), mission_type=1)[0] == 0
        _takeoff(gcs, 15)
        out_lat, out_lon = offset(HOME[0], HOME[1], 0.0, 150.0)
        _position_target(gcs, out_lat, out_lon, 15)
        _position_target(gcs, HOME[0], HOME[1], 60)  # above FENCE_ALT_MAX
        gcs.drain(gcs.wall(10.0))  # 10 simulated seconds
        with sim.lock:
            x, y, z = sim.vehicle.x, sim.vehicle.y, sim.vehicle.relative_alt_m
        assert abs(x) < 2.0 and abs(y) < 2.0 and abs(z - 15.0) < 1.0
        assert gcs.recv("HEARTBEAT").custom_mode == 4  # still GUIDED: nothing was breached
        assert not any("fence breached" in t for t in gcs.texts)
        reposition = mavlink.MAV_CMD_DO_REPOSITION
        assert gcs.command(reposition, -1, 0, 0, 0, out_lat, out_lon, 15) == 4  # FAILED
        in_lat, in_lon = offset(HOME[0], HOME[1], 0.0, 30.0)
        assert gcs.command(reposition, -1, 0, 0, 0, in_lat, in_lon, 15) == 0  # ACCEPTED
        _position_target(gcs, in_lat, in_lon, 20)
        gcs.recv(
            "GLOBAL_POSITION_INT", sim_s=60,
            cond=lambda m: abs(m.lat / 1e7 - in_lat) < 2e-5 and abs(m.relative_alt - 20000) < 500,
        )  # fmt: skip
