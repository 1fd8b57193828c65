"""How ArduPilot stores mission, fence and rally items, and so what a download gives back.

ArduPilot does not keep uploaded items verbatim: ``AP_Mission::mavlink_int_to_mission_cmd``
(libraries/AP_Mission/AP_Mission.cpp) packs each command into 15 bytes (altitude as int24
centimetres, most ``param1`` values as uint16, a few fields as int8/uint8), and
``mission_cmd_to_mavlink_int`` unpacks them on download: altitudes come back in frame 0
(GLOBAL, AMSL) or 3 (GLOBAL_RELATIVE_ALT) rather than the ``_INT`` frames, non-positional commands
come back in frame 0 with x/y/z zero, and params the copter does not store come back as 0 (a
NAV_WAYPOINT's acceptance radius, for one). Fence items follow ``MissionItemProtocol_Fence`` and
rally points ``MissionItemProtocol_Rally`` (frame 3 only, altitude as int16 metres).

The functions here reproduce those rules (pure: pymavlink constants only). The embedded simulator
stores uploads with them (:mod:`sim.mission_store`), and the ground station uses them to tell
ArduPilot's storage normalisation from a real difference when it verifies an upload by reading it
back (:func:`groundstation.mission_transfer.compare_items`).
"""

from __future__ import annotations

import math
import struct
from dataclasses import replace

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.items import MissionItem

R = mavlink  # enum namespace
# MAV_MISSION_RESULT codes the store functions return
ACCEPTED = mavlink.MAV_MISSION_ACCEPTED
ERROR = mavlink.MAV_MISSION_ERROR
UNSUPPORTED = mavlink.MAV_MISSION_UNSUPPORTED
UNSUPPORTED_FRAME = mavlink.MAV_MISSION_UNSUPPORTED_FRAME
INVALID = mavlink.MAV_MISSION_INVALID

LOCATION_ALT_MAX_M = 83000.0
"""ArduPilot's LOCATION_ALT_MAX_M: altitudes are int24 centimetres."""

# Commands whose position is stored (AP_Mission::stored_in_location).
_STORED_IN_LOCATION = frozenset(
    {16, 17, 18, 19, 21, 22, 30, 31, 82, 92, 179, 189, 191, 201, 84, 85, 94}
)
# Commands AP_Mission accepts (mavlink_int_to_mission_cmd); anything else is MAV_MISSION_UNSUPPORTED.
_KNOWN_COMMANDS = _STORED_IN_LOCATION | frozenset(
    {
        20, 93, 112, 114, 115, 176, 177, 178, 181, 182, 183, 184, 202, 203, 205, 206, 207, 208,
        210, 211, 212, 213, 215, 222, 3000, 42600, 42702, 83,
    }
)  # fmt: skip
# Params NaN may carry (AP_Mission::sanity_check_params): param4 of WAYPOINT, LAND, TAKEOFF, VTOL_TAKEOFF.
_PARAM4_MAY_BE_NAN = frozenset({16, 21, 22, 84})

_ABSOLUTE_FRAMES = frozenset({mavlink.MAV_FRAME_MISSION, 0, mavlink.MAV_FRAME_GLOBAL_INT})
_RELATIVE_FRAMES = frozenset({3, 6})
_TERRAIN_FRAMES = frozenset({10, 11})
_GLOBAL_FRAMES = frozenset({0, 3, 5, 6, 10, 11})


def _f32(v: float) -> float:
    return struct.unpack("<f", struct.pack("<f", float(v)))[0]


def _c_int(v: float, bits: int, signed: bool) -> int:
    """C float -> integer conversion: truncation toward zero, then wrap to the width."""
    if not math.isfinite(v):
        return 0
    n = int(v)
    mask = (1 << bits) - 1
    n &= mask
    if signed and n >= 1 << (bits - 1):
        n -= 1 << bits
    return n


def _u8(v: float) -> int:
    return _c_int(v, 8, False)


def _i8(v: float) -> int:
    return _c_int(v, 8, True)


def _u16(v: float) -> int:
    return _c_int(v, 16, False)


def _i16(v: float) -> int:
    return _c_int(v, 16, True)


def _check_lat_lon(x_e7: int, y_e7: int) -> int:
    if abs(x_e7) > 900_000_000:
        return mavlink.MAV_MISSION_INVALID_PARAM5_X
    if abs(y_e7) > 1_800_000_000:
        return mavlink.MAV_MISSION_INVALID_PARAM6_Y
    return ACCEPTED


def _sanity_params(item: MissionItem) -> int:
    nan4_ok = item.command in _PARAM4_MAY_BE_NAN
    checks = (
        (item.param1, mavlink.MAV_MISSION_INVALID_PARAM1, False),
        (item.param2, mavlink.MAV_MISSION_INVALID_PARAM2, False),
        (item.param3, mavlink.MAV_MISSION_INVALID_PARAM3, False),
        (item.param4, mavlink.MAV_MISSION_INVALID_PARAM4, nan4_ok),
    )
    for value, code, nan_ok in checks:
        if math.isinf(value) or (math.isnan(value) and not nan_ok):
            return code
    return ACCEPTED


