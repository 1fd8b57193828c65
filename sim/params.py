"""The simulated vehicle's parameters: a realistic subset of ArduCopter 4.7's table.

Names, units, types and defaults follow the ArduCopter parameter reference
(https://ardupilot.org/copter/docs/parameters.html). As in ArduCopter 4.7, ``SYSID_THISMAV`` is
called ``MAV_SYSID``, ``SYSID_MYGCS`` is ``MAV_GCS_SYSID`` and the ``SR0_*`` stream rates are
``MAV1_*``; a ground station must not rely on either spelling existing (``notes/ardupilot.md``).

Values travel in ``PARAM_VALUE`` as float32 whatever their declared type (MAVLink parameter
protocol, https://mavlink.io/en/services/parameter.html, "ArduPilot: values are cast, not
byte-wise encoded").
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from pymavlink.dialects.v20 import ardupilotmega as mavlink

INT8 = mavlink.MAV_PARAM_TYPE_INT8
INT16 = mavlink.MAV_PARAM_TYPE_INT16
INT32 = mavlink.MAV_PARAM_TYPE_INT32
REAL32 = mavlink.MAV_PARAM_TYPE_REAL32

_INT_RANGES = {INT8: (-128, 127), INT16: (-32768, 32767), INT32: (-(2**31), 2**31 - 1)}


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of the table.

    Attributes:
        name: Parameter id (at most 16 characters, MAVLink ``param_id``).
        default: Default value.
        param_type: MAV_PARAM_TYPE of the value.
        read_only: True when ArduPilot refuses writes ("Param write denied").
        doc: Unit and meaning, from the ArduCopter parameter reference.
    """

    name: str
    default: float
    param_type: int = REAL32
    read_only: bool = False
    doc: str = ""


