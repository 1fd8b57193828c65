"""AUTO mission execution: takeoff item, jumps, speed, yaw, loiter, land, pause and resume."""

from __future__ import annotations

from _simclient import Gcs, home_placeholder, waypoint
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.geo import distance_m, offset
from missions.items import MissionItem

HOME = (41.79, 123.43, 50.0)
C = mavlink


def _item(seq: int, command: int, *params: float, frame: int = 2, x=0.0, y=0.0, z=0.0):
    p = list(params) + [0.0] * (4 - len(params))
    return MissionItem(seq=seq, frame=frame, command=command, param1=p[0], param2=p[1],
                       param3=p[2], param4=p[3], x=x, y=y, z=z)  # fmt: skip


def _ready_armed_in_guided(gcs: Gcs) -> None:
    gcs.request_streams(10)
    gcs.wait_armable()
    assert gcs.set_mode("GUIDED") == 0
    assert gcs.arm() == 0


def test_takeoff_item_jump_speed_yaw_loiter_and_final_land(sim_factory):
    # AUTO_OPTIONS bit 1: an AUTO take-off from the ground without a throttle raise
    sim = sim_factory(speedup=30, home=HOME, params={"AUTO_OPTIONS": 2})
    a = offset(HOME[0], HOME[1], 90, 60)
    b = offset(HOME[0], HOME[1], 180, 60)
    items = [
        home_placeholder(),
        _item(1, C.MAV_CMD_NAV_TAKEOFF, frame=3, z=15),
        _item(2, C.MAV_CMD_DO_CHANGE_SPEED, 1, 5.0, -1),
        waypoint(3, *a, 15),
        _item(4, C.MAV_CMD_DO_DIGICAM_CONTROL, 0, 0, 0, 0, 1, frame=2, x=1),
        _item(5, C.MAV_CMD_DO_JUMP, 3, 1),
        _item(6, C.MAV_CMD_CONDITION_YAW, 270, 30, 1, 0),
        _item(7, C.MAV_CMD_NAV_LOITER_TIME, 4, frame=3, x=b[0], y=b[1], z=12),
        _item(8, 31000 - 31000 + C.MAV_CMD_DO_SET_SERVO, 9, 1500),
        _item(9, C.MAV_CMD_NAV_LAND, frame=3, x=b[0], y=b[1], z=0),
    ]
    with Gcs(sim.url, sim.speedup) as gcs:
        assert gcs.upload(items)[0] == 0
        _ready_armed_in_guided(gcs)
        assert gcs.set_mode("AUTO") == 0  # armed on the ground: mission starts with a takeoff
        gcs.recv("MISSION_ITEM_REACHED", sim_s=300, cond=lambda m: m.seq == 9)
        hb = gcs.wait_disarmed(sim_s=30)
        assert hb.custom_mode == 3  # stays in AUTO, disarmed
        # takeoff, change speed, wp 3, jump back once to wp 3, yaw, loiter, land. Items completed
        # in one loop give one MISSION_ITEM_REACHED, for the last of them (ArduCopter 4.7,
        # measured): the take-off with the DO_CHANGE_SPEED after it (2), and wp 3 flown again
        # after the jump (the vehicle is already there) with the yaw that follows (6).
        nav_and_do = [s for s in gcs.reached if s not in (4, 8)]
        assert nav_and_do == [2, 3, 6, 7, 9]
        assert any(t.startswith("Mission: 5 Jump 1/1") for t in gcs.texts)
        assert "Reached command #3" in gcs.texts
        pos = gcs.recv("GLOBAL_POSITION_INT")
        assert distance_m(b[0], b[1], pos.lat / 1e7, pos.lon / 1e7) < 3.0


def test_auto_on_the_ground_does_not_take_off_with_auto_options_0(sim_factory):
    """ArduCopter 4.7 (measured): armed on the ground, AUTO with a TAKEOFF item next stays on
    the ground at minimum throttle and disarms after DISARM_DELAY when AUTO_OPTIONS is 0."""
    sim = sim_factory(speedup=20, home=HOME)
    items = [home_placeholder(), _item(1, C.MAV_CMD_NAV_TAKEOFF, frame=3, z=15)]
    items.append(waypoint(2, *offset(HOME[0], HOME[1], 0, 50), 15))
    with Gcs(sim.url, sim.speedup) as gcs:
        assert gcs.upload(items)[0] == 0
        _ready_armed_in_guided(gcs)
        assert gcs.set_mode("AUTO") == 0
        hb = gcs.wait_disarmed(sim_s=30)
        assert hb.custom_mode == 3
        alts = [m.relative_alt for m in gcs.drain(0.3) if m.get_type() == "GLOBAL_POSITION_INT"]
        assert alts and max(alts) < 500  # never left the ground (mm)
        assert 1 not in gcs.reached


def test_auto_refused_when_armed_on_ground_without_takeoff_item(sim_factory):
    sim = sim_factory(speedup=20, home=HOME)
    items = [home_placeholder(), waypoint(1, *offset(HOME[0], HOME[1], 0, 50), 20)]
    with Gcs(sim.url, sim.speedup) as gcs:
        assert gcs.upload(items)[0] == 0
        _ready_armed_in_guided(gcs)
        assert gcs.set_mode("AUTO") == mavlink.MAV_RESULT_FAILED
        gcs.drain(0.2)
        assert "Auto: Missing Takeoff Cmd" in gcs.texts


