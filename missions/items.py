"""MAVLink mission items: the value type every mission, fence and rally list is made of.

:class:`MissionItem` carries the fields of MAVLink ``MISSION_ITEM_INT`` (message #73,
https://mavlink.io/en/messages/common.html#MISSION_ITEM_INT) with positions kept as floating-point
degrees and metres. The wire integers (degE7) appear only in :meth:`MissionItem.to_wire` /
:meth:`MissionItem.from_wire`, the one place where they are converted.

Enum values come from pymavlink's generated ArduPilot dialect, so names follow the MAVLink XML.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

from pymavlink.dialects.v20 import ardupilotmega as mavlink

# --- MAV_CMD (https://mavlink.io/en/messages/common.html#mav_commands) -------------------------
MAV_CMD_NAV_WAYPOINT = mavlink.MAV_CMD_NAV_WAYPOINT  # 16
MAV_CMD_NAV_LOITER_UNLIM = mavlink.MAV_CMD_NAV_LOITER_UNLIM  # 17
MAV_CMD_NAV_LOITER_TURNS = mavlink.MAV_CMD_NAV_LOITER_TURNS  # 18
MAV_CMD_NAV_LOITER_TIME = mavlink.MAV_CMD_NAV_LOITER_TIME  # 19
MAV_CMD_NAV_RETURN_TO_LAUNCH = mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH  # 20
MAV_CMD_NAV_LAND = mavlink.MAV_CMD_NAV_LAND  # 21
MAV_CMD_NAV_TAKEOFF = mavlink.MAV_CMD_NAV_TAKEOFF  # 22
MAV_CMD_NAV_ATTITUDE_TIME = mavlink.MAV_CMD_NAV_ATTITUDE_TIME  # 42703
MAV_CMD_CONDITION_YAW = mavlink.MAV_CMD_CONDITION_YAW  # 115
MAV_CMD_DO_JUMP = mavlink.MAV_CMD_DO_JUMP  # 177
MAV_CMD_DO_CHANGE_SPEED = mavlink.MAV_CMD_DO_CHANGE_SPEED  # 178
MAV_CMD_DO_SET_HOME = mavlink.MAV_CMD_DO_SET_HOME  # 179
MAV_CMD_DO_DIGICAM_CONFIGURE = mavlink.MAV_CMD_DO_DIGICAM_CONFIGURE  # 202
MAV_CMD_DO_DIGICAM_CONTROL = mavlink.MAV_CMD_DO_DIGICAM_CONTROL  # 203
MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW = mavlink.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW  # 1000
MAV_CMD_NAV_FENCE_RETURN_POINT = mavlink.MAV_CMD_NAV_FENCE_RETURN_POINT  # 5000
MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION = (
    mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION
)  # 5001
MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION = (
    mavlink.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION
)  # 5002
MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION = mavlink.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION  # 5003
MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION = mavlink.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION  # 5004
MAV_CMD_NAV_RALLY_POINT = mavlink.MAV_CMD_NAV_RALLY_POINT  # 5100

# --- MAV_FRAME -------------------------------------------------------------------------------------
MAV_FRAME_GLOBAL = mavlink.MAV_FRAME_GLOBAL  # 0, altitude AMSL
MAV_FRAME_LOCAL_NED = mavlink.MAV_FRAME_LOCAL_NED  # 1
MAV_FRAME_MISSION = mavlink.MAV_FRAME_MISSION  # 2, params are not positions
MAV_FRAME_GLOBAL_RELATIVE_ALT = mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT  # 3, altitude above home
MAV_FRAME_LOCAL_ENU = mavlink.MAV_FRAME_LOCAL_ENU  # 4
MAV_FRAME_GLOBAL_INT = mavlink.MAV_FRAME_GLOBAL_INT  # 5
MAV_FRAME_GLOBAL_RELATIVE_ALT_INT = mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT  # 6
MAV_FRAME_GLOBAL_TERRAIN_ALT = mavlink.MAV_FRAME_GLOBAL_TERRAIN_ALT  # 10
MAV_FRAME_GLOBAL_TERRAIN_ALT_INT = mavlink.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT  # 11

GLOBAL_FRAMES = frozenset(
    {
        MAV_FRAME_GLOBAL,
        MAV_FRAME_GLOBAL_RELATIVE_ALT,
        MAV_FRAME_GLOBAL_INT,
        MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
        MAV_FRAME_GLOBAL_TERRAIN_ALT,
        MAV_FRAME_GLOBAL_TERRAIN_ALT_INT,
    }
)
"""Frames whose x/y are latitude/longitude (MAV_FRAME enum, MAVLink common.xml)."""

LOCAL_FRAMES = frozenset({MAV_FRAME_LOCAL_NED, MAV_FRAME_LOCAL_ENU, 7, 8, 9, 20, 21})
"""Frames whose x/y are metres (MISSION_ITEM_INT: local x/y are sent as metres * 1e4)."""

# --- MAV_MISSION_TYPE ---------------------------------------------------------------------------------
MAV_MISSION_TYPE_MISSION = mavlink.MAV_MISSION_TYPE_MISSION  # 0
MAV_MISSION_TYPE_FENCE = mavlink.MAV_MISSION_TYPE_FENCE  # 1
MAV_MISSION_TYPE_RALLY = mavlink.MAV_MISSION_TYPE_RALLY  # 2

MISSION_TYPE_NAMES = {
    MAV_MISSION_TYPE_MISSION: "mission",
    MAV_MISSION_TYPE_FENCE: "fence",
    MAV_MISSION_TYPE_RALLY: "rally",
}
"""MAV_MISSION_TYPE value -> the short name used on the command line (``--type``)."""

MAX_ITEMS = 65535
"""Most items one MAVLink list can hold (MISSION_COUNT.count and seq are uint16)."""


def check_item_count(items, where: str, kind: str = "mission") -> None:
    """Refuse a list MAVLink cannot carry, before anything is sent.

    Raises:
        InputError: More than :data:`MAX_ITEMS` items.
    """
    if len(items) > MAX_ITEMS:
        from missions.errors import InputError

        raise InputError(
            f"{where}: the {kind} has {len(items):,} items; MAVLink allows at most {MAX_ITEMS:,} "
            "(MISSION_COUNT is 16 bits): split it"
        )


NON_LOCATION_XY_COMMANDS = frozenset(
    {
        MAV_CMD_DO_DIGICAM_CONTROL,
        MAV_CMD_DO_DIGICAM_CONFIGURE,
        MAV_CMD_NAV_ATTITUDE_TIME,
        MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW,
    }
)
"""Commands whose param5/param6 (x/y) are plain numbers even in a global frame.