# fmt: off
PARAM_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec("ARMING_CHECK", 1, INT32, doc="bitmask of pre-arm checks (1 = all)"),
    ParamSpec("AUTO_OPTIONS", 0, INT32, doc="bit 0 allows arming in AUTO"),
    ParamSpec("BATT_ARM_VOLT", 0.0, doc="V, minimum voltage to arm (0 = off)"),
    ParamSpec("BATT_CAPACITY", 5200, INT32, doc="mAh, battery capacity"),
    ParamSpec("BATT_CRT_MAH", 0.0, doc="mAh remaining that triggers the critical failsafe"),
    ParamSpec("BATT_CRT_VOLT", 0.0, doc="V that triggers the critical failsafe (0 = off)"),
    ParamSpec("BATT_FS_CRT_ACT", 0, INT8, doc="critical action: 0 none, 1 Land, 2 RTL, 3 SmartRTL/RTL, 4 SmartRTL/Land, 5 terminate"),
    ParamSpec("BATT_FS_LOW_ACT", 0, INT8, doc="low action: 0 none, 1 Land, 2 RTL, 3 SmartRTL/RTL, 4 SmartRTL/Land, 5 terminate"),
    ParamSpec("BATT_LOW_MAH", 0.0, doc="mAh remaining that triggers the low failsafe (0 = off)"),
    ParamSpec("BATT_LOW_TIMER", 10, INT8, doc="s below BATT_LOW_VOLT before the failsafe triggers"),
    ParamSpec("BATT_LOW_VOLT", 10.5, doc="V that triggers the low failsafe (0 = off)"),
    ParamSpec("BATT_MONITOR", 4, INT8, doc="battery monitor type (4 = analog voltage and current)"),
    ParamSpec("DISARM_DELAY", 10, INT8, doc="s on the ground armed before auto-disarm (0 = never)"),
    ParamSpec("FENCE_ACTION", 1, INT8, doc="0 report, 1 RTL or Land, 2 Land, 3 SmartRTL/RTL/Land, 4 Brake/Land, 5 SmartRTL/Land"),
    ParamSpec("FENCE_ALT_MAX", 100.0, doc="m above home, maximum altitude fence"),
    ParamSpec("FENCE_ALT_MIN", -10.0, doc="m above home, minimum altitude fence"),
    ParamSpec("FENCE_ENABLE", 0, INT8, doc="1 enables the fence"),
    ParamSpec("FENCE_MARGIN", 2.0, doc="m, distance kept from the fence"),
    ParamSpec("FENCE_RADIUS", 150.0, doc="m, radius of the circular fence around home (150 with SITL's copter.parm)"),
    ParamSpec("FENCE_TYPE", 7, INT8, doc="bitmask: 1 max alt, 2 circle, 4 polygons (uploaded), 8 min alt"),
    ParamSpec("FRAME_CLASS", 1, INT8, doc="1 quad"),
    ParamSpec("FRAME_TYPE", 0, INT8, doc="0 plus, 1 X (SITL's copter.parm: 0)"),
    ParamSpec("FS_GCS_ENABLE", 0, INT8, doc="GCS failsafe: 0 off, 1 RTL, 2 continue AUTO, 3 SmartRTL/RTL, 4 SmartRTL/Land, 5 Land"),
    ParamSpec("FS_GCS_TIMEOUT", 5.0, doc="s without a GCS heartbeat before the GCS failsafe"),
    ParamSpec("FS_OPTIONS", 16, INT32, doc="failsafe options bitmask"),
    ParamSpec("FS_THR_ENABLE", 1, INT8, doc="throttle (RC) failsafe: 1 RTL (SITL sets 1; no RC loss is simulated)"),
    ParamSpec("GUID_TIMEOUT", 3.0, doc="s a guided velocity target stays valid"),
    ParamSpec("LAND_ALT_LOW", 1000, INT16, doc="cm, below this the final LAND_SPEED applies"),
    ParamSpec("LAND_SPEED", 50, INT16, doc="cm/s, final descent speed"),
    ParamSpec("LAND_SPEED_HIGH", 0, INT16, doc="cm/s, descent speed above LAND_ALT_LOW (0 = WPNAV_SPEED_DN)"),
    ParamSpec("MAV1_EXTRA1", 0, INT16, doc="Hz, ATTITUDE stream on this link"),
    ParamSpec("MAV1_EXTRA2", 0, INT16, doc="Hz, VFR_HUD stream on this link"),
    ParamSpec("MAV1_EXTRA3", 0, INT16, doc="Hz, BATTERY_STATUS/EKF_STATUS_REPORT stream on this link"),
    ParamSpec("MAV1_EXT_STAT", 0, INT16, doc="Hz, SYS_STATUS/GPS_RAW_INT/MISSION_CURRENT stream on this link"),
    ParamSpec("MAV1_POSITION", 0, INT16, doc="Hz, GLOBAL_POSITION_INT stream on this link"),
    ParamSpec("MAV_GCS_SYSID", 255, INT16, doc="system id of the GCS whose heartbeats count"),
    ParamSpec("MAV_SYSID", 1, INT16, doc="this vehicle's MAVLink system id"),
    ParamSpec("MIS_OPTIONS", 0, INT16, doc="mission options bitmask"),
    ParamSpec("MIS_RESTART", 0, INT8, doc="0 resume the mission when entering AUTO, 1 restart it"),
    ParamSpec("MIS_TOTAL", 1, INT16, read_only=True, doc="mission items stored (home included; 1 at boot, 0 after MISSION_CLEAR_ALL)"),
    ParamSpec("PILOT_SPEED_UP", 250, INT16, doc="cm/s, pilot maximum climb rate"),
    ParamSpec("RALLY_INCL_HOME", 1, INT8, doc="1 counts home as a rally point for RTL"),
    ParamSpec("RALLY_LIMIT_KM", 0.3, doc="km, rally points farther than this are ignored when home is closer"),
    ParamSpec("RALLY_TOTAL", 0, INT8, doc="number of rally points stored"),
    ParamSpec("RTL_ALT", 1500, INT32, doc="cm, altitude of the return leg"),
    ParamSpec("RTL_ALT_FINAL", 0, INT16, doc="cm, final altitude after RTL (0 = land)"),
    ParamSpec("RTL_CLIMB_MIN", 0, INT16, doc="cm, minimum climb before returning"),
    ParamSpec("RTL_LOIT_TIME", 5000, INT32, doc="ms hovering over home before the final descent"),
    ParamSpec("RTL_SPEED", 0, INT16, doc="cm/s, return speed (0 = WPNAV_SPEED)"),
    ParamSpec("SIM_SPEEDUP", 1.0, doc="simulation speed-up factor (read only here)", read_only=True),
    ParamSpec("TERRAIN_ENABLE", 1, INT8, doc="1 uses terrain data (SITL sets 1; the simulator has flat ground)"),
    ParamSpec("WPNAV_ACCEL", 250.0, doc="cm/s/s, horizontal acceleration"),
    ParamSpec("CAM1_TYPE", 0, INT8, doc="camera type: 0 none, 3 mount (zooms, see sim.endpoint), 4 MAVLink..."),
    ParamSpec("CAM1_ZOOM_MAX", 6.0, doc="simulator only: digital zoom at 100 %, times"),
    ParamSpec("MNT1_TYPE", 0, INT8, doc="mount type: 0 none (gimbal commands FAILED), 1 servo, 6 SToRM32..."),
    ParamSpec("MNT1_PITCH_MIN", -90.0, doc="deg, lowest gimbal pitch"),
    ParamSpec("MNT1_PITCH_MAX", 20.0, doc="deg, highest gimbal pitch"),
    ParamSpec("MNT1_NEUTRAL_Y", 0.0, doc="deg, gimbal pitch in the neutral position"),
    ParamSpec("WPNAV_ACCEL_Z", 100.0, doc="cm/s/s, vertical acceleration"),
    ParamSpec("WPNAV_RADIUS", 200.0, doc="cm, waypoint acceptance radius"),
    ParamSpec("WPNAV_SPEED", 1000.0, doc="cm/s, horizontal speed in AUTO and GUIDED"),
    ParamSpec("WPNAV_SPEED_DN", 150.0, doc="cm/s, descent speed"),
    ParamSpec("WPNAV_SPEED_UP", 250.0, doc="cm/s, climb speed"),
    ParamSpec("WP_YAW_BEHAVIOR", 2, INT8, doc="0 never change yaw, 1 face next wp, 2 face next wp except RTL, 3 face along GPS course"),
)
# fmt: on

