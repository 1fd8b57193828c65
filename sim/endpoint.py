"""The vehicle's MAVLink endpoint: message dispatch, commands, parameters, streams.

A ground station cannot tell this from ArduCopter SITL in what it relies on
(``../shared/notes/ardupilot.md``): HEARTBEAT sysid/compid 1, MAV_TYPE_QUADROTOR,
MAV_AUTOPILOT_ARDUPILOTMEGA, custom_mode = copter mode; only HEARTBEAT (no SYS_STATUS) until
telemetry is requested with REQUEST_DATA_STREAM, MAV_CMD_SET_MESSAGE_INTERVAL or
MAV_CMD_REQUEST_MESSAGE; every COMMAND_LONG/COMMAND_INT gets a COMMAND_ACK, but the SET_MODE
message gets none (ArduCopter 4.7, measured: confirm a mode change by HEARTBEAT custom_mode);
unknown commands get MAV_RESULT_UNSUPPORTED.
"""

from __future__ import annotations

import logging
import math
import time

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim import telemetry
from sim.copter import FORCE_MAGIC, Mode
from sim.link import Channel
from sim.mission_protocol import FENCE, MISSION, RALLY, MissionProtocol
from sim.vehicle import Vehicle

log = logging.getLogger(__name__)

R = mavlink
ACCEPTED, FAILED, DENIED = R.MAV_RESULT_ACCEPTED, R.MAV_RESULT_FAILED, R.MAV_RESULT_DENIED
UNSUPPORTED = R.MAV_RESULT_UNSUPPORTED
MIN_WALL_INTERVAL_S = 0.02
"""Streams never exceed 50 Hz of wall time, whatever the speed-up."""
MAX_MISSION_TYPE = 2