Source: ArduPilot ``AP_Mission::convert_MISSION_ITEM_INT_to_MISSION_ITEM`` (libraries/AP_Mission/
AP_Mission.cpp), which passes x/y through unscaled for exactly these commands and treats x/y of
every other command as latitude/longitude.
"""

LOCATION_COMMANDS = frozenset(
    {16, 17, 18, 19, 21, 22, 30, 31, 82, 84, 85, 92, 94, 179, 189, 191, 201}
)
"""Commands ArduPilot stores with a location (``AP_Mission::stored_in_location``): their x/y are
latitude/longitude even in MAV_FRAME_MISSION."""


def command_name(command: int) -> str:
    """MAV_CMD name without the ``MAV_CMD_`` prefix (``"NAV_WAYPOINT"``), or the number as text."""
    entry = mavlink.enums["MAV_CMD"].get(int(command))
    if entry is None or entry.name.endswith("ENUM_END"):
        return str(int(command))
    return entry.name.removeprefix("MAV_CMD_")


def describe_command(command: int) -> str:
    """A MAV_CMD for messages: ``"NAV_FENCE_RETURN_POINT (command 5000)"`` or, for a number the
    MAVLink dialect does not define, ``"an unknown command 5005"``."""
    name = command_name(command)
    if name == str(int(command)):
        return f"an unknown command {int(command)}"
    return f"{name} (command {int(command)})"


def frame_name(frame: int) -> str:
    """MAV_FRAME name without the prefix (``"GLOBAL_RELATIVE_ALT"``), or the number as text."""
    entry = mavlink.enums["MAV_FRAME"].get(int(frame))
    if entry is None or entry.name.endswith("ENUM_END"):
        return str(int(frame))
    return entry.name.removeprefix("MAV_FRAME_")


def mission_result_name(result: int) -> str:
    """MAV_MISSION_RESULT in words: ``"MAV_MISSION_INVALID_SEQUENCE (received waypoint out of sequence)"``."""
    entry = mavlink.enums["MAV_MISSION_RESULT"].get(int(result))
    if entry is None:
        return f"unknown MAV_MISSION_RESULT {int(result)}"
    desc = entry.description.strip().rstrip(".")
    return f"{entry.name} ({desc[:1].lower() + desc[1:]})" if desc else entry.name


@dataclass(frozen=True)
class MissionItem:
    """One MAVLink mission item (mission, fence or rally), in engineering units.

    Field names and meanings are those of ``MISSION_ITEM_INT``. ``x``/``y`` hold latitude/longitude
    in degrees when ``frame`` is a global frame (``lat_deg``/``lon_deg`` alias them), metres for local
    frames, and plain param5/param6 values otherwise; ``z`` is param7 (altitude in metres for
    positional commands, in the frame's reference: above home for GLOBAL_RELATIVE_ALT).

    Attributes:
        seq: Sequence number (0 = home on ArduPilot missions).
        frame: MAV_FRAME.
        command: MAV_CMD.
        current: 1 for the current item (only meaningful on upload of seq 0 in WPL files).
        autocontinue: 1 to continue to the next item when this one completes.
        param1, param2, param3, param4: Command parameters 1-4 (float).
        x: Param5: latitude degrees (global frames), metres (local frames) or a plain value.
        y: Param6: longitude degrees (global frames), metres (local frames) or a plain value.
        z: Param7: altitude in metres or a plain value.
        mission_type: MAV_MISSION_TYPE (0 mission, 1 fence, 2 rally).
    """

    seq: int
    frame: int
    command: int
    current: int = 0
    autocontinue: int = 1
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    mission_type: int = MAV_MISSION_TYPE_MISSION

    @property
    def lat_deg(self) -> float:
        """Latitude in degrees (param5), meaningful for global frames."""
        return self.x

    @property
    def lon_deg(self) -> float:
        """Longitude in degrees (param6), meaningful for global frames."""
        return self.y

    @property
    def alt_m(self) -> float:
        """Altitude in metres (param7) in the item's frame."""
        return self.z

    @property
    def xy_is_location(self) -> bool:
        """True when x/y are a geographic position: a global frame (command not in the
        exceptions), or MAV_FRAME_MISSION for a command ArduPilot stores with a location (a
        legacy QGC ``.mission`` writes NAV_TAKEOFF in frame 2 with its coordinates; ArduPilot
        reads MISSION_ITEM_INT x/y as degE7 whatever the frame)."""
        if self.frame == MAV_FRAME_MISSION:
            return self.command in LOCATION_COMMANDS
        return self.frame in GLOBAL_FRAMES and self.command not in NON_LOCATION_XY_COMMANDS

    @property
    def has_position(self) -> bool:
        """True when the item names a real place (a location item with non-zero lat/lon)."""
        return self.xy_is_location and not (self.x == 0.0 and self.y == 0.0)

    def with_seq(self, seq: int) -> MissionItem:
        """Copy with a new sequence number."""
        return replace(self, seq=seq)

    def to_dict(self) -> dict:
        """JSON-serialisable dict of every field."""
        return asdict(self)

    # --- the wire (MISSION_ITEM_INT) ---------------------------------------------------------------
    def to_wire(self) -> dict:
        """Field values of a ``MISSION_ITEM_INT`` message for this item.

        x/y become degE7 integers (round half away from zero) for location items in global frames,
        metres * 1e4 for local frames, and rounded plain integers otherwise (MISSION_ITEM_INT spec,
        ArduPilot AP_Mission conversion rules).

        Returns:
            Dict with keys seq, frame, command, current, autocontinue, param1..param4, x, y (int),
            z (float), mission_type.

        Raises:
            ValueError: A value does not fit MISSION_ITEM_INT (x/y beyond int32, non-finite).
        """
        if self.xy_is_location:
            xi, yi = _round_half_away(self.x * 1e7), _round_half_away(self.y * 1e7)
        elif self.frame in LOCAL_FRAMES:
            xi, yi = _round_half_away(self.x * 1e4), _round_half_away(self.y * 1e4)
        else:
            xi, yi = _round_half_away(self.x), _round_half_away(self.y)
        for name, v in (("x", xi), ("y", yi)):
            if not -(2**31) <= v < 2**31:
                raise ValueError(f"item {self.seq}: {name}={v} does not fit MISSION_ITEM_INT int32")
        return {
            "seq": int(self.seq),
            "frame": int(self.frame),
            "command": int(self.command),
            "current": int(self.current),
            "autocontinue": int(self.autocontinue),
            "param1": float(self.param1),
            "param2": float(self.param2),
            "param3": float(self.param3),
            "param4": float(self.param4),
            "x": xi,
            "y": yi,
            "z": float(self.z),
            "mission_type": int(self.mission_type),
        }

    @classmethod
    def from_wire(cls, msg) -> MissionItem:
        """Build an item from a received ``MISSION_ITEM_INT`` or legacy ``MISSION_ITEM`` message.

        Args:
            msg: A pymavlink message object (or any object with the message's attributes).
                ``MISSION_ITEM`` carries float x/y already in degrees; ``MISSION_ITEM_INT`` carries
                integers that are scaled back by :meth:`to_wire`'s rules.

        Returns:
            The :class:`MissionItem`.
        """
        frame, command = int(msg.frame), int(msg.command)
        x, y = msg.x, msg.y
        is_int = (
            msg.get_type() == "MISSION_ITEM_INT" if hasattr(msg, "get_type") else isinstance(x, int)
        )
        if is_int:
            probe = cls(seq=0, frame=frame, command=command)
            if probe.xy_is_location:
                x, y = x / 1e7, y / 1e7
            elif frame in LOCAL_FRAMES:
                x, y = x / 1e4, y / 1e4
        return cls(
            seq=int(msg.seq),
            frame=frame,
            command=command,
            current=int(msg.current),
            autocontinue=int(msg.autocontinue),
            param1=float(msg.param1),
            param2=float(msg.param2),
            param3=float(msg.param3),
            param4=float(msg.param4),
            x=float(x),
            y=float(y),
            z=float(msg.z),
            mission_type=int(getattr(msg, "mission_type", 0)),
        )

    def same_on_wire(self, other: MissionItem, ignore_seq: bool = False) -> bool:
        """True when both items encode to the same MISSION_ITEM_INT (what the vehicle stores).

        Floats are compared as the float32 the message carries. ``current`` is ignored (a vehicle
        reports its own current item).
        """
        a, b = self.to_wire(), other.to_wire()
        for key in a:
            if key == "current" or (ignore_seq and key == "seq"):
                continue
            va, vb = a[key], b[key]
            if isinstance(va, float):
                if not _same_f32(va, vb):
                    return False
            elif va != vb:
                return False
        return True


def _round_half_away(v: float) -> int:
    if not math.isfinite(v):
        raise ValueError(f"non-finite value {v} cannot be sent in MISSION_ITEM_INT")
    return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


def _same_f32(a: float, b: float) -> bool:
    import struct

    if math.isnan(a) and math.isnan(b):
        return True
    return struct.pack("<f", a) == struct.pack("<f", b)
