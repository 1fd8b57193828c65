"""Failsafes as on ArduCopter: battery low -> RTL, critical -> LAND, GCS loss -> RTL, fence -> RTL."""

from __future__ import annotations

import time

from _simclient import Gcs
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


def test_fence_breach_triggers_rtl(sim_factory):
    sim = sim_factory(speedup=20, home=HOME, params={"FENCE_ENABLE": 1, "FENCE_TYPE": 4})
    ring = [offset(HOME[0], HOME[1], b, 70.0) for b in (45, 135, 225, 315)]
    fence = [
        MissionItem(seq=i, frame=6, command=5001, param1=4, x=lat, y=lon, mission_type=1)
        for i, (lat, lon) in enumerate(ring)
    ]
    with Gcs(sim.url, sim.speedup) as gcs:
        assert gcs.upload(fence, mission_type=1)[0] == 0
        _takeoff(gcs, 15)
        lat, lon = offset(HOME[0], HOME[1], 0.0, 150.0)
        gcs.m.mav.set_position_target_global_int_send(
            0, gcs.sysid, gcs.compid, mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, 0b110111111000,
            int(lat * 1e7), int(lon * 1e7), 15, 0, 0, 0, 0, 0, 0, 0, 0,
        )  # fmt: skip
        gcs.mode_is("RTL", sim_s=60)
        assert any(t.startswith("Fence Breached") for t in gcs.texts)
        hb = gcs.wait_disarmed(sim_s=200)
        assert hb.custom_mode == 6
