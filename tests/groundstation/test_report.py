"""Flight reports from recordings, tlogs and DataFlash logs (``dronepatrol report``).

Inputs here are made by :mod:`groundstation.report.testing`: a synthetic lawnmower flight written
as real MAVLink 2 packets (tlog), as an ArduCopter-layout DataFlash log, and as a recording folder
written by the real :class:`~groundstation.recording.FlightRecorder`. Sim flights are in
``test_report_sim.py``; the recorded-patrol acceptance test is ``tests/e2e/test_analyst.py``.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from groundstation.report import build_report, load_dataflash, load_tlog, render_html, scan_tlog
from groundstation.report.coverage import flown_coverage
from groundstation.report.model import ArmChange, FlightLog, ModeChange, Track
from groundstation.report.testing import (
    DEFAULT_HOME,
    block_polygon_geo,
    synthetic_survey,
    write_dataflash_flight,
    write_synthetic_recording,
    write_tlog,
)
from missions.areas import load_area
from missions.camera import footprint
from missions.errors import InputError
from missions.geo import LocalFrame
from missions.settings import CameraSettings

T0 = 1_795_000_000.0


@pytest.fixture(scope="module")
def samples():
    return synthetic_survey(T0)


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("district") / "block.geojson"
    p.write_text(json.dumps({"type": "Polygon", "coordinates": [block_polygon_geo()]}))
    return p


@pytest.fixture(scope="module")
def tlog(tmp_path_factory, samples) -> Path:
    return write_tlog(
        tmp_path_factory.mktemp("tlog") / "flight.tlog",
        samples,
        silence=(T0 + 50.0, T0 + 58.0),
        texts=[(T0 + 1.0, "PreArm: Need Position Estimate"), (T0 + 20.0, "Mission: 1 WP")],
    )


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    return write_synthetic_recording(tmp_path_factory.mktemp("rec"), t0=T0)


def _airborne_span(samples) -> float:
    air = [s.t_s for s in samples if s.armed and s.alt_m > 1.0]
    return air[-1] - air[0]


# --- tlog ----------------------------------------------------------------------------------------


def test_tlog_framing_scan_finds_every_cut(tlog, tmp_path):
    full = scan_tlog(tlog)
    assert full.complete and full.stop_reason == "" and full.records > 1000
    data = tlog.read_bytes()
    for cut in (9, 100, len(data) // 3, len(data) - 1):
        p = tmp_path / f"cut{cut}.tlog"
        p.write_bytes(data[:cut])
        scan = scan_tlog(p)
        assert not scan.complete
        assert scan.good_bytes <= cut
        assert scan.stop_reason.startswith("ends inside")
    # garbage in the middle: readable up to it, never beyond
    p = tmp_path / "garbage.tlog"
    p.write_bytes(data[:5000] + b"\x00" * 64 + data[5000:])
    scan = scan_tlog(p)
    assert scan.good_bytes <= 5000 and scan.stop_reason.startswith("byte ")


def test_tlog_reader_takes_the_vehicle_messages(tlog, samples):
    flight = load_tlog(tlog)
    assert flight.kind == "tlog" and flight.vehicle_type == "copter"
    assert flight.track_source == "GLOBAL_POSITION_INT"
    # every sample outside the silence, in order, with its position and altitude
    expected = [s for s in samples if not (T0 + 50.0 <= s.t_s < T0 + 58.0)]
    assert len(flight.track) == len(expected)
    i = len(expected) // 2
    assert flight.track.lat_deg[i] == pytest.approx(expected[i].lat_deg, abs=1e-7)
    assert flight.track.alt_m[i] == pytest.approx(expected[i].alt_m, abs=1e-3)
    assert [m.mode for m in flight.modes] == ["STABILIZE", "GUIDED", "AUTO", "RTL", "LAND"]
    assert [a.armed for a in flight.arming] == [False, True, False]
    assert flight.home == pytest.approx(DEFAULT_HOME)
    assert [m.text for m in flight.messages] == ["PreArm: Need Position Estimate", "Mission: 1 WP"]
    # the ground station kept logging its own heartbeats: the vehicle's silence is a link loss
    assert len(flight.link_losses) == 1
    loss = flight.link_losses[0]
    assert loss.source == "gap"
    assert loss.start_s == pytest.approx(T0 + 49.8, abs=0.01)
    assert loss.end_s == pytest.approx(T0 + 58.0, abs=0.01)
    assert flight.battery.remaining_pct[0] == 100 and flight.battery.remaining_pct[-1] == 70
    assert flight.missing == []


def test_tlog_summary_figures(tlog, samples):
    report = build_report(tlog)
    s = report.summary
    # path: home -> (85, 40), 4 transects of 120 m, 3 steps of 50 m, (235, 40) -> home
    path_m = math.hypot(85, 40) + 4 * 120 + 3 * 50 + math.hypot(235, 40)
    # the silence cuts a corner of the first transect (the chord is shorter than the path)
    assert s["distance_m"] == pytest.approx(path_m, abs=10.0)
    assert s["distance_m"] < path_m
    assert s["max_distance_from_home_m"] == pytest.approx(math.hypot(235, 160), abs=0.5)
    assert s["flight_time_s"] == pytest.approx(_airborne_span(samples), abs=0.3)
    assert s["battery"]["used_pct"] == 30 and s["battery"]["used_mah"] == pytest.approx(
        1500, abs=10
    )
    assert s["link_losses"]["count"] == 1
    assert s["link_losses"]["total_s"] == pytest.approx(8.2, abs=0.05)
    assert s["vehicle_clock_ratio"] == pytest.approx(1.0, abs=0.01)
    assert s["vehicle_flight_time_s"] is None
    assert s["modes"]["AUTO"] == pytest.approx(90.2, abs=0.5)
    assert s["coverage"] is None and any("no district" in n for n in report.notes)


def test_sped_up_simulator_clock_is_reported(tmp_path, samples):
    p = write_tlog(tmp_path / "fast.tlog", samples, vehicle_clock_ratio=20.0)
    report = build_report(p)
    assert report.summary["vehicle_clock_ratio"] == pytest.approx(20.0, rel=0.01)
    assert report.summary["vehicle_flight_time_s"] == pytest.approx(
        20.0 * report.summary["flight_time_s"], rel=0.01
    )
    assert any("20.0× the log clock" in n for n in report.notes)


def test_truncated_tlog_reports_what_is_there(tlog, tmp_path, district):
    data = tlog.read_bytes()
    cut = tmp_path / "cut.tlog"
    cut.write_bytes(data[: len(data) // 2 + 5])
    report = build_report(cut, district=district)
    full = build_report(tlog, district=district)
    assert 0 < len(report.flight.track) < len(full.flight.track)
    assert any("cut or damaged" in m for m in report.missing)
    assert any("ends while the vehicle was armed" in m for m in report.missing)
    assert report.summary["coverage"]["coverage_pct"] < full.summary["coverage"]["coverage_pct"]
    page = render_html(report)
    assert 'id="missing"' in page and "cut or damaged" in page


def test_battery_use_is_added_over_swapped_packs():
    from groundstation.report.summary import used_per_pack

    pct = np.array([100, 99, 90, 80, 75, np.nan, 100, 99, 85, 70, 71, 70], float)
    assert used_per_pack(pct, falling=True, swap_step=10.0) == (25.0 + 30.0, 1)
    mah = np.array([0, 100, 800, 1200, 5, 400, 900], float)
    assert used_per_pack(mah, falling=False, swap_step=0.0) == (1200.0 + 895.0, 1)
    assert used_per_pack(np.array([np.nan]), falling=True, swap_step=10.0) == (None, 0)


# --- DataFlash --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dataflash(tmp_path_factory, samples) -> Path:
    return write_dataflash_flight(
        tmp_path_factory.mktemp("bin") / "00000042.BIN",
        samples,
        gcs_failsafe=(T0 + 60.0, T0 + 70.0),
    )


def test_dataflash_reader(dataflash, samples):
    flight = load_dataflash(dataflash)
    assert flight.kind == "dataflash" and flight.vehicle_type == "copter"
    assert flight.track_source == "POS"
    assert len(flight.track) == len(samples)
    # DFReader turned TimeUS into UNIX time through GPS week/ms: the sample times come back
    assert flight.track.t_s[0] == pytest.approx(samples[0].t_s, abs=0.01)
    assert flight.track.t_s[-1] == pytest.approx(samples[-1].t_s, abs=0.01)
    assert flight.track.lon_deg[300] == pytest.approx(samples[300].lon_deg, abs=1e-7)
    assert flight.track.alt_m[300] == pytest.approx(samples[300].alt_m, abs=1e-3)
    assert [m.mode for m in flight.modes] == ["STABILIZE", "GUIDED", "AUTO", "RTL", "LAND"]
    assert [a.armed for a in flight.arming] == [False, True, False]
    assert flight.home == pytest.approx(DEFAULT_HOME)
    assert len(flight.link_losses) == 1 and flight.link_losses[0].source == "failsafe"
    assert flight.link_losses[0].duration_s == pytest.approx(10.0, abs=0.3)
    assert "GCS Failsafe" in [m.text for m in flight.messages]
    assert flight.battery.consumed_mah[-1] == pytest.approx(1500, abs=10)
    assert flight.missing == []


def test_dataflash_report_with_district(dataflash, district, samples):
    report = build_report(dataflash, district=district)
    s = report.summary
    assert s["flight_time_s"] == pytest.approx(_airborne_span(samples), abs=0.3)
    assert s["max_distance_from_home_m"] == pytest.approx(math.hypot(235, 160), abs=0.5)
    cov = s["coverage"]
    assert cov["survey_alt_m"] == 40.0 and "inferred" in cov["alt_source"]
    # transects 50 m apart with a 67 m footprint: the block is covered
    assert cov["coverage_pct"] == pytest.approx(100.0, abs=0.5)


def test_cut_dataflash(dataflash, tmp_path, samples):
    data = dataflash.read_bytes()
    cut = tmp_path / "cut.bin"
    pos_msg = data.index(b"\xa3\x95\x86", 2 * len(data) // 3)  # a POS message (type 134)
    cut.write_bytes(data[: pos_msg + 9])  # cut inside it
    flight = load_dataflash(cut)
    assert 0 < len(flight.track) < len(samples)
    assert any("cut or damaged" in m for m in flight.missing)


def test_not_a_dataflash_log(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"\x00" * 500)
    with pytest.raises(InputError, match="not an ArduPilot DataFlash log"):
        load_dataflash(p)


# --- coverage ---------------------------------------------------------------------------------------


def _rect_area(tmp_path, w_m=200.0, h_m=100.0):
    frame = LocalFrame(DEFAULT_HOME[0], DEFAULT_HOME[1])
    ring = []
    for x, y in ((0, 0), (w_m, 0), (w_m, h_m), (0, h_m), (0, 0)):
        lat, lon = frame.to_geo(x, y)
        ring.append([float(lon), float(lat)])
    p = tmp_path / "rect.geojson"
    p.write_text(json.dumps({"type": "Polygon", "coordinates": [ring]}))
    return load_area(p), frame


def _line_flight(frame, y_m, alt_m, mode="AUTO", x0=-60.0, x1=260.0, n=200) -> FlightLog:
    xs = np.linspace(x0, x1, n)
    lat, lon = frame.to_geo(xs, np.full(n, y_m))
    t = T0 + np.arange(n) * 0.2
    track = Track(
        t, np.asarray(lat), np.asarray(lon), np.full(n, alt_m), np.full(n, 90.0), np.full(n, np.nan)
    )
    return FlightLog(
        source="line",
        kind="tlog",
        track=track,
        modes=[ModeChange(T0, mode)],
        arming=[ArmChange(T0 - 1, True)],
    )


def test_coverage_of_a_straight_pass_is_footprint_width_times_length(tmp_path):
    area, frame = _rect_area(tmp_path)
    camera = CameraSettings()
    fp = footprint(camera, 40.0)
    cov = flown_coverage(_line_flight(frame, 50.0, 40.0), area, camera, 40.0)
    # across-track footprint width × district length, over the district's 200 × 100 m
    assert cov.pct == pytest.approx(100.0 * fp.width_m * 200.0 / 20000.0, abs=0.3)
    assert cov.covered_m2 == pytest.approx(fp.width_m * 200.0, rel=0.005)


def test_coverage_counts_only_auto_at_survey_altitude(tmp_path):
    area, frame = _rect_area(tmp_path)
    camera = CameraSettings()
    assert (
        flown_coverage(_line_flight(frame, 50.0, 40.0, mode="GUIDED"), area, camera, 40.0).pct == 0
    )
    assert flown_coverage(_line_flight(frame, 50.0, 25.0), area, camera, 40.0).pct == 0
    # 3 m low is within the ±4 m band of a 40 m survey
    assert flown_coverage(_line_flight(frame, 50.0, 37.0), area, camera, 40.0).pct > 60


# --- recordings ----------------------------------------------------------------------------------------


def test_recording_report(recording):
    report = build_report(recording)
    ids = [json.loads(line)["id"] for line in (recording / "alerts.jsonl").read_text().splitlines()]
    assert [a.id for a in report.input.alerts] == ids
    s = report.summary
    assert s["alerts"] == {"count": 3, "by_kind": {"gathering": 2, "unmasked": 1}}
    assert s["broadcasts"]["count"] == 2
    assert s["link_losses"]["count"] == 1 and s["link_losses"]["source"] == ["events"]
    assert s["planned_coverage_pct"] == 100.0
    # telemetry has a 6 s hole (the link loss) in the first transect: less than the plan
    assert 95.0 < s["coverage"]["coverage_pct"] < 100.0
    assert report.flight.track_source == "telemetry.jsonl"
    assert any("flight.tlog is missing" in m for m in report.missing)  # this one has no tlog
    page = render_html(report)
    for aid in ids:
        assert f'data-alert-id="{aid}"' in page
    assert page.count("data:image/jpeg;base64,") == 3  # every snapshot embedded
    assert page.count("data:image/png;base64,") == 3  # map, heat map, timeline


def test_report_page_is_self_contained(recording):
    page = render_html(build_report(recording))
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page, re.I)
    assert "url(" not in page
    assert "@import" not in page


def test_partial_recording_is_reported_as_far_as_it_goes(tmp_path, cli):
    folder = write_synthetic_recording(tmp_path, t0=T0, close=False)
    with open(folder / "telemetry.jsonl", "a", encoding="utf-8") as f:
        f.write('{"t_s": 1795000200.0, "pose": {"lat_deg": 41.7')
    segs = sorted((folder / "video").glob("segment_*.ts"))
    data = segs[-1].read_bytes()
    segs[-1].write_bytes(data[: len(data) * 2 // 5])
    out = tmp_path / "partial.html"
    res = cli("report", str(folder), "--out", str(out))
    assert res.returncode == 0, res.stderr
    warnings = [ln for ln in res.stderr.splitlines() if ln.startswith("warning: partial input:")]
    assert any("complete: false" in w for w in warnings)
    assert any("telemetry.jsonl: the last line was cut" in w for w in warnings)
    assert any(f"video/{segs[-1].name} was cut" in w for w in warnings)
    page = out.read_text(encoding="utf-8")
    assert 'id="missing"' in page and "telemetry.jsonl: the last line was cut" in page
    ids = [json.loads(x)["id"] for x in (folder / "alerts.jsonl").read_text().splitlines()]
    assert all(f'data-alert-id="{i}"' in page for i in ids)


def test_bad_alert_lines_are_counted(recording, tmp_path):
    import shutil

    folder = tmp_path / "rec"
    shutil.copytree(recording, folder)
    lines = (folder / "alerts.jsonl").read_text().splitlines()
    lines.insert(1, '{"id": "x", "kind": "no-such-kind", "t_s": 1}')
    lines.insert(2, "not json")
    (folder / "alerts.jsonl").write_text("\n".join(lines) + "\n")
    report = build_report(folder)
    assert len(report.input.alerts) == 3
    assert any("2 of 5 lines are not valid alerts" in m for m in report.missing)


def test_json_format(recording, cli):
    res = cli("report", str(recording), "--format", "json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["format"] == "dronepatrol-report" and doc["source"]["kind"] == "recording"
    assert doc["source"]["complete"] is True
    ids = [json.loads(x)["id"] for x in (recording / "alerts.jsonl").read_text().splitlines()]
    assert [a["id"] for a in doc["alerts"]] == ids
    assert doc["summary"]["alerts"]["count"] == 3
    assert doc["summary"]["coverage"]["coverage_pct"] > 95
    assert len(doc["link_losses"]) == 1


def test_cli_writes_html_next_to_a_log(tlog, tmp_path, cli, district):
    src = tmp_path / "copy.tlog"
    src.write_bytes(tlog.read_bytes())
    res = cli("report", str(src), "--district", str(district))
    assert res.returncode == 0, res.stderr
    out = tmp_path / "copy.report.html"
    assert out.is_file() and "wrote" in res.stdout and "coverage" in res.stdout
    assert "Flight report" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "content",
    [b"hello, this is not a flight log\n", bytes(range(256)) * 4, b'{"type": "Polygon"}'],
    ids=["text", "binary", "json"],
)
def test_not_a_log_is_a_one_line_error(tmp_path, cli, content):
    p = tmp_path / "thing.tlog"
    p.write_bytes(content)
    res = cli("report", str(p))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(p) in lines[0]
    assert "Traceback" not in res.stderr


def test_missing_input_and_empty_folder(tmp_path, cli):
    res = cli("report", str(tmp_path / "nope"))
    assert res.returncode == 2 and "no such file or folder" in res.stderr
    (tmp_path / "empty").mkdir()
    res = cli("report", str(tmp_path / "empty"))
    assert res.returncode == 2 and "not a dronepatrol recording" in res.stderr


def test_bad_district_is_the_analysts_error(tlog, tmp_path, cli):
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}')
    res = cli("report", str(tlog), "--district", str(bad), "--out", str(tmp_path / "r.html"))
    last = res.stderr.strip().splitlines()[-1]
    assert res.returncode == 2 and last.startswith("error: ") and "bad.geojson" in last
    assert "Traceback" not in res.stderr
