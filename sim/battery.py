"""Flight battery model: coulomb counting with a LiPo open-circuit voltage curve and sag."""

from __future__ import annotations

import bisect

from sim.settings import SITL_VOLTAGE_V, BatterySettings

# Open-circuit voltage of one LiPo cell against state of charge (typical discharge curve).
_SOC = (0.0, 0.05, 0.10, 0.20, 0.40, 0.60, 0.80, 0.95, 1.0)
_CELL_V = (3.27, 3.50, 3.62, 3.70, 3.78, 3.85, 3.98, 4.12, 4.20)


def cell_voltage(soc: float) -> float:
    """Open-circuit voltage of one cell at state of charge ``soc`` (0..1), volts."""
    soc = min(1.0, max(0.0, soc))
    i = bisect.bisect_left(_SOC, soc)
    if i <= 0:
        return _CELL_V[0]
    s0, s1, v0, v1 = _SOC[i - 1], _SOC[i], _CELL_V[i - 1], _CELL_V[i]
    return v0 + (v1 - v0) * (soc - s0) / (s1 - s0)


class Battery:
    """A battery drained by the vehicle's current draw.

    Args:
        settings: Capacity, cell count, current model and internal resistance.

    Attributes:
        consumed_mah: Charge used since start, mAh.
        current_a: Present current, A.
        voltage_v: Present terminal voltage (open-circuit minus sag), V.
    """

    def __init__(self, settings: BatterySettings) -> None:
        self.settings = settings
        self.capacity_mah = settings.effective_capacity_mah
        self.consumed_mah = self.capacity_mah * (1.0 - settings.initial_remaining)
        self.current_a = self._ground_current(False)
        self.voltage_v = self._terminal_voltage()

    def recharge(self) -> None:
        """Replace the pack by a fully charged one (consumed charge back to zero)."""
        self.consumed_mah = 0.0
        self.current_a = self._ground_current(False)
        self.voltage_v = self._terminal_voltage()

    @property
    def remaining(self) -> float:
        """State of charge, 0..1."""
        return max(0.0, 1.0 - self.consumed_mah / self.capacity_mah)

    @property
    def remaining_mah(self) -> float:
        """Charge left, mAh."""
        return max(0.0, self.capacity_mah - self.consumed_mah)

    def _ground_current(self, armed: bool) -> float:
        if self.settings.model == "sitl":
            return 0.0  # SITL's model draws nothing on the ground
        return self.settings.idle_current_a + (1.0 if armed else 0.0)

    def _terminal_voltage(self) -> float:
        if self.settings.model == "sitl":
            return SITL_VOLTAGE_V
        ocv = cell_voltage(self.remaining) * self.settings.cells
        return max(0.0, ocv - self.current_a * self.settings.internal_resistance_ohm)

    def step(
        self, dt_s: float, armed: bool, airborne: bool, speed_m_s: float, climb_m_s: float
    ) -> None:
        """Drain the battery for ``dt_s`` seconds of simulated time.

        Args:
            dt_s: Time step, s.
            armed: Motors armed (adds idle motor current on the ground).
            airborne: In flight (hover current applies).
            speed_m_s: Ground speed, m/s.
            climb_m_s: Climb rate (positive up), m/s.
        """
        s = self.settings
        if airborne:
            current = (
                s.effective_hover_current_a
                + s.speed_current_a_per_m2s2 * speed_m_s * speed_m_s
                + s.climb_current_a_per_m_s * max(0.0, climb_m_s)
            )
        else:
            current = self._ground_current(armed)
        self.current_a = current
        self.consumed_mah += current * dt_s / 3.6
        self.voltage_v = self._terminal_voltage()
