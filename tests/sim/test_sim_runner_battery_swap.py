"""Battery swap between sorties (SimHandle.swap_battery)."""

from __future__ import annotations

from sim import start_sim


def test_swap_battery_only_on_the_ground_and_resets_charge():
    with start_sim(port=0, speedup=10) as sim:
        sim.wait_ready(30)
        with sim.lock:
            sim.vehicle.battery.consumed_mah = sim.vehicle.battery.capacity_mah * 0.9
            sim.vehicle._batt_level = 1
        assert sim.vehicle.battery.remaining < 0.2
        assert sim.swap_battery() is True
        assert sim.vehicle.battery.remaining == 1.0
        assert sim.vehicle._batt_level == 0
        with sim.lock:
            sim.vehicle.armed = True
        assert sim.swap_battery() is False
