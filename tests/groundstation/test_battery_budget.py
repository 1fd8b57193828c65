"""Sorties planned from the vehicle's real battery (issue 13): BATT_CAPACITY read over MAVLink
from the simulator, the ``battery`` pre-flight check of ``dronepatrol fly``, and the measured
consumption after a sortie."""

from __future__ import annotations

import pytest
from _transfer_samples import survey_mission
from testkit import run_cli

from groundstation.battery_budget import (
    PackEndurance,
    SortieConsumption,
    mission_flight_time_s,
    read_pack,
    sortie_findings,
)
from groundstation.link import Link
from groundstation.vehicle import Vehicle
from missions.formats import write_wpl
from missions.settings import SortieSettings
from sim.settings import BatterySettings, SimSettings

HOME = (41.79, 123.43, 50.0)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("capacity", "expected_min"), [(3300.0, 6.6), (0.0, None)])
def test_the_pack_is_read_from_the_vehicles_batt_capacity(sim_factory, capacity, expected_min):
    sim = sim_factory(settings=SimSettings(ready_delay_s=2), speedup=20)
    with Link.connect(sim.url, timeout_s=30) as link:
        vehicle = Vehicle(link, request_telemetry=False)
        vehicle.set_param("BATT_CAPACITY", capacity)
        pack = read_pack(vehicle, current_a=30.0)
        unknown_current = read_pack(vehicle, current_a=None)
        vehicle.close()
    assert unknown_current is None  # no current, no endurance: the config stands
    if expected_min is None:
        assert pack is None  # ArduPilot's 0 = capacity not set
    else:
        assert pack.capacity_mah == capacity
        assert pack.endurance_min == pytest.approx(expected_min)
        assert "BATT_CAPACITY 3300 mAh at 30 A lasts 6.6 min" in pack.describe()


def test_a_sortie_longer_than_the_pack_minus_reserve_is_found():
    pack = PackEndurance(capacity_mah=3300.0, current_a=30.0)  # 6.6 min, 4.95 after 25 %
    assert sortie_findings([200.0, 290.0], pack, 25.0) == []
    [finding] = sortie_findings([200.0, 310.0, 900.0], pack, 25.0)
    assert finding.check == "battery"
    assert finding.message.startswith("sortie 2 needs about 5.2 min")
    assert "5.0 min after the 25 % reserve" in finding.message


def test_the_mission_time_matches_the_planners_own_estimate():
    """A planned sortie timed from its mission items alone comes out as the planner timed it."""
    from groundstation.config import load_config
    from missions.planner import plan_from_config

    cfg = load_config("configs/demo.yaml")
    plan = plan_from_config(cfg)
    for s in plan.sorties:
        est = mission_flight_time_s(s.items, plan.home, cfg.sorties, cfg.survey.speed_m_s)
        assert est == pytest.approx(s.flight_time_s, rel=0.05)


def test_measured_consumption_predicts_the_pack_and_warns_about_the_next_sortie():
    used = SortieConsumption(start_pct=100.0, end_pct=60.0, flight_s=240.0)
    assert used.full_pack_min == pytest.approx(10.0)  # 40 % in 4 min
    ok = used.advice(next_flight_s=6 * 60.0, reserve_pct=25.0)
    assert ok == "battery 100 -> 60 % in 4.0 min: a full pack lasts about 10.0 min at this rate"
    warn = used.advice(next_flight_s=8 * 60.0, reserve_pct=25.0)
    assert "WARNING: the next sortie's 8.0 min exceeds the 7.5 min" in warn
    assert SortieConsumption(100.0, 99.5, 240.0).full_pack_min is None  # too little to tell


@pytest.mark.timeout(300)
def test_fly_refuses_a_sortie_the_vehicles_pack_cannot_fly_and_uploads_nothing(
    sim_factory, tmp_path
):
    battery = BatterySettings(capacity_mah=300.0)
    sim = sim_factory(settings=SimSettings(ready_delay_s=2, battery=battery), speedup=20, home=HOME)
    path = write_wpl(survey_mission(8, alt_m=20.0), tmp_path / "m.waypoints")
    with sim.lock:
        before = sim.vehicle.lists.mission_count
    # 300 mAh at 30 A: 0.6 min, 0.45 min after the reserve; the survey takes longer
    r = run_cli(
        "fly", str(path), "--connect", sim.url, "--set", "sorties.flight_current_a=30",
        timeout=120,
    )  # fmt: skip
    assert r.returncode != 0, r.stdout
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "pre-flight check battery" in err[0], r.stderr
    assert "BATT_CAPACITY 300 mAh at 30 A lasts 0.6 min" in err[0]
    assert "--force-unsafe battery" in err[0]
    with sim.lock:
        assert sim.vehicle.lists.mission_count == before
        assert not sim.vehicle.armed


def test_sortie_settings_refuse_a_non_positive_current():
    with pytest.raises(ValueError, match="flight_current_a"):
        SortieSettings(flight_current_a=0)
