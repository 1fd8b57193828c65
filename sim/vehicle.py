"""The simulated multicopter: kinematics, flight modes, arming, failsafes.

The model is a point mass with velocity and acceleration limits driven by a simple position
controller (square-root braking profile as ArduPilot's ``AC_PosControl`` uses), yaw that turns
toward the direction of travel, and attitude derived from acceleration plus drag. Behaviour a
ground station can observe follows ArduCopter 4.7 (``../shared/notes/ardupilot.md`` and the
ArduCopter sources: mode.cpp, mode_auto.cpp, mode_rtl.cpp, mode_land.cpp, AP_Arming_Copter.cpp,
events.cpp, fence.cpp):

* boots in STABILIZE with ArduCopter's boot STATUSTEXTs, GPS fix after ~24% of ``ready_delay_s``
  (42.8 s by default, as SITL at speed-up 1), home at ~48%, EKF position at 100%; arming before
  that is refused with ``Arm:`` STATUSTEXTs ("Gyros inconsistent", "AHRS: waiting for home",
  "Need Position Estimate") and "PreArm: Need Position Estimate" repeats every 30 s;
* AUTO, RTL, LAND and BRAKE do not allow arming ("Arm: AUTO mode not armable"; in AUTO with no
  mission "Arm: Mode requires mission");
* disarms by itself DISARM_DELAY seconds after arming when it has not taken off, and right after
  touchdown in LAND and RTL;
* battery low/critical, GCS heartbeat loss and fence breaches trigger the actions selected by
  BATT_FS_LOW_ACT / BATT_FS_CRT_ACT, FS_GCS_ENABLE and FENCE_ACTION.

Everything here runs in simulated time and does no I/O: the MAVLink endpoint calls the public
methods and drains :attr:`Vehicle.events`. Not thread-safe by itself; the simulator thread owns it.

This module holds :class:`Vehicle` itself: its state, readiness, arming, home, mode changes,
GUIDED, RTL, the step loop and HEARTBEAT/EKF telemetry values. Its other parts live in
:mod:`sim.flight` (navigation primitives and dynamics, :class:`~sim.flight.FlightMixin`),
:mod:`sim.failsafe` (GCS, battery and fence failsafes, :class:`~sim.failsafe.FailsafeMixin`) and
:mod:`sim.copter` (modes, RTL stages, boot texts, :class:`~sim.copter.Event`); their public names
are re-exported here.
"""

from __future__ import annotations

import math

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.geo import LocalFrame
from sim.auto import MissionExecutor
from sim.battery import Battery
from sim.copter import (
    BOOT_TEXTS,
    FORCE_MAGIC,
    GUIDED_LIKE,
    LAND_DETECT_S,
    NOT_ARMABLE,
    RESULT_ACCEPTED,
    RESULT_DENIED,
    RESULT_FAILED,
    SEVERITY_CRITICAL,
    SEVERITY_INFO,
    SEVERITY_NOTICE,
    SEVERITY_WARNING,
    SIMULATED_MODES,
    USER_TAKEOFF_MODES,
    Event,
    Mode,
    RtlState,
)
from sim.failsafe import FailsafeMixin
from sim.fence import FENCE_TYPE_ALT_MIN, FenceGeometry, breaches
from sim.flight import GRAVITY, FlightMixin, sqrt_controller
from sim.mission_store import ItemLists, home_item
from sim.params import ParameterStore
from sim.settings import SimSettings

__all__ = [
    "BOOT_TEXTS",
    "FORCE_MAGIC",
    "GRAVITY",
    "GUIDED_LIKE",
    "LAND_DETECT_S",
    "NOT_ARMABLE",
    "RESULT_ACCEPTED",
    "RESULT_DENIED",
    "RESULT_FAILED",
    "SEVERITY_CRITICAL",
    "SEVERITY_INFO",
    "SEVERITY_NOTICE",
    "SEVERITY_WARNING",
    "SIMULATED_MODES",
    "USER_TAKEOFF_MODES",
    "Event",
    "Mode",
    "RtlState",
    "Vehicle",
    "sqrt_controller",
]


