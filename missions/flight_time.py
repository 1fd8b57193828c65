"""Flight-time model of an ArduCopter AUTO mission (take-off, route, RTL, landing).

* Take-off: vertical climb to the NAV_TAKEOFF altitude at ``climb_m_s`` (WPNAV_SPEED_UP), then to
  the survey altitude if higher.
* Route: horizontal length at the DO_CHANGE_SPEED speed; at each vertex the vehicle slows down to
  turn. A turn of 60 degrees or more is modelled as a full stop, costing ``speed / accel`` seconds
  (deceleration and re-acceleration at WPNAV_ACCEL instead of cruising); smaller turns cost a
  proportional share. Leaving and reaching home cost half a stop each.
* RTL (ArduCopter mode RTL): the vehicle keeps its altitude (above RTL_ALT), flies home, loiters
  RTL_LOIT_TIME (5 s default), then lands: WPNAV_SPEED_DN (``descent_m_s``) down to LAND_ALT_LOW
  (10 m), LAND_SPEED (0.5 m/s) below it.

Sources: ArduCopter parameter defaults (WPNAV_SPEED_UP 250 cm/s, WPNAV_SPEED_DN 150 cm/s,
WPNAV_ACCEL 250 cm/s/s, RTL_LOIT_TIME 5000 ms, LAND_ALT_LOW 1000 cm, LAND_SPEED 50 cm/s),
https://ardupilot.org/copter/docs/parameters.html.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RTL_LOITER_S = 5.0
"""ArduCopter RTL_LOIT_TIME default, seconds."""
LAND_ALT_LOW_M = 10.0
"""ArduCopter LAND_ALT_LOW default, metres: below it the final descent is slow."""
LAND_SPEED_M_S = 0.5
"""ArduCopter LAND_SPEED default, m/s."""
FULL_STOP_TURN_DEG = 60.0
"""Turns at least this sharp are timed as a full stop."""


@dataclass(frozen=True)
class FlightModel:
    """Speeds and rates used to time a sortie.

    Attributes:
        speed_m_s: Horizontal cruise speed (DO_CHANGE_SPEED), m/s.
        alt_m: Survey altitude above home, metres.
        takeoff_alt_m: NAV_TAKEOFF altitude, metres.
        climb_m_s: Climb rate, m/s.
        descent_m_s: Descent rate above LAND_ALT_LOW, m/s.
        accel_m_s2: Horizontal acceleration, m/s/s.
    """

    speed_m_s: float
    alt_m: float
    takeoff_alt_m: float
    climb_m_s: float = 2.5
    descent_m_s: float = 1.5
    accel_m_s2: float = 2.5

    @property
    def fixed_s(self) -> float:
        """Time that does not depend on the route: climb, RTL loiter and landing, seconds."""
        climb = max(self.takeoff_alt_m, self.alt_m) / self.climb_m_s
        high = max(self.alt_m - LAND_ALT_LOW_M, 0.0) / self.descent_m_s
        low = min(self.alt_m, LAND_ALT_LOW_M) / LAND_SPEED_M_S
        return climb + RTL_LOITER_S + high + low

    def route_s(self, path_xy) -> float:
        """Horizontal flight time along a polyline home→...→home, seconds (see module notes)."""
        p = np.asarray(path_xy, float).reshape(-1, 2)
        if len(p) < 2:
            return 0.0
        d = np.diff(p, axis=0)
        seg = np.hypot(d[:, 0], d[:, 1])
        keep = seg > 1e-9
        d, seg = d[keep], seg[keep]
        if len(seg) == 0:
            return 0.0
        stop_s = self.speed_m_s / self.accel_m_s2
        t = float(seg.sum()) / self.speed_m_s + stop_s  # half a stop leaving, half arriving
        if len(seg) > 1:
            u = d / seg[:, None]
            cosang = np.clip((u[:-1] * u[1:]).sum(axis=1), -1.0, 1.0)
            ang = np.degrees(np.arccos(cosang))
            t += float(np.minimum(ang / FULL_STOP_TURN_DEG, 1.0).sum()) * stop_s
        return t

    def sortie_s(self, path_xy) -> float:
        """Total time of a sortie flying ``path_xy`` (home→...→home), seconds."""
        return self.fixed_s + self.route_s(path_xy)
