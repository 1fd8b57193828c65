"""Shared by the in-process fleet flight tests: the demo fleet without detection, and vehicle 2
given a weak battery (30 %: battery_low at 20 % sends it home part-way through its part)."""

from __future__ import annotations

from testkit import REPO_ROOT

from groundstation.config import load_config
from groundstation.fleet import FleetPatrol


def demo_fleet_config(**overrides):
    """configs/demo-fleet.yaml without detection, reminders, overlay or video; ``overrides``
    are dotted config keys (``{"sim.speedup": 40}``)."""
    return load_config(
        REPO_ROOT / "configs" / "demo-fleet.yaml",
        {
            "detection.source": "none",
            "broadcast.enabled": False,
            "overlay.enabled": False,
            "recording.video": False,
            "sim.speedup": 20,
            **overrides,
        },
    )


def weak_second_battery(monkeypatch) -> None:
    """Vehicle 2 of every :class:`FleetPatrol` starts with a 30 % battery."""
    original = FleetPatrol._vehicle_configs

    def configs(self, n):
        out = original(self, n)
        sysid, c = out[1]
        battery = c.sim.battery.model_copy(update={"initial_remaining": 0.3})
        out[1] = (
            sysid,
            c.model_copy(update={"sim": c.sim.model_copy(update={"battery": battery})}),
        )
        return out

    monkeypatch.setattr(FleetPatrol, "_vehicle_configs", configs)
