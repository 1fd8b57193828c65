"""Failsafes of the simulated multicopter: GCS heartbeat loss, battery low/critical, geofence.

:class:`FailsafeMixin` is one part of :class:`sim.vehicle.Vehicle` (which owns every attribute
used here, set up in ``Vehicle.__init__``, and calls the ``_check_*`` methods each step). Behaviour
follows ArduCopter 4.7 (``events.cpp``, ``fence.cpp``, ``AP_BattMonitor``): the actions are chosen
by FS_GCS_ENABLE / FS_GCS_TIMEOUT, BATT_LOW_VOLT / BATT_CRT_VOLT / BATT_LOW_MAH / BATT_CRT_MAH /
BATT_LOW_TIMER with BATT_FS_LOW_ACT / BATT_FS_CRT_ACT, and FENCE_ENABLE / FENCE_TYPE /
FENCE_ACTION; each announces itself with ArduCopter's STATUSTEXT ("GCS Failsafe", "Battery 1 is
low ...", "Circle fence breached"). Simulated time, no I/O.
"""

from __future__ import annotations

from sim.copter import SEVERITY_CRITICAL, SEVERITY_INFO, SEVERITY_NOTICE, Mode
from sim.fence import FenceGeometry, breach_text, breaches


class FailsafeMixin:
    """GCS, battery and fence failsafes of :class:`sim.vehicle.Vehicle` (see the module)."""

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
