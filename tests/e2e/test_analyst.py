"""Analysts' acceptance: a patrol recorded by ``dronepatrol patrol`` on the simulator, reported and
replayed.

One patrol of the demo (``configs/demo.yaml``: a 1.9 ha block, the simulated camera with a
gathering of seven people, real YOLO weights from ../shared/models) is flown once per session at
speed-up 10 and shared by the tests. A second patrol is killed with SIGKILL mid-flight for the
partial-recording test.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from testkit import REPO_ROOT, run_cli, shared_path

from groundstation.report.testing import (
    assert_replay_page_ok,
    assert_report_page_ok,
    check_replay_page,
    check_report_page,
)

pytestmark = [pytest.mark.slow, pytest.mark.model]

SPEEDUP = "10"
PATROL_ARGS = ["--config", "configs/demo.yaml", "--speedup", SPEEDUP, "--no-overlay"]


def _recording_in(parent: Path) -> Path:
    folders = [p for p in parent.iterdir() if p.is_dir()]
    assert len(folders) == 1, f"expected one recording in {parent}, found {folders}"
    return folders[0]


def _jsonl(path: Path) -> list[dict]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


@pytest.fixture(scope="session")
def patrol_recording(tmp_path_factory) -> Path:
    """The recording folder of one demo patrol flown on the embedded simulator.

    The report needs alerts to show: when detection on a loaded machine missed the demo's
    gathering (the patrol's own e2e test is where that is judged), the patrol is flown once more.
    """
    shared_path("models", "yolo11n-int8-openvino")
    for attempt in (1, 2):
        parent = tmp_path_factory.mktemp(f"patrol{attempt}")
        res = run_cli("patrol", *PATROL_ARGS, "--record-dir", str(parent), timeout=900)
        assert res.returncode == 0, f"patrol failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
        folder = _recording_in(parent)
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["complete"] is True and manifest["end_reason"] == "landed"
        if _jsonl(folder / "alerts.jsonl"):
            break
        print(f"patrol attempt {attempt} raised no alert:\n{res.stdout[-1500:]}")
    return folder


def test_report_of_a_recorded_patrol(patrol_recording, tmp_path):
    folder = patrol_recording
    alerts = _jsonl(folder / "alerts.jsonl")
    assert alerts, "the demo patrol raised no alert (the scene has a gathering of seven)"
    planned = json.loads((folder / "plan" / "plan.json").read_text())["stats"]

    res = run_cli("report", str(folder), "--format", "json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    s = doc["summary"]
    assert doc["source"]["kind"] == "recording" and doc["partial"] is False, doc["missing"]
    # coverage: the camera footprint swept along the flown track agrees with the planner's
    assert abs(s["coverage"]["coverage_pct"] - planned["coverage_pct"]) <= 2.0
    assert s["coverage"]["survey_alt_m"] == planned["alt_m"]
    assert s["coverage"]["alt_source"] == "recorded config"
    # every alert of alerts.jsonl, by id, in order
    assert [a["id"] for a in doc["alerts"]] == [a["id"] for a in alerts]
    assert s["alerts"]["count"] == len(alerts)
    assert s["broadcasts"]["count"] == len(_jsonl(folder / "broadcasts.jsonl"))
    # the flight agrees with what the patrol itself summed up
    patrol = json.loads((folder / "manifest.json").read_text())["summary"]
    assert s["distance_m"] == pytest.approx(patrol["distance_m"], rel=0.05)
    # one flight time: the terminal's summary counts it as the report does (airborne, ground-
    # station clock); the report reads the tlog, the patrol its 10 Hz samples: a sample apart
    assert s["flight_time_s"] == pytest.approx(patrol["airborne_s"], abs=1.0)
    assert s["vehicle_clock_ratio"] == pytest.approx(float(SPEEDUP), rel=0.15)
    assert s["ended_armed"] is False and s["battery"]["used_pct"] > 0

    out = tmp_path / "patrol.html"
    res = run_cli("report", str(folder), "--out", str(out))
    assert res.returncode == 0, res.stderr
    page = out.read_text(encoding="utf-8")
    for a in alerts:
        assert f'data-alert-id="{a["id"]}"' in page
    with_snapshot = [a for a in alerts if a.get("snapshot") and (folder / a["snapshot"]).is_file()]
    assert page.count("data:image/jpeg;base64,") == len(with_snapshot)


@pytest.mark.browser
def test_report_opens_in_chromium(patrol_recording, browser, tmp_path):
    out = tmp_path / "report.html"
    res = run_cli("report", str(patrol_recording), "--out", str(out))
    assert res.returncode == 0, res.stderr
    ids = [a["id"] for a in _jsonl(patrol_recording / "alerts.jsonl")]
    seen = check_report_page(browser, out, ids)
    assert_report_page_ok(seen, ids)


@pytest.mark.browser
def test_replay_in_chromium(patrol_recording, browser):
    from groundstation.overlay import OverlayHub, OverlayServer
    from groundstation.replay import RecordingReplay, load_timeline

    timeline = load_timeline(patrol_recording)
    assert timeline.missing == [] and len(timeline.frames) > 20
    hub = OverlayHub(title="analyst replay", mode="replay")
    replay = RecordingReplay(timeline, hub, speed=2.0)
    with OverlayServer(hub, port=0) as server:
        replay.start()
        try:
            seen = check_replay_page(browser, timeline, server.url, replay)
        finally:
            replay.stop()
    assert_replay_page_ok(seen)
    assert replay.error is None


def test_patrol_killed_mid_flight_is_reported_and_replayed(tmp_path):
    """SIGKILL during the survey: the report covers the flight up to the kill and says so."""
    shared_path("models", "yolo11n-int8-openvino")
    parent = tmp_path / "rec"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "groundstation.cli",
            "patrol",
            *PATROL_ARGS,
            "--record-dir",
            str(parent),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600
        folder = None
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            if folder is None and parent.is_dir() and any(parent.iterdir()):
                folder = _recording_in(parent)
            if folder is not None and (folder / "telemetry.jsonl").is_file():
                rows = _jsonl_tolerant(folder / "telemetry.jsonl")
                if sum(1 for r in rows if r.get("mode") == "AUTO" and r.get("armed")) >= 40:
                    break
        assert proc.poll() is None, "the patrol ended before it could be killed mid-flight"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)

    out = tmp_path / "killed.html"
    res = run_cli("report", str(folder), "--out", str(out))
    assert res.returncode == 0, res.stderr
    warnings = [ln for ln in res.stderr.splitlines() if ln.startswith("warning: partial input:")]
    assert any("complete: false" in w for w in warnings)
    assert any("ends while the vehicle was armed" in w for w in warnings)
    page = out.read_text(encoding="utf-8")
    assert 'id="missing"' in page
    doc = json.loads(run_cli("report", str(folder), "--format", "json").stdout)
    assert doc["partial"] is True and doc["summary"]["distance_m"] > 0
    assert doc["summary"]["modes"].get("AUTO", 0) > 0

    from groundstation.overlay import OverlayHub
    from groundstation.replay import RecordingReplay, load_timeline

    timeline = load_timeline(folder)
    assert any("complete: false" in m for m in timeline.missing)
    hub = OverlayHub()
    replay = RecordingReplay(timeline, hub, paused=True).attach()
    replay.seek(timeline.end_s)
    replay.step()
    assert hub.state()[1].get("armed") is True  # the recording stops in flight
    assert hub.frame() is not None


def _jsonl_tolerant(path: Path) -> list[dict]:
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out
