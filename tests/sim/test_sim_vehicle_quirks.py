"""What a ground station sees on connection, arming rules, commands, parameters, links."""

from __future__ import annotations

import socket

import pytest
from _simclient import Gcs, Timeout
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.testing import requires_builtin

ARMED = mavlink.MAV_MODE_FLAG_SAFETY_ARMED


def test_boot_heartbeat_and_only_heartbeat_until_asked(vehicle_endpoint):
    with Gcs(vehicle_endpoint.url, vehicle_endpoint.speedup) as gcs:
        hb = gcs.heartbeat
        assert gcs.sysid == vehicle_endpoint.sysid and gcs.compid == 1
        assert hb.type == mavlink.MAV_TYPE_QUADROTOR
        assert hb.autopilot == mavlink.MAV_AUTOPILOT_ARDUPILOTMEGA
        assert hb.custom_mode == 0  # STABILIZE
        assert hb.base_mode & mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
        assert not hb.base_mode & ARMED
        kinds = {m.get_type() for m in gcs.drain(1.5)}
        assert "HEARTBEAT" in kinds
        # ArduCopter 4.7 (measured): no SYS_STATUS and no position until telemetry is requested
        assert not kinds & {"SYS_STATUS", "GLOBAL_POSITION_INT", "ATTITUDE", "VFR_HUD",
                            "GPS_RAW_INT"}  # fmt: skip
        gcs.request_streams(5)
        kinds = {m.get_type() for m in gcs.drain(1.5)}
        assert {"GLOBAL_POSITION_INT", "ATTITUDE", "VFR_HUD", "SYS_STATUS", "GPS_RAW_INT",
                "BATTERY_STATUS", "EKF_STATUS_REPORT", "MISSION_CURRENT"} <= kinds  # fmt: skip


@pytest.mark.vehicle(ready_delay_s=60, speedup=10)
def test_arming_refused_with_prearm_text_before_ready(vehicle_endpoint):
    requires_builtin(vehicle_endpoint)
    with Gcs(vehicle_endpoint.url, vehicle_endpoint.speedup) as gcs:
        assert gcs.set_mode("GUIDED") == mavlink.MAV_RESULT_ACCEPTED  # disarmed: any mode
        assert gcs.arm() == mavlink.MAV_RESULT_FAILED
        gcs.drain(0.3)
        # an arming request reports with "Arm: " on ArduCopter 4.7 (measured)
        assert any(t.startswith("Arm: ") for t in gcs.texts)


def test_auto_is_not_armable_and_auto_disarm_after_disarm_delay(vehicle_endpoint):
    with Gcs(vehicle_endpoint.url, vehicle_endpoint.speedup) as gcs:
        gcs.request_streams(5)
        gcs.wait_armable()
        assert gcs.set_mode("AUTO") == mavlink.MAV_RESULT_ACCEPTED
        assert gcs.arm() == mavlink.MAV_RESULT_FAILED
        gcs.drain(0.3)
        # a fresh vehicle has no mission: ArduCopter 4.7 says so first (measured)
        assert "Arm: Mode requires mission" in gcs.texts
        assert gcs.set_mode("GUIDED") == mavlink.MAV_RESULT_ACCEPTED
        assert gcs.arm() == mavlink.MAV_RESULT_ACCEPTED
        gcs.recv("HEARTBEAT", cond=lambda h: h.base_mode & ARMED)
        # no takeoff: disarms by itself after DISARM_DELAY (10 s)
        hb = gcs.wait_disarmed(sim_s=30)
        assert hb.custom_mode == 4


def test_commands_get_acks_with_the_right_result(vehicle_endpoint):
    with Gcs(vehicle_endpoint.url, vehicle_endpoint.speedup) as gcs:
        assert gcs.command(31999) == mavlink.MAV_RESULT_UNSUPPORTED
        # SET_MODE (message 11): no COMMAND_ACK on ArduCopter 4.7, the HEARTBEAT shows the mode
        gcs.m.mav.set_mode_send(gcs.sysid, mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, 4)
        gcs.mode_is("GUIDED")
        gcs.m.mav.set_mode_send(gcs.sysid, mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, 8)
        gcs.recv("STATUSTEXT", cond=lambda m: m.text == "No such mode 8")
        # ... and mode 0 confirmed by HEARTBEAT too: no COMMAND_ACK(11) came for either
        gcs.m.mav.set_mode_send(gcs.sysid, mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, 0)
        gcs.mode_is("STABILIZE")
        assert not [m for m in gcs.received if m.get_type() == "COMMAND_ACK" and m.command == 11]
        gcs.m.mav.set_mode_send(gcs.sysid, mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, 4)
        gcs.mode_is("GUIDED")
        # takeoff while disarmed fails
        assert gcs.command(mavlink.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 10) == 4
        assert gcs.command(mavlink.MAV_CMD_DO_SET_MODE, 1, 4) == mavlink.MAV_RESULT_ACCEPTED
        assert gcs.command(mavlink.MAV_CMD_DO_SET_MODE, 1, 250) == mavlink.MAV_RESULT_FAILED
        assert gcs.command(mavlink.MAV_CMD_MISSION_START, 3, 5) == mavlink.MAV_RESULT_DENIED
        gcs.wait_armable()
        assert (
            gcs.command(mavlink.MAV_CMD_REQUEST_MESSAGE, mavlink.MAVLINK_MSG_ID_HOME_POSITION)
            == mavlink.MAV_RESULT_ACCEPTED
        )
        home = gcs.recv("HOME_POSITION")
        assert home.latitude != 0 and home.altitude != 0
        interval_us = 100_000
        assert (
            gcs.command(
                mavlink.MAV_CMD_SET_MESSAGE_INTERVAL, mavlink.MAVLINK_MSG_ID_VFR_HUD, interval_us
            )
            == 0
        )
        gcs.recv("VFR_HUD")
        # AUTOPILOT_VERSION as ArduCopter SITL 4.7 reports it (measured: 0xfbef, git hash)
        assert (
            gcs.command(mavlink.MAV_CMD_REQUEST_MESSAGE, mavlink.MAVLINK_MSG_ID_AUTOPILOT_VERSION)
            == mavlink.MAV_RESULT_ACCEPTED
        )
        version = gcs.recv("AUTOPILOT_VERSION")
        assert version.capabilities == 0xFBEF
        if vehicle_endpoint.kind == "builtin":
            assert bytes(version.flight_custom_version) == b"90700977"


