"""MissionItem and its MISSION_ITEM_INT encoding."""

from __future__ import annotations

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.items import (
    MAV_CMD_DO_CHANGE_SPEED,
    MAV_CMD_DO_DIGICAM_CONTROL,
    MAV_CMD_NAV_WAYPOINT,
    MAV_FRAME_GLOBAL_RELATIVE_ALT,
    MAV_FRAME_MISSION,
    MissionItem,
    command_name,
    mission_result_name,
)


def _pack(item: MissionItem):
    w = item.to_wire()
    msg = mavlink.MAVLink_mission_item_int_message(
        1, 1, w["seq"], w["frame"], w["command"], w["current"], w["autocontinue"],
        w["param1"], w["param2"], w["param3"], w["param4"], w["x"], w["y"], w["z"],
        w["mission_type"],
    )  # fmt: skip
    mav = mavlink.MAVLink(None, 255, 190)
    return mav.decode(bytearray(msg.pack(mav)))


def test_location_item_scaled_to_dege7_and_back():
    item = MissionItem(
        5, MAV_FRAME_GLOBAL_RELATIVE_ALT, MAV_CMD_NAV_WAYPOINT, x=41.7912345, y=-123.4300001, z=40.0
    )
    w = item.to_wire()
    assert (w["x"], w["y"]) == (417912345, -1234300001)
    back = MissionItem.from_wire(_pack(item))
    assert back.x == 41.7912345 and back.y == -123.4300001 and back.z == 40.0
    assert back.same_on_wire(item)


def test_non_location_xy_not_scaled():
    cam = MissionItem(2, MAV_FRAME_GLOBAL_RELATIVE_ALT, MAV_CMD_DO_DIGICAM_CONTROL, x=1, y=7)
    assert cam.to_wire()["x"] == 1 and cam.to_wire()["y"] == 7
    assert MissionItem.from_wire(_pack(cam)).x == 1.0
    speed = MissionItem(3, MAV_FRAME_MISSION, MAV_CMD_DO_CHANGE_SPEED, param1=1, param2=8.5)
    assert not speed.xy_is_location and not speed.has_position
    assert MissionItem.from_wire(_pack(speed)).same_on_wire(speed)


def test_same_on_wire_detects_a_changed_param():
    a = MissionItem(1, 3, 16, param1=2.0, x=41.0, y=123.0, z=30)
    assert not a.same_on_wire(MissionItem(1, 3, 16, param1=2.5, x=41.0, y=123.0, z=30))
    assert not a.same_on_wire(MissionItem(1, 3, 16, param1=2.0, x=41.0000002, y=123.0, z=30))
    assert a.same_on_wire(MissionItem(9, 3, 16, param1=2.0, x=41.0, y=123.0, z=30), ignore_seq=True)


def test_names():
    assert command_name(16) == "NAV_WAYPOINT"
    assert command_name(31337) == "31337"
    assert "INVALID_SEQUENCE" in mission_result_name(13)
