"""The live overlay: access control, API, push channels and replay hooks (HTTP, no browser)."""

from __future__ import annotations

import json
import re
import threading
import time

import httpx
import numpy as np
import pytest

from detection.alerts import Alert, AlertKind
from groundstation.overlay import OverlayHub, OverlayServer, check_bind, is_loopback
from groundstation.overlay.app import STATIC_DIR
from missions.errors import ConfigError


@pytest.fixture
def served():
    hub = OverlayHub(title="test")
    server = OverlayServer(hub, port=0).start()
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    try:
        yield hub, server, client
    finally:
        client.close()
        server.stop()


def test_loopback_detection():
    for host in ("127.0.0.1", "127.1.2.3", "::1", "localhost", "[::1]"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "192.168.1.10", "::", "example.org"):
        assert not is_loopback(host), host


def test_non_loopback_bind_requires_a_token():
    check_bind("127.0.0.1", None)
    with pytest.raises(ConfigError, match="set overlay.token"):
        check_bind("0.0.0.0", None)
    with pytest.raises(ConfigError, match="too short"):
        check_bind("0.0.0.0", "abc")
    check_bind("0.0.0.0", "a-long-enough-token")
    # on loopback a short token is accepted (and still required by the app)
    check_bind("127.0.0.1", "abc")
    # a command names its own flags
    with pytest.raises(ConfigError, match=r"^--token is too short .*when --host is not"):
        check_bind("0.0.0.0", "abc", host_option="--host", token_option="--token")
    with pytest.raises(ConfigError):
        OverlayServer(OverlayHub(), host="0.0.0.0", port=0)


def test_page_and_static_files_are_local(served):
    _, _, client = served
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for ref in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert ref.startswith("/static/"), ref
        assert client.get(ref).status_code == 200
    # nothing is fetched from the internet (the field laptop is offline); the vendored Leaflet
    # names its site (a link the page replaces) and bug trackers in CSS comments, fetching none
    vendored = {
        "https://leafletjs.com",
        "https://bugs.chromium.org/p/chromium/issues/detail?id=600120",
        "https://bugzilla.mozilla.org/show_bug.cgi?id=888319",
    }
    for f in STATIC_DIR.rglob("*"):
        if f.suffix not in (".html", ".js", ".css"):
            continue
        text = f.read_text(encoding="utf-8")
        urls = set(re.findall(r"https?://[^\s\"')]+", text)) - {"http://www.w3.org/2000/svg"}
        allowed = vendored if "vendor" in f.parts else set()
        assert urls <= allowed, (f.name, urls)