SPECS_BY_NAME = {spec.name: spec for spec in PARAM_SPECS}


def to_float32(value: float) -> float:
    """The float32 a PARAM_VALUE carries for ``value``."""
    return struct.unpack("<f", struct.pack("<f", float(value)))[0]


class ParameterStore:
    """The vehicle's parameter values, in the table's (alphabetical) order.

    Args:
        overrides: Name -> value applied on top of the defaults.

    Raises:
        KeyError: An override names an unknown parameter (message lists close names).
    """

    def __init__(self, overrides: dict[str, float] | None = None) -> None:
        self._values: dict[str, float] = {s.name: float(s.default) for s in PARAM_SPECS}
        self._names = [s.name for s in PARAM_SPECS]
        for name, value in (overrides or {}).items():
            if name.upper() not in self._values:
                import difflib

                close = difflib.get_close_matches(name.upper(), self._names, n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise KeyError(f"unknown simulator parameter {name!r}{hint}")
            self.set(name.upper(), value, force=True)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def __getitem__(self, name: str) -> float:
        return self._values[name]

    def get(self, name: str, default: float = 0.0) -> float:
        """Value of ``name`` or ``default`` when unknown."""
        return self._values.get(name, default)

    def index_of(self, name: str) -> int:
        """Position of ``name`` in the table (PARAM_VALUE.param_index)."""
        return self._names.index(name)

    def name_at(self, index: int) -> str | None:
        """Name at ``index`` or None when out of range."""
        return self._names[index] if 0 <= index < len(self._names) else None

    def items(self) -> Iterator[tuple[int, str, float, int]]:
        """``(index, name, value, param_type)`` for every parameter in table order."""
        for i, name in enumerate(self._names):
            yield i, name, self._values[name], SPECS_BY_NAME[name].param_type

    def set(self, name: str, value: float, force: bool = False) -> bool:
        """Store a value, rounded and clamped to the parameter's integer type.

        Args:
            name: Parameter id.
            value: New value.
            force: Write read-only parameters too (used by the vehicle itself).

        Returns:
            False when the parameter is unknown, read-only (and not forced) or the value is NaN/inf.
        """
        spec = SPECS_BY_NAME.get(name)
        if spec is None or (spec.read_only and not force) or not math.isfinite(value):
            return False
        if spec.param_type in _INT_RANGES:
            lo, hi = _INT_RANGES[spec.param_type]
            value = float(min(hi, max(lo, round(value))))
        else:
            value = to_float32(value)
        self._values[name] = value
        return True

    def type_of(self, name: str) -> int:
        """MAV_PARAM_TYPE of ``name``."""
        return SPECS_BY_NAME[name].param_type

    def is_read_only(self, name: str) -> bool:
        """True when GCS writes to ``name`` are refused."""
        spec = SPECS_BY_NAME.get(name)
        return bool(spec and spec.read_only)