def test_pause_in_guided_and_brake_then_resume_auto_at_the_same_item(sim_factory):
    sim = sim_factory(speedup=30, home=HOME)
    pts = [offset(HOME[0], HOME[1], 45 * i, 120) for i in range(1, 5)]
    items = [home_placeholder()] + [waypoint(i + 1, *p, 20) for i, p in enumerate(pts)]
    with Gcs(sim.url, sim.speedup) as gcs:
        assert gcs.upload(items)[0] == 0
        _ready_armed_in_guided(gcs)
        assert gcs.command(C.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 20) == 0
        gcs.wait_alt(19.5)
        assert gcs.set_mode("AUTO") == 0
        gcs.recv("MISSION_ITEM_REACHED", sim_s=60, cond=lambda m: m.seq == 1)
        gcs.recv("MISSION_CURRENT", cond=lambda m: m.seq == 2)
        # pause over a gathering: BRAKE, then GUIDED hold
        assert gcs.set_mode("BRAKE") == 0
        assert gcs.set_mode("GUIDED") == 0
        cur = gcs.recv("MISSION_CURRENT")
        assert cur.seq == 2
        assert cur.mission_state == mavlink.MISSION_STATE_PAUSED
        gcs.drain(0.3)
        # resume: AUTO continues with item 2, not from the start
        gcs.reached.clear()
        assert gcs.set_mode("AUTO") == 0
        gcs.recv("MISSION_ITEM_REACHED", sim_s=120, cond=lambda m: m.seq == 3)
        # DO_SET_MISSION_CURRENT jumps back to item 2 while the mission runs
        assert gcs.command(C.MAV_CMD_DO_SET_MISSION_CURRENT, 2) == 0
        gcs.recv("MISSION_ITEM_REACHED", sim_s=200, cond=lambda m: m.seq == 4)
        assert gcs.reached == [2, 3, 2, 3, 4]
        # mission complete in the air: loiter in AUTO, armed
        hb = gcs.recv("HEARTBEAT")
        assert hb.custom_mode == 3 and hb.base_mode & mavlink.MAV_MODE_FLAG_SAFETY_ARMED
        done = gcs.recv("MISSION_CURRENT")
        # ArduCopter 4.7 after the end (measured): seq 0, mission_state COMPLETE
        assert (done.seq, done.mission_state) == (0, mavlink.MISSION_STATE_COMPLETE)
        # a completed mission restarts at an item with param2 = 1 (reset)
        gcs.reached.clear()
        assert gcs.command(C.MAV_CMD_DO_SET_MISSION_CURRENT, 3, 1) == 0
        gcs.recv("MISSION_ITEM_REACHED", sim_s=200, cond=lambda m: m.seq == 4)
        assert gcs.reached == [3, 4]
        # MISSION_SET_CURRENT while paused in GUIDED, then resume there
        assert gcs.set_mode("GUIDED") == 0
        gcs.m.mav.mission_set_current_send(gcs.sysid, gcs.compid, 2)
        assert gcs.recv("MISSION_CURRENT", cond=lambda m: m.seq == 2).seq == 2
        gcs.reached.clear()
        assert gcs.set_mode("AUTO") == 0
        gcs.recv("MISSION_ITEM_REACHED", sim_s=200, cond=lambda m: m.seq == 4)
        assert gcs.reached == [2, 3, 4]


def test_unsupported_command_is_skipped_with_statustext(sim_factory):
    sim = sim_factory(speedup=30, home=HOME, params={"AUTO_OPTIONS": 2})
    items = [
        home_placeholder(),
        _item(1, C.MAV_CMD_NAV_TAKEOFF, frame=3, z=10),
        _item(2, C.MAV_CMD_NAV_DELAY, 5),
        _item(3, C.MAV_CMD_NAV_LAND, frame=3),
    ]
    with Gcs(sim.url, sim.speedup) as gcs:
        assert gcs.upload(items)[0] == 0
        _ready_armed_in_guided(gcs)
        assert gcs.set_mode("AUTO") == 0
        gcs.recv("MISSION_ITEM_REACHED", sim_s=120, cond=lambda m: m.seq == 3)
        assert any("Skipping" in t and "93" in t for t in gcs.texts)
        assert 2 not in gcs.reached


def test_guided_position_target_and_change_speed(sim_factory):
    sim = sim_factory(speedup=30, home=HOME)
    target = offset(HOME[0], HOME[1], 30, 100)
    with Gcs(sim.url, sim.speedup) as gcs:
        _ready_armed_in_guided(gcs)
        assert gcs.command(C.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 12) == 0
        gcs.wait_alt(11.5)
        assert gcs.command(C.MAV_CMD_DO_CHANGE_SPEED, 1, 4.0, -1) == 0
        gcs.m.mav.set_position_target_global_int_send(
            0, gcs.sysid, gcs.compid, C.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, 0b110111111000,
            int(target[0] * 1e7), int(target[1] * 1e7), 25, 0, 0, 0, 0, 0, 0, 0, 0,
        )  # fmt: skip

        def near(m):
            return distance_m(target[0], target[1], m.lat / 1e7, m.lon / 1e7) < 1.5 and (
                abs(m.relative_alt - 25000) < 1000
            )

        hud_during = []
        deadline_msg = gcs.recv(
            ("GLOBAL_POSITION_INT", "VFR_HUD"),
            sim_s=120,
            cond=lambda m: (
                hud_during.append(m.groundspeed) if m.get_type() == "VFR_HUD" else near(m)
            ),
        )
        assert deadline_msg.get_type() == "GLOBAL_POSITION_INT"
        assert max(hud_during) < 4.5  # DO_CHANGE_SPEED 4 m/s instead of WPNAV_SPEED 10 m/s
        hud = [m.groundspeed for m in gcs.drain(0.5) if m.get_type() == "VFR_HUD"]
        assert hud and all(s < 4.5 for s in hud)
