"""Vehicle state and commands on top of a :class:`groundstation.link.Link` (ArduCopter semantics).

:class:`Vehicle` keeps a typed snapshot of the telemetry (:class:`VehicleState`), a time-indexed
history of :class:`missions.geo.Pose` for pairing video frames with where the camera was, and
offers commands that wait for their COMMAND_ACK (with timeout and retry) and for the vehicle to
confirm the effect (the HEARTBEAT shows the new mode, the armed flag...).

ArduCopter behaviour relied on (``../shared/notes/ardupilot.md``, ArduCopter ``mode.h``,
``GCS_Mavlink.cpp``): modes are HEARTBEAT ``custom_mode`` numbers (pymavlink ``mode_mapping_acm``);
arming is refused in AUTO and before the EKF has a position, with STATUSTEXT "PreArm: ..." /
"Arm: ..." reasons; take-off is GUIDED -> arm -> MAV_CMD_NAV_TAKEOFF -> wait for altitude -> AUTO;
the vehicle disarms itself about 10 s after arming if it does not take off.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from pymavlink import mavutil

from groundstation.link import MAV, Link
from missions.errors import DronePatrolError, InputError
from missions.geo import Pose, check_lat_lon, interpolate_pose

log = logging.getLogger(__name__)

_ARM_TEXT = re.compile(r"\b(pre-?arm|arm(ing)?)\b", re.IGNORECASE)
"""STATUSTEXTs about arming: ArduPilot's "PreArm: ...", "Arm: ...", "Arming ..." messages."""

COPTER_MODES: dict[str, int] = {name: num for num, name in mavutil.mode_mapping_acm.items()}
"""ArduCopter mode name -> HEARTBEAT custom_mode (STABILIZE 0, ACRO 1, ALT_HOLD 2, AUTO 3,
GUIDED 4, LOITER 5, RTL 6, CIRCLE 7, LAND 9, DRIFT 11, SPORT 13, POSHOLD 16, BRAKE 17,
SMART_RTL 21, ...), from pymavlink's ``mode_mapping_acm``."""

COPTER_MODE_NAMES: dict[int, str] = dict(mavutil.mode_mapping_acm)
"""HEARTBEAT custom_mode -> ArduCopter mode name."""

EKF_OK_FLAGS = MAV.EKF_ATTITUDE | MAV.EKF_VELOCITY_HORIZ | MAV.EKF_POS_HORIZ_ABS
"""EKF_STATUS_REPORT flags that must all be set for :attr:`VehicleState.ekf_ok`."""

EKF_BAD_FLAGS = MAV.EKF_CONST_POS_MODE | MAV.EKF_UNINITIALIZED
"""EKF_STATUS_REPORT flags that make the EKF not ok (no GPS aiding yet / not initialised)."""

FORCE_DISARM_MAGIC = 21196
"""param2 of MAV_CMD_COMPONENT_ARM_DISARM that forces a disarm in flight (MAVLink common.xml)."""

TELEMETRY_RATES_HZ: dict[str, float] = {
    "GLOBAL_POSITION_INT": 10.0,
    "ATTITUDE": 10.0,
    "VFR_HUD": 4.0,
    "SYS_STATUS": 1.0,
    "GPS_RAW_INT": 2.0,
    "MISSION_CURRENT": 2.0,
    "EKF_STATUS_REPORT": 2.0,
    "EXTENDED_SYS_STATE": 1.0,
    "BATTERY_STATUS": 1.0,
    "HOME_POSITION": 0.5,
}
"""Messages :class:`Vehicle` asks for, and their rates (ArduPilot sends only HEARTBEAT and
SYS_STATUS to a new GCS until asked)."""


class VehicleError(DronePatrolError):
    """A vehicle command failed or the vehicle did not do what was asked in time."""


class CommandError(VehicleError):
    """A command was refused (COMMAND_ACK result in words) or never acknowledged."""


