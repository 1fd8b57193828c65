"""Alert snapshots (the one place faces stay in the clear): stored apart, refused without the
token when one is configured, and every view (or refusal) in the access log; expired recordings
are pruned, never one in progress (``docs/privacy.md``)."""

from __future__ import annotations

import json
import os
import time

import httpx
import pytest
from testkit import run_cli

from detection.alerts import Alert, AlertKind
from groundstation.config import load_config
from groundstation.overlay import OverlayHub, OverlayServer
from groundstation.overlay.access_log import (
    ACCESS_LOG_NAME,
    AccessLog,
    read_access_log,
    token_fingerprint,
)
from groundstation.patrol import privacy_warnings
from groundstation.recording import FlightRecorder, recording_in_progress
from groundstation.retention import expired_recordings

TOKEN = "s3cret-officer-token"
DAY_S = 86400.0


def _serve(tmp_path, token):
    hub = OverlayHub(title="test")
    log = AccessLog(tmp_path / ACCESS_LOG_NAME, source="r1")
    server = OverlayServer(hub, port=0, token=token, access_log=log).start()
    return hub, server, httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)


def _alert_with_snapshot(tmp_path, hub):
    rec = FlightRecorder(tmp_path / "recordings", name="snap")
    snap = rec.snapshot_dir / "unmasked_000001.jpg"
    face = b"\xff\xd8 a face in the clear \xff\xd9"
    snap.write_bytes(face)
    alert = Alert(kind=AlertKind.UNMASKED, t_s=10.0, lat_deg=41.79, lon_deg=123.43, count=1)
    hub.push_alert(alert, snapshot=snap)
    rec.close()
    return rec, snap, face, alert


def test_snapshots_are_stored_apart_owner_only(tmp_path):
    rec = FlightRecorder(tmp_path, name="x")
    try:
        assert rec.snapshot_dir == rec.folder / "private" / "snapshots"
        assert not (rec.folder / "video" / "snapshots").exists()
        assert (rec.snapshot_dir.stat().st_mode & 0o777) == 0o700
        assert ((rec.folder / "private").stat().st_mode & 0o777) == 0o700
    finally:
        rec.close()


def test_snapshot_refused_without_the_token_and_every_view_logged(tmp_path):
    hub, server, client = _serve(tmp_path, TOKEN)
    try:
        _, _, face, alert = _alert_with_snapshot(tmp_path, hub)
        url = f"/api/alerts/{alert.id}/snapshot"
        assert client.get(url).status_code == 401
        assert client.get(url, params={"token": "wrong-token-123"}).status_code == 401
        r = client.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and r.content == face  # the face is kept for the officer
        assert r.headers["cache-control"] == "no-store"
        # the page's own requests (cookie set by the first ?token= request) are views too
        client.get("/api/snapshot", params={"token": TOKEN})
        assert client.get(url).status_code == 200
        client.get("/api/snapshot")  # other endpoints are not snapshot views
    finally:
        client.close()
        server.stop()
    log = read_access_log(tmp_path / ACCESS_LOG_NAME)
    assert [(e["alert_id"], e["granted"]) for e in log] == [
        (alert.id, False),
        (alert.id, False),
        (alert.id, True),
        (alert.id, True),
    ]
    assert log[0]["who"] == "anonymous"
    assert log[1]["who"] == f"token {token_fingerprint('wrong-token-123')}"
    assert log[2]["who"] == log[3]["who"] == f"token {token_fingerprint(TOKEN)}"
    assert all(TOKEN not in json.dumps(e) for e in log)  # the token itself is never written
    assert all(e["client"] == "127.0.0.1" and e["source"] == "r1" for e in log)
    assert all(abs(e["t_s"] - time.time()) < 3600 and e["t"].endswith("+00:00") for e in log)
    assert (os.stat(tmp_path / ACCESS_LOG_NAME).st_mode & 0o777) == 0o600


def test_without_a_token_loopback_views_are_logged_as_anonymous(tmp_path):
    hub, server, client = _serve(tmp_path, None)
    try:
        _, _, face, alert = _alert_with_snapshot(tmp_path, hub)
        r = client.get(f"/api/alerts/{alert.id}/snapshot")
        assert r.status_code == 200 and r.content == face
    finally:
        client.close()
        server.stop()
    [e] = read_access_log(tmp_path / ACCESS_LOG_NAME)
    assert e["who"] == "anonymous" and e["granted"] is True and e["alert_id"] == alert.id


def test_access_log_export_as_csv(tmp_path):
    log = AccessLog(tmp_path / ACCESS_LOG_NAME, source="r9")
    log.record("token abcd1234", "alert-1", True, "127.0.0.1")
    r = run_cli("recordings", "access-log", "--csv", "--dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0] == "t,who,client,alert_id,granted,source"
    assert lines[1].endswith(",token abcd1234,127.0.0.1,alert-1,True,r9")


def _recording(root, age_days, close=True):
    started = time.time() - age_days * DAY_S
    rec = FlightRecorder(root, name=f"{age_days:g}d", clock=lambda: started)
    if close:
        rec.close()
    return rec


def test_prune_deletes_only_expired_recordings_never_one_in_progress(tmp_path):
    root = tmp_path / "recordings"
    old = _recording(root, 45)
    young = _recording(root, 3)
    running = _recording(root, 60, close=False)  # a patrol still recording, started long ago
    try:
        assert recording_in_progress(running.folder) and not recording_in_progress(old.folder)
        assert [a.folder for a in expired_recordings(root, 30)] == [old.folder]
        dry = run_cli("recordings", "prune", "--dir", str(root))
        assert dry.returncode == 0, dry.stderr
        assert f"would delete {old.folder.name}" in dry.stdout
        assert f"kept {running.folder.name}: recording in progress" in dry.stdout
        assert old.folder.is_dir()  # a dry run deletes nothing
        cut = run_cli("recordings", "prune", "--dir", str(root), "--yes")
        assert cut.returncode == 0, cut.stderr
        assert f"deleted {old.folder.name}" in cut.stdout
        assert not old.folder.exists()
        assert young.folder.is_dir() and running.folder.is_dir()
        # a shorter retention given once still spares the recording in progress
        r = run_cli("recordings", "prune", "--dir", str(root), "--days", "1", "--yes")
        assert r.returncode == 0 and not young.folder.exists() and running.folder.is_dir()
        refused = run_cli("recordings", "delete", str(running.folder), "--yes")
        assert refused.returncode != 0 and "in progress" in refused.stderr
    finally:
        running.close()
    assert not recording_in_progress(running.folder)  # closed (or killed): prunable again
    assert [a.folder for a in expired_recordings(root, 30)] == [running.folder]


def test_patrol_warns_when_blurring_is_off_and_when_expired_recordings_exist(tmp_path):
    cfg = load_config(None, {"recording.dir": str(tmp_path)})
    assert privacy_warnings(cfg) == []
    _recording(tmp_path, 31)
    [w] = privacy_warnings(cfg)
    assert "1 recording(s)" in w and "recordings prune --yes" in w
    off = load_config(None, {"recording.dir": str(tmp_path / "none"), "privacy.blur": "off"})
    [w] = privacy_warnings(off)
    assert "privacy.blur is off" in w


@pytest.mark.parametrize("bad", ["0", "-3"])
def test_bad_retention_is_a_one_line_error(tmp_path, bad):
    r = run_cli("recordings", "prune", "--dir", str(tmp_path), "--days", bad)
    assert r.returncode != 0 and "retention_days" in r.stderr
    assert "Traceback" not in r.stderr