class Endpoint:
    """Serves one :class:`~sim.vehicle.Vehicle` to its channels.

    Args:
        vehicle: The simulated vehicle.
        sysid: MAVLink system id.
        speedup: Simulation speed-up (caps stream rates in wall time).
    """

    def __init__(self, vehicle: Vehicle, sysid: int, speedup: float) -> None:
        self.v = vehicle
        self.sysid = sysid
        self.speedup = speedup
        self.channels: list[Channel] = []
        self.protocols = {t: MissionProtocol(t, vehicle, speedup) for t in (MISSION, FENCE, RALLY)}
        self._origin_sent = False

    # ------------------------------------------------------------------ channels
    def add_channel(self, ch: Channel) -> None:
        """Register a channel; it starts with ArduPilot's boot streams."""
        for msg_id, interval in telemetry.DEFAULT_INTERVALS_S.items():
            ch.streams.setdefault(msg_id, interval)
        self.channels.append(ch)

    def _broadcast(self, fn) -> None:
        for ch in self.channels:
            if ch.connected:
                fn(ch)

    # ------------------------------------------------------------------ periodic work
    def after_tick(self, wall_now: float) -> None:
        """Send due streams, pending events and protocol re-requests (call after each tick)."""
        self.drain_events()
        t = self.v.t
        min_interval = MIN_WALL_INTERVAL_S * self.speedup
        for ch in self.channels:
            if not ch.connected:
                continue
            for msg_id, interval in ch.streams.items():
                if interval <= 0:
                    continue
                due = ch.next_due.get(msg_id, 0.0)
                if t + 1e-9 >= due:
                    telemetry.send(ch.mav, msg_id, self.v)
                    step = max(interval, min_interval)
                    ch.next_due[msg_id] = due + step if t - due < step else t + step
        for proto in self.protocols.values():
            proto.update(wall_now)

    def drain_events(self) -> None:
        """Turn vehicle events into STATUSTEXT, MISSION_ITEM_REACHED, MISSION_CURRENT, HOME."""
        events, self.v.events = self.v.events, []
        # Items completed in the same loop collapse into one MISSION_ITEM_REACHED for the last of
        # them (ArduPilot keeps one "reached" index per loop; measured on ArduCopter 4.7).
        reached = [i for i, ev in enumerate(events) if ev.kind == "reached"]
        if len(reached) > 1:
            drop = set(reached[:-1])
            events = [ev for i, ev in enumerate(events) if i not in drop]
        for ev in events:
            if ev.kind == "text":
                payload = ev.text.encode("utf-8", "replace")[:50]
                self._broadcast(lambda ch, p=payload, s=ev.severity: ch.mav.statustext_send(s, p))
            elif ev.kind == "reached":
                self._broadcast(lambda ch, s=ev.seq: ch.mav.mission_item_reached_send(s))
            elif ev.kind == "current":
                self._broadcast(
                    lambda ch: telemetry.send(ch.mav, telemetry.ID["MISSION_CURRENT"], self.v)
                )
            elif ev.kind == "home":
                self._broadcast(
                    lambda ch: telemetry.send(ch.mav, telemetry.ID["HOME_POSITION"], self.v)
                )
                if not self._origin_sent and self.v.ekf_ready:
                    self._origin_sent = True
                    self._broadcast(
                        lambda ch: telemetry.send(ch.mav, telemetry.ID["GPS_GLOBAL_ORIGIN"], self.v)
                    )

    # ------------------------------------------------------------------ dispatch
    def _for_us(self, msg) -> bool:
        target = getattr(msg, "target_system", None)
        if target is not None and target not in (0, self.sysid):
            return False
        comp = getattr(msg, "target_component", None)
        return not (comp is not None and comp not in (0, 1))

    def handle(self, ch: Channel, msg) -> None:
        """Process one received message."""
        kind = msg.get_type()
        if kind == "HEARTBEAT":
            if msg.get_srcSystem() != self.sysid:
                self.v.gcs_heartbeat(msg.get_srcSystem())
            return
        if not self._for_us(msg):
            return
        handler = getattr(self, f"_on_{kind.lower()}", None)
        if handler is not None:
            handler(ch, msg)
        self.drain_events()

    def _proto(self, msg) -> MissionProtocol | None:
        mtype = int(getattr(msg, "mission_type", 0))
        return self.protocols.get(mtype)

    @staticmethod
    def _nack_unsupported(ch, msg) -> None:
        """MISSION_ACK MAV_MISSION_UNSUPPORTED: a list type this vehicle does not keep."""
        ch.mav.mission_ack_send(
            msg.get_srcSystem(), msg.get_srcComponent(), R.MAV_MISSION_UNSUPPORTED,
            msg.mission_type,
        )  # fmt: skip

    # mission protocol
    def _on_mission_count(self, ch, msg):
        proto = self._proto(msg)
        if proto is None:
            self._nack_unsupported(ch, msg)
            return
        proto.handle_count(ch, msg)

    def _on_mission_item_int(self, ch, msg):
        proto = self._proto(msg)
        if proto is not None:
            proto.handle_item(ch, msg)

    _on_mission_item = _on_mission_item_int

    def _on_mission_request_list(self, ch, msg):
        proto = self._proto(msg)
        if proto is None:
            self._nack_unsupported(ch, msg)
            return
        proto.handle_request_list(ch, msg)

    def _on_mission_request_int(self, ch, msg):
        proto = self._proto(msg)
        if proto is not None:
            proto.handle_request(ch, msg, want_int=True)

    def _on_mission_request(self, ch, msg):
        proto = self._proto(msg)
        if proto is not None:
            proto.handle_request(ch, msg, want_int=False)

    def _on_mission_clear_all(self, ch, msg):
        mtype = int(getattr(msg, "mission_type", 0))
        if mtype == R.MAV_MISSION_TYPE_ALL:
            results = []
            for proto in self.protocols.values():
                results.append(proto)
            ok = all(not p.receiving for p in results) and (
                self.v.mission.state != self.v.mission.RUNNING
            )
            if ok:
                for proto in results:
                    proto.handle_clear_all(_Silent(), msg)
            ch.mav.mission_ack_send(
                msg.get_srcSystem(), msg.get_srcComponent(),
                R.MAV_MISSION_ACCEPTED if ok else R.MAV_MISSION_ERROR, mtype,
            )  # fmt: skip
            return
        proto = self.protocols.get(mtype)
        if proto is not None:
            proto.handle_clear_all(ch, msg)

    def _on_mission_set_current(self, ch, msg):
        self.v.mission.set_current(int(msg.seq))
        telemetry.send(ch.mav, telemetry.ID["MISSION_CURRENT"], self.v)

    # parameters
    def _on_param_request_list(self, ch, msg):
        ch.mav.statustext_send(R.MAV_SEVERITY_INFO, b"ArduCopter V4.7.0-dev (dronepatrol sim)")
        ch.mav.statustext_send(R.MAV_SEVERITY_INFO, b"Frame: QUAD/X")
        count = len(self.v.params)
        for index, name, value, ptype in self.v.params.items():
            ch.mav.param_value_send(name.encode(), value, ptype, count, index)

    def _send_param(self, ch: Channel, name: str) -> None:
        p = self.v.params
        ch.mav.param_value_send(name.encode(), p[name], p.type_of(name), len(p), p.index_of(name))

    def _on_param_request_read(self, ch, msg):
        p = self.v.params
        if msg.param_index >= 0:
            name = p.name_at(int(msg.param_index))
        else:
            name = _param_name(msg.param_id)
        if name is None or name not in p:
            return
        self._send_param(ch, name)

    def _on_param_set(self, ch, msg):
        p = self.v.params
        name = _param_name(msg.param_id)
        if name not in p:
            return
        if p.is_read_only(name):
            ch.mav.statustext_send(R.MAV_SEVERITY_WARNING, f"Param write denied ({name})".encode())
            self._send_param(ch, name)
            return
        if not p.set(name, float(msg.param_value)):
            self._send_param(ch, name)
            return
        if name == "BATT_CAPACITY" and p[name] > 0:
            self.v.battery.capacity_mah = p[name]
        self._broadcast(lambda c: self._send_param(c, name))

    # streams
    def _on_request_data_stream(self, ch, msg):
        stream = int(msg.req_stream_id)
        rate = float(msg.req_message_rate) if msg.start_stop else 0.0
        groups = (
            telemetry.STREAM_GROUPS.values()
            if stream == R.MAV_DATA_STREAM_ALL
            else [telemetry.STREAM_GROUPS.get(stream, ())]
        )
        for ids in groups:
            for msg_id in ids:
                self._set_interval(ch, msg_id, 1.0 / rate if rate > 0 else 0.0)

    def _set_interval(self, ch: Channel, msg_id: int, interval_s: float) -> None:
        ch.streams[msg_id] = interval_s
        ch.next_due[msg_id] = self.v.t

    # guided targets (no ACK on ArduPilot)
    def _on_set_position_target_global_int(self, ch, msg):
        mask = int(msg.type_mask)
        v = self.v
        if v.mode != Mode.GUIDED or not v.armed:
            return
        pos_ignored = mask & 0b111 == 0b111
        vel_ignored = mask & 0b111000 == 0b111000
        if not pos_ignored:
            frame = {5: 0, 6: 3, 11: 10}.get(int(msg.coordinate_frame), int(msg.coordinate_frame))
            v.guided_goto(msg.lat_int / 1e7, msg.lon_int / 1e7, msg.alt, frame)
        elif not vel_ignored:
            v.nav_velocity(msg.vy, msg.vx, -msg.vz)
        if not mask & 0x400:
            v.set_yaw_target(math.degrees(msg.yaw))

    def _on_set_position_target_local_ned(self, ch, msg):
        mask = int(msg.type_mask)
        v = self.v
        if v.mode != Mode.GUIDED or not v.armed:
            return
        pos_ignored = mask & 0b111 == 0b111
        vel_ignored = mask & 0b111000 == 0b111000
        frame = int(msg.coordinate_frame)
        if not pos_ignored:
            if frame == R.MAV_FRAME_LOCAL_OFFSET_NED:
                v.nav_goto(v.x + msg.y, v.y + msg.x, v.z - msg.z)
            elif frame == R.MAV_FRAME_LOCAL_NED:
                v.nav_goto(msg.y, msg.x, -msg.z)
        elif not vel_ignored:
            vn, ve, vd = msg.vx, msg.vy, msg.vz
            if frame in (R.MAV_FRAME_BODY_NED, R.MAV_FRAME_BODY_OFFSET_NED):
                yaw = math.radians(v.yaw_deg)
                vn, ve = (
                    vn * math.cos(yaw) - ve * math.sin(yaw),
                    vn * math.sin(yaw) + ve * math.cos(yaw),
                )
            v.nav_velocity(ve, vn, -vd)

    def _on_set_mode(self, ch, msg):
        # ArduCopter 4.7 sends no COMMAND_ACK for the SET_MODE message (measured; only
        # MAV_CMD_DO_SET_MODE is acknowledged): a GCS confirms the change by HEARTBEAT.
        self._set_mode(int(msg.base_mode), int(msg.custom_mode))

    def _mount(self, c: int, a) -> int:
        """Gimbal commands as ArduPilot's AP_Mount answers them
        (``libraries/AP_Mount/AP_Mount.cpp``, ``handle_command_do_gimbal_manager_pitchyaw`` and
        ``handle_command_do_mount_control``):

        * no mount configured (``MNT1_TYPE`` 0, ArduCopter's default): MAV_RESULT_FAILED;
        * DO_GIMBAL_MANAGER_PITCHYAW: param5 flags RETRACT (1) or NEUTRAL (2) -> ACCEPTED (the
          camera goes to MNT1_NEUTRAL_Y's pitch, here 0 / the horizon for retract); param7
          gimbal device id above 1 (no second mount) -> FAILED; a pitch angle (param1, not NaN)
          -> ACCEPTED, limited to ``MNT1_PITCH_MIN`` .. ``MNT1_PITCH_MAX``; NaN angles with
          rates -> ACCEPTED (rates are not simulated: the angle stays);
        * DO_MOUNT_CONTROL: param1 pitch, param7 mode (2 = MAVLink targeting) -> ACCEPTED.
        """
        v = self.v
        p = v.params
        if p.get("MNT1_TYPE", 0) == 0:
            return FAILED
        lo, hi = p.get("MNT1_PITCH_MIN", -90.0), p.get("MNT1_PITCH_MAX", 20.0)
        if c == R.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW:
            flags = int(a.p5) if math.isfinite(a.p5) else 0
            if flags & 1:  # RETRACT
                v.gimbal_pitch_deg = 0.0
                return ACCEPTED
            if flags & 2:  # NEUTRAL
                v.gimbal_pitch_deg = max(lo, min(hi, p.get("MNT1_NEUTRAL_Y", 0.0)))
                return ACCEPTED
            if math.isfinite(a.p7) and a.p7 > 1:
                return FAILED
        if math.isfinite(a.p1):
            v.gimbal_pitch_deg = max(lo, min(hi, a.p1))
        return ACCEPTED

    def _zoom(self, a) -> int:
        """MAV_CMD_SET_CAMERA_ZOOM as ArduPilot's AP_Camera answers it
        (``libraries/AP_Camera/AP_Camera.cpp``, ``handle_command``): ZOOM_TYPE_RANGE (param1 2,
        param2 percent) or ZOOM_TYPE_CONTINUOUS (1, param2 rate -1/0/1) is ACCEPTED when the
        camera backend can zoom, anything else MAV_RESULT_UNSUPPORTED. The simulated camera can
        zoom when ``CAM1_TYPE`` is 3 (a camera driven by the mount, like the Siyi gimbals'),
        digitally up to ``CAM1_ZOOM_MAX`` times; with ``CAM1_TYPE`` 0 (no camera) or another
        type it cannot. Continuous zoom steps by 10 % per command (no zoom motor simulated)."""
        v = self.v
        p = v.params
        if p.get("CAM1_TYPE", 0) != 3 or not math.isfinite(a.p1) or not math.isfinite(a.p2):
            return UNSUPPORTED
        zmax = max(1.0, p.get("CAM1_ZOOM_MAX", 6.0))
        pct = (v.zoom - 1.0) / (zmax - 1.0) * 100.0 if zmax > 1 else 0.0
        if int(a.p1) == 2:  # ZOOM_TYPE_RANGE
            pct = a.p2
        elif int(a.p1) == 1:  # ZOOM_TYPE_CONTINUOUS
            pct += 10.0 * (1 if a.p2 > 0 else -1 if a.p2 < 0 else 0)
        else:
            return UNSUPPORTED
        pct = max(0.0, min(100.0, pct))
        v.zoom = 1.0 + (zmax - 1.0) * pct / 100.0
        return ACCEPTED

    def _set_mode(self, base_mode: int, custom_mode: int) -> int:
        if not base_mode & R.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED:
            return FAILED
        return ACCEPTED if self.v.set_mode(custom_mode) else FAILED

    def _on_timesync(self, ch, msg):
        if msg.tc1 == 0:
            ch.mav.timesync_send(int(time.monotonic() * 1e9), msg.ts1)

    # commands
    def _on_command_long(self, ch, msg):
        args = _Cmd(
            msg.command, msg.param1, msg.param2, msg.param3, msg.param4,
            msg.param5, msg.param6, msg.param7, None, R.MAV_FRAME_GLOBAL,
        )  # fmt: skip
        self._command(ch, msg, args)

    def _on_command_int(self, ch, msg):
        args = _Cmd(
            msg.command, msg.param1, msg.param2, msg.param3, msg.param4,
            msg.x / 1e7, msg.y / 1e7, msg.z, (msg.x, msg.y), int(msg.frame),
        )  # fmt: skip
        self._command(ch, msg, args)

    def _command(self, ch: Channel, msg, a: _Cmd) -> None:
        try:
            result = self._run_command(ch, a)
        except (ValueError, OverflowError) as exc:
            log.debug("command %s rejected: %s", a.command, exc)
            result = DENIED
        after = None
        if isinstance(result, tuple):
            result, after = result
        ch.mav.command_ack_send(
            a.command, result, 0, 0, msg.get_srcSystem(), msg.get_srcComponent()
        )
        if after is not None:
            after()

    def _run_command(self, ch: Channel, a: _Cmd):
        v = self.v
        c = int(a.command)
        if c == R.MAV_CMD_COMPONENT_ARM_DISARM:
            force = a.p2 in FORCE_MAGIC
            if a.p1 >= 0.5:
                return v.arm(force=force)
            return v.disarm(force=force)
        if c == R.MAV_CMD_DO_SET_MODE:
            return self._set_mode(int(a.p1), int(a.p2))
        if c == R.MAV_CMD_NAV_TAKEOFF:
            if v.mode == Mode.AUTO:
                return FAILED
            return v.user_takeoff(a.p7)
        if c == R.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            return ACCEPTED if v.set_mode(Mode.RTL) else FAILED
        if c == R.MAV_CMD_NAV_LAND:
            return ACCEPTED if v.set_mode(Mode.LAND) else FAILED
        if c == R.MAV_CMD_NAV_LOITER_UNLIM:
            return ACCEPTED if v.set_mode(Mode.LOITER) else FAILED
        if c == R.MAV_CMD_DO_CHANGE_SPEED:
            if a.p2 <= 0:
                return FAILED
            v.change_speed(int(a.p1), a.p2)
            return ACCEPTED
        if c == R.MAV_CMD_MISSION_START:
            if a.p1 != 0 or a.p2 != 0:
                return DENIED
            if not v.set_mode(Mode.AUTO):
                return FAILED
            if v.mission.state != v.mission.RUNNING and not v.mission.waiting_to_start:
                v.mission.start_or_resume()
            return ACCEPTED
        if c == R.MAV_CMD_DO_SET_MISSION_CURRENT:
            # param2 = 1 resets jump counters and makes a completed mission active again
            # (GCS_Common.cpp handle_command_do_set_mission_current)
            seq = int(a.p1)
            reset = int(a.p2) == 1
            if reset:
                v.mission.reset()
            ok = v.mission.set_current(seq)
            if ok and reset:
                v.mission.resume()
            return (
                ACCEPTED if ok else FAILED,
                lambda: telemetry.send(ch.mav, telemetry.ID["MISSION_CURRENT"], v),
            )
        if c == R.MAV_CMD_CONDITION_YAW:
            if v.mode not in (Mode.GUIDED, Mode.AUTO) or not v.armed:
                return FAILED
            angle = a.p1
            if a.p4:
                angle = v.yaw_deg + (a.p1 if a.p3 >= 0 else -a.p1)
            v.set_yaw_target(angle, a.p2)
            return ACCEPTED
        if c == R.MAV_CMD_DO_SET_HOME:
            if a.p1 == 1:
                if not v.gps_fix:
                    return FAILED
                lat, lon = v.lat_lon()
                v.set_home(lat, lon, v.alt_amsl_m)
                return ACCEPTED
            if a.p1 != 0 or not (abs(a.p5) <= 90 and abs(a.p6) <= 180) or (a.p5 == 0 and a.p6 == 0):
                return FAILED
            alt = a.p7
            if a.frame in (3, 6):
                alt = v.alt_amsl_m - v.relative_alt_m + a.p7
            v.set_home(a.p5, a.p6, alt)
            return ACCEPTED
        if c == R.MAV_CMD_DO_FENCE_ENABLE:
            v.enable_fence(a.p1 >= 1)
            return ACCEPTED
        if c == R.MAV_CMD_BATTERY_RESET:
            # ArduPilot: reset the remaining charge of the batteries in mask p1 to p2 percent;
            # here only a full reset on the ground (a battery swap)
            if int(a.p1) & 1 and a.p2 >= 100 and v.swap_battery():
                return ACCEPTED
            return FAILED
        if c == R.MAV_CMD_DO_REPOSITION:
            if not v.armed:
                return FAILED
            if v.mode != Mode.GUIDED:
                if not int(a.p2) & R.MAV_DO_REPOSITION_FLAGS_CHANGE_MODE:
                    return FAILED
                if not v.set_mode(Mode.GUIDED):
                    return FAILED
            if a.p5 == 0 and a.p6 == 0:
                return FAILED
            frame = {5: 0, 6: 3, 11: 10}.get(a.frame, a.frame)
            if a.p1 > 0:
                v.change_speed(1, a.p1)
            return ACCEPTED if v.guided_goto(a.p5, a.p6, a.p7, frame) else FAILED
        if c in (R.MAV_CMD_DO_MOUNT_CONTROL, R.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW):
            return self._mount(c, a)
        if c == R.MAV_CMD_SET_CAMERA_ZOOM:
            return self._zoom(a)
        if c == R.MAV_CMD_SET_MESSAGE_INTERVAL:
            msg_id = int(a.p1)
            if msg_id not in telemetry.ID.values():
                return FAILED
            if a.p2 < 0:
                interval = 0.0
            elif a.p2 == 0:
                interval = telemetry.DEFAULT_INTERVALS_S.get(msg_id, 0.0)
            else:
                interval = a.p2 / 1e6
            self._set_interval(ch, msg_id, interval)
            return ACCEPTED
        if c == R.MAV_CMD_GET_MESSAGE_INTERVAL:
            msg_id = int(a.p1)
            if msg_id not in telemetry.ID.values():
                return FAILED
            interval = ch.streams.get(msg_id, 0.0)
            us = int(interval * 1e6) if interval > 0 else -1
            return ACCEPTED, lambda: ch.mav.message_interval_send(msg_id, us)
        if c == R.MAV_CMD_REQUEST_MESSAGE:
            msg_id = int(a.p1)
            if msg_id not in telemetry.ID.values():
                return FAILED
            if msg_id == telemetry.ID["HOME_POSITION"] and v.home is None:
                return FAILED
            return ACCEPTED, lambda: telemetry.send(ch.mav, msg_id, v)
        if c == R.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES:
            return ACCEPTED, lambda: telemetry.send(ch.mav, telemetry.ID["AUTOPILOT_VERSION"], v)
        if c == R.MAV_CMD_GET_HOME_POSITION:
            if v.home is None:
                return FAILED
            return ACCEPTED, lambda: telemetry.send(ch.mav, telemetry.ID["HOME_POSITION"], v)
        return UNSUPPORTED


class _Cmd:
    """COMMAND_LONG / COMMAND_INT arguments in one shape (p5/p6 in degrees for COMMAND_INT)."""

    __slots__ = ("command", "frame", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "xy_int")

    def __init__(self, command, p1, p2, p3, p4, p5, p6, p7, xy_int, frame):
        self.command = int(command)
        self.p1, self.p2, self.p3, self.p4 = float(p1), float(p2), float(p3), float(p4)
        self.p5, self.p6, self.p7 = float(p5), float(p6), float(p7)
        self.xy_int = xy_int
        self.frame = int(frame)


class _Silent:
    """A channel stand-in that swallows replies (clearing all lists at once)."""

    class _Mav:
        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    mav = _Mav()


def _param_name(raw) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    return str(raw).split("\x00", 1)[0].strip()
