"""Detection on another machine: the message schema, and results and alerts through a real
Mosquitto on loopback, including a broker restart (``docs/remote-detection.md``).

The whole patrol with the detector in another process is in
``tests/e2e/test_remote_detection_e2e.py``.
"""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
import supervision as sv
from mqtt_broker import Broker, broker  # noqa: F401 (fixture)

from detection.alerts import Alert, AlertKind
from detection.faces import MaskLabel
from detection.pipeline import FrameResult, Person
from detection.remote import (
    SCHEMA_VERSION,
    AlertMessage,
    MessageError,
    ResultMessage,
    Topics,
    decode,
    encode_alert,
    encode_result,
    encode_status,
    parse_broker_url,
)
from detection.remote.bus import ResultPublisher, unique_suffix
from groundstation.remote_detection import RemoteDetection
from missions.errors import InputError
from missions.geo import Pose


def frame_result(t_s: float = 1_800_000_000.25, with_pose: bool = True) -> FrameResult:
    raw = sv.Detections(
        xyxy=np.array([[10.0, 20.0, 30.0, 80.0], [100.0, 50.0, 120.0, 110.0]]),
        confidence=np.array([0.9, 0.55]),
        class_id=np.array([0, 0]),
    )
    raw.data["foot_px"] = np.array([[20.0, 80.0], [110.0, 110.0]])
    raw.data["lat_lon"] = np.array([[41.79, 123.43], [np.nan, np.nan]])
    person = Person(
        xyxy=np.array([10.0, 20.0, 30.0, 80.0]),
        confidence=0.9,
        track_id=7,
        foot_px=(20.0, 80.0),
        lat_deg=41.79,
        lon_deg=123.43,
        mask=MaskLabel.UNMASKED,
        face_xyxy=np.array([15.0, 22.0, 25.0, 32.0]),
    )
    pose = Pose(t_s=t_s, lat_deg=41.7899, lon_deg=123.4299, alt_m=18.0, gimbal_pitch_deg=-45.0)
    alert = Alert(kind=AlertKind.UNMASKED, t_s=t_s, lat_deg=41.79, lon_deg=123.43, track_ids=[7])
    return FrameResult(
        frame_index=12,
        t_s=t_s,
        pose=pose if with_pose else None,
        persons=[person],
        raw_detections=raw,
        alerts=[alert],
        people_estimate=2.0,
        timings_ms={"detect": 30.5},
    )


# --- schema ------------------------------------------------------------------------------------


def test_result_round_trip_keeps_boxes_tracks_masks_positions_and_capture_time():
    r = frame_result()
    msg = decode(encode_result(r, "1", 1280, 720))
    assert isinstance(msg, ResultMessage)
    assert msg.v == SCHEMA_VERSION and msg.vehicle == "1" and msg.t_s == r.t_s
    assert (msg.frame_index, msg.width_px, msg.height_px) == (12, 1280, 720)
    assert msg.pose.alt_m == 18.0 and msg.pose.gimbal_pitch_deg == -45.0
    [p] = msg.persons
    assert p.xyxy == (10.0, 20.0, 30.0, 80.0) and p.track_id == 7 and p.mask == "unmasked"
    assert p.face_xyxy == (15.0, 22.0, 25.0, 32.0) and (p.lat_deg, p.lon_deg) == (41.79, 123.43)
    assert len(msg.detections) == 2 and msg.detections[1].lat_deg is None  # NaN -> null
    assert msg.detections[0].confidence == pytest.approx(0.9)
    assert msg.alert_ids == [r.alerts[0].id]
    # no pose on the detector: null, still valid
    assert decode(encode_result(frame_result(with_pose=False), "1", 1280, 720)).pose is None


def test_alert_round_trip_carries_the_alert_and_its_snapshot():
    a = Alert(kind=AlertKind.GATHERING, t_s=5.0, lat_deg=41.79, lon_deg=123.43, count=8,
              colour="red", colour_zh="红色", track_ids=[1, 2])  # fmt: skip
    msg = decode(encode_alert(a, "7", b"\xff\xd8jpeg"))
    assert isinstance(msg, AlertMessage)
    assert msg.alert == a and msg.snapshot_bytes() == b"\xff\xd8jpeg" and msg.vehicle == "7"
    status = decode(encode_status("offline", "7", "stopped"))
    assert (status.state, status.detail) == ("offline", "stopped")


