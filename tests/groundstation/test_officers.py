"""Officers' workflow without a browser: tokens, answers, the SQLite alert store, MBTiles and
``dronepatrol serve`` (restart and SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from _officers import BOUNDS, make_basemap, tile_xy
from fastapi.testclient import TestClient
from testkit import REPO_ROOT

from detection.alerts import Alert, AlertKind
from groundstation.overlay import OverlayHub, create_app
from groundstation.overlay.access import OfficerAccess
from groundstation.overlay.tiles import MBTiles
from groundstation.serve import AlertStore, StoreFollower
from missions.errors import ConfigError

OFFICERS = {"wang": "harbour-7-wang", "li": "harbour-7-li"}


def _alert(**kw) -> Alert:
    base = dict(
        kind=AlertKind.GATHERING, t_s=time.time(), lat_deg=41.7904, lon_deg=123.4315, count=5
    )
    return Alert(**{**base, **kw})


def test_officer_tokens_name_who_asks():
    access = OfficerAccess("shared-token-1", OFFICERS)
    assert access.identify("harbour-7-li").name == "li"
    assert access.identify("harbour-7-li").verified
    shared = access.identify("shared-token-1")
    assert shared is not None and shared.name is None and not shared.verified
    assert access.identify("wrong-token") is None
    assert access.identify(None) is None
    assert OfficerAccess().identify(None).name is None  # open page (loopback, no token)
    with pytest.raises(ConfigError, match="too short"):
        OfficerAccess(None, {"zhao": "short"})
    with pytest.raises(ConfigError, match="same token as wang"):
        OfficerAccess(None, {"wang": "harbour-7-wang", "zhao": "harbour-7-wang"})


def test_answers_are_named_by_the_officers_token_and_pushed():
    hub = OverlayHub()
    a = _alert()
    hub.push_alert(a)
    client = TestClient(create_app(hub, officers=OFFICERS))
    assert client.get("/api/alerts").status_code == 401
    wang = {"Authorization": "Bearer harbour-7-wang"}
    assert client.get("/api/whoami", headers=wang).json() == {"officer": "wang", "verified": True}
    seq0 = hub.snapshot()["message_seq"]
    r = client.post(
        f"/api/alerts/{a.id}/ack", headers=wang, json={"officer": "li", "state": "on_my_way"}
    )
    assert r.status_code == 200, r.text
    ack = r.json()
    assert (ack["officer"], ack["state"], ack["verified"]) == ("wang", "on_my_way", True)
    # pushed to every page as an "ack" event, kept in the alert with who and when
    _, msgs = hub.messages_since(seq0)
    assert [(k, d["alert_id"], d["ack"]["officer"]) for _, k, d in msgs] == [("ack", a.id, "wang")]
    listed = client.get("/api/alerts", headers=wang).json()
    assert [x["id"] for x in listed] == [a.id]
    assert (
        listed[0]["ack"]["state"] == "on_my_way" and abs(listed[0]["ack"]["t_s"] - time.time()) < 60
    )
    # errors
    bad = client.post(f"/api/alerts/{a.id}/ack", headers=wang, json={"state": "done"})
    assert bad.status_code == 422 and "on_my_way" in bad.text
    assert (
        client.post("/api/alerts/nope/ack", headers=wang, json={"state": "resolved"}).status_code
        == 404
    )


def test_without_officer_tokens_the_page_gives_the_name():
    hub = OverlayHub()
    a = _alert()
    hub.push_alert(a)
    client = TestClient(create_app(hub), base_url="http://127.0.0.1")
    assert client.get("/api/whoami").json() == {"officer": None, "verified": False}
    assert client.post(f"/api/alerts/{a.id}/ack", json={"state": "resolved"}).status_code == 422
    r = client.post(f"/api/alerts/{a.id}/ack", json={"officer": "张伟", "state": "resolved"})
    assert r.json()["officer"] == "张伟" and not r.json()["verified"]


def test_store_keeps_alerts_and_answers_across_reopening(tmp_path):
    db = tmp_path / "alerts.sqlite"
    store = AlertStore(db)
    hub = OverlayHub()
    hub.attach_store(store, recording="r1")
    a = _alert()
    hub.push_alert(a)
    hub.ack(a.id, "wang", "false_alarm", verified=True)
    store.close()
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again = AlertStore(db)
    hub2 = OverlayHub()
    StoreFollower(again, hub2).poll()
    (got,) = hub2.alerts()
    assert got["id"] == a.id and got["ack"]["officer"] == "wang"
    assert got["ack"]["state"] == "false_alarm"


def test_two_pages_of_two_processes_share_answers(tmp_path):
    """A patrol's hub and serve's hub on one store: an answer on either reaches the other."""
    patrol_store = AlertStore(tmp_path / "a.db")
    serve_store = AlertStore(tmp_path / "a.db")
    patrol = OverlayHub()
    patrol.attach_store(patrol_store, recording="flight-1")
    serve = OverlayHub(mode="serve")
    serve.attach_store(serve_store)
    to_serve = StoreFollower(serve_store, serve)
    to_patrol = StoreFollower(patrol_store, patrol, recording="flight-1", alerts=False)
    a = _alert()
    patrol.push_alert(a)
    to_serve.poll()
    assert serve.has_alert(a.id)
    serve.ack(a.id, "li", "on_my_way")
    to_patrol.poll()
    to_patrol.poll()  # idempotent
    (got,) = patrol.alerts()
    assert [x["officer"] for x in got["acks"]] == ["li"]


def test_store_rejects_unknown_states(tmp_path):
    with pytest.raises(ValueError, match="state must be one of"):
        AlertStore(tmp_path / "s.db").add_ack("x", "wang", "gone")


def test_quiet_log_marks_operator_chatter():
    hub = OverlayHub()
    hub.push_log("vehicle: PreArm: Fence requires position", level="warning")
    hub.push_log("fence: 12 items uploaded and verified")
    hub.push_log("ALERT gathering: 6 people", level="warning")
    assert [e["quiet"] for e in hub.snapshot()["log"]] == [True, True, False]


def test_mbtiles_tiles_are_served_by_xyz_address(tmp_path):
    path = make_basemap(tmp_path / "b.mbtiles", zooms=(17,))
    tiles = MBTiles(path)
    x, y = tile_xy(BOUNDS[3], BOUNDS[0], 17)
    data, media = tiles.tile(17, x, y)
    assert media == "image/png" and data.startswith(b"\x89PNG")
    assert tiles.tile(17, x, y - 50) is None
    client = TestClient(create_app(OverlayHub(), basemap=path), base_url="http://127.0.0.1")
    assert client.get(f"/api/tiles/17/{x}/{y}").content == data
    assert client.get("/api/tiles/3/0/0").status_code == 404
    info = client.get("/api/map").json()["basemap"]
    assert (info["minzoom"], info["maxzoom"], info["url"]) == (17, 17, "/api/tiles/{z}/{x}/{y}")
    with pytest.raises(ConfigError, match="does not exist"):
        MBTiles(tmp_path / "none.mbtiles")
    (tmp_path / "x.mbtiles").write_text("not sqlite")
    with pytest.raises(ConfigError, match="not an MBTiles file"):
        MBTiles(tmp_path / "x.mbtiles")


# -- dronepatrol serve ------------------------------------------------------------------------------


def _start_serve(root: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "groundstation.cli", "serve", "--recordings", str(root),
         "--port", "0", "--date", "all", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO_ROOT, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("serving "):
            return proc, line.rsplit(" on ", 1)[1].strip().rstrip("/")
    proc.kill()
    raise AssertionError("serve did not start: " + "".join(lines))


def _get(url: str):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def _post(url: str, body: dict):
    req = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def test_serve_keeps_a_finished_patrols_alerts_and_answers_over_restart_and_sigkill(tmp_path):
    from groundstation.report.testing import write_synthetic_recording

    root = tmp_path / "recordings"
    write_synthetic_recording(root)
    proc, url = _start_serve(root)
    try:
        alerts = _get(url + "/api/alerts")
        assert len(alerts) == 3 and all(a["ack"] is None for a in alerts)
        first = alerts[0]["id"]
        _post(url + f"/api/alerts/{first}/ack", {"officer": "wang", "state": "on_my_way"})
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    proc, url = _start_serve(root)
    try:
        (got,) = [a for a in _get(url + "/api/alerts") if a["id"] == first]
        assert got["ack"]["officer"] == "wang" and got["ack"]["state"] == "on_my_way"
        _post(url + f"/api/alerts/{first}/ack", {"officer": "li", "state": "resolved"})
    finally:
        proc.kill()  # SIGKILL: nothing acknowledged to the page may be lost
        proc.wait(timeout=60)
    proc, url = _start_serve(root)
    try:
        (got,) = [a for a in _get(url + "/api/alerts") if a["id"] == first]
        assert [(x["officer"], x["state"]) for x in got["acks"]] == [
            ("wang", "on_my_way"),
            ("li", "resolved"),
        ]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def test_serve_errors_are_one_line(cli, tmp_path):
    r = cli("serve", "--recordings", str(tmp_path / "none"), "--port", "0")
    assert r.returncode != 0 and r.stderr.strip().splitlines() == [
        f"error: --recordings {tmp_path / 'none'}: no such folder"
    ]
    r = cli("serve", "--recordings", str(tmp_path), "--date", "yesterday")
    assert r.returncode != 0 and "use YYYY-MM-DD, 'today' or 'all'" in r.stderr
    r = cli("serve", "--recordings", str(tmp_path), "--host", "0.0.0.0", "--port", "0")
    assert r.returncode != 0 and "--host 0.0.0.0 is reachable from other machines" in r.stderr


def test_https_with_a_self_signed_certificate(tmp_path):
    import httpx
    from cryptography import x509

    from groundstation.overlay import OverlayServer
    from groundstation.overlay.tls import SELF_SIGNED, resolve_tls

    cert, key = resolve_tls(SELF_SIGNED, None, folder=tmp_path, host="127.0.0.1")
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    san = x509.load_pem_x509_certificate(cert.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert "127.0.0.1" in {str(v) for v in san.value.get_values_for_type(x509.IPAddress)}
    # reused while valid
    assert resolve_tls(SELF_SIGNED, None, folder=tmp_path, host="127.0.0.1") == (cert, key)
    mtime = cert.stat().st_mtime_ns
    with OverlayServer(OverlayHub(), port=0, tls=(cert, key)) as server:
        assert server.url.startswith("https://127.0.0.1:")
        r = httpx.get(f"https://127.0.0.1:{server.port}/api/whoami", verify=str(cert), timeout=30)
        assert r.json() == {"officer": None, "verified": False}
    assert cert.stat().st_mtime_ns == mtime
    with pytest.raises(ConfigError, match="go together"):
        resolve_tls(str(cert), None, folder=tmp_path, host="127.0.0.1")
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_tls(str(tmp_path / "no.pem"), str(key), folder=tmp_path, host="127.0.0.1")


def test_serve_draws_a_fleet_recordings_routes_in_their_vehicles_colours(tmp_path):
    """A new user's `serve` crashed (TypeError in set_map) when the newest recording was a
    fleet's: its plan has one route per part (plan/part-K/route.geojson), not plan/route.geojson."""
    from groundstation.cli.serve import _set_map
    from groundstation.report.recording import read_route
    from groundstation.report.testing import write_synthetic_recording

    folder = write_synthetic_recording(tmp_path / "recordings")
    plan = folder / "plan"
    for k in (0, 1):
        (plan / f"part-{k}").mkdir()
        (plan / f"part-{k}" / "route.geojson").write_bytes((plan / "route.geojson").read_bytes())
    routes = len(read_route(plan / "route.geojson"))
    (plan / "route.geojson").unlink()
    hub = OverlayHub(title="t")
    _set_map(hub, [folder])
    layers = hub.map()
    assert layers["district"] and len(layers["route"]) == 2 * routes
    assert layers["route_owners"] == [0] * routes + [1] * routes
