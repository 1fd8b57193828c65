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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.geo import LocalFrame
from sim.auto import MissionExecutor
from sim.battery import Battery
from sim.fence import FENCE_TYPE_ALT_MIN, FenceGeometry, breach_text, breaches
from sim.mission_store import ItemLists, home_item
from sim.params import ParameterStore
from sim.settings import SimSettings

GRAVITY = 9.80665
SEVERITY_CRITICAL = mavlink.MAV_SEVERITY_CRITICAL
SEVERITY_WARNING = mavlink.MAV_SEVERITY_WARNING
SEVERITY_NOTICE = mavlink.MAV_SEVERITY_NOTICE
SEVERITY_INFO = mavlink.MAV_SEVERITY_INFO

RESULT_ACCEPTED = mavlink.MAV_RESULT_ACCEPTED
RESULT_FAILED = mavlink.MAV_RESULT_FAILED
RESULT_DENIED = mavlink.MAV_RESULT_DENIED

FORCE_MAGIC = (2989.0, 21196.0)
"""COMPONENT_ARM_DISARM param2 values that skip the checks (ArduPilot)."""

LAND_DETECT_S = 1.0
"""Seconds on the ground before the landing detector reports land complete (LAND_DETECTOR_TRIGGER_SEC)."""


BOOT_TEXTS = (
    (0.0, "Calibrating barometer"),
    (0.02, "Barometer 1 calibration complete"),
    (0.02, "Barometer 2 calibration complete"),
    (0.03, "ArduPilot Ready"),
    (0.05, "EKF3 IMU0 initialised"),
    (0.05, "EKF3 IMU1 initialised"),
    (0.08, "EKF3 IMU0 tilt alignment complete"),
    (0.08, "EKF3 IMU1 tilt alignment complete"),
    (0.10, "EKF3 IMU0 MAG0 initial yaw alignment complete"),
    (0.10, "EKF3 IMU1 MAG0 initial yaw alignment complete"),
    (0.24, "GPS 1: detected u-blox"),
    (0.48, "EKF3 IMU0 origin set"),
    (0.48, "EKF3 IMU1 origin set"),
    (0.96, "EKF3 IMU0 is using GPS"),
    (0.96, "EKF3 IMU1 is using GPS"),
)
"""Boot STATUSTEXTs as (share of ``ready_delay_s``, text): barometer calibration, "ArduPilot
Ready", EKF3 alignment, GPS detection, origin set, "EKF3 IMU0 is using GPS" (ArduCopter SITL 4.7
sends 14 such texts; the times are its measured ones scaled to the ready delay)."""


class Mode(IntEnum):
    """ArduCopter flight modes (HEARTBEAT.custom_mode)."""

    STABILIZE = 0
    ACRO = 1
    ALT_HOLD = 2
    AUTO = 3
    GUIDED = 4
    LOITER = 5
    RTL = 6
    CIRCLE = 7
    LAND = 9
    DRIFT = 11
    SPORT = 13
    FLIP = 14
    AUTOTUNE = 15
    POSHOLD = 16
    BRAKE = 17
    THROW = 18
    AVOID_ADSB = 19
    GUIDED_NOGPS = 20
    SMART_RTL = 21


SIMULATED_MODES = frozenset(
    {
        Mode.STABILIZE,
        Mode.ALT_HOLD,
        Mode.AUTO,
        Mode.GUIDED,
        Mode.LOITER,
        Mode.RTL,
        Mode.LAND,
        Mode.POSHOLD,
        Mode.BRAKE,
    }
)
"""Modes the simulator flies; the other ArduCopter modes are refused with a STATUSTEXT."""

NOT_ARMABLE = frozenset({Mode.AUTO, Mode.RTL, Mode.LAND, Mode.BRAKE, Mode.SMART_RTL, Mode.CIRCLE})
USER_TAKEOFF_MODES = frozenset({Mode.GUIDED, Mode.LOITER, Mode.ALT_HOLD, Mode.POSHOLD})
GUIDED_LIKE = frozenset({Mode.GUIDED})


@dataclass
class Event:
    """Something the endpoint must tell the ground station.

    Attributes:
        kind: ``"text"`` (severity, text), ``"reached"`` (seq), ``"current"`` (mission current
            changed), ``"home"`` (home changed).
        severity: MAV_SEVERITY for texts.
        text: STATUSTEXT text.
        seq: Mission sequence number for ``"reached"``.
    """

    kind: str
    severity: int = 6
    text: str = ""
    seq: int = 0


