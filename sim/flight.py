"""Flight of the simulated multicopter: navigation targets and the point-mass dynamics.

:class:`FlightMixin` is one part of :class:`sim.vehicle.Vehicle` (which owns every attribute
used here, set up in ``Vehicle.__init__``):

* navigation primitives the modes and the mission executor call: hold, go to, fly at a velocity,
  land, take off, yaw target, DO_CHANGE_SPEED;
* the dynamics each step: a position controller with the square-root braking profile of
  ArduPilot's ``AC_PosControl`` (:func:`sqrt_controller`), velocity and acceleration limits from
  WPNAV_* and LAND_* parameters, touchdown, attitude from acceleration plus drag, and yaw that turns
  toward the direction of travel (WP_YAW_BEHAVIOR).

Units: metres, m/s, m/s², degrees; x east, y north, z up from the origin ground. Simulated time,
no I/O, not thread-safe (the simulator thread owns the vehicle).
"""

from __future__ import annotations

import math

from sim.copter import Mode

GRAVITY = 9.80665


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


class FlightMixin:
    """Navigation primitives and dynamics of :class:`sim.vehicle.Vehicle` (see the module)."""

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

    # ------------------------------------------------------------------ dynamics
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