class ArmError(CommandError):
    """Arming was refused; the message lists the PreArm/Arm reasons the vehicle gave."""

    def __init__(self, message: str, reasons: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.reasons = list(reasons)


class VehicleTimeoutError(VehicleError):
    """A wait for a vehicle condition timed out; the message says what and the current state."""


def result_name(result: int) -> str:
    """MAV_RESULT in words: ``"MAV_RESULT_DENIED (command is invalid ...)"``."""
    entry = MAV.enums["MAV_RESULT"].get(int(result))
    if entry is None:
        return f"unknown MAV_RESULT {int(result)}"
    desc = entry.description.strip().split(". ")[0].rstrip(".")
    return f"{entry.name} ({desc[:1].lower() + desc[1:]})" if desc else entry.name


def mode_number(name: str) -> int:
    """ArduCopter custom_mode for a mode name (case-insensitive).

    Raises:
        InputError: Unknown name; the message lists the known names.
    """
    key = str(name).strip().upper().replace("-", "_").replace(" ", "_")
    if key not in COPTER_MODES:
        known = ", ".join(sorted(COPTER_MODES, key=COPTER_MODES.get))
        raise InputError(f"unknown ArduCopter mode {name!r}; known modes: {known}")
    return COPTER_MODES[key]


# --- state -------------------------------------------------------------------------------------------


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
            ``{"severity": 2, "text": "PreArm: ..."}``, ``{"remaining_pct": 24}``...
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


# --- the vehicle -------------------------------------------------------------------------------------


class Vehicle:
    """Telemetry snapshot, pose history, events and commands for the vehicle behind ``link``.

    Args:
        link: A connected :class:`Link`.
        request_telemetry: Ask for :data:`TELEMETRY_RATES_HZ` now (and again after a link
            recovery). Takes a few round trips.
        gimbal_pitch_deg: Camera pitch used in poses while the vehicle reports no gimbal
            attitude (MOUNT_STATUS / GIMBAL_DEVICE_ATTITUDE_STATUS); -90 = nadir.
        low_battery_pct: Fire a ``low_battery`` event when the remaining charge drops to this.
        pose_history_s: Seconds of poses kept for :meth:`pose_at`.
        max_statustexts: STATUSTEXTs kept in :attr:`VehicleState.statustexts`.
    """

    def __init__(
        self,
        link: Link,
        *,
        request_telemetry: bool = True,
        gimbal_pitch_deg: float = -90.0,
        low_battery_pct: float = 25.0,
        pose_history_s: float = 900.0,
        max_statustexts: int = 50,
    ) -> None:
        self.link = link
        self.gimbal_pitch_deg = float(gimbal_pitch_deg)
        self.low_battery_pct = float(low_battery_pct)
        self.pose_history_s = float(pose_history_s)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._version = 0
        self._listeners: dict[
            int, tuple[frozenset[str] | None, Callable[[VehicleEvent], None]]
        ] = {}
        self._listener_id = 0
        self._poses: list[Pose] = []
        self._pose_times: list[float] = []
        self._texts: deque[StatusText] = deque(maxlen=max_statustexts)
        self._chunks: dict[int, list[str]] = {}
        self._s: dict[str, Any] = {
            "mode": "UNKNOWN",
            "custom_mode": None,
            "armed": False,
            "lat": None,
            "lon": None,
            "rel_alt": 0.0,
            "amsl": None,
            "vel": Velocity(),
            "roll": 0.0,
            "pitch": 0.0,
            "yaw": 0.0,
            "groundspeed": None,
            "climb": 0.0,
            "gimbal": None,  # (pitch, roll, yaw) deg
            "battery": Battery(),
            "gps": Gps(),
            "ekf_flags": None,
            "prearm_ok": None,
            "home": None,
            "landed_state": None,
            "mission_seq": None,
            "mission_count": None,
            "last_reached": None,
            "low_battery_fired": False,
        }
        self._pose: Pose | None = None
        self._workers: list[threading.Thread] = []
        self._closed = False
        self._unsubs = [
            link.subscribe(None, self._on_message),
            link.on_link_lost(self._on_link_lost),
            link.on_link_recovered(self._on_link_recovered),
        ]
        if link.last("HEARTBEAT") is not None:
            self._on_message(link.last("HEARTBEAT"))
        if request_telemetry:
            self.request_telemetry()

    # --- telemetry -------------------------------------------------------------------------------
    def request_telemetry(self, rates_hz: dict[str, float] | None = None) -> dict[str, str]:
        """Ask the vehicle to stream the messages the state needs.

        Args:
            rates_hz: Message name -> Hz (default :data:`TELEMETRY_RATES_HZ`).

        Returns:
            Message name -> how it was requested (``interval``, ``data_stream``, ``unsupported``).
        """
        out = {}
        for name, hz in (rates_hz or TELEMETRY_RATES_HZ).items():
            if self._closed or self.link.closed:
                break
            out[name] = self.link.request_message_interval(name, hz, timeout_s=1.0)
        if self._s["home"] is None and not self.link.closed:
            self.link.send(
                self.link.mav.command_long_encode(
                    self.link.target_system,
                    self.link.target_component,
                    MAV.MAV_CMD_REQUEST_MESSAGE,
                    0,
                    MAV.MAVLINK_MSG_ID_HOME_POSITION,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                )
            )
        return out

    def _on_message(self, msg: Any) -> None:
        mtype = msg.get_type()
        handler = getattr(self, f"_m_{mtype}", None)
        if handler is None:
            return
        now = time.time()
        events: list[VehicleEvent] = []
        with self._lock:
            handler(msg, now, events)
            self._version += 1
            self._changed.notify_all()
        for ev in events:
            self._emit(ev)

    def _m_HEARTBEAT(self, msg, now, events) -> None:
        s = self._s
        if msg.type in (MAV.MAV_TYPE_QUADROTOR, MAV.MAV_TYPE_HEXAROTOR, MAV.MAV_TYPE_OCTOROTOR,
                        MAV.MAV_TYPE_TRICOPTER, MAV.MAV_TYPE_COAXIAL, MAV.MAV_TYPE_HELICOPTER,
                        MAV.MAV_TYPE_DODECAROTOR, MAV.MAV_TYPE_DECAROTOR):  # fmt: skip
            mode = COPTER_MODE_NAMES.get(msg.custom_mode, f"MODE_{msg.custom_mode}")
        else:
            mode = mavutil.mode_string_v10(msg)
        armed = bool(msg.base_mode & MAV.MAV_MODE_FLAG_SAFETY_ARMED)
        if mode != s["mode"]:
            events.append(VehicleEvent("mode", now, {"mode": mode, "previous": s["mode"]}))
            s["mode"] = mode
        s["custom_mode"] = msg.custom_mode
        if armed != s["armed"]:
            events.append(VehicleEvent("armed" if armed else "disarmed", now, {"mode": mode}))
            s["armed"] = armed

    def _m_GLOBAL_POSITION_INT(self, msg, now, events) -> None:
        s = self._s
        s["lat"], s["lon"] = msg.lat / 1e7, msg.lon / 1e7
        s["rel_alt"], s["amsl"] = msg.relative_alt / 1000.0, msg.alt / 1000.0
        s["vel"] = Velocity(msg.vx / 100.0, msg.vy / 100.0, msg.vz / 100.0)
        if msg.hdg != 65535 and s.get("attitude_seen") is None:
            s["yaw"] = msg.hdg / 100.0
        gimbal = s["gimbal"]
        gp, gr, gy = gimbal if gimbal is not None else (self.gimbal_pitch_deg, 0.0, 0.0)
        pose = Pose(
            t_s=now,
            lat_deg=s["lat"],
            lon_deg=s["lon"],
            alt_m=s["rel_alt"],
            roll_deg=s["roll"],
            pitch_deg=s["pitch"],
            yaw_deg=s["yaw"] % 360.0,
            gimbal_pitch_deg=gp,
            gimbal_roll_deg=gr,
            gimbal_yaw_deg=gy,
            amsl_m=s["amsl"],
        )
        self._pose = pose
        if self._pose_times and now < self._pose_times[-1]:
            now = self._pose_times[-1]  # wall clock stepped back: keep the history sorted
            pose = replace(pose, t_s=now)
        self._poses.append(pose)
        self._pose_times.append(now)
        cutoff = now - self.pose_history_s
        if self._pose_times[0] < cutoff and len(self._poses) > 64:
            k = bisect.bisect_left(self._pose_times, cutoff)
            del self._poses[:k]
            del self._pose_times[:k]

    def _m_ATTITUDE(self, msg, now, events) -> None:
        s = self._s
        s["attitude_seen"] = True
        s["roll"], s["pitch"] = math.degrees(msg.roll), math.degrees(msg.pitch)
        s["yaw"] = math.degrees(msg.yaw) % 360.0

    def _m_VFR_HUD(self, msg, now, events) -> None:
        self._s["groundspeed"] = float(msg.groundspeed)
        self._s["climb"] = float(msg.climb)

    def _m_SYS_STATUS(self, msg, now, events) -> None:
        s = self._s
        if msg.onboard_control_sensors_present & MAV.MAV_SYS_STATUS_PREARM_CHECK:
            s["prearm_ok"] = bool(
                msg.onboard_control_sensors_health & MAV.MAV_SYS_STATUS_PREARM_CHECK
            )
        b = s["battery"]
        s["battery"] = Battery(
            voltage_v=msg.voltage_battery / 1000.0 if msg.voltage_battery not in (0, 65535) else b.voltage_v,
            current_a=msg.current_battery / 100.0 if msg.current_battery != -1 else b.current_a,
            remaining_pct=float(msg.battery_remaining) if msg.battery_remaining >= 0 else b.remaining_pct,
        )  # fmt: skip
        self._check_battery(now, events)

    def _m_BATTERY_STATUS(self, msg, now, events) -> None:
        if getattr(msg, "id", 0) != 0:
            return
        s = self._s
        b = s["battery"]
        cells = [v for v in msg.voltages if v != 65535]
        volts = sum(cells) / 1000.0 if cells else b.voltage_v
        s["battery"] = Battery(
            voltage_v=volts,
            current_a=msg.current_battery / 100.0 if msg.current_battery != -1 else b.current_a,
            remaining_pct=float(msg.battery_remaining) if msg.battery_remaining >= 0 else b.remaining_pct,
        )  # fmt: skip
        self._check_battery(now, events)

    def _check_battery(self, now, events) -> None:
        s = self._s
        pct = s["battery"].remaining_pct
        if pct is None:
            return
        if pct <= self.low_battery_pct and not s["low_battery_fired"]:
            s["low_battery_fired"] = True
            events.append(VehicleEvent("low_battery", now, {"remaining_pct": pct}))
        elif pct > self.low_battery_pct + 5:
            s["low_battery_fired"] = False

    def _m_GPS_RAW_INT(self, msg, now, events) -> None:
        sats = msg.satellites_visible if msg.satellites_visible != 255 else 0
        self._s["gps"] = Gps(fix_type=int(msg.fix_type), satellites=int(sats))

    def _m_EKF_STATUS_REPORT(self, msg, now, events) -> None:
        self._s["ekf_flags"] = int(msg.flags)

    def _m_HOME_POSITION(self, msg, now, events) -> None:
        home = Home(msg.latitude / 1e7, msg.longitude / 1e7, msg.altitude / 1000.0)
        if home != self._s["home"]:
            self._s["home"] = home
            events.append(
                VehicleEvent("home", now, {"lat_deg": home.lat_deg, "lon_deg": home.lon_deg,
                                           "alt_m": home.alt_m})
            )  # fmt: skip

    def _m_EXTENDED_SYS_STATE(self, msg, now, events) -> None:
        self._s["landed_state"] = int(msg.landed_state)

    def _m_MISSION_CURRENT(self, msg, now, events) -> None:
        s = self._s
        seq = int(msg.seq)
        total = getattr(msg, "total", 0)
        if total and total != 65535:
            s["mission_count"] = int(total)
        if seq != s["mission_seq"]:
            s["mission_seq"] = seq
            events.append(VehicleEvent("mission_current", now, {"seq": seq}))

    def _m_MISSION_ITEM_REACHED(self, msg, now, events) -> None:
        seq = int(msg.seq)
        s = self._s
        # A duplicated packet repeats the event; report each item once per reach.
        if s["last_reached"] == seq and now - s.get("last_reached_t", 0) < 2.0:
            return
        s["last_reached"] = seq
        s["last_reached_t"] = now
        events.append(VehicleEvent("mission_item_reached", now, {"seq": seq}))

    def _m_STATUSTEXT(self, msg, now, events) -> None:
        text = msg.text if isinstance(msg.text, str) else bytes(msg.text).decode("utf-8", "replace")
        text = text.rstrip("\x00")
        chunk_id = int(getattr(msg, "id", 0) or 0)
        if chunk_id:
            parts = self._chunks.setdefault(chunk_id, [])
            parts.append(text)
            if len(text) >= 50 and len(parts) < 20:
                return  # more chunks follow
            text = "".join(self._chunks.pop(chunk_id))
        st = StatusText(now, int(msg.severity), text)
        recent = list(self._texts)[-5:]
        if any(t.text == st.text and now - t.t_s < 0.5 for t in recent):
            return  # duplicated packet
        self._texts.append(st)
        events.append(VehicleEvent("statustext", now, {"severity": st.severity, "text": st.text}))

    def _m_MOUNT_STATUS(self, msg, now, events) -> None:
        self._s["gimbal"] = (msg.pointing_a / 100.0, msg.pointing_b / 100.0, msg.pointing_c / 100.0)

    def _m_GIMBAL_DEVICE_ATTITUDE_STATUS(self, msg, now, events) -> None:
        w, x, y, z = msg.q
        if any(math.isnan(v) for v in (w, x, y, z)):
            return
        roll = math.degrees(math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y)))
        pitch = math.degrees(math.asin(max(-1.0, min(1.0, 2 * (w * y - z * x)))))
        yaw = math.degrees(math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))
        if msg.flags & MAV.GIMBAL_DEVICE_FLAGS_YAW_IN_EARTH_FRAME:
            yaw -= self._s["yaw"]
        self._s["gimbal"] = (pitch, roll, (yaw + 180.0) % 360.0 - 180.0)

    def _on_link_lost(self) -> None:
        with self._lock:
            self._version += 1
            self._changed.notify_all()
        self._emit(VehicleEvent("link_lost", time.time(), {"endpoint": self.link.url}))

    def _on_link_recovered(self) -> None:
        with self._lock:
            self._version += 1
            self._changed.notify_all()
        self._emit(VehicleEvent("link_recovered", time.time(), {"endpoint": self.link.url}))
        if self._closed:
            return
        # The vehicle may have rebooted and forgotten the stream rates: ask again, off the
        # reader thread (requests wait for COMMAND_ACKs the reader delivers).
        self._workers = [t for t in self._workers if t.is_alive()]
        t = threading.Thread(target=self.request_telemetry, name="vehicle-telemetry-request")
        self._workers.append(t)
        t.start()

    # --- events ----------------------------------------------------------------------------------
    def on_event(
        self, callback: Callable[[VehicleEvent], None], kinds: Iterable[str] | None = None
    ) -> Callable[[], None]:
        """Call ``callback(event)`` for each :class:`VehicleEvent` (of ``kinds``, default all).

        Callbacks run in the link's reader thread and must return quickly.

        Returns:
            A function that unsubscribes.

        Raises:
            InputError: An unknown event kind.
        """
        wanted = None
        if kinds is not None:
            wanted = frozenset(kinds)
            unknown = wanted - set(EVENT_KINDS)
            if unknown:
                raise InputError(
                    f"unknown vehicle event kind(s) {sorted(unknown)}; known: {', '.join(EVENT_KINDS)}"
                )
        with self._lock:
            self._listener_id += 1
            lid = self._listener_id
            self._listeners[lid] = (wanted, callback)

        def unsubscribe() -> None:
            with self._lock:
                self._listeners.pop(lid, None)

        return unsubscribe

    def _emit(self, event: VehicleEvent) -> None:
        with self._lock:
            listeners = list(self._listeners.values())
        for wanted, cb in listeners:
            if wanted is None or event.kind in wanted:
                try:
                    cb(event)
                except Exception:
                    log.exception("vehicle event listener failed on %s", event.kind)

    # --- snapshots -------------------------------------------------------------------------------
    def state(self) -> VehicleState:
        """The current :class:`VehicleState` (a consistent snapshot)."""
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> VehicleState:
        s = self._s
        flags = s["ekf_flags"]
        ekf_ok = (
            flags is not None
            and (flags & EKF_OK_FLAGS) == EKF_OK_FLAGS
            and not (flags & EKF_BAD_FLAGS)
        )
        vel: Velocity = s["vel"]
        gs = s["groundspeed"]
        if gs is None:
            gs = math.hypot(vel.vn_m_s, vel.ve_m_s)
        return VehicleState(
            t_s=time.time(),
            pose=self._pose,
            velocity=vel,
            groundspeed_m_s=float(gs),
            climb_m_s=float(s["climb"]),
            battery=s["battery"],
            mode=s["mode"],
            armed=s["armed"],
            gps=s["gps"],
            ekf_ok=ekf_ok,
            prearm_ok=s["prearm_ok"],
            home=s["home"],
            landed_state=s["landed_state"],
            mission_seq=s["mission_seq"],
            mission_count=s["mission_count"],
            last_reached_seq=s["last_reached"],
            statustexts=tuple(self._texts),
            link_ok=self.link.link_ok,
        )

    @property
    def pose(self) -> Pose | None:
        """The latest pose, or None."""
        return self._pose

    @property
    def pose_history(self) -> list[Pose]:
        """A copy of the kept poses, oldest first."""
        with self._lock:
            return list(self._poses)

    def pose_at(self, t_s: float, max_age_s: float = 1.0) -> Pose | None:
        """The pose at UNIX time ``t_s``, interpolated between the two telemetry poses around it.

        Args:
            t_s: UNIX time (ground-station clock), e.g. a video frame's capture time.
            max_age_s: For a time after the newest pose, return the newest pose (with ``t_s``
                set to the request) if it is at most this old; otherwise None.

        Returns:
            The interpolated pose (:func:`missions.geo.interpolate_pose`), or None when no pose
            covers ``t_s`` (before the history or too far after its end).
        """
        with self._lock:
            times, poses = self._pose_times, self._poses
            if not poses or t_s < times[0]:
                return None
            i = bisect.bisect_right(times, t_s)
            if i >= len(poses):
                last = poses[-1]
                return replace(last, t_s=t_s) if t_s - last.t_s <= max_age_s else None
            return interpolate_pose(poses[i - 1], poses[i], t_s)

    def recent_statustexts(self, since_t_s: float = 0.0) -> list[StatusText]:
        """STATUSTEXTs received at or after UNIX time ``since_t_s``."""
        with self._lock:
            return [t for t in self._texts if t.t_s >= since_t_s]

    # --- waiting ---------------------------------------------------------------------------------
    def wait_until(
        self,
        predicate: Callable[[VehicleState], bool],
        timeout_s: float,
        what: str = "the condition",
    ) -> VehicleState:
        """Block until ``predicate(state)`` is true.

        Args:
            predicate: Called with each new snapshot (after every telemetry update).
            timeout_s: Give up after this many seconds.
            what: Describes the condition in the timeout message.

        Returns:
            The snapshot that satisfied the predicate.

        Raises:
            VehicleTimeoutError: Not true within ``timeout_s``; the message gives the state.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                snap = self._snapshot()
                version = self._version
            # The predicate runs without the lock: it may call any Vehicle method.
            if predicate(snap):
                return snap
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise VehicleTimeoutError(
                    f"timed out after {timeout_s:g} s waiting for {what} "
                    f"({snap.summary().strip()})"
                )
            with self._lock:
                if self._version == version:
                    self._changed.wait(min(remaining, 0.5))

    def wait_landed_disarmed(self, timeout_s: float) -> VehicleState:
        """Wait until the vehicle is disarmed (ArduCopter disarms after touchdown).

        Raises:
            VehicleTimeoutError: Still armed after ``timeout_s``.
        """
        return self.wait_until(
            lambda s: not s.armed and s.on_ground, timeout_s, "the vehicle to land and disarm"
        )

    # --- commands --------------------------------------------------------------------------------
    def _command(
        self,
        what: str,
        command: int,
        params: Iterable[float] = (),
        *,
        timeout_s: float = 2.0,
        retries: int = 3,
        accept: Iterable[int] = (MAV.MAV_RESULT_ACCEPTED,),
    ) -> Any:
        started = time.time()
        ack = self.link.command_long(command, params, timeout_s=timeout_s, retries=retries)
        if ack is None:
            raise CommandError(
                f"{what}: no COMMAND_ACK from {self.link.url} after {retries + 1} attempts"
                + ("" if self.link.link_ok else " (the link is lost)")
            )
        if ack.result not in tuple(accept):
            texts = self._reasons(started)
            why = f"; the vehicle says: {'; '.join(texts)}" if texts else ""
            raise CommandError(f"{what}: refused with {result_name(ack.result)}{why}")
        return ack

    def _reasons(self, since: float, settle_s: float = 0.3) -> list[str]:
        """Warning-or-worse STATUSTEXTs since ``since`` (waits ``settle_s`` for late ones)."""
        time.sleep(settle_s)
        out = []
        for t in self.recent_statustexts(since - 0.5):
            if t.severity <= MAV.MAV_SEVERITY_WARNING and t.text not in out:
                out.append(t.text)
        return out

    def set_mode(self, name: str, timeout_s: float = 5.0) -> None:
        """Switch flight mode and wait until the HEARTBEAT shows it.

        Sends MAV_CMD_DO_SET_MODE (MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, custom_mode); falls back to
        the SET_MODE message when the command is not supported.

        Raises:
            InputError: Unknown mode name.
            CommandError: Refused (with the vehicle's STATUSTEXT reason, e.g. "Flight mode change
                failed") or not confirmed within ``timeout_s``.
        """
        num = mode_number(name)
        mode = COPTER_MODE_NAMES[num]
        if self.state().mode == mode:
            return
        started = time.time()
        ack = self.link.command_long(
            MAV.MAV_CMD_DO_SET_MODE,
            (MAV.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, num),
            timeout_s=1.0,
            retries=2,
        )
        if ack is not None and ack.result not in (
            MAV.MAV_RESULT_ACCEPTED,
            MAV.MAV_RESULT_UNSUPPORTED,
        ):
            texts = self._reasons(started)
            why = f"; the vehicle says: {'; '.join(texts)}" if texts else ""
            raise CommandError(
                f"mode change to {mode}: refused with {result_name(ack.result)}{why}"
            )
        if ack is None or ack.result == MAV.MAV_RESULT_UNSUPPORTED:
            self.link.send(
                self.link.mav.set_mode_encode(
                    self.link.target_system, MAV.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, num
                )
            )
        try:
            self.wait_until(lambda s: s.mode == mode, timeout_s, f"mode {mode}")
        except VehicleTimeoutError as exc:
            raise CommandError(f"mode change to {mode} not confirmed: {exc}") from None

    def ready_to_arm(self, state: VehicleState | None = None) -> bool:
        """Whether the vehicle reports itself ready: the pre-arm health bit when reported,
        otherwise EKF ok, a 3D GPS fix and a known home."""
        s = state or self.state()
        if s.prearm_ok is not None:
            return s.prearm_ok
        if self._s["ekf_flags"] is not None:
            return s.ekf_ok and s.gps.fix_type >= 3
        return s.gps.fix_type >= 3 and s.home is not None

    def initialising(self, state: VehicleState | None = None) -> bool:
        """True while the vehicle has no EKF position (when reported), no 3D fix or no home."""
        s = state or self.state()
        if self._s["ekf_flags"] is not None and not s.ekf_ok:
            return True
        return s.gps.fix_type < 3 or s.home is None

    def arm(self, timeout_s: float = 60.0, *, wait_ready: bool = True) -> None:
        """Arm the motors, waiting up to ``timeout_s`` for the vehicle to become ready.

        While the vehicle is still initialising (EKF without position, no 3D GPS fix, no home;
        ArduCopter SITL needs ~40 s after boot) the command is retried every few seconds. A
        refusal once it has initialised (a persistent PreArm failure such as a low battery, or
        "AUTO mode not armable") is retried once, then reported.

        Raises:
            ArmError: Arming refused or not done in time; the message contains the PreArm/Arm
                reasons from STATUSTEXT (``.reasons`` lists them).
        """
        deadline = time.monotonic() + timeout_s
        if self.state().armed:
            return
        started = time.time()
        refused_ready = 0
        last_result = None
        while True:
            if wait_ready:
                patience = 3.0 if self.initialising() else 1.0
                with contextlib.suppress(VehicleTimeoutError):
                    self.wait_until(
                        self.ready_to_arm,
                        max(0.0, min(patience, deadline - time.monotonic())),
                        "pre-arm checks",
                    )
            settled = not self.initialising()
            attempt_t = time.time()
            ack = self.link.command_long(
                MAV.MAV_CMD_COMPONENT_ARM_DISARM, (1,), timeout_s=1.5, retries=2
            )
            if ack is not None and ack.result == MAV.MAV_RESULT_ACCEPTED:
                try:
                    self.wait_until(lambda s: s.armed, max(3.0, min(10.0, timeout_s)), "armed")
                    return
                except VehicleTimeoutError:
                    pass
            last_result = None if ack is None else ack.result
            if settled and ack is not None:
                refused_ready += 1
            time.sleep(0.3)  # let the PreArm STATUSTEXTs arrive
            if self.state().armed:
                return
            if refused_ready >= 2 or time.monotonic() >= deadline:
                reasons = self._arm_reasons(attempt_t, started)
                how = (
                    "no COMMAND_ACK"
                    if last_result is None
                    else f"refused with {result_name(last_result)}"
                )
                detail = "; ".join(reasons) if reasons else "the vehicle gave no reason"
                raise ArmError(f"arming {how}: {detail}", reasons)
            pause = 2.0 if not settled else 0.5
            self._wait_s(min(pause, max(0.0, deadline - time.monotonic())))

    def _wait_s(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.2))

    def _arm_reasons(self, attempt_t: float, started: float) -> list[str]:
        texts = self.recent_statustexts(started - 30.0)
        latest = [t for t in texts if t.t_s >= attempt_t - 1.0]
        pool = latest or texts
        out: list[str] = []
        for t in pool:
            if _ARM_TEXT.search(t.text) and t.text not in out:
                out.append(t.text)
        return out

    def takeoff(self, alt_m: float, *, wait: bool = True, timeout_s: float = 90.0) -> None:
        """MAV_CMD_NAV_TAKEOFF to ``alt_m`` above home (vehicle armed in GUIDED).

        Args:
            alt_m: Target altitude above home, metres (param7).
            wait: Wait until the altitude reaches 95 % of ``alt_m`` (as MAVProxy/dronekit do).
            timeout_s: Maximum wait, seconds.

        Raises:
            InputError: ``alt_m`` not positive.
            CommandError: Refused (e.g. not armed or not GUIDED).
            VehicleError: Disarmed or left GUIDED before reaching the altitude.
            VehicleTimeoutError: Altitude not reached in time.
        """
        if not alt_m > 0:
            raise InputError(f"takeoff altitude must be > 0 m, got {alt_m}")
        self._command(
            f"takeoff to {alt_m:g} m", MAV.MAV_CMD_NAV_TAKEOFF, (0, 0, 0, math.nan, 0, 0, alt_m)
        )
        if not wait:
            return

        def reached(s: VehicleState) -> bool:
            if not s.armed:
                raise VehicleError(f"the vehicle disarmed during takeoff ({s.summary().strip()})")
            return s.pose is not None and s.pose.alt_m >= 0.95 * alt_m

        self.wait_until(reached, timeout_s, f"takeoff to {alt_m:g} m")

    def goto(
        self,
        lat_deg: float,
        lon_deg: float,
        alt_m: float,
        *,
        wait: bool = False,
        tolerance_m: float = 2.0,
        timeout_s: float = 120.0,
    ) -> None:
        """Fly to a point in GUIDED (SET_POSITION_TARGET_GLOBAL_INT, altitude above home).

        Switches to GUIDED first when needed.

        Args:
            lat_deg, lon_deg: Target, WGS-84 degrees.
            alt_m: Altitude above home, metres (MAV_FRAME_GLOBAL_RELATIVE_ALT_INT).
            wait: Wait until within ``tolerance_m`` (3D) of the target.
            tolerance_m: Arrival radius, metres.
            timeout_s: Maximum wait, seconds.

        Raises:
            InputError: Invalid coordinates.
            CommandError: GUIDED refused.
            VehicleTimeoutError: Not arrived in time (only with ``wait``).
        """
        check_lat_lon(lat_deg, lon_deg, "goto target")
        self.set_mode("GUIDED")
        self._send_position_target(lat_deg, lon_deg, alt_m)
        if not wait:
            return
        from missions.geo import distance_m

        def arrived(s: VehicleState) -> bool:
            if s.pose is None:
                return False
            d = distance_m(s.pose.lat_deg, s.pose.lon_deg, lat_deg, lon_deg)
            return math.hypot(d, s.pose.alt_m - alt_m) <= tolerance_m

        self.wait_until(arrived, timeout_s, f"arrival at {lat_deg:.6f}, {lon_deg:.6f}")

    def _send_position_target(self, lat_deg: float, lon_deg: float, alt_m: float) -> None:
        ignore = (
            MAV.POSITION_TARGET_TYPEMASK_VX_IGNORE
            | MAV.POSITION_TARGET_TYPEMASK_VY_IGNORE
            | MAV.POSITION_TARGET_TYPEMASK_VZ_IGNORE
            | MAV.POSITION_TARGET_TYPEMASK_AX_IGNORE
            | MAV.POSITION_TARGET_TYPEMASK_AY_IGNORE
            | MAV.POSITION_TARGET_TYPEMASK_AZ_IGNORE
            | MAV.POSITION_TARGET_TYPEMASK_YAW_IGNORE
            | MAV.POSITION_TARGET_TYPEMASK_YAW_RATE_IGNORE
        )
        self.link.send(
            self.link.mav.set_position_target_global_int_encode(
                0,
                self.link.target_system,
                self.link.target_component,
                MAV.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
                ignore,
                int(round(lat_deg * 1e7)),
                int(round(lon_deg * 1e7)),
                float(alt_m),
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
            )
        )

    def hold(self) -> None:
        """Hover where the vehicle is: GUIDED with the current position as target.

        Unlike LOITER this does not depend on RC sticks being centred.

        Raises:
            VehicleError: No position known yet. CommandError: GUIDED refused.
        """
        pose = self.pose
        if pose is None:
            raise VehicleError("hold: no vehicle position received yet")
        self.set_mode("GUIDED")
        pose = self.pose or pose
        self._send_position_target(pose.lat_deg, pose.lon_deg, pose.alt_m)

    def brake(self) -> None:
        """Stop as fast as possible: ArduCopter BRAKE mode."""
        self.set_mode("BRAKE")

    def resume_mission(self, seq: int) -> None:
        """Continue the uploaded mission at item ``seq``: set it current, then AUTO.

        Raises:
            MissionTransferError: Setting the current item failed. CommandError: AUTO refused.
        """
        from groundstation.mission_transfer import set_current

        set_current(self.link, seq)
        self.set_mode("AUTO")

    def set_speed(self, speed_m_s: float) -> None:
        """Change the target ground speed (MAV_CMD_DO_CHANGE_SPEED, speed type 1 = ground).

        Raises:
            InputError: Speed not positive. CommandError: Refused.
        """
        if not speed_m_s > 0:
            raise InputError(f"speed must be > 0 m/s, got {speed_m_s}")
        self._command(
            f"set speed {speed_m_s:g} m/s", MAV.MAV_CMD_DO_CHANGE_SPEED, (1, speed_m_s, -1, 0)
        )

    def start_mission(
        self,
        takeoff_alt_m: float,
        *,
        first_seq: int | None = 1,
        arm_timeout_s: float = 60.0,
        takeoff_timeout_s: float = 90.0,
    ) -> None:
        """Take off and fly the uploaded mission, the way ArduCopter requires.

        GUIDED -> arm (waiting for readiness) -> MAV_CMD_NAV_TAKEOFF -> wait for 95 % of
        ``takeoff_alt_m`` -> AUTO (ArduCopter cannot arm in AUTO; ``../shared/notes/ardupilot.md``).
        If the take-off fails while still on the ground, the vehicle is disarmed again.

        Args:
            takeoff_alt_m: Take-off altitude above home, metres.
            first_seq: Make this item current before AUTO (1 = first item after home);
                None keeps the vehicle's current item.
            arm_timeout_s: Wait for readiness and arming this long.
            takeoff_timeout_s: Wait for the take-off altitude this long.

        Raises:
            ArmError: Arming refused (PreArm reasons in the message).
            CommandError, VehicleError, MissionTransferError: A step failed; the message says which.
        """
        if first_seq is not None:
            from groundstation.mission_transfer import set_current

            set_current(self.link, first_seq)
        self.set_mode("GUIDED")
        self.arm(arm_timeout_s)
        try:
            self.takeoff(takeoff_alt_m, wait=True, timeout_s=takeoff_timeout_s)
        except DronePatrolError:
            s = self.state()
            if s.armed and s.pose is not None and s.pose.alt_m < 0.5:
                with contextlib.suppress(DronePatrolError):
                    self.disarm()
            raise
        self.set_mode("AUTO")

    def rtl(self) -> None:
        """Return to launch (RTL mode)."""
        self.set_mode("RTL")

    def land(self) -> None:
        """Land where the vehicle is (LAND mode)."""
        self.set_mode("LAND")

    def disarm(self, force: bool = False, timeout_s: float = 5.0) -> None:
        """Disarm the motors and wait for the HEARTBEAT to confirm.

        Args:
            force: Force a disarm even in flight (param2 = 21196): the vehicle falls.
            timeout_s: Wait for confirmation this long.

        Raises:
            CommandError: Refused (ArduCopter refuses in flight without ``force``) or not confirmed.
        """
        if not self.state().armed:
            return
        self._command(
            "disarm",
            MAV.MAV_CMD_COMPONENT_ARM_DISARM,
            (0, FORCE_DISARM_MAGIC if force else 0),
        )
        try:
            self.wait_until(lambda s: not s.armed, timeout_s, "disarmed")
        except VehicleTimeoutError as exc:
            raise CommandError(f"disarm not confirmed: {exc}") from None

    # --- lifetime --------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop listening to the link and join helper threads (the link stays open)."""
        self._closed = True
        for unsub in self._unsubs:
            unsub()
        for t in self._workers:
            t.join(5.0)

    def __enter__(self) -> Vehicle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
