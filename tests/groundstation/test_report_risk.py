"""The report (and replay) with a five-colour risk map recorded beside the plan: alerts per
class, the layer."""

from __future__ import annotations

import json
import re

from shapely.geometry import Point, mapping

from groundstation.report import build_report, render_html
from groundstation.report.testing import write_synthetic_recording
from missions.geo import LocalFrame
from missions.shapes import local_to_geo


def _square_around(lat, lon, half_m=15.0):
    frame = LocalFrame(lat, lon)
    return mapping(local_to_geo(Point(0, 0).buffer(half_m, cap_style="square"), frame))


def test_report_counts_alerts_per_risk_class_and_draws_the_layer(tmp_path):
    rec = write_synthetic_recording(tmp_path, t0=1_795_000_000.0)
    alerts = [json.loads(x) for x in (rec / "alerts.jsonl").read_text().splitlines()]
    placed = [a for a in alerts if a.get("lat_deg") is not None]
    assert len(placed) >= 2
    first, second = placed[0], placed[1]
    assert first.get("risk") is None  # recorded before the map: the report classifies them
    layer = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "R1", "properties": {"risk": "红"},
         "geometry": _square_around(first["lat_deg"], first["lon_deg"])},
        {"type": "Feature", "id": "G1", "properties": {"kind": "gate", "name": "gate"},
         "geometry": {"type": "Point", "coordinates": [first["lon_deg"], first["lat_deg"]]}},
    ]}  # fmt: skip
    if abs(second["lat_deg"] - first["lat_deg"]) + abs(second["lon_deg"] - first["lon_deg"]) > 3e-4:
        layer["features"].append(
            {"type": "Feature", "id": "Y1", "properties": {"risk": "yellow"},
             "geometry": _square_around(second["lat_deg"], second["lon_deg"])}
        )  # fmt: skip
    (rec / "plan" / "risk.geojson").write_text(json.dumps(layer), encoding="utf-8")
    report = build_report(rec)
    by_risk = report.summary["alerts"]["by_risk"]
    assert list(by_risk) == ["red", "orange", "yellow", "green", "white", "unmapped"]
    assert sum(by_risk.values()) == len(alerts)
    got = {a.id: a.risk for a in report.input.alerts}
    assert got[first["id"]] == "red"
    if len(layer["features"]) == 3:
        assert got[second["id"]] == "yellow"
    assert by_risk["red"] == sum(1 for r in got.values() if r == "red") >= 1
    page = render_html(report)
    table = re.search(r'<table id="alerts-by-risk">.*?</table>', page, re.S).group(0)
    assert re.search(rf'data-risk="red"><td>red 红</td><td class="num">{by_risk["red"]}<', table)
    assert page.count("data:image/png;base64,") == 3  # map (with the layer), heat map, timeline
    # the replay's live page gets the same layer
    from groundstation.recording import Recording
    from groundstation.replay import _map_layers

    shown = _map_layers(Recording.open(rec), rec)["risk"]
    assert sorted(f["id"] for f in shown["features"]) == sorted(f["id"] for f in layer["features"])


def test_report_without_a_risk_map_has_no_risk_counts(tmp_path):
    rec = write_synthetic_recording(tmp_path, t0=1_795_000_000.0)
    report = build_report(rec)
    assert "by_risk" not in report.summary["alerts"]
    assert 'id="alerts-by-risk"' not in render_html(report)
