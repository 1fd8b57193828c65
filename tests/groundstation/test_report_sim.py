"""Reports of a tlog written during a simulator flight, and of a truncated copy of it.

The flight is flown as an operator would: ``dronepatrol plan`` over a small district with a no-fly
hole, then ``dronepatrol fly --connect sim --tlog`` (the embedded simulator, sped up).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groundstation.report import build_report, render_html
from groundstation.report.testing import DEFAULT_HOME
from missions.geo import LocalFrame

pytestmark = pytest.mark.slow

SPEEDUP = "30"


def _district(path: Path) -> Path:
    """A 300 × 180 m block north-east of the sim's home with a 40 × 30 m no-fly hole."""
    f = LocalFrame(DEFAULT_HOME[0], DEFAULT_HOME[1])

    def ring(pts):
        out = []
        for x, y in pts:
            lat, lon = f.to_geo(x, y)
            out.append([round(float(lon), 8), round(float(lat), 8)])
        return out

    outer = ring([(60, 60), (360, 60), (360, 240), (60, 240), (60, 60)])
    hole = ring([(190, 130), (230, 130), (230, 160), (190, 160), (190, 130)])
    path.write_text(json.dumps({"type": "Polygon", "coordinates": [outer, hole]}))
    return path


@pytest.fixture(scope="module")
def flown(tmp_path_factory):
    """``(tlog, plan_dir, district)`` of one sim flight (shared by the tests of this module)."""
    from testkit import run_cli

    d = tmp_path_factory.mktemp("simflight")
    district = _district(d / "district.geojson")
    res = run_cli("plan", str(district), "--out", str(d / "plan"), timeout=300)
    assert res.returncode == 0, res.stderr
    tlog = d / "flight.tlog"
    res = run_cli(
        "fly",
        str(d / "plan"),
        "--connect",
        "sim",
        "--set",
        f"sim.speedup={SPEEDUP}",
        "--tlog",
        str(tlog),
        timeout=600,
    )
    assert res.returncode == 0, res.stderr + res.stdout
    return tlog, d / "plan", district


def test_sim_tlog_report(flown, tmp_path):
    tlog, plan, district = flown
    planned = json.loads((plan / "plan.json").read_text())["stats"]
    report = build_report(tlog, district=district)
    s = report.summary
    assert report.missing == []
    assert report.flight.vehicle_type == "copter"
    assert [m.mode for m in report.flight.modes][-1] == "AUTO"  # ArduCopter stays in AUTO, disarmed
    assert "AUTO" in s["modes"] and s["ended_armed"] is False
    # the vehicle flew the plan: coverage as planned, distance close to the route length
    assert s["coverage"]["survey_alt_m"] == planned["alt_m"]
    assert abs(s["coverage"]["coverage_pct"] - planned["coverage_pct"]) <= 2.0
    assert s["distance_m"] == pytest.approx(planned["route_length_m"], rel=0.1)
    assert s["battery"]["used_pct"] > 0
    # the sim ran sped up: the vehicle clock says so and gives the flight time in vehicle seconds
    assert s["vehicle_clock_ratio"] == pytest.approx(float(SPEEDUP), rel=0.15)
    assert s["vehicle_flight_time_s"] == pytest.approx(planned["flight_time_s"], rel=0.25)
    page = render_html(report)
    assert "Flight report" in page and page.count("data:image/png;base64,") == 2  # no gatherings


def test_truncated_sim_tlog_report(flown, tmp_path, cli):
    tlog, plan, district = flown
    data = tlog.read_bytes()
    cut = tmp_path / "cut.tlog"
    cut.write_bytes(data[: int(len(data) * 0.6) + 3])
    out = tmp_path / "cut.html"
    res = cli("report", str(cut), "--district", str(district), "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "warning: partial input:" in res.stderr
    page = out.read_text(encoding="utf-8")
    assert 'id="missing"' in page
    res = cli("report", str(cut), "--district", str(district), "--format", "json")
    doc = json.loads(res.stdout)
    full = build_report(tlog, district=district).summary
    assert doc["partial"] is True
    assert 0 < doc["summary"]["track_samples"] < full["track_samples"]
    assert doc["summary"]["coverage"]["coverage_pct"] < full["coverage"]["coverage_pct"]
