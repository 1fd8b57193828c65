"""Replay of a recording into the overlay hub (``dronepatrol replay``), on a fake clock.

The recording is written by the real recorder from :func:`write_synthetic_recording`: each video
frame is painted a colour that encodes its number, so the tests can check that the frame decoded
for a playback time is the right one. Browser tests: ``test_replay_browser.py`` (synthetic) and
``tests/e2e/test_analyst.py`` (a recorded sim patrol).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from groundstation.overlay import OverlayHub, OverlayServer
from groundstation.replay import RecordingReplay, load_timeline
from groundstation.report.testing import synthetic_survey, write_synthetic_recording, write_tlog
from missions.errors import InputError

T0 = 1_795_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    return write_synthetic_recording(tmp_path_factory.mktemp("rec"), t0=T0)


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _expected_blue(frame_n: int) -> int:
    # write_synthetic_recording paints frame n with B = 40 + (7 n mod 160)
    return 40 + (frame_n * 7) % 160


def _frame_blue(hub: OverlayHub) -> float:
    import cv2

    img = cv2.imdecode(np.frombuffer(hub.frame().jpeg, np.uint8), cv2.IMREAD_COLOR)
    return float(img[200:235, 200:310, 0].mean())  # a corner without text


def test_timeline_reads_the_recording(recording):
    tl = load_timeline(recording)
    assert len(tl.states) == len(_lines(recording / "telemetry.jsonl"))
    assert len(tl.frames) == len(_lines(recording / "video" / "frames.jsonl"))
    alerts = _lines(recording / "alerts.jsonl")
    assert [a.id for _, a, _ in tl.alerts] == [a["id"] for a in alerts]
    assert all(snap is not None and snap.is_file() for _, _, snap in tl.alerts)
    assert sum("reminder (zh)" in text for _, text, _ in tl.logs) == 2
    assert any("link LOST" in text for _, text, _ in tl.logs)
    assert tl.map["district"]["type"] == "Polygon" and len(tl.map["route"]) == 1
    assert tl.map["home"] == (41.79, 123.43)
    assert tl.start_s == pytest.approx(T0) and tl.end_s > T0 + 150
    assert tl.missing == []


def test_playback_follows_the_clock_pause_seek_speed(recording):
    clock = FakeClock()
    hub = OverlayHub(title="t")
    tl = load_timeline(recording)
    replay = RecordingReplay(tl, hub, speed=4.0, clock=clock).attach()
    assert hub.mode == "replay" and hub.replay is replay
    assert hub.map()["district"] is not None

    replay.step()
    _, state = hub.state()
    assert state["t_s"] == pytest.approx(T0)
    assert hub.snapshot()["alerts"] == []

    clock.now += 10.0  # 40 s of recording at 4x
    t = replay.step()
    assert t == pytest.approx(T0 + 40.0)
    _, state = hub.state()
    last = [s for s in tl.states if s[0] <= t][-1][1]
    assert state["t_s"] == last["t_s"] and state["lat_deg"] == last["lat_deg"]
    due = [a.id for at, a, _ in tl.alerts if at <= t]
    assert [a["id"] for a in hub.snapshot()["alerts"]] == due

    replay.pause()
    clock.now += 30.0
    assert replay.step() == pytest.approx(T0 + 40.0)
    assert replay.status()["paused"] is True

    # seek past every alert: all of them, with snapshots, and the trail flown so far
    replay.seek(T0 + 120.0)
    replay.step()
    snap = hub.snapshot()
    assert [a["id"] for a in snap["alerts"]] == [a.id for _, a, _ in tl.alerts]
    assert all(a["has_snapshot"] for a in snap["alerts"])
    assert hub.snapshot_path(tl.alerts[0][1].id).is_file()
    assert len(snap["trail"]) > 100
    assert snap["state"]["t_s"] <= T0 + 120.0

    # seek back: the hub forgets what had not happened yet
    replay.seek(T0 + 5.0)
    replay.step()
    snap = hub.snapshot()
    assert snap["alerts"] == [] and snap["state"]["t_s"] <= T0 + 5.0
    assert all(e["t_s"] <= T0 + 5.0 for e in snap["log"])

    replay.set_speed(16.0)
    replay.play()
    clock.now += 2.0
    assert replay.step() == pytest.approx(T0 + 5.0 + 32.0)
    assert replay.status()["speed"] == 16.0


def test_frames_shown_are_the_recorded_ones(recording):
    clock = FakeClock()
    hub = OverlayHub(title="t")
    tl = load_timeline(recording)
    replay = RecordingReplay(tl, hub, speed=1.0, paused=True, clock=clock).attach()
    frames = tl.frames
    # across segment boundaries and back again (a seek reopens the segment)
    for i in (3, 120, 99, 260, len(frames) - 2, 10):
        replay.seek(frames[i].t_s + 0.01)
        replay.step()
        f = hub.frame()
        assert f is not None and f.frame_index == frames[i].frame_index
        assert f.t_s == pytest.approx(frames[i].t_s)
        assert abs(_frame_blue(hub) - _expected_blue(frames[i].frame_index)) < 12
    assert replay.frames_unreadable == 0


def test_playback_stops_paused_at_the_end(recording):
    clock = FakeClock()
    hub = OverlayHub(title="t")
    replay = RecordingReplay(recording, hub, speed=64.0, clock=clock).attach()
    clock.now += 1000.0
    assert replay.step() == pytest.approx(replay.timeline.end_s)
    st = replay.status()
    assert st["paused"] is True and st["t_s"] == pytest.approx(st["end_s"])
    assert len(hub.snapshot()["alerts"]) == 3
    replay.play()  # at the end, play starts again from the beginning
    replay.step()
    assert replay.status()["t_s"] == pytest.approx(replay.timeline.start_s)
    assert hub.snapshot()["alerts"] == []


def test_cut_recording_plays_as_far_as_it_goes(tmp_path):
    folder = write_synthetic_recording(tmp_path, t0=T0, close=False)
    with open(folder / "alerts.jsonl", "a", encoding="utf-8") as f:
        f.write('{"id": "cut", "kind": "gath')
    segs = sorted((folder / "video").glob("segment_*.ts"))
    data = segs[-1].read_bytes()
    segs[-1].write_bytes(data[: len(data) // 3])
    tl = load_timeline(folder)
    assert any("complete: false" in m for m in tl.missing)
    assert any("alerts.jsonl: the last line was cut" in m for m in tl.missing)
    clock = FakeClock()
    hub = OverlayHub(title="t")
    replay = RecordingReplay(tl, hub, speed=1.0, paused=True, clock=clock).attach()
    last_seg = [f for f in tl.frames if f.segment == segs[-1].name]
    replay.seek(last_seg[-1].t_s)
    replay.step()
    assert replay.frames_unreadable == 1  # the cut segment cannot give its last frame...
    shown = hub.frame()  # ...so the last frame it can give is shown instead
    assert shown is not None and shown.frame_index < last_seg[-1].frame_index
    readable = [f for f in last_seg if f.frame_index <= shown.frame_index]
    # not the last frame the cut file decodes: the cut falls inside it (concealed macroblocks)
    import cv2

    cap, decodable = cv2.VideoCapture(str(segs[-1])), 0
    while cap.grab():
        decodable += 1
    cap.release()
    assert shown.frame_index == last_seg[decodable - 2].frame_index
    assert readable and abs(_frame_blue(hub) - _expected_blue(shown.frame_index)) < 12
    replay.seek(last_seg[0].t_s)
    replay.step()
    assert hub.frame() is not None and hub.frame().frame_index == last_seg[0].frame_index
    assert len(hub.snapshot()["alerts"]) == 3
    warnings = [e["text"] for e in hub.snapshot()["log"] if e["level"] == "warning"]
    assert any("complete: false" in w for w in warnings)


def test_vehicle_from_the_tlog_when_telemetry_is_missing(tmp_path, recording):
    folder = tmp_path / "rec"
    shutil.copytree(recording, folder)
    (folder / "telemetry.jsonl").unlink()
    samples = synthetic_survey(T0)
    write_tlog(folder / "flight.tlog", samples)
    tl = load_timeline(folder)
    assert len(tl.states) == len(samples)
    assert any("shown from the tlog" in m for m in tl.missing)
    hub = OverlayHub(title="t")
    clock = FakeClock()
    replay = RecordingReplay(tl, hub, paused=True, clock=clock).attach()
    replay.seek(T0 + 60.0)
    replay.step()
    st = hub.state()[1]
    s = [x for x in samples if x.t_s <= T0 + 60.0][-1]
    assert st["lat_deg"] == pytest.approx(s.lat_deg, abs=1e-7) and st["mode"] == "AUTO"
    assert st["battery_pct"] == pytest.approx(s.battery_pct)


def test_not_a_recording(tmp_path):
    f = tmp_path / "x.tlog"
    f.write_bytes(b"x")
    with pytest.raises(InputError, match="recording folder"):
        load_timeline(f)
    with pytest.raises(InputError, match="not found"):
        load_timeline(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a dronepatrol recording"):
        load_timeline(tmp_path / "empty")
    with pytest.raises(InputError, match="speed"):
        RecordingReplay(tmp_path / "empty", OverlayHub(), speed=0)


def test_feeder_thread_runs_and_stops(recording):
    hub = OverlayHub(title="t")
    replay = RecordingReplay(recording, hub, speed=8.0).start()
    try:
        deadline = time.monotonic() + 30
        while hub.frame() is None or hub.state()[0] < 5:
            assert time.monotonic() < deadline, "the feeder pushed nothing"
            time.sleep(0.05)
        assert replay.running and replay.error is None
    finally:
        replay.stop()
    assert not replay.running


def test_replay_cli_serves_and_stops_on_sigint(recording):
    # as an analyst types it: the recording named relative to the working directory
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "groundstation.cli",
            "replay",
            recording.name,
            "--port",
            "0",
            "--speed",
            "8",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=recording.parent,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            url = m.group(1) if m else None
        assert url, proc.stderr.read() if proc.poll() is not None else "no URL printed"
        snap = httpx.get(url + "api/snapshot", timeout=10).json()
        assert snap["mode"] == "replay" and snap["replay"]["speed"] == 8.0
        r = httpx.post(url + "api/replay/pause", timeout=10)
        assert r.status_code == 200 and r.json()["paused"] is True
        # past every alert: each is listed with its snapshot, served from the recording
        r = httpx.post(url + "api/replay/seek", params={"t": snap["replay"]["end_s"]}, timeout=10)
        assert r.status_code == 200
        recorded = {a["id"]: a["snapshot"] for a in _lines(recording / "alerts.jsonl")}
        deadline = time.monotonic() + 30
        while len(httpx.get(url + "api/snapshot", timeout=10).json()["alerts"]) < len(recorded):
            assert time.monotonic() < deadline, "the seek did not bring the alerts"
            time.sleep(0.1)
        alerts = httpx.get(url + "api/snapshot", timeout=10).json()["alerts"]
        assert {a["id"]: a["has_snapshot"] for a in alerts} == dict.fromkeys(recorded, True)
        for alert_id, rel in recorded.items():
            r = httpx.get(url + f"api/alerts/{alert_id}/snapshot", timeout=10)
            assert r.status_code == 200, r.text
            assert r.content == (recording / rel).read_bytes()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.parametrize("relative", [True, False], ids=["relative-folder", "absolute-folder"])
def test_replayed_alerts_serve_their_snapshots(recording, tmp_path, monkeypatch, relative):
    monkeypatch.chdir(recording.parent)
    hub = OverlayHub(title="t")
    replay = RecordingReplay(
        recording.name if relative else recording, hub, paused=True, clock=FakeClock()
    ).attach()
    recorded = {a["id"]: a["snapshot"] for a in _lines(recording / "alerts.jsonl")}
    assert len(recorded) == 3 and all(recorded.values())
    assert all(snap.is_absolute() for _, _, snap in replay.timeline.alerts)
    replay.seek(replay.timeline.end_s)
    replay.step()
    monkeypatch.chdir(tmp_path)  # the snapshots do not depend on the working directory any more
    with (
        OverlayServer(hub, port=0) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client,
    ):
        alerts = client.get("/api/snapshot").json()["alerts"]
        assert {a["id"]: a["has_snapshot"] for a in alerts} == dict.fromkeys(recorded, True)
        for alert_id, rel in recorded.items():
            r = client.get(f"/api/alerts/{alert_id}/snapshot")
            assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
            assert r.content == (recording / rel).read_bytes()


def _one_error_line(res) -> str:
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    return lines[0]


def test_replay_cli_port_in_use_names_the_replay_flag(recording, cli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        res = cli("replay", str(recording), "--port", str(port), timeout=60)
    line = _one_error_line(res)
    assert res.returncode != 0 and f"cannot listen on 127.0.0.1:{port}" in line
    assert "--port" in line
    assert "--overlay-port" not in line and "--no-overlay" not in line  # patrol's flags


def test_replay_token_rule_is_the_live_overlays(recording, cli):
    from groundstation.overlay.app import MIN_TOKEN_LEN

    # help and behaviour: at least MIN_TOKEN_LEN characters when the host is not loopback
    # (check_bind, as for the patrol's overlay.token); on loopback any token is required as given
    helptext = " ".join(cli("replay", "--help").stdout.split())
    assert f"at least {MIN_TOKEN_LEN} characters, when --host is not a loopback" in helptext
    res = cli("replay", str(recording), "--host", "0.0.0.0", "--token", "abc", timeout=60)
    line = _one_error_line(res)
    assert res.returncode == 2 and "--token is too short" in line
    assert f"at least {MIN_TOKEN_LEN} characters" in line


def test_replay_takes_the_overlay_settings_of_the_config(recording, cli, tmp_path):
    # overlay.host/port/token of --config are the defaults of --host/--port/--token
    cfg = tmp_path / "overlay.yaml"
    cfg.write_text("overlay:\n  host: 0.0.0.0\n", encoding="utf-8")
    res = cli("replay", str(recording), "--config", str(cfg), timeout=60)
    line = _one_error_line(res)
    assert res.returncode == 2 and "overlay.host 0.0.0.0" in line and "set --token" in line
    cfg.write_text("overlay:\n  host: 0.0.0.0\n  token: short\n", encoding="utf-8")
    res = cli("replay", str(recording), "--config", str(cfg), timeout=60)
    assert res.returncode == 2 and "overlay.token is too short" in _one_error_line(res)


def test_report_help_names_the_files_it_writes(tmp_path, cli):
    from groundstation.cli.report import default_out

    helptext = " ".join(cli("report", "--help").stdout.split())
    folder = tmp_path / "20261129-101500"
    folder.mkdir()
    assert default_out(folder, "html") == folder / "report.html"
    assert default_out(tmp_path / "flight.tlog", "html") == tmp_path / "flight.report.html"
    assert default_out(tmp_path / "flight.tlog", "json") is None
    assert (
        "default: report.html inside a recording folder, NAME.report.html next to a log "
        "NAME.tlog or NAME.bin; stdout for --format json" in helptext
    )
    assert "REPORT.html" not in helptext and "(default: None)" not in helptext


def test_replay_cli_errors(tmp_path, cli):
    res = cli("replay", str(tmp_path / "nope"))
    assert res.returncode == 2 and res.stderr.startswith("error: ")
    res = cli("replay", str(tmp_path), "--speed", "100")
    assert res.returncode == 2 and "speed" in res.stderr
    res = cli("replay", str(tmp_path), "--host", "0.0.0.0")
    assert res.returncode == 2 and "token" in res.stderr
