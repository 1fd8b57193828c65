"""A fleet in flight, in-process, without detection: a vehicle that fails or lands early leaves
its part reported as not covered while the other flies on; take-offs are staggered."""

from __future__ import annotations

import io

import pytest
from _fleet_runs import demo_fleet_config, weak_second_battery

from groundstation.fleet import FleetPatrol
from groundstation.patrol import Console
from groundstation.recording import Recording

pytestmark = pytest.mark.slow


def fleet(tmp_path, **overrides):
    out = io.StringIO()
    cfg = demo_fleet_config(**overrides)
    return FleetPatrol(cfg, record_dir=tmp_path, console=Console(out, tty=False)), out


def test_a_vehicle_that_lands_early_leaves_its_part_uncovered(tmp_path, monkeypatch):
    """Vehicle 2 starts with a 30 % battery: battery_low (20 %) sends it home mid-survey."""
    weak_second_battery(monkeypatch)
    patrol, out = fleet(tmp_path)
    summary = patrol.run()
    text = out.getvalue()
    one, two = summary.vehicles
    assert one.end_reason == "landed" and one.sorties_completed == 1 and not one.uncovered_sorties
    assert two.sorties_completed == 0 and two.uncovered_sorties == [1], text
    assert summary.end_reason == "incomplete"
    assert "NOT covered: sortie(s) 1" in summary.format()
    rec = Recording.open(summary.recording)
    assert rec.manifest["end_reason"] == "incomplete"
    uncovered = [e for e in rec.events() if e["kind"] == "part_uncovered"]
    assert [(e["vehicle"], e["sorties"]) for e in uncovered] == [(2, [1])]
    assert "battery_low" in [a.kind.value for a in rec.alerts()]


def test_a_vehicle_that_fails_to_connect_does_not_stop_the_other(tmp_path, monkeypatch):
    from groundstation.fleet_vehicle import VehiclePatrol
    from missions.errors import DronePatrolError

    original = VehiclePatrol._connect

    def failing(self):
        if self.sysid == 1:
            raise DronePatrolError("no heartbeat from the vehicle within 10 s")
        original(self)

    monkeypatch.setattr(VehiclePatrol, "_connect", failing)
    patrol, out = fleet(tmp_path, **{"fleet.stagger_s": 60.0})
    summary = patrol.run()
    one, two = summary.vehicles
    assert one.end_reason.startswith("error: no heartbeat") and one.uncovered_sorties == [1]
    # vehicle 2 did not wait for vehicle 1's take-off, which never came
    assert two.end_reason == "landed" and two.sorties_completed == 1, out.getvalue()
    assert "drone 1 failed: no heartbeat" in out.getvalue()