class Vehicle(FlightMixin, FailsafeMixin):
    """One simulated ArduCopter.

    Args:
        settings: Simulator settings (home, readiness delay, battery).
        params: The parameter table (already holding overrides).

    Attributes:
        t: Simulated seconds since boot.
        frame: Local ENU frame centred on the start position (the EKF origin).
        x, y: Position east/north of the origin, m.
        z: Height above the origin's ground, m (the ground is flat at the origin's AMSL altitude).
        vx, vy, vz: Velocity east/north/up, m/s.
        yaw_deg, roll_deg, pitch_deg: Attitude, degrees (yaw clockwise from north).
        armed: Motors armed.
        mode: Current :class:`Mode`.
        lists: Stored mission, fence and rally.
        events: Pending :class:`Event`s for the endpoint.
        gimbal_pitch_deg: Camera pitch (earth frame, -90 = nadir), settable by the handle and
            MAV_CMD_DO_MOUNT_CONTROL.
    """

    def __init__(self, settings: SimSettings, params: ParameterStore) -> None:
        self.settings = settings
        self.params = params
        self.t = 0.0
        self.origin_alt_m = settings.home.alt_m
        self.frame = LocalFrame(settings.home.lat_deg, settings.home.lon_deg)
        self.x = self.y = self.z = 0.0
        self.vx = self.vy = self.vz = 0.0
        self.yaw_deg = 0.0
        self.roll_deg = self.pitch_deg = 0.0
        self._ax_f = self._ay_f = 0.0
        self.yaw_rate_dps = 0.0
        self.armed = False
        self.mode = Mode.STABILIZE
        self.landed = True
        self._ground_time = LAND_DETECT_S
        self._disarm_timer = 0.0
        self.lists = ItemLists.empty()
        self.events: list[Event] = []
        self.gimbal_pitch_deg = -90.0
        self.zoom = 1.0
        """Camera zoom factor (1 = widest), set by MAV_CMD_SET_CAMERA_ZOOM (sim.endpoint)."""
        self.battery = Battery(settings.battery)
        self.params.set("BATT_CAPACITY", settings.battery.effective_capacity_mah)
        ready = settings.ready_delay_s
        self._t_gps = 0.24 * ready
        self._t_home = 0.48 * ready
        self._t_ekf = ready
        self.home: tuple[float, float, float] | None = None
        self.home_xy = (0.0, 0.0)
        self._last_prearm_report = -1e9
        # navigation targets
        self._target_xy: tuple[float, float] | None = None
        self._target_z: float | None = None
        self._landing = False
        self._vel_target: tuple[float, float, float] | None = None
        self._vel_target_t = 0.0
        self._speed_xy_override: float | None = None
        self._speed_up_override: float | None = None
        self._speed_dn_override: float | None = None
        self._yaw_target: float | None = None
        self._yaw_rate_limit = 90.0
        self._brake = False
        self._takeoff_alt: float | None = None
        # RTL
        self._rtl_state = RtlState.CLIMB
        self._rtl_target = (0.0, 0.0)
        self._rtl_alt = 0.0
        self._rtl_loiter_start = 0.0
        # failsafes
        self._gcs_last_hb: float | None = None
        self._gcs_failsafe = False
        self._batt_level = 0  # 0 ok, 1 low, 2 critical
        self._batt_low_since: float | None = None
        self._batt_crt_since: float | None = None
        self._fence_breaches = 0
        self.fence_breach_count = 0
        self.fence_breach_t = 0.0
        self._fence_geometry: FenceGeometry | None = None
        self._fence_check_t = 0.0
        self.mission = MissionExecutor(self)
        self._geo_cache_t = -1.0
        self._geo_cache = (settings.home.lat_deg, settings.home.lon_deg)

    # ------------------------------------------------------------------ readiness and state
    @property
    def gps_fix(self) -> bool:
        """True once the simulated GPS has a fix."""
        return self.t >= self._t_gps

    @property
    def ekf_ready(self) -> bool:
        """True once the EKF uses GPS (EKF_STATUS_REPORT flag POS_HORIZ_ABS) and arming is allowed."""
        return self.t >= self._t_ekf and self.home is not None

    @property
    def land_complete(self) -> bool:
        """ArduCopter's ``ap.land_complete``: on the ground for at least LAND_DETECT_S."""
        return self.landed and self._ground_time >= LAND_DETECT_S

    @property
    def airborne(self) -> bool:
        """True when not on the ground."""
        return not self.landed

    @property
    def relative_alt_m(self) -> float:
        """Altitude above home, m (GLOBAL_POSITION_INT.relative_alt)."""
        home_alt = self.home[2] if self.home else self.origin_alt_m
        return self.z + self.origin_alt_m - home_alt

    @property
    def alt_amsl_m(self) -> float:
        """Altitude above mean sea level, m."""
        return self.origin_alt_m + self.z

    def lat_lon(self) -> tuple[float, float]:
        """Current latitude and longitude in degrees (cached per simulated instant)."""
        if self._geo_cache_t != self.t:
            lat, lon = self.frame.to_geo(self.x, self.y)
            self._geo_cache = (float(lat), float(lon))
            self._geo_cache_t = self.t
        return self._geo_cache

    def local_of(self, lat_deg: float, lon_deg: float) -> tuple[float, float]:
        """Local (x east, y north) metres of a geographic point."""
        x, y = self.frame.to_local(lat_deg, lon_deg)
        return float(x), float(y)

    @property
    def groundspeed(self) -> float:
        """Horizontal speed, m/s."""
        return math.hypot(self.vx, self.vy)

    @property
    def wp_speed(self) -> float:
        """Horizontal navigation speed, m/s (DO_CHANGE_SPEED override or WPNAV_SPEED)."""
        if self._speed_xy_override:
            return self._speed_xy_override
        return max(0.2, self.params["WPNAV_SPEED"] / 100.0)

    @property
    def speed_up(self) -> float:
        """Climb speed limit, m/s."""
        return self._speed_up_override or max(0.1, self.params["WPNAV_SPEED_UP"] / 100.0)

    @property
    def speed_dn(self) -> float:
        """Descent speed limit, m/s (positive)."""
        return self._speed_dn_override or max(0.1, self.params["WPNAV_SPEED_DN"] / 100.0)

    def text(self, severity: int, text: str) -> None:
        """Queue a STATUSTEXT."""
        self.events.append(Event("text", severity=severity, text=text[:50]))

    def _boot_texts(self, t0: float) -> None:
        """The boot STATUSTEXTs of ArduCopter SITL 4.7, at their share of ``ready_delay_s``."""
        for share, text in BOOT_TEXTS:
            at = share * self._t_ekf
            if t0 < at <= self.t or (t0 == 0.0 and at == 0.0):
                self.text(SEVERITY_INFO, text)

    # ------------------------------------------------------------------ arming
    def prearm_failure(self) -> str | None:
        """The first failing pre-arm check as ArduCopter words it, or None when ready to arm.

        Before home ArduCopter SITL 4.7 refuses with "Gyros inconsistent" (its first ~20 s),
        then "AHRS: waiting for home", then "Need Position Estimate" (measured).
        """
        if self.t < self._t_home * 0.97:
            return "Gyros inconsistent"
        if self.home is None:
            return "AHRS: waiting for home"
        if not self.ekf_ready:
            return "Need Position Estimate"
        arm_volt = self.params["BATT_ARM_VOLT"]
        if arm_volt > 0 and self.battery.voltage_v < arm_volt:
            return "Battery 1 below minimum arming voltage"
        if self._batt_level:
            return "Battery 1 low voltage failsafe"
        if self.fence_enabled and self._current_breaches():
            return "Fence: vehicle outside fence"
        return None

    def arm(self, force: bool = False) -> int:
        """MAV_CMD_COMPONENT_ARM_DISARM(1): arm the motors if the checks pass.

        Returns:
            MAV_RESULT: ACCEPTED when armed (or already armed), FAILED with "PreArm: ..." or
            "Arm: <MODE> mode not armable" STATUSTEXTs otherwise.
        """
        if self.armed:
            return RESULT_ACCEPTED
        if not force:
            reason = self.prearm_failure()
            if reason:
                # an arming request reports its failed checks with "Arm: " (4.7, measured);
                # the periodic report while disarmed says "PreArm: "
                self.text(SEVERITY_CRITICAL, f"Arm: {reason}")
                return RESULT_FAILED
        if self.mode == Mode.AUTO and self.lists.mission_count <= 1:
            # measured on ArduCopter SITL 4.7 (AP_Arming_Copter::mandatory_checks)
            self.text(SEVERITY_CRITICAL, "Arm: Mode requires mission")
            return RESULT_FAILED
        if self.mode in NOT_ARMABLE and not (
            self.mode == Mode.AUTO and int(self.params["AUTO_OPTIONS"]) & 1
        ):
            self.text(SEVERITY_CRITICAL, f"Arm: {self.mode.name} mode not armable")
            return RESULT_FAILED
        self.armed = True
        self.text(SEVERITY_INFO, "Arming motors")
        self._disarm_timer = 0.0
        if self.land_complete and self.gps_fix:
            # ArduCopter resets home to the current location on arming (unless locked).
            self._set_home_here()
        if self.mode == Mode.AUTO:
            self.mission.waiting_to_start = self.mission.state != self.mission.RUNNING
        return RESULT_ACCEPTED

    def disarm(self, force: bool = False, reason: str = "") -> int:
        """Disarm. In flight only when forced (ArduCopter refuses a GCS disarm in the air)."""
        if not self.armed:
            return RESULT_ACCEPTED
        if not force and not self.land_complete:
            self.text(SEVERITY_CRITICAL, "Disarm: in flight, not allowed")
            return RESULT_FAILED
        self._disarm()
        return RESULT_ACCEPTED

    def _disarm(self) -> None:
        if self.armed:
            self.text(SEVERITY_INFO, "Disarming motors")
        self.armed = False
        self._takeoff_alt = None
        self._disarm_timer = 0.0
        if not self.landed:
            # forced disarm in the air: the vehicle falls
            self._target_xy = None
            self._target_z = None

    # ------------------------------------------------------------------ home
    def _set_home_here(self) -> None:
        lat, lon = self.lat_lon()
        self.set_home(lat, lon, self.alt_amsl_m)

    def set_home(self, lat_deg: float, lon_deg: float, alt_amsl_m: float) -> None:
        """Set home (MAV_CMD_DO_SET_HOME, first fix, arming); emits a HOME_POSITION event."""
        self.home = (float(lat_deg), float(lon_deg), float(alt_amsl_m))
        self.home_xy = self.local_of(lat_deg, lon_deg)
        self.lists.mission[0] = home_item(lat_deg, lon_deg, alt_amsl_m)
        self.events.append(Event("home"))

    # ------------------------------------------------------------------ modes
    def set_mode(self, mode: int, gcs: bool = True) -> bool:
        """Change flight mode as ``Copter::set_mode`` does.

        Args:
            mode: ArduCopter custom_mode number.
            gcs: True when a ground station asked (failure texts are sent either way).

        Returns:
            True on success (also when already in that mode).
        """
        try:
            new = Mode(int(mode))
        except ValueError:
            self.text(SEVERITY_WARNING, f"No such mode {int(mode)}")
            return False
        if new == self.mode:
            return True
        if new not in SIMULATED_MODES:
            self.text(SEVERITY_WARNING, f"Flight mode change failed: {new.name} not in simulator")
            return False
        ignore_checks = not self.armed
        needs_position = new in (Mode.AUTO, Mode.GUIDED, Mode.LOITER, Mode.RTL, Mode.POSHOLD)
        if not ignore_checks and (needs_position or new == Mode.BRAKE) and not self.ekf_ready:
            self.text(SEVERITY_WARNING, "Flight mode change failed")
            return False
        if new == Mode.AUTO:
            if not (self.lists.mission_count > 1 or ignore_checks):
                self.text(SEVERITY_WARNING, "Flight mode change failed")
                return False
            if self.armed and self.land_complete and not self.mission.starts_with_takeoff_cmd():
                self.text(SEVERITY_CRITICAL, "Auto: Missing Takeoff Cmd")
                self.text(SEVERITY_WARNING, "Flight mode change failed")
                return False
        if new == Mode.RTL and self.armed and self.home is None:
            self.text(SEVERITY_WARNING, "Flight mode change failed")
            return False
        old = self.mode
        if old == Mode.AUTO and self.mission.state == self.mission.RUNNING:
            self.mission.stop()
        self.mode = new
        self._takeoff_alt = None
        self._vel_target = None
        self._brake = False
        if new != Mode.AUTO and old == Mode.AUTO:
            self._yaw_target = None
        if new == Mode.AUTO:
            self._speed_xy_override = None
            self._speed_up_override = self._speed_dn_override = None
            self.mission.enter_auto()
            self.nav_hold()
        elif new == Mode.RTL:
            self.rtl_start()
        elif new == Mode.LAND:
            self.nav_land(None)
        elif new == Mode.BRAKE:
            self._brake = True
            self.nav_hold()
        else:
            self._speed_xy_override = None
            self.nav_hold()
        return True

    # ------------------------------------------------------------------ GUIDED
    def user_takeoff(self, alt_above_home_m: float) -> int:
        """MAV_CMD_NAV_TAKEOFF outside AUTO (``Mode::do_user_takeoff``).

        Returns:
            ACCEPTED when the climb starts; FAILED when disarmed, already flying, in a mode
            without user takeoff (STABILIZE...) or the altitude is not above the vehicle.
        """
        if not self.armed or not self.landed or self.mode not in USER_TAKEOFF_MODES:
            return RESULT_FAILED
        z = self.z_of_alt(alt_above_home_m, 3)
        if z <= self.z:
            return RESULT_FAILED
        self.nav_takeoff(z)
        self._disarm_timer = 0.0
        return RESULT_ACCEPTED

    def guided_goto(self, lat_deg: float, lon_deg: float, alt_m: float, frame: int) -> bool:
        """SET_POSITION_TARGET_GLOBAL_INT / DO_REPOSITION target in GUIDED.

        As ArduCopter's ``ModeGuided::set_destination``, a destination outside the enabled fence
        is refused (``AC_Fence::check_destination_within_fence``: above FENCE_ALT_MAX, beyond
        FENCE_RADIUS of home, outside an inclusion or inside an exclusion zone); the vehicle
        keeps its previous target. SET_POSITION_TARGET_GLOBAL_INT has no ACK, so a GCS sees
        this only as a vehicle that does not go; DO_REPOSITION answers MAV_RESULT_FAILED.

        Returns:
            True when the target was taken; False outside GUIDED, disarmed or beyond the fence.
        """
        if self.mode != Mode.GUIDED or not self.armed:
            return False
        x, y = self.local_of(lat_deg, lon_deg)
        z = self.z_of_alt(alt_m, frame)
        if self.fence_enabled and self.home is not None:
            p = self.params
            # the floor (FENCE_ALT_MIN) is not part of the destination check
            outside = breaches(
                self._fence_geometry,
                int(p["FENCE_TYPE"]) & ~FENCE_TYPE_ALT_MIN,
                x,
                y,
                z + self.origin_alt_m - self.home[2],
                self.home_xy,
                p["FENCE_RADIUS"],
                p["FENCE_ALT_MAX"],
                p["FENCE_ALT_MIN"],
            )
            if outside:
                return False
        self.nav_goto(x, y, z)
        return True

    # ------------------------------------------------------------------ RTL
    def _rtl_destination(self) -> tuple[float, float]:
        """Closest rally point or home (``AP_Rally::calc_best_rally_or_home_location``)."""
        best = self.home_xy
        best_d = math.hypot(self.x - best[0], self.y - best[1])
        include_home = self.params["RALLY_INCL_HOME"] >= 1
        limit_m = self.params["RALLY_LIMIT_KM"] * 1000.0
        rally_best = None
        for item in self.lists.rally:
            rx, ry = self.local_of(item.x, item.y)
            d = math.hypot(self.x - rx, self.y - ry)
            if rally_best is None or d < rally_best[0]:
                rally_best = (d, (rx, ry))
        if rally_best is None:
            return best
        if include_home and best_d < rally_best[0]:
            return best
        if limit_m > 0 and rally_best[0] > limit_m and best_d < rally_best[0]:
            return best
        return rally_best[1]

    def rtl_start(self) -> None:
        """Begin ArduCopter's RTL: climb to RTL_ALT, return, loiter, land (mode_rtl.cpp)."""
        self._rtl_target = self._rtl_destination()
        home_z = self.z_of_alt(0.0, 3)
        rtl_alt = max(0.0, self.params["RTL_ALT"] / 100.0)
        climb_min = max(0.0, self.params["RTL_CLIMB_MIN"] / 100.0)
        self._rtl_alt = max(self.z + climb_min, home_z + rtl_alt)
        if self.landed:
            self._rtl_state = RtlState.LAND
            self.nav_land((self.x, self.y))
            return
        self._rtl_state = RtlState.CLIMB
        sx, sy = self.stopping_point()
        self.nav_goto(sx, sy, self._rtl_alt)

    def _rtl_update(self) -> None:
        s = self._rtl_state
        if s == RtlState.CLIMB:
            if abs(self.z - self._rtl_alt) < 1.0:
                self._rtl_state = RtlState.RETURN
                self.nav_goto(self._rtl_target[0], self._rtl_target[1], self._rtl_alt)
                if self.params["RTL_SPEED"] > 0:
                    self._speed_xy_override = self.params["RTL_SPEED"] / 100.0
        elif s == RtlState.RETURN:
            if self.reached_target():
                self._rtl_state = RtlState.LOITER
                self._rtl_loiter_start = self.t
        elif (
            s == RtlState.LOITER
            and self.t - self._rtl_loiter_start >= self.params["RTL_LOIT_TIME"] / 1000.0
        ):
            final = self.params["RTL_ALT_FINAL"] / 100.0
            if final > 0:
                self._rtl_state = RtlState.FINAL
                self.nav_goto(self._rtl_target[0], self._rtl_target[1], final)
            else:
                self._rtl_state = RtlState.LAND
                self.nav_land(self._rtl_target)

    @property
    def rtl_complete(self) -> bool:
        """True once RTL has landed (what verify_RTL waits for)."""
        return self._rtl_state == RtlState.LAND and self.land_complete

    # ------------------------------------------------------------------ simulation step
    def step(self, dt: float) -> None:
        """Advance the simulation by ``dt`` simulated seconds (call with dt <= 0.1)."""
        t0 = self.t
        self.t += dt
        self._boot_texts(t0)
        if self.home is None and self.t >= self._t_home:
            self.set_home(
                self.settings.home.lat_deg, self.settings.home.lon_deg, self.settings.home.alt_m
            )
        self._physics(dt)
        self.battery.step(dt, self.armed, self.airborne, self.groundspeed, self.vz)
        self._mode_update()
        if self.mode == Mode.AUTO:
            self.mission.update()
        self._auto_disarm(dt)
        self._check_battery()
        self._check_gcs_failsafe()
        if self.t - self._fence_check_t >= 0.1:
            self._fence_check_t = self.t
            self._check_fence()
        if (
            not self.armed
            and not self.ekf_ready
            and self.t > 1.0
            and self.t - self._last_prearm_report >= 30.0
        ):
            self._last_prearm_report = self.t
            if self.prearm_failure():
                # what ArduCopter SITL 4.7 repeats every 30 s until the EKF has a position
                self.text(SEVERITY_CRITICAL, "PreArm: Need Position Estimate")

    def _mode_update(self) -> None:
        if not self.armed:
            return
        if (
            self._vel_target is not None
            and self.t - self._vel_target_t > self.params["GUID_TIMEOUT"]
        ):
            self._vel_target = None
            self.nav_hold()
        if self.mode == Mode.RTL:
            self._rtl_update()
            if self._rtl_state == RtlState.LAND and self.land_complete:
                self._disarm()
        elif self.mode == Mode.LAND:
            if self.land_complete:
                self._disarm()
        elif self._takeoff_alt is not None and self.z >= self._takeoff_alt - 0.1:
            self._takeoff_alt = None

    def _auto_disarm(self, dt: float) -> None:
        delay = self.params["DISARM_DELAY"]
        if not self.armed or delay <= 0:
            self._disarm_timer = 0.0
            return
        waiting = self.land_complete and self._takeoff_alt is None and not self._climb_wanted()
        if not waiting:
            self._disarm_timer = 0.0
            return
        self._disarm_timer += dt
        if self._disarm_timer >= delay:
            self._disarm()

    # ------------------------------------------------------------------ telemetry helpers
    @property
    def ekf_flags(self) -> int:
        """EKF_STATUS_REPORT.flags (EKF_STATUS_FLAGS bits)."""
        if self.t < self._t_gps:
            return mavlink.EKF_ATTITUDE | mavlink.EKF_VELOCITY_VERT | mavlink.EKF_CONST_POS_MODE
        if not self.ekf_ready:
            return (
                mavlink.EKF_ATTITUDE
                | mavlink.EKF_VELOCITY_HORIZ
                | mavlink.EKF_VELOCITY_VERT
                | mavlink.EKF_POS_VERT_ABS
                | mavlink.EKF_CONST_POS_MODE
            )
        return (
            mavlink.EKF_ATTITUDE
            | mavlink.EKF_VELOCITY_HORIZ
            | mavlink.EKF_VELOCITY_VERT
            | mavlink.EKF_POS_HORIZ_REL
            | mavlink.EKF_POS_HORIZ_ABS
            | mavlink.EKF_POS_VERT_ABS
            | mavlink.EKF_PRED_POS_HORIZ_REL
            | mavlink.EKF_PRED_POS_HORIZ_ABS
        )

    @property
    def base_mode(self) -> int:
        """HEARTBEAT.base_mode as ArduCopter computes it (GCS_MAVLink_Copter::base_mode)."""
        mode = mavlink.MAV_MODE_FLAG_STABILIZE_ENABLED | mavlink.MAV_MODE_FLAG_MANUAL_INPUT_ENABLED
        mode |= mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
        if self.mode in (Mode.AUTO, Mode.GUIDED, Mode.RTL, Mode.LOITER, Mode.POSHOLD, Mode.BRAKE):
            mode |= mavlink.MAV_MODE_FLAG_GUIDED_ENABLED
        if self.armed:
            mode |= mavlink.MAV_MODE_FLAG_SAFETY_ARMED
        return mode

    @property
    def system_status(self) -> int:
        """HEARTBEAT.system_status: STANDBY disarmed, ACTIVE armed, CRITICAL in a failsafe."""
        if self.t < 0.5:
            return mavlink.MAV_STATE_BOOT
        if self.armed and (self._gcs_failsafe or self._batt_level):
            return mavlink.MAV_STATE_CRITICAL
        return mavlink.MAV_STATE_ACTIVE if self.armed else mavlink.MAV_STATE_STANDBY