def test_token_protects_every_endpoint():
    hub = OverlayHub()
    token = "s3cret-token-for-test"
    with OverlayServer(hub, host="127.0.0.1", port=0, token=token) as server:
        base = f"http://127.0.0.1:{server.port}"
        assert server.url.endswith(f"/?token={token}")
        with httpx.Client(base_url=base, timeout=10) as c:
            for path in ("/", "/api/snapshot", "/api/map", "/static/app.js"):
                assert c.get(path).status_code == 401, path
            assert c.get("/api/snapshot", params={"token": "wrong-token-xx"}).status_code == 401
            r = c.get("/", params={"token": token})
            assert r.status_code == 200
            assert "dronepatrol_token" in r.headers.get("set-cookie", "")
            # the cookie now authorises the page's own requests
            assert c.get("/api/snapshot").status_code == 200
        with httpx.Client(base_url=base, timeout=10) as c:
            r = c.get("/api/snapshot", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200


def test_frames_long_poll_and_mjpeg(served):
    hub, _, client = served
    threading.Timer(0.3, lambda: hub.push_frame(np.zeros((120, 160, 3), np.uint8), 5.0, 7)).start()
    r = client.get("/api/frame", params={"after": 0})
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.content[:2] == b"\xff\xd8"
    assert r.headers["x-frame-seq"] == "1" and r.headers["x-frame-index"] == "7"
    assert float(r.headers["x-frame-time"]) == 5.0
    with client.stream("GET", "/video.mjpg") as s:
        assert s.headers["content-type"].startswith("multipart/x-mixed-replace")
        chunk = b""
        for part in s.iter_bytes():
            chunk += part
            if b"\xff\xd9" in chunk:
                break
    assert b"--dronepatrolframe" in chunk and b"Content-Type: image/jpeg" in chunk


def read_sse(client, want, *, since=-1, timeout_s=30.0):
    """Collect SSE events until ``want(events)`` is true."""
    events = []
    deadline = time.monotonic() + timeout_s
    with client.stream("GET", "/api/events", params={"since": since}) as s:
        kind = None
        for line in s.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind:
                events.append((kind, json.loads(line[6:])))
                if want(events):
                    return events
            if time.monotonic() > deadline:
                break
    return events


def test_alerts_state_and_logs_are_pushed(served, tmp_path):
    hub, _, client = served
    snap = tmp_path / "snap.jpg"
    snap.write_bytes(b"\xff\xd8\xff\xd9")
    alert = Alert(kind=AlertKind.GATHERING, t_s=10.0, lat_deg=41.79, lon_deg=123.43, count=6)

    def later():
        time.sleep(0.3)
        hub.push_state(lat_deg=41.79, lon_deg=123.43, yaw_deg=90.0, mode="AUTO", link_ok=True)
        hub.push_alert(alert, snapshot=snap)
        hub.push_log("holding over the gathering", level="info")

    threading.Thread(target=later).start()
    events = read_sse(client, lambda ev: {"alert", "log", "state"} <= {k for k, _ in ev}, since=0)
    kinds = {k for k, _ in events}
    assert {"alert", "log", "state"} <= kinds
    got = next(d for k, d in events if k == "alert")
    assert got["id"] == alert.id and got["count"] == 6 and got["has_snapshot"] is True
    state = next(d for k, d in events if k == "state")
    assert state["mode"] == "AUTO" and state["trail_point"] == [41.79, 123.43]
    assert client.get(f"/api/alerts/{alert.id}/snapshot").content == b"\xff\xd8\xff\xd9"
    assert client.get("/api/alerts/unknown/snapshot").status_code == 404
    snapshot = client.get("/api/snapshot").json()
    assert [a["id"] for a in snapshot["alerts"]] == [alert.id]
    assert snapshot["trail"] == [[41.79, 123.43]]


def test_map_layers(served):
    hub, _, client = served
    district = {
        "type": "Polygon",
        "coordinates": [[[123.43, 41.79], [123.44, 41.79], [123.44, 41.8], [123.43, 41.79]]],
    }
    hub.set_map(
        district=district, route=[[(41.79, 123.43), (41.795, 123.435)]], home=(41.79, 123.43)
    )
    m = client.get("/api/map").json()
    assert m["district"] == district
    assert m["route"] == [[[41.79, 123.43], [41.795, 123.435]]]
    assert m["home"] == [41.79, 123.43] and m["tile_url"] is None


class FakeReplay:
    def __init__(self):
        self.calls = []
        self.t = 100.0
        self.paused = False
        self.speed = 1.0

    def play(self):
        self.calls.append("play")
        self.paused = False

    def pause(self):
        self.calls.append("pause")
        self.paused = True

    def seek(self, t_s):
        self.calls.append(("seek", t_s))
        self.t = t_s

    def set_speed(self, speed):
        self.calls.append(("speed", speed))
        self.speed = speed

    def status(self):
        return {
            "t_s": self.t,
            "start_s": 100.0,
            "end_s": 200.0,
            "paused": self.paused,
            "speed": self.speed,
        }


def test_replay_controls(served):
    hub, _, client = served
    assert client.post("/api/replay/pause").status_code == 404
    control = FakeReplay()
    hub.set_replay(control)
    assert client.get("/api/snapshot").json()["mode"] == "replay"
    assert client.post("/api/replay/pause").json()["paused"] is True
    assert client.post("/api/replay/seek", params={"t": 150.5}).json()["t_s"] == 150.5
    assert client.post("/api/replay/speed", params={"x": 4}).json()["speed"] == 4.0
    assert client.post("/api/replay/speed", params={"x": 0}).status_code == 422
    assert client.post("/api/replay/seek").status_code == 422
    assert client.post("/api/replay/rewind").status_code == 404
    assert control.calls == ["pause", ("seek", 150.5), ("speed", 4.0)]


def test_hub_reset_and_message_overflow():
    hub = OverlayHub()
    hub.push_alert(Alert(kind=AlertKind.GATHERING, t_s=1.0, count=5))
    hub.push_state(lat_deg=1.0, lon_deg=2.0)
    hub.reset()
    snap = hub.snapshot()
    assert snap["alerts"] == [] and snap["trail"] == [] and snap["epoch"] == 1
    seq, msgs = hub.messages_since(0)
    assert [k for _, k, _ in msgs] == ["alert", "reset"]
    for i in range(2100):
        hub.push_log(f"line {i}")
    seq2, msgs = hub.messages_since(1)
    assert msgs[0][1] == "reset"  # the client fell behind the buffer: it must reload
    assert seq2 == seq + 2100


def test_port_in_use_is_a_clear_error(served):
    _, server, _ = served
    from missions.errors import DronePatrolError

    with pytest.raises(DronePatrolError, match="cannot listen") as exc:
        OverlayServer(OverlayHub(), port=server.port).start()
    # the server does not know which command runs it: no command's flags in its own words
    assert "--" not in str(exc.value)
    with pytest.raises(DronePatrolError) as exc:
        OverlayServer(OverlayHub(), port=server.port, bind_hint="use --port P").start()
    assert str(exc.value).endswith(
        f"cannot listen on 127.0.0.1:{server.port}: Address already in use (use --port P)"
    )


def test_relative_snapshot_path_is_served(served, tmp_path, monkeypatch):
    """The detector writes snapshots under the recording folder, which is relative to the
    working directory when ``--record-dir`` (or ``recording.dir``, default ``recordings``) is."""
    hub, _, client = served
    jpeg = b"\xff\xd8relative\xff\xd9"
    (tmp_path / "recordings" / "r1" / "snapshots").mkdir(parents=True)
    (tmp_path / "recordings" / "r1" / "snapshots" / "a.jpg").write_bytes(jpeg)
    monkeypatch.chdir(tmp_path)
    alert = Alert(kind=AlertKind.GATHERING, t_s=10.0, lat_deg=41.79, lon_deg=123.43, count=6)
    hub.push_alert(alert, snapshot="recordings/r1/snapshots/a.jpg")
    monkeypatch.chdir(tmp_path / "recordings")  # a later change of directory does not lose it
    got = client.get("/api/snapshot").json()["alerts"]
    assert [(a["id"], a["has_snapshot"]) for a in got] == [(alert.id, True)]
    r = client.get(f"/api/alerts/{alert.id}/snapshot")
    assert r.status_code == 200 and r.content == jpeg
    # a recorded alert's own relative snapshot is relative to its recording folder, which the
    # hub does not know: not guessed from the working directory (the replay resolves it)
    recorded = Alert(
        kind=AlertKind.UNMASKED,
        t_s=11.0,
        lat_deg=41.79,
        lon_deg=123.43,
        snapshot="r1/snapshots/a.jpg",
    )
    hub.push_alert(recorded)
    got = client.get("/api/snapshot").json()["alerts"]
    assert [a["has_snapshot"] for a in got if a["id"] == recorded.id] == [False]
    assert client.get(f"/api/alerts/{recorded.id}/snapshot").status_code == 404
