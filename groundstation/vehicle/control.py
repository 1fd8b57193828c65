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

import contextlib
import functools
import logging
import math
import re
import time
from collections.abc import Iterable
from typing import Any

from groundstation.link import MAV
from groundstation.vehicle.errors import (
    ArmError,
    CommandError,
    VehicleError,
    VehicleTimeoutError,
)
from groundstation.vehicle.names import COPTER_MODE_NAMES, mode_number, result_name
from groundstation.vehicle.params import ParameterClient, ParamValue
from groundstation.vehicle.state import VehicleState
from groundstation.vehicle.tracker import VehicleTracker
from missions.errors import DronePatrolError, InputError
from missions.geo import check_lat_lon

log = logging.getLogger(__name__)

_ARM_TEXT = re.compile(r"\b(pre-?arm|arm(ing)?)\b", re.IGNORECASE)
"""STATUSTEXTs about arming: ArduPilot's "PreArm: ...", "Arm: ...", "Arming ..." messages."""

FORCE_DISARM_MAGIC = 21196
"""param2 of MAV_CMD_COMPONENT_ARM_DISARM that forces a disarm in flight (MAVLink common.xml)."""


class Vehicle(VehicleTracker):
    """Telemetry snapshot, pose history, events (:class:`VehicleTracker`) and commands for the
    vehicle behind ``link``. Commands wait for their COMMAND_ACK (timeout and retry) and for the
    vehicle to confirm the effect.

    Args:
        link: A connected :class:`Link`.
        request_telemetry: Ask for the telemetry the state needs now (and again after a link
            recovery). Takes a few round trips.
        gimbal_pitch_deg: Camera pitch used in poses while the vehicle reports no gimbal
            attitude (MOUNT_STATUS / GIMBAL_DEVICE_ATTITUDE_STATUS); -90 = nadir.
        low_battery_pct: Fire a ``low_battery`` event when the remaining charge drops to this.
        pose_history_s: Seconds of poses kept for :meth:`pose_at`.
        max_statustexts: STATUSTEXTs kept in :attr:`VehicleState.statustexts`.
    """

    def __enter__(self) -> Vehicle:
        return self

    # --- parameters (groundstation.vehicle.params) ---------------------------------------------------
    @functools.cached_property
    def params(self) -> ParameterClient:
        """The :class:`ParameterClient` of this vehicle's link (created on first use)."""
        return ParameterClient(self.link)

    def read_param(self, name: str, timeout_s: float = 1.0, retries: int = 3) -> ParamValue:
        """One parameter as the vehicle reports it (PARAM_REQUEST_READ -> PARAM_VALUE).

        Raises:
            UnknownParameterError: The vehicle has no parameter ``name``.
            ParameterError: No answer (link lost) or PARAM_ERROR. InputError: Invalid name.
        """
        return self.params.read(name, timeout_s=timeout_s, retries=retries)

    def get_param(self, name: str, timeout_s: float = 1.0, retries: int = 3) -> float:
        """The value of one parameter (see :meth:`read_param`; same errors)."""
        return self.params.get(name, timeout_s=timeout_s, retries=retries)

    def set_param(
        self, name: str, value: float, timeout_s: float = 1.0, retries: int = 3
    ) -> ParamValue:
        """Write one parameter (PARAM_SET) and wait for the PARAM_VALUE confirming it.

        See :meth:`groundstation.vehicle.params.ParameterClient.set`.

        Returns:
            The :class:`ParamValue` the vehicle holds now.

        Raises:
            UnknownParameterError: The vehicle has no parameter ``name``.
            ParameterError: Not accepted (the vehicle keeps another value; its STATUSTEXT reason
                is quoted) or no answer. InputError: Invalid name, or a value the type cannot hold.
        """
        return self.params.set(name, value, timeout_s=timeout_s, retries=retries)

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
            if t.text in ("Arming motors", "Disarming motors"):
                continue  # ArduCopter's announcements, not reasons
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
            """Whether 95 % of the takeoff altitude is reached.

            Raises:
                VehicleError: The vehicle disarmed meanwhile.
            """
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
            """Whether the vehicle is within ``tolerance_m`` (3D) of the target."""
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

    def point_gimbal(self, pitch_deg: float, yaw_deg: float = float("nan")) -> str:
        """Point the camera: MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW, else MAV_CMD_DO_MOUNT_CONTROL.

        ArduPilot (``libraries/AP_Mount/AP_Mount.cpp``, ``handle_command_do_gimbal_manager_
        pitchyaw``) answers MAV_RESULT_ACCEPTED when a mount is configured (``MNT1_TYPE``) and
        MAV_RESULT_FAILED when none is; older firmware without the gimbal manager answers
        UNSUPPORTED, so DO_MOUNT_CONTROL (param1 pitch, param3 yaw, param7
        MAV_MOUNT_MODE_MAVLINK_TARGETING) is tried next. Once accepted, the pitch is used in
        poses while the vehicle reports no gimbal attitude.

        Args:
            pitch_deg: Camera pitch, degrees (earth frame, -90 = nadir).
            yaw_deg: Camera yaw relative to the vehicle, degrees; NaN keeps it.

        Returns:
            The command that was accepted: ``gimbal_manager`` or ``mount_control``.

        Raises:
            CommandError: Both commands refused or unanswered.
        """
        flags = 0.0
        try:
            self._command(
                f"gimbal pitch {pitch_deg:.0f} deg",
                MAV.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW,
                (pitch_deg, yaw_deg, float("nan"), float("nan"), flags, 0, 0),
                timeout_s=1.0,
                retries=2,
            )
            how = "gimbal_manager"
        except CommandError:
            self._command(
                f"mount pitch {pitch_deg:.0f} deg",
                MAV.MAV_CMD_DO_MOUNT_CONTROL,
                (pitch_deg, 0, 0 if math.isnan(yaw_deg) else yaw_deg, 0, 0, 0, 2),
                timeout_s=1.0,
                retries=2,
            )
            how = "mount_control"
        self.gimbal_pitch_deg = float(pitch_deg)
        return how

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

    def reset_battery(self) -> bool:
        """Tell the autopilot its battery is full again (MAV_CMD_BATTERY_RESET, mask 1, 100 %).

        How a simulated vehicle without an operator gets a "fresh pack" between sorties
        (ArduPilot SITL's battery only resets this way); on a real vehicle, swap the pack.

        Returns:
            True when the vehicle accepted it.
        """
        ack = self.link.command_long(MAV.MAV_CMD_BATTERY_RESET, (1, 100), timeout_s=1.5, retries=2)
        return ack is not None and ack.result == MAV.MAV_RESULT_ACCEPTED

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