class RtlState(IntEnum):
    """Stages of ArduCopter's RTL (mode_rtl.cpp)."""

    CLIMB = 0
    RETURN = 1
    LOITER = 2
    FINAL = 3
    LAND = 4


def sqrt_controller(error: float, k: float, accel: float) -> float:
    """Desired speed toward a target ``error`` metres away (AC_PosControl's sqrt controller).

    Linear (``k * error``) close to the target and ``sqrt(2 * accel * d)`` farther out, so that
    the vehicle can always stop within its acceleration limit.
    """
    if accel <= 0 or k <= 0:
        return error * k
    linear_dist = accel / (k * k)
    d = abs(error)
    if d > linear_dist:
        v = math.sqrt(2.0 * accel * (d - linear_dist / 2.0))
    else:
        v = d * k
    return math.copysign(v, error)


class Vehicle:
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

    # ------------------------------------------------------------------ navigation primitives
    def stopping_point(self, accel: float | None = None) -> tuple[float, float]:
        """Where the vehicle stops if it brakes now at the horizontal acceleration limit."""
        a = accel or max(0.5, self.params["WPNAV_ACCEL"] / 100.0)
        v = self.groundspeed
        if v < 1e-3:
            return self.x, self.y
        d = v * v / (2.0 * a)
        return self.x + self.vx / v * d, self.y + self.vy / v * d

    def nav_hold(self) -> None:
        """Hold position at the stopping point and the current altitude (loiter)."""
        self._landing = False
        self._vel_target = None
        if self.landed:
            self._target_xy = None
            self._target_z = None
            return
        accel = 7.5 if self._brake else None
        self._target_xy = self.stopping_point(accel)
        self._target_z = self.z

    def nav_goto(self, x: float, y: float, z: float) -> None:
        """Fly to a local position (x, y metres, z height above the origin ground)."""
        self._landing = False
        self._vel_target = None
        self._target_xy = (x, y)
        self._target_z = z

    def nav_velocity(self, ve: float, vn: float, vu: float) -> None:
        """Fly at a velocity (east, north, up m/s) for GUID_TIMEOUT seconds."""
        self._landing = False
        self._vel_target = (ve, vn, vu)
        self._vel_target_t = self.t

    def nav_land(self, xy: tuple[float, float] | None) -> None:
        """Descend and land at ``xy`` (or where the vehicle stops)."""
        self._vel_target = None
        self._landing = True
        self._target_xy = xy if xy is not None else self.stopping_point()
        self._target_z = None

    def nav_takeoff(self, z: float) -> None:
        """Climb vertically to height ``z`` above the origin ground."""
        self._landing = False
        self._vel_target = None
        self._target_xy = (self.x, self.y)
        self._target_z = z
        self._takeoff_alt = z

    def z_of_alt(self, alt_m: float, frame: int) -> float:
        """Height above the origin ground for an item altitude in a MAV_FRAME."""
        if frame in (0, 5, 2):
            return alt_m - self.origin_alt_m
        home_alt = self.home[2] if self.home else self.origin_alt_m
        return alt_m + home_alt - self.origin_alt_m

    def reached_target(self) -> bool:
        """True within WPNAV_RADIUS (3D) of the navigation target."""
        if self._target_xy is None:
            return False
        radius = max(0.05, self.params["WPNAV_RADIUS"] / 100.0)
        dx, dy = self._target_xy[0] - self.x, self._target_xy[1] - self.y
        dz = 0.0 if self._target_z is None else self._target_z - self.z
        return dx * dx + dy * dy + dz * dz <= radius * radius

    def distance_to_target(self) -> float:
        """Horizontal distance to the navigation target, m (0 without one)."""
        if self._target_xy is None:
            return 0.0
        return math.hypot(self._target_xy[0] - self.x, self._target_xy[1] - self.y)

    def set_yaw_target(self, heading_deg: float | None, rate_dps: float = 0.0) -> None:
        """Hold a fixed heading (CONDITION_YAW) or release it (None)."""
        self._yaw_target = None if heading_deg is None else heading_deg % 360.0
        self._yaw_rate_limit = rate_dps if rate_dps > 0 else 90.0

    def yaw_error_deg(self) -> float:
        """Absolute heading error to the yaw target, degrees (0 without one)."""
        if self._yaw_target is None:
            return 0.0
        return abs((self._yaw_target - self.yaw_deg + 180.0) % 360.0 - 180.0)

    def change_speed(self, speed_type: int, speed_m_s: float) -> bool:
        """MAV_CMD_DO_CHANGE_SPEED: 2 = climb, 3 = descent, otherwise horizontal (copter)."""
        if speed_m_s <= 0:
            return True
        if speed_type == 2:
            self._speed_up_override = speed_m_s
        elif speed_type == 3:
            self._speed_dn_override = speed_m_s
        else:
            self._speed_xy_override = speed_m_s
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

    # ------------------------------------------------------------------ failsafes
    def gcs_heartbeat(self, sysid: int) -> None:
        """Record a HEARTBEAT from a ground station (only MAV_GCS_SYSID counts, as on ArduPilot)."""
        if sysid != int(self.params["MAV_GCS_SYSID"]):
            return
        self._gcs_last_hb = self.t
        if self._gcs_failsafe:
            self._gcs_failsafe = False
            self.text(SEVERITY_CRITICAL, "GCS Failsafe Cleared")

    def _failsafe_action(self, action: int, land_actions: tuple[int, ...], name: str) -> None:
        if not self.armed:
            return
        if self.land_complete:
            self._disarm()
            return
        if action in land_actions:
            if self.mode != Mode.LAND:
                self.set_mode(Mode.LAND, gcs=False)
        elif (
            action != 0
            and self.mode not in (Mode.RTL, Mode.LAND)
            and not self.set_mode(Mode.RTL, gcs=False)
        ):
            self.set_mode(Mode.LAND, gcs=False)
        del name

    def _check_gcs_failsafe(self) -> None:
        enable = int(self.params["FS_GCS_ENABLE"])
        if enable == 0 or self._gcs_last_hb is None or self._gcs_failsafe or not self.armed:
            return
        if self.t - self._gcs_last_hb <= self.params["FS_GCS_TIMEOUT"]:
            return
        self._gcs_failsafe = True
        self.text(SEVERITY_CRITICAL, "GCS Failsafe")
        if enable == 2 and self.mode == Mode.AUTO:
            return
        if self.land_complete:
            self._disarm()
            return
        if (
            enable == 5
            or self.mode not in (Mode.RTL, Mode.LAND)
            and not self.set_mode(Mode.RTL, gcs=False)
        ):
            self.set_mode(Mode.LAND, gcs=False)

    def swap_battery(self) -> bool:
        """Put a fully charged battery in, as an operator does between sorties.

        Only possible on the ground and disarmed (a real swap powers the autopilot down; the
        battery failsafe state is reset as on a fresh boot).

        Returns:
            True when swapped, False when the vehicle is armed or airborne.
        """
        if self.armed or self.airborne:
            return False
        self.battery.recharge()
        self._batt_level = 0
        self._batt_low_since = None
        self._batt_crt_since = None
        self.text(SEVERITY_INFO, "Battery 1 replaced")
        return True

    def _check_battery(self) -> None:
        b = self.battery
        p = self.params
        low_v, crt_v = p["BATT_LOW_VOLT"], p["BATT_CRT_VOLT"]
        low_mah, crt_mah = p["BATT_LOW_MAH"], p["BATT_CRT_MAH"]
        timer = p["BATT_LOW_TIMER"]
        level = 0
        if crt_v > 0 and b.voltage_v < crt_v:
            self._batt_crt_since = (
                self._batt_crt_since if self._batt_crt_since is not None else self.t
            )
        else:
            self._batt_crt_since = None
        if low_v > 0 and b.voltage_v < low_v:
            self._batt_low_since = (
                self._batt_low_since if self._batt_low_since is not None else self.t
            )
        else:
            self._batt_low_since = None
        if (self._batt_crt_since is not None and self.t - self._batt_crt_since >= timer) or (
            crt_mah > 0 and b.remaining_mah < crt_mah
        ):
            level = 2
        elif (self._batt_low_since is not None and self.t - self._batt_low_since >= timer) or (
            low_mah > 0 and b.remaining_mah < low_mah
        ):
            level = 1
        if level <= self._batt_level:
            return
        self._batt_level = level
        word = "critical" if level == 2 else "low"
        self.text(
            SEVERITY_CRITICAL,
            f"Battery 1 is {word} {b.voltage_v:.2f}V used {b.consumed_mah:.0f} mAh",
        )
        action = int(p["BATT_FS_CRT_ACT"] if level == 2 else p["BATT_FS_LOW_ACT"])
        if action:
            self._failsafe_action(action, (1, 4, 5), "battery")

    @property
    def fence_enabled(self) -> bool:
        """FENCE_ENABLE (MAV_CMD_DO_FENCE_ENABLE writes it too)."""
        return self.params["FENCE_ENABLE"] >= 1

    def enable_fence(self, enabled: bool) -> None:
        """MAV_CMD_DO_FENCE_ENABLE."""
        self.params.set("FENCE_ENABLE", 1.0 if enabled else 0.0)

    def fence_changed(self) -> None:
        """Rebuild the fence geometry after an upload or clear."""
        self._fence_geometry = FenceGeometry(self.lists.fence, self.frame)

    @property
    def fence_breaches(self) -> int:
        """FENCE_TYPE bits breached now (0 = inside or fence disabled)."""
        return self._fence_breaches

    def _current_breaches(self) -> int:
        if self.home is None:
            return 0
        p = self.params
        return breaches(
            self._fence_geometry,
            int(p["FENCE_TYPE"]),
            self.x,
            self.y,
            self.relative_alt_m,
            self.home_xy,
            p["FENCE_RADIUS"],
            p["FENCE_ALT_MAX"],
            p["FENCE_ALT_MIN"] if self.airborne else -1e9,
        )

    def _check_fence(self) -> None:
        if not self.fence_enabled or self.home is None:
            self._fence_breaches = 0
            return
        now = self._current_breaches()
        new = now & ~self._fence_breaches
        if not now and self._fence_breaches and not self.land_complete:
            self.text(SEVERITY_NOTICE, "Fence breach cleared")
        self._fence_breaches = now
        if not new or not self.armed:
            return
        self.fence_breach_count += 1
        self.fence_breach_t = self.t
        if not self.land_complete:
            # AC_Fence 4.7 names each breached type: "Circle fence breached" (measured)
            for name in breach_text(new).split(", "):
                self.text(SEVERITY_CRITICAL, f"{name} fence breached")
        action = int(self.params["FENCE_ACTION"])
        if action == 0:
            return
        if self.land_complete:
            self._disarm()
            return
        if action == 2:
            self.set_mode(Mode.LAND, gcs=False)
        elif action == 4:
            if not self.set_mode(Mode.BRAKE, gcs=False):
                self.set_mode(Mode.LAND, gcs=False)
        elif self.mode not in (Mode.RTL, Mode.LAND) and not self.set_mode(Mode.RTL, gcs=False):
            self.set_mode(Mode.LAND, gcs=False)

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

    def _climb_wanted(self) -> bool:
        if self._vel_target is not None:
            return self._vel_target[2] > 0
        return self._target_z is not None and self._target_z > self.z + 0.05

    def _desired_velocity(self) -> tuple[float, float, float]:
        if self._vel_target is not None:
            ve, vn, vu = self._vel_target
            return ve, vn, max(-self.speed_dn, min(self.speed_up, vu))
        accel_xy = 7.5 if self._brake else max(0.5, self.params["WPNAV_ACCEL"] / 100.0)
        ve = vn = 0.0
        if self._target_xy is not None:
            dx, dy = self._target_xy[0] - self.x, self._target_xy[1] - self.y
            dist = math.hypot(dx, dy)
            if dist > 1e-6:
                speed = min(self.wp_speed, sqrt_controller(dist, 1.0, accel_xy))
                ve, vn = dx / dist * speed, dy / dist * speed
        if self._landing:
            alt_rel = self.relative_alt_m
            if alt_rel > self.params["LAND_ALT_LOW"] / 100.0:
                high = self.params["LAND_SPEED_HIGH"] / 100.0
                vu = -(high if high > 0 else self.speed_dn)
            else:
                vu = -abs(self.params["LAND_SPEED"] / 100.0)
            # do not descend while still far from the landing point (ArduCopter repositions first)
            if self._target_xy is not None and self.distance_to_target() > 2.0:
                vu = 0.0
        elif self._target_z is not None:
            accel_z = max(0.2, self.params["WPNAV_ACCEL_Z"] / 100.0)
            vu = sqrt_controller(self._target_z - self.z, 1.5, accel_z * 2.5)
            vu = max(-self.speed_dn, min(self.speed_up, vu))
        else:
            vu = 0.0
        return ve, vn, vu

    def _physics(self, dt: float) -> None:
        if not self.armed:
            if self.landed:
                self.vx = self.vy = self.vz = 0.0
                self._ground_time += dt
                self._attitude(0.0, 0.0, dt)
                return
            # disarmed in the air: free fall until the ground
            self.vz -= GRAVITY * dt
            self.z += self.vz * dt
            self.x += self.vx * dt
            self.y += self.vy * dt
            if self.z <= 0.0:
                self._touchdown()
            return
        ve, vn, vu = self._desired_velocity()
        if self.landed and vu <= 0.05:
            self.vx = self.vy = self.vz = 0.0
            self._ground_time += dt
            self._attitude(0.0, 0.0, dt)
            self._update_yaw(dt, moving=False)
            return
        accel_xy = 7.5 if self._brake else max(0.5, self.params["WPNAV_ACCEL"] / 100.0)
        accel_z = max(0.5, self.params["WPNAV_ACCEL_Z"] / 100.0) * 2.5
        dvx, dvy = ve - self.vx, vn - self.vy
        dv = math.hypot(dvx, dvy)
        max_dv = accel_xy * dt
        if dv > max_dv:
            dvx, dvy = dvx / dv * max_dv, dvy / dv * max_dv
        dvz = max(-accel_z * dt, min(accel_z * dt, vu - self.vz))
        ax, ay = dvx / dt, dvy / dt
        self.vx += dvx
        self.vy += dvy
        self.vz += dvz
        self.x += self.vx * dt
        self.y += self.vy * dt
        self.z += self.vz * dt
        if self.landed and self.z > 0.0:
            self.landed = False
            self._ground_time = 0.0
        if self.z <= 0.0 and self.vz <= 0.0:
            self._touchdown()
            ax = ay = 0.0
        self._attitude(ax, ay, dt)
        self._update_yaw(dt, moving=True)

    def _touchdown(self) -> None:
        self.z = 0.0
        self.vx = self.vy = self.vz = 0.0
        if not self.landed:
            self.landed = True
            self._ground_time = 0.0

    def _attitude(self, ax: float, ay: float, dt: float) -> None:
        # tilt = acceleration plus the drag the rotors must overcome (about 1.5 m/s^2 at 10 m/s)
        drag = 0.15
        tx, ty = ax + drag * self.vx, ay + drag * self.vy
        alpha = min(1.0, dt / 0.2)
        self._ax_f += (tx - self._ax_f) * alpha
        self._ay_f += (ty - self._ay_f) * alpha
        yaw = math.radians(self.yaw_deg)
        fwd = self._ax_f * math.sin(yaw) + self._ay_f * math.cos(yaw)
        right = self._ax_f * math.cos(yaw) - self._ay_f * math.sin(yaw)
        self.pitch_deg = -math.degrees(math.atan2(fwd, GRAVITY))
        self.roll_deg = math.degrees(math.atan2(right, GRAVITY))

    def _update_yaw(self, dt: float, moving: bool) -> None:
        desired = self._yaw_target
        if desired is None and moving:
            behaviour = int(self.params["WP_YAW_BEHAVIOR"])
            in_rtl = self.mode == Mode.RTL or (self.mode == Mode.AUTO and self.mission.in_rtl)
            if behaviour != 0 and not (behaviour == 2 and in_rtl):
                if self._target_xy is not None and self.distance_to_target() > 2.0:
                    dx, dy = self._target_xy[0] - self.x, self._target_xy[1] - self.y
                    desired = math.degrees(math.atan2(dx, dy)) % 360.0
                elif self.groundspeed > 1.0:
                    desired = math.degrees(math.atan2(self.vx, self.vy)) % 360.0
        if desired is None:
            self.yaw_rate_dps = 0.0
            return
        err = (desired - self.yaw_deg + 180.0) % 360.0 - 180.0
        step = max(-self._yaw_rate_limit * dt, min(self._yaw_rate_limit * dt, err))
        self.yaw_deg = (self.yaw_deg + step) % 360.0
        self.yaw_rate_dps = step / dt if dt > 0 else 0.0

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
