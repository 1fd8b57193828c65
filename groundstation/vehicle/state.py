"""The typed vehicle state snapshot and vehicle events."""

from __future__ import annotations

from dataclasses import dataclass, field

from groundstation.link import MAV
from missions.geo import Pose

EKF_OK_FLAGS = MAV.EKF_ATTITUDE | MAV.EKF_VELOCITY_HORIZ | MAV.EKF_POS_HORIZ_ABS
"""EKF_STATUS_REPORT flags that must all be set for :attr:`VehicleState.ekf_ok`."""

EKF_BAD_FLAGS = MAV.EKF_CONST_POS_MODE | MAV.EKF_UNINITIALIZED
"""EKF_STATUS_REPORT flags that make the EKF not ok (no GPS aiding yet / not initialised)."""


@dataclass(frozen=True)
class Velocity:
    """Velocity over ground in NED, m/s (GLOBAL_POSITION_INT vx/vy/vz)."""

    vn_m_s: float = 0.0
    ve_m_s: float = 0.0
    vd_m_s: float = 0.0


@dataclass(frozen=True)
class Battery:
    """Battery state (SYS_STATUS / BATTERY_STATUS); None where the vehicle does not report it."""

    voltage_v: float | None = None
    current_a: float | None = None
    remaining_pct: float | None = None


@dataclass(frozen=True)
class Gps:
    """GPS_RAW_INT: ``fix_type`` (GPS_FIX_TYPE: 3 = 3D, 6 = RTK fixed) and satellites."""

    fix_type: int = 0
    satellites: int = 0


@dataclass(frozen=True)
class Home:
    """Home position (HOME_POSITION): WGS-84 degrees and altitude AMSL in metres."""

    lat_deg: float
    lon_deg: float
    alt_m: float


@dataclass(frozen=True)
class StatusText:
    """One STATUSTEXT: UNIX receive time, MAV_SEVERITY (0 emergency .. 7 debug) and text."""

    t_s: float
    severity: int
    text: str

    @property
    def severity_name(self) -> str:
        """``EMERGENCY`` .. ``DEBUG``."""
        entry = MAV.enums["MAV_SEVERITY"].get(self.severity)
        return entry.name.removeprefix("MAV_SEVERITY_") if entry else str(self.severity)


@dataclass(frozen=True)
class VehicleState:
    """A snapshot of what the ground station knows about the vehicle.

    Attributes:
        t_s: UNIX time of the snapshot.
        pose: Latest :class:`Pose` (None before the first GLOBAL_POSITION_INT): receive time,
            lat/lon, ``alt_m`` = relative altitude above home, attitude, gimbal.
        velocity: NED velocity, m/s.
        groundspeed_m_s: VFR_HUD groundspeed (or horizontal speed from velocity), m/s.
        climb_m_s: Climb rate, m/s (up positive).
        battery: Voltage, current, remaining percent.
        mode: ArduCopter mode name (``"GUIDED"``), or ``"UNKNOWN"`` before a heartbeat.
        armed: Motors armed (HEARTBEAT base_mode MAV_MODE_FLAG_SAFETY_ARMED).
        gps: Fix type and satellites.
        ekf_ok: EKF_STATUS_REPORT has attitude, horizontal velocity and absolute position and is
            not in constant-position mode (what arming needs).
        prearm_ok: SYS_STATUS MAV_SYS_STATUS_PREARM_CHECK health bit (None if not reported).
        home: Home position, None until known.
        landed_state: EXTENDED_SYS_STATE MAV_LANDED_STATE (0 unknown, 1 on ground, 2 in air,
            3 taking off, 4 landing), None if not reported.
        mission_seq: MISSION_CURRENT.seq (the item being flown), None until reported.
        mission_count: Items on the vehicle (MISSION_CURRENT.total, home excluded), None if unknown.
        last_reached_seq: Seq of the last MISSION_ITEM_REACHED, None before any.
        statustexts: Recent STATUSTEXTs, oldest first.
        link_ok: The link is alive (heartbeats within ``link_lost_s``).
    """

    t_s: float
    pose: Pose | None
    velocity: Velocity
    groundspeed_m_s: float
    climb_m_s: float
    battery: Battery
    mode: str
    armed: bool
    gps: Gps
    ekf_ok: bool
    prearm_ok: bool | None
    home: Home | None
    landed_state: int | None
    mission_seq: int | None
    mission_count: int | None
    last_reached_seq: int | None
    statustexts: tuple[StatusText, ...]
    link_ok: bool

    @property
    def alt_m(self) -> float | None:
        """Altitude above home, metres (None before the first position)."""
        return None if self.pose is None else self.pose.alt_m

    @property
    def on_ground(self) -> bool:
        """Disarmed, or landed state ON_GROUND, or (without landed state) below 0.5 m."""
        if not self.armed:
            return True
        if self.landed_state is not None and self.landed_state != MAV.MAV_LANDED_STATE_UNDEFINED:
            return self.landed_state == MAV.MAV_LANDED_STATE_ON_GROUND
        return self.pose is not None and self.pose.alt_m < 0.5

    def summary(self) -> str:
        """One status line: mode, armed, altitude, speed, battery, mission item."""
        alt = "alt -" if self.pose is None else f"alt {self.pose.alt_m:6.1f} m"
        batt = self.battery
        if batt.remaining_pct is not None:
            b = f"batt {batt.remaining_pct:3.0f}%"
        elif batt.voltage_v is not None:
            b = f"batt {batt.voltage_v:.1f} V"
        else:
            b = "batt -"
        item = "item -"
        if self.mission_seq is not None:
            total = self.mission_count if self.mission_count else "?"
            item = f"item {self.mission_seq}/{total}"
        link = "" if self.link_ok else "  LINK LOST"
        return (
            f"{self.mode:<9} {'ARMED   ' if self.armed else 'disarmed'} {alt}  "
            f"{self.groundspeed_m_s:4.1f} m/s  {b}  {item}{link}"
        )


@dataclass(frozen=True)
class VehicleEvent:
    """Something that happened, for recorders and operators.

    Attributes:
        kind: ``mode``, ``armed``, ``disarmed``, ``statustext``, ``mission_item_reached``,
            ``mission_current``, ``home``, ``low_battery``, ``link_lost`` or ``link_recovered``.
        t_s: UNIX time the ground station noticed it.
        data: Details: ``{"mode": "AUTO", "previous": "GUIDED"}``, ``{"seq": 3}``,
            ``{"severity": 2, "text": "PreArm: ..."}``, ``{"remaining_pct": 24}``...;
            ``mission_current`` has ``{"seq": 3, "state": 3}`` (MISSION_CURRENT.mission_state,
            0 when the vehicle does not send it, 5 = MISSION_STATE_COMPLETE).
    """

    kind: str
    t_s: float
    data: dict = field(default_factory=dict)


EVENT_KINDS = (
    "mode",
    "armed",
    "disarmed",
    "statustext",
    "mission_item_reached",
    "mission_current",
    "home",
    "low_battery",
    "link_lost",
    "link_recovered",
)