@pytest.mark.parametrize(
    "payload, words",
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"v": 1, "type": "video"}', "unknown message type"),
        (b'{"v": 2, "type": "status", "vehicle": "1", "state": "online"}', "schema version 2"),
        (b'{"v": 1, "type": "result", "vehicle": "1", "t_s": 1}', "frame_index"),
        (b'{"v": 1, "type": "status", "vehicle": "1", "state": "asleep"}', "state"),
        (b'{"v": 1, "type": "alert", "vehicle": "1", "alert": {"kind": "x", "t_s": 1}}', "alert"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_bad_messages_are_one_line_errors(payload, words):
    with pytest.raises(MessageError) as err:
        decode(payload)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_box_with_a_score_out_of_range_is_rejected():
    data = json.loads(encode_result(frame_result(), "1", 1280, 720))
    data["persons"][0]["confidence"] = 1.5
    with pytest.raises(MessageError, match=r"persons\.0\.confidence"):
        decode(json.dumps(data))


def test_broker_urls_and_topics():
    a = parse_broker_url("mqtt://user:pw@127.0.0.1:1884/city/east")
    assert (a.host, a.port, a.prefix, a.username, a.password) == (
        "127.0.0.1", 1884, "city/east", "user", "pw",
    )  # fmt: skip
    assert parse_broker_url("mqtt://broker.example").port == 1883
    t = Topics("dronepatrol", "2")
    assert t.all() == [
        "dronepatrol/v1/2/results",
        "dronepatrol/v1/2/alerts",
        "dronepatrol/v1/2/status",
    ]
    for bad in ("http://127.0.0.1", "mqtt://", "mqtt://h:99999", "mqtt://h/a/+"):
        with pytest.raises(InputError):
            parse_broker_url(bad)
    with pytest.raises(MessageError):
        Topics("dronepatrol", "a/b")


def test_the_config_checks_the_remote_url():
    from groundstation.config import load_config

    cfg = load_config(None, {"detection.remote": "mqtt://127.0.0.1:1883"})
    assert cfg.detection.remote == "mqtt://127.0.0.1:1883" and cfg.detection.remote_vehicle == "1"
    with pytest.raises(Exception, match="detection.remote"):
        load_config(None, {"detection.remote": "tcp://127.0.0.1"})


# --- the consumer on a stand-in patrol ---------------------------------------------------------


class FakePatrol:
    """The parts of :class:`groundstation.patrol.Patrol` the consumer uses."""

    def __init__(self, pose: Pose | None = None) -> None:
        self.lines: list[tuple[str, str]] = []
        self.alerts: list[Alert] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.frames_processed = 0
        self._fps = 0.0
        self.following = None
        self.policy = SimpleNamespace(alert_policy="log_only")
        self.plan = None
        self.recorder = None
        self._pose = pose
        self.vehicle = object() if pose is not None else None
        from groundstation.config import load_config

        self.cfg = load_config()
        self.console = SimpleNamespace(line=lambda text: self.lines.append(("info", text)))

    def log(self, text, level="info"):
        self.lines.append((level, text))

    def _on_alert(self, alert):
        self.alerts.append(alert)

    def _pose_for(self, t_s):
        return self._pose

    def said(self, words: str) -> bool:
        return any(words in text for _, text in self.lines)


def test_consumer_skips_bad_messages_duplicates_and_old_flights_and_geotags_with_our_pose():
    now = time.time()
    pose = Pose(t_s=now, lat_deg=41.79, lon_deg=123.43, alt_m=18.0, gimbal_pitch_deg=-45.0)
    patrol = FakePatrol(pose)
    rd = RemoteDetection(patrol, "mqtt://127.0.0.1:9", client_id=f"test-{unique_suffix()}")
    topic = rd.topics.results
    rd.handle(topic, b"{broken")
    assert patrol.said("bad message on dronepatrol/v1/1/results skipped: not JSON")
    # a detector without a pose: its people are projected with the ground station's pose
    r = frame_result(t_s=now, with_pose=False)
    r.persons[0].lat_deg = r.persons[0].lon_deg = None
    rd.handle(topic, encode_result(r, "1", 1280, 720))
    rd.handle(topic, encode_result(r, "1", 1280, 720))  # re-delivered: counted once
    assert patrol.frames_processed == 1 and rd.stats["duplicates"] == 1
    alert = Alert(kind=AlertKind.UNMASKED, t_s=now, track_ids=[7], frame_index=12)
    rd.handle(rd.topics.alerts, encode_alert(alert, "1"))
    rd.handle(rd.topics.alerts, encode_alert(alert, "1"))
    [got] = patrol.alerts
    assert got.id == alert.id and got.lat_deg is not None
    from missions.geo import distance_m

    assert 5 < distance_m(got.lat_deg, got.lon_deg, pose.lat_deg, pose.lon_deg) < 200
    # a previous flight's alert left in the session is not this patrol's
    old = Alert(kind=AlertKind.GATHERING, t_s=now - 3600, lat_deg=41.79, lon_deg=123.43)
    rd.handle(rd.topics.alerts, encode_alert(old, "1"))
    assert len(patrol.alerts) == 1 and rd.stats["stale"] == 1
    rd.handle(rd.topics.status, encode_status("offline", "1", "connection lost"))
    assert ("warning", "remote detector 1: offline (connection lost)") in patrol.lines


# --- through a real broker ---------------------------------------------------------------------


def wait_until(cond, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout_s} s")
        time.sleep(0.05)


def run_consumer(patrol, url, client_id):
    rd = RemoteDetection(patrol, url, client_id=client_id).start()
    t = threading.Thread(target=rd.run, name="test-remote-detection")
    t.start()
    return rd, t


def test_no_alert_is_lost_when_the_broker_restarts_or_the_ground_station_is_away(tmp_path):
    b = Broker(tmp_path / "broker").start()
    gs_id = f"test-gs-{unique_suffix()}"
    patrol = FakePatrol()
    rd, worker = run_consumer(patrol, b.url, gs_id)
    pub = ResultPublisher(b.url, "1", client_id=f"test-det-{unique_suffix()}").start()
    try:
        assert pub.wait_connected(10) and rd.connected.wait(10)
        now = time.time()
        sent = [Alert(kind=AlertKind.GATHERING, t_s=now + i, count=5 + i) for i in range(6)]
        pub.publish_alert(sent[0])
        wait_until(lambda: len(patrol.alerts) == 1, 20, "the first alert")

        # the broker goes away: the publisher queues, both sides say so and reconnect
        b.stop()
        wait_until(lambda: not pub.connected.is_set() and not rd.connected.is_set(), 20, "drop")
        pub.publish_alert(sent[1])
        pub.publish_alert(sent[2])
        assert pub.pending() >= 2
        b.start()
        wait_until(lambda: len(patrol.alerts) == 3, 30, "the alerts queued during the outage")
        assert patrol.said("connection lost") and patrol.said("reconnected (session resumed)")

        # the ground station is away: the broker keeps its persistent session's messages,
        # across a broker restart too
        patrol.stopping.set()
        worker.join(10)
        pub.publish_alert(sent[3])
        pub.publish_alert(sent[4])
        wait_until(lambda: pub.pending() == 0, 20, "the broker took the alerts")
        b.stop()
        b.start()
        pub.publish_alert(sent[5])
        patrol.stopping.clear()
        rd, worker = run_consumer(patrol, b.url, gs_id)
        wait_until(lambda: len(patrol.alerts) == 6, 30, "the alerts kept for the ground station")
        assert [a.id for a in patrol.alerts] == [a.id for a in sent]
    finally:
        patrol.stopping.set()
        worker.join(10)
        pub.close(timeout_s=5)
        b.stop()


def test_detect_publish_bad_input_is_one_line_and_exit_2():
    from testkit import run_cli

    r = run_cli("detect", "sim", "--publish", "mqtt://127.0.0.1:1")
    assert r.returncode == 2 and "detect sim needs --connect" in r.stderr, r.stderr
    r = run_cli("detect", "sim", "--connect", "udpout:127.0.0.1:9", "--publish", "http://x")
    assert r.returncode == 2 and "--publish 'http://x': expected mqtt://" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
