"""Hostile input to the web servers (live overlay and replay): a crafted recording cannot make
them serve files outside it, other sites cannot read or drive them, bad numbers give 4xx."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from groundstation.overlay import OverlayHub, OverlayServer
from groundstation.replay import RecordingReplay, confined_path
from groundstation.report.testing import write_synthetic_recording


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    return write_synthetic_recording(tmp_path_factory.mktemp("rec"), t0=1_795_000_000.0)


def _crafted(recording: Path, tmp_path: Path, secret: Path) -> Path:
    """A copy of ``recording`` whose alerts point at files outside it."""
    folder = tmp_path / "crafted"
    shutil.copytree(recording, folder)
    lines = [json.loads(x) for x in (folder / "alerts.jsonl").read_text().splitlines() if x]
    outside = [str(secret), "../" * 12 + str(secret).lstrip("/"), "/etc/passwd"]
    (folder / "link.jpg").symlink_to(secret)
    outside.append("link.jpg")
    for a, path in zip(lines, outside, strict=False):
        a["snapshot"] = path
    (folder / "alerts.jsonl").write_text("".join(json.dumps(a) + "\n" for a in lines))
    return folder


def test_confined_path_refuses_escapes(tmp_path):
    (tmp_path / "rec").mkdir()
    (tmp_path / "rec" / "a.jpg").write_bytes(b"x")
    (tmp_path / "secret").write_text("s")
    (tmp_path / "rec" / "link.jpg").symlink_to(tmp_path / "secret")
    assert confined_path(tmp_path / "rec", "a.jpg") == (tmp_path / "rec" / "a.jpg").resolve()
    for bad in ("/etc/passwd", "../secret", "link.jpg", "x/../../secret", "", "a.jpg\x00"):
        assert confined_path(tmp_path / "rec", bad) is None, bad


def test_a_crafted_recording_serves_no_file_outside_it(recording, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0")
    folder = _crafted(recording, tmp_path, secret)
    hub = OverlayHub(title="t", mode="replay")
    hub.snapshot_root = folder.resolve()
    replay = RecordingReplay(folder, hub, paused=True, clock=FakeClock()).attach()
    assert all(snap is None for _, _, snap in replay.timeline.alerts)
    assert any("outside the recording folder" in m for m in replay.timeline.missing)
    replay.seek(replay.timeline.end_s)
    replay.step()
    with (
        OverlayServer(hub, port=0) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client,
    ):
        for a in client.get("/api/snapshot").json()["alerts"]:
            r = client.get(f"/api/alerts/{a['id']}/snapshot")
            assert r.status_code == 404 and b"root:" not in r.content


@pytest.fixture()
def replay_server(recording):
    hub = OverlayHub(title="t", mode="replay")
    RecordingReplay(recording, hub, paused=True, clock=FakeClock()).attach()
    with OverlayServer(hub, port=0) as server:
        yield f"http://127.0.0.1:{server.port}", server.port


def test_seek_to_nan_is_refused_and_the_page_keeps_working(replay_server):
    base, _ = replay_server
    with httpx.Client(base_url=base, timeout=30) as c:
        for t in ("nan", "inf", "-inf"):
            r = c.post(f"/api/replay/seek?t={t}")
            assert r.status_code == 422, r.text
        assert c.get("/api/snapshot").status_code == 200


def test_other_sites_cannot_read_or_drive_the_servers(replay_server):
    base, port = replay_server
    with httpx.Client(base_url=base, timeout=30) as c:
        # DNS rebinding: evil.example resolved to 127.0.0.1
        r = c.get("/api/snapshot", headers={"Host": f"evil.example:{port}"})
        assert r.status_code == 421
        # CSRF: a page elsewhere posting to the replay controls
        r = c.post("/api/replay/play", headers={"Origin": "http://evil.example"})
        assert r.status_code == 403
        r = c.post("/api/replay/play", headers={"Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 403
        # the page itself (same origin) still works
        r = c.post("/api/replay/pause", headers={"Origin": f"http://127.0.0.1:{port}"})
        assert r.status_code == 200
        r = c.get("/")
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        r = c.post("/api/replay/pause", content=b"x" * 100_000)
        assert r.status_code == 413