def _wire_xy(item: MissionItem) -> tuple[int, int]:
    """x/y as MISSION_ITEM_INT integers (the one conversion: MissionItem.to_wire)."""
    try:
        wire = item.to_wire()
    except ValueError:
        return 2**31 - 1, 2**31 - 1
    return wire["x"], wire["y"]


def _location_xy(item: MissionItem) -> tuple[int, int]:
    """Lat/lon degE7 of a positional command, whatever frame it came in.

    In a global frame ``MissionItem.from_wire`` already turned the wire integers into degrees.
    In MAV_FRAME_MISSION (2), which ArduPilot accepts as absolute, a MISSION_ITEM_INT's x/y are
    left as the raw integers while a MISSION_ITEM's are degrees: tell them apart by magnitude.
    """
    if item.frame in _GLOBAL_FRAMES:
        return _wire_xy(item)
    if abs(item.x) <= 90.0 and abs(item.y) <= 180.0:
        return _wire_xy(replace(item, frame=0))
    return int(item.x), int(item.y)


def store_mission_item(item: MissionItem) -> tuple[int, MissionItem | None]:
    """Convert an uploaded mission item to what ArduCopter stores and later sends back.

    Args:
        item: The item as received (``MissionItem.from_wire`` of MISSION_ITEM or MISSION_ITEM_INT).

    Returns:
        ``(MAV_MISSION_RESULT, stored_item)``; ``stored_item`` is None unless the result is
        MAV_MISSION_ACCEPTED. The stored item is exactly what a download returns (frame 0/3/10,
        altitude rounded to centimetres, params truncated to their storage types).
    """
    cmd = int(item.command)
    if cmd == 0:
        return INVALID, None
    result = _sanity_params(item)
    if result != ACCEPTED:
        return result, None
    if cmd not in _KNOWN_COMMANDS:
        return UNSUPPORTED, None
    p1, p2, p3, p4 = item.param1, item.param2, item.param3, item.param4
    out = {"param1": 0.0, "param2": 0.0, "param3": 0.0, "param4": 0.0}
    if cmd in (16, 82, 21, 22, 176, 179, 201, 207, 208, 210, 92, 30, 212, 215):
        out["param1"] = float(_u16(p1))
        if cmd == 21:
            out["param4"] = -1.0 if p4 < 0 else 1.0
    elif cmd == 17:
        out["param3"] = float(_u16(abs(p3))) * (-1.0 if p3 < 0 else 1.0)
    elif cmd == 18:
        turns, radius = _u16(p1) & 0xFF, _u16(abs(p3)) & 0xFF
        out["param1"] = float(turns)
        out["param3"] = float(radius) * (-1.0 if p3 < 0 else 1.0)
        out["param4"] = 1.0 if p4 > 0 else 0.0
    elif cmd == 19:
        out["param1"] = float(_u16(p1))
        out["param3"] = -1.0 if p3 < 0 else 1.0
        out["param4"] = 1.0 if p4 > 0 else 0.0
    elif cmd == 31:
        out["param2"] = float(_u16(abs(p2))) * (-1.0 if p2 < 0 else 1.0)
        out["param4"] = 1.0 if p4 > 0 else 0.0
    elif cmd in (112, 114, 206):
        out["param1"] = _f32(p1)
    elif cmd == 115:
        out.update(param1=float(_u16(p1)), param2=_f32(p2), param3=float(_i8(p3)))
        out["param4"] = float(_u8(p4))
    elif cmd == 177:
        out.update(param1=float(_u16(p1)), param2=float(_i16(p2)))
    elif cmd == 178:
        out.update(param1=float(_u8(p1)), param2=_f32(p2), param3=_f32(p3))
    elif cmd == 181:
        out.update(param1=float(_u8(p1)), param2=float(_u8(p2)))
    elif cmd == 183:
        out.update(param1=float(_u8(p1)), param2=float(_u16(p2)))
    elif cmd != 20:
        out.update(param1=_f32(p1), param2=_f32(p2), param3=_f32(p3), param4=_f32(p4))

    if cmd in _STORED_IN_LOCATION:
        xi, yi = _location_xy(item)
        result = _check_lat_lon(xi, yi)
        if result != ACCEPTED:
            return result, None
        if math.isnan(item.z) or abs(item.z) >= LOCATION_ALT_MAX_M:
            return mavlink.MAV_MISSION_INVALID_PARAM7, None
        if item.frame in _ABSOLUTE_FRAMES:
            frame = 0
        elif item.frame in _RELATIVE_FRAMES:
            frame = 3
        elif item.frame in _TERRAIN_FRAMES:
            frame = 10
        else:
            return UNSUPPORTED_FRAME, None
        alt_cm = _c_int(_f32(_f32(item.z) * 100.0), 24, True)
        stored = MissionItem(
            seq=item.seq,
            frame=frame,
            command=cmd,
            autocontinue=1,
            x=xi / 1e7,
            y=yi / 1e7,
            z=alt_cm / 100.0,
            **out,
        )
        return ACCEPTED, stored
    x = y = z = 0.0
    if cmd in (202, 203):
        x, y = float(_c_int(item.x, 8, False)), float(_c_int(item.y, 8, False))
        z = _f32(item.z) if cmd == 202 else 0.0
    return ACCEPTED, MissionItem(
        seq=item.seq, frame=0, command=cmd, autocontinue=1, x=x, y=y, z=z, **out
    )