def test_parameters_list_read_set(vehicle_endpoint):
    with Gcs(vehicle_endpoint.url, vehicle_endpoint.speedup) as gcs:
        gcs.m.mav.param_request_read_send(gcs.sysid, gcs.compid, b"WPNAV_SPEED", -1)
        p = gcs.recv("PARAM_VALUE", cond=lambda m: m.param_id == "WPNAV_SPEED")
        assert p.param_value == pytest.approx(1000.0)
        gcs.m.mav.param_set_send(
            gcs.sysid, gcs.compid, b"RTL_ALT", 2500, mavlink.MAV_PARAM_TYPE_INT32
        )
        p = gcs.recv("PARAM_VALUE", cond=lambda m: m.param_id == "RTL_ALT")
        assert p.param_value == 2500
        if vehicle_endpoint.kind != "builtin":
            return
        gcs.m.mav.param_request_list_send(gcs.sysid, gcs.compid)
        values = {}
        while True:
            try:
                m = gcs.recv("PARAM_VALUE", wall_s=2)
            except Timeout:
                break
            values[m.param_id] = m
            if len(values) == m.param_count:
                break
        names = set(values)
        assert {"WPNAV_SPEED", "RTL_ALT", "FENCE_ENABLE", "FS_GCS_ENABLE", "BATT_CAPACITY",
                "DISARM_DELAY", "MAV_SYSID"} <= names  # fmt: skip
        assert "SYSID_THISMAV" not in names  # renamed in 4.7
        assert values["RTL_ALT"].param_value == 2500
        gcs.m.mav.param_set_send(gcs.sysid, gcs.compid, b"MIS_TOTAL", 9, 4)
        gcs.recv("PARAM_VALUE", cond=lambda m: m.param_id == "MIS_TOTAL")
        assert any("Param write denied" in t for t in gcs.texts)


def test_tcp_accepts_a_new_client_after_disconnect(sim_factory):
    sim = sim_factory(speedup=10)
    with Gcs(sim.url, sim.speedup) as gcs:
        assert gcs.set_mode("GUIDED") == 0
    with Gcs(sim.url, sim.speedup) as gcs:
        hb = gcs.recv("HEARTBEAT")
        assert hb.custom_mode == 4


def test_tcp_accepts_the_next_client_after_one_that_hung_up_at_once(sim_factory):
    """A client that connects and closes at once, as a port probe does right after start-up:
    whether the simulator notices on a read or on a send (EPIPE), the port serves the next
    client (it used to stop accepting when a send noticed first)."""
    for _ in range(12):
        sim = sim_factory(speedup=10)
        with socket.create_connection(("127.0.0.1", sim.port), timeout=5):
            pass
        with Gcs(sim.url, sim.speedup) as gcs:
            assert gcs.heartbeat is not None
        sim.stop()


def test_udp_endpoint(sim_factory):
    sim = sim_factory(speedup=10, udp_port=0)
    with Gcs(sim.udp_url, sim.speedup) as gcs:
        gcs.heartbeat_send()
        assert gcs.set_mode("LOITER") == 0


def test_two_vehicles_at_once_distinct_sysids(sim_factory):
    a = sim_factory(speedup=10, sysid=1)
    b = sim_factory(speedup=10, sysid=2, home=(41.80, 123.44, 40.0))
    assert a.port != b.port
    with Gcs(a.url, 10) as ga, Gcs(b.url, 10) as gb:
        assert (ga.sysid, gb.sysid) == (1, 2)
        assert gb.set_mode("GUIDED") == 0
        ga.recv("HEARTBEAT")
        assert ga.recv("HEARTBEAT").custom_mode == 0
        assert gb.mode_is("GUIDED")
    pa, pb = a.true_pose(), b.true_pose()
    assert (round(pa.lat_deg, 2), round(pb.lat_deg, 2)) == (41.79, 41.80)


def test_port_in_use_is_a_clear_error(sim_factory):
    from sim import SimError

    a = sim_factory(speedup=5)
    with pytest.raises(SimError, match=f"127.0.0.1:{a.port}"):
        sim_factory(port=a.port)
    # the first one still serves
    with socket.create_connection(("127.0.0.1", a.port), 2):
        pass


def test_true_pose_follows_the_vehicle(sim_factory):
    sim = sim_factory(speedup=20)
    with Gcs(sim.url, sim.speedup) as gcs:
        gcs.request_streams(10)
        gcs.wait_armable()
        gcs.set_mode("GUIDED")
        assert gcs.arm() == 0
        assert gcs.command(mavlink.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 15) == 0
        msg = gcs.wait_alt(14.5)
    pose = sim.true_pose()
    assert pose.alt_m == pytest.approx(msg.relative_alt / 1000.0, abs=1.5)
    assert pose.gimbal_pitch_deg == -90.0
    sim.gimbal_pitch_deg = -60
    assert sim.true_pose().gimbal_pitch_deg == -60
    assert sim.sim_time_s > 3.0
