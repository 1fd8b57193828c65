"""Telemetry tracking: state snapshot, pose history for frame pairing, events, waits."""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from pymavlink import mavutil

from groundstation.link import MAV, Link
from groundstation.vehicle.errors import VehicleTimeoutError
from groundstation.vehicle.names import COPTER_MODE_NAMES
from groundstation.vehicle.state import (
    EKF_BAD_FLAGS,
    EKF_OK_FLAGS,
    EVENT_KINDS,
    Battery,
    Gps,
    Home,
    StatusText,
    VehicleEvent,
    VehicleState,
    Velocity,
)
from missions.errors import InputError
from missions.geo import Pose, interpolate_pose

log = logging.getLogger(__name__)

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


class VehicleTracker:
    """Telemetry snapshot, pose history and events of the vehicle behind ``link`` (no commands:
    :class:`groundstation.vehicle.Vehicle` adds them).

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
        low_battery_pct: float = 20.0,
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
        if msg.lat == 0 and msg.lon == 0:
            # No position yet: ArduPilot sends GLOBAL_POSITION_INT with lat = lon = 0 until the
            # EKF has an origin (AP_AHRS::get_location fails before the first GPS fix). Such a
            # message is no pose: the map would otherwise draw the trail from 0 N 0 E.
            s["vel"] = Velocity(msg.vx / 100.0, msg.vy / 100.0, msg.vz / 100.0)
            return
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
        state = int(getattr(msg, "mission_state", 0) or 0)
        if seq != s["mission_seq"] or state != s.get("mission_state", 0):
            s["mission_seq"] = seq
            s["mission_state"] = state
            # mission_state 5 (MISSION_STATE_COMPLETE) is how ArduCopter 4.7 says the mission
            # ended: MISSION_CURRENT then reads seq 0, state 5 (../shared/notes/ardupilot.md).
            events.append(VehicleEvent("mission_current", now, {"seq": seq, "state": state}))

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
            """Remove this listener (idempotent)."""
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
                    f"timed out after {timeout_s:g} s waiting for {what} ({snap.summary().strip()})"
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

    # --- lifetime --------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop listening to the link and join helper threads (the link stays open)."""
        self._closed = True
        for unsub in self._unsubs:
            unsub()
        for t in self._workers:
            t.join(5.0)

    def __enter__(self) -> VehicleTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