def home_item(lat_deg: float, lon_deg: float, alt_amsl_m: float) -> MissionItem:
    """Seq 0 as ArduPilot returns it: NAV_WAYPOINT at home in frame 0 (GLOBAL, altitude AMSL)."""
    probe = MissionItem(seq=0, frame=0, command=16, x=lat_deg, y=lon_deg)
    xi, yi = _wire_xy(probe)
    alt_cm = _c_int(alt_amsl_m * 100.0, 32, True)
    return MissionItem(seq=0, frame=0, command=16, x=xi / 1e7, y=yi / 1e7, z=alt_cm / 100.0)


# --- fence ------------------------------------------------------------------------------------------
FENCE_COMMANDS = frozenset({5000, 5001, 5002, 5003, 5004})


def store_fence_item(item: MissionItem) -> tuple[int, MissionItem | None]:
    """Convert an uploaded fence item the way ``MissionItemProtocol_Fence`` does.

    Returns:
        ``(MAV_MISSION_RESULT, stored)``; stored items read back in frame 0 with ``param1`` the
        vertex count (uint8) or the circle radius (float), z = 0 and ``autocontinue`` 0 (the fence
        store keeps no such flag: measured on ArduCopter SITL 4.7, every fence item reads back 0
        whatever was sent, ../shared/notes/ardupilot.md).
    """
    if item.frame not in _GLOBAL_FRAMES:
        return UNSUPPORTED_FRAME, None
    if item.command not in FENCE_COMMANDS:
        return UNSUPPORTED, None
    xi, yi = _wire_xy(item)
    param1 = 0.0
    if item.command in (5001, 5002):
        param1 = float(_u8(item.param1))
    elif item.command in (5003, 5004):
        param1 = _f32(item.param1)
    return ACCEPTED, MissionItem(
        seq=item.seq,
        frame=0,
        command=int(item.command),
        autocontinue=0,
        param1=param1,
        x=xi / 1e7,
        y=yi / 1e7,
        z=0.0,
        mission_type=mavlink.MAV_MISSION_TYPE_FENCE,
    )


def validate_fence(items: list[MissionItem]) -> str | None:
    """Check a complete fence list as ``AC_PolyFence_loader::write_fence`` does.

    Returns:
        None when valid, else a one-line reason (polygon with fewer than 3 vertices, vertex count
        not matching, circle radius not positive, more than one return point).
    """
    i, n, returns = 0, len(items), 0
    while i < n:
        it = items[i]
        if it.command in (5001, 5002):
            count = int(it.param1)
            if count < 3:
                return f"fence item {i}: polygon needs at least 3 vertices, param1 is {count}"
            group = items[i : i + count]
            if len(group) < count or any(
                g.command != it.command or int(g.param1) != count for g in group
            ):
                return f"fence item {i}: polygon of {count} vertices is incomplete"
            i += count
            continue
        if it.command in (5003, 5004) and not it.param1 > 0:
            return f"fence item {i}: circle radius must be positive, got {it.param1}"
        if it.command == 5000:
            returns += 1
            if returns > 1:
                return f"fence item {i}: more than one return point"
        i += 1
    return None


# --- rally ------------------------------------------------------------------------------------------
def store_rally_item(item: MissionItem) -> tuple[int, MissionItem | None]:
    """Convert an uploaded rally point the way ``MissionItemProtocol_Rally`` does.

    Returns:
        ``(MAV_MISSION_RESULT, stored)``: only NAV_RALLY_POINT (5100) in frame 3/6 is accepted;
        the altitude is kept as int16 metres and reads back in frame 3 with ``autocontinue`` 0
        (measured on ArduCopter SITL 4.7).
    """
    if item.command != mavlink.MAV_CMD_NAV_RALLY_POINT:
        return UNSUPPORTED, None
    if item.frame not in _RELATIVE_FRAMES:
        return UNSUPPORTED_FRAME, None
    xi, yi = _wire_xy(item)
    result = _check_lat_lon(xi, yi)
    if result != ACCEPTED:
        return result, None
    if not -32768 <= item.z <= 32767:
        return mavlink.MAV_MISSION_INVALID_PARAM7, None
    return ACCEPTED, MissionItem(
        seq=item.seq,
        frame=3,
        command=mavlink.MAV_CMD_NAV_RALLY_POINT,
        autocontinue=0,
        x=xi / 1e7,
        y=yi / 1e7,
        z=float(int(item.z)),
        mission_type=mavlink.MAV_MISSION_TYPE_RALLY,
    )
