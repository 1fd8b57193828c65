"""The patrol's side of detection on another machine: an MQTT subscriber seen as a queue.

With ``detection.remote: mqtt://HOST[:PORT][/PREFIX]`` the patrol runs no detection itself: a
detector elsewhere (``dronepatrol detect ... --publish``, e.g. on the drone's companion computer,
``docs/remote-detection.md``) publishes each frame's results and its alerts, and
:class:`RemoteDetection` feeds them to the patrol as its own detection loop would:

* every **alert** goes through :meth:`groundstation.patrol.Patrol._on_alert` (recording, overlay,
  alert list, reminders, the alert policy), its snapshot crop written into the recording;
* every **result** is paired with the vehicle's pose at the frame's capture time
  (``Patrol._pose_for``, from the ground station's telemetry); a detector without a pose (a plain
  video source) has its people's foot points projected with that pose, and alerts it could not
  geotag get the position of their people; the result then counts toward the detection frame
  rate, updates the gathering being followed, and the raw detections' ground positions make
  hold candidates (``policy.alert_policy: hover_and_speak``), as in-process.

Delivery: the subscriber has a fixed client id and a persistent session (``clean_session=False``)
and acknowledges each QoS 1 message only once it has been handled (paho's ``manual_ack``): what
the broker took from the detector reaches the patrol even when the broker or the ground station's
connection dropped in between. A re-delivered message (same alert id, same frame) is handled
once; messages from before this patrol (a previous flight's queue) are skipped and counted.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from detection.remote.bus import make_client, parse_broker_url
from detection.remote.schema import (
    AlertMessage,
    MessageError,
    ResultMessage,
    StatusMessage,
    Topics,
    decode,
)
from missions.errors import InputError

log = logging.getLogger(__name__)

STALE_S = 30.0
"""Messages whose frame time is this much older than the patrol's start are a previous flight's."""
CONNECT_WAIT_S = 5.0
"""How long the patrol waits for the broker at start before going on without it (it keeps trying)."""


class RemoteDetection:
    """Subscribes to one vehicle's detection topics and feeds a :class:`Patrol`.

    Also stands in for the patrol's pipeline (``local_frame``, ``face_detector``, ``close``)
    so that the patrol's hold-candidate code runs on remote results unchanged.

    Args:
        patrol: The :class:`groundstation.patrol.Patrol` (its ``log``, ``_on_alert``,
            ``_pose_for``, ``recorder``, ``stopping``).
        url: ``mqtt://HOST[:PORT][/PREFIX]`` (``detection.remote``).
        vehicle: The vehicle id in the topics (``detection.remote_vehicle``).
        client_id: Fixed client id of the persistent session (default
            ``dronepatrol-groundstation-<vehicle>``).

    Raises:
        InputError: A bad URL or vehicle id.
    """

    face_detector = None  # the close look needs faces judged here: not with remote detection

    def __init__(self, patrol, url: str, vehicle: str = "1", client_id: str | None = None) -> None:
        self.patrol = patrol
        self.address = parse_broker_url(url, "detection.remote")
        try:
            self.topics = Topics(self.address.prefix, vehicle)
        except MessageError as exc:
            raise InputError(f"detection.remote_vehicle: {exc}") from None
        self.client_id = client_id or f"dronepatrol-groundstation-{self.topics.vehicle}"
        self.client = make_client(self.client_id, self.address, manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.inbox: queue.Queue = queue.Queue()
        self.connected = threading.Event()
        self.started_s = time.time()
        self.local_frame = None
        self._stopping = False
        self._detector_state: str | None = None
        self._alert_ids: set[str] = set()
        self._frames: collections.OrderedDict = collections.OrderedDict()  # (index, t_s) -> persons
        self._window: list[float] = []
        self._intrinsics: dict = {}
        self.stats = collections.Counter()
        self.latency_s: list[float] = []
        """Frame capture -> handled here, seconds (the detector's and this clock; last 1000)."""

    # -- connection (paho's network thread) --------------------------------------------------------

    def start(self) -> RemoteDetection:
        """Connect (in the background, retrying) and wait up to :data:`CONNECT_WAIT_S` for it."""
        self.client.connect_async(self.address.host, self.address.port, keepalive=10)
        self.client.loop_start()
        if not self.connected.wait(CONNECT_WAIT_S):
            self.patrol.log(
                f"detection broker {self.address} not reachable yet: the patrol goes on and keeps "
                "trying (results queued for it are delivered once connected)",
                level="warning",
            )
        return self

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.patrol.log(f"detection broker refused the connection: {reason_code}", "error")
            return
        client.subscribe([(t, 1) for t in self.topics.all()])
        resumed = "session resumed" if flags.session_present else "new session"
        first = not self.connected.is_set() and self.stats["connects"] == 0
        self.stats["connects"] += 1
        self.connected.set()
        self.patrol.log(
            f"detection broker {self.address}: {'connected' if first else 'reconnected'} "
            f"({resumed}), results of vehicle {self.topics.vehicle}"
        )

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if self._stopping:
            return
        self.stats["disconnects"] += 1
        self.patrol.log(
            f"detection broker {self.address}: connection lost ({reason_code}); reconnecting "
            "(nothing sent with QoS 1 is lost meanwhile)",
            level="warning",
        )

    def _on_message(self, client, userdata, msg) -> None:
        self.inbox.put((msg.topic, msg.payload, msg.mid, msg.qos))

    # -- the worker (a patrol thread) --------------------------------------------------------------

    def run(self) -> None:
        """Handle messages until the patrol stops; then disconnect (every wait has a timeout)."""
        try:
            while not self.patrol.stopping.is_set():
                try:
                    topic, payload, mid, qos = self.inbox.get(timeout=0.5)
                except queue.Empty:
                    continue
                try:
                    self.handle(topic, payload)
                except Exception:  # never let one message stop the patrol's detection
                    log.exception("remote detection message on %s failed", topic)
                    self.stats["failed"] += 1
                if qos > 0:
                    self.client.ack(mid, qos)
        finally:
            self.close()

    def close(self) -> None:
        """Disconnect from the broker (the session and what is queued for it stay there)."""
        if self._stopping:
            return
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()
        self.patrol.console.line(self.summary())

    def handle(self, topic: str, payload: bytes) -> None:
        """Handle one message; a bad one is logged in one line and skipped."""
        try:
            msg = decode(payload)
        except MessageError as exc:
            self.stats["bad"] += 1
            self.patrol.log(f"remote detection: bad message on {topic} skipped: {exc}", "warning")
            return
        if msg.vehicle != self.topics.vehicle:
            self.stats["other_vehicle"] += 1
            return
        if isinstance(msg, ResultMessage):
            self._on_result(msg)
        elif isinstance(msg, AlertMessage):
            self._on_alert(msg)
        elif isinstance(msg, StatusMessage):
            if msg.state == self._detector_state:  # a retained status seen again
                return
            self._detector_state = msg.state
            detail = f" ({msg.detail})" if msg.detail else ""
            level = "info" if msg.state == "online" else "warning"
            self.patrol.log(f"remote detector {msg.vehicle}: {msg.state}{detail}", level=level)

    def _stale(self, t_s: float) -> bool:
        if t_s < self.started_s - STALE_S:
            self.stats["stale"] += 1
            if self.stats["stale"] == 1:
                self.patrol.log("remote detection: skipping messages from before this patrol")
            return True
        return False

    def _on_result(self, m: ResultMessage) -> None:
        key = (m.frame_index, m.t_s)
        if key in self._frames:
            self.stats["duplicates"] += 1
            return
        if self._stale(m.t_s):
            return
        p = self.patrol
        pose = p._pose_for(m.t_s) if p.vehicle is not None else None
        if m.pose is None and pose is not None:
            self._project(m, pose)
        self._frames[key] = m.persons
        while len(self._frames) > 200:
            self._frames.popitem(last=False)
        now = time.monotonic()
        self.stats["results"] += 1
        self.latency_s = self.latency_s[-999:] + [time.time() - m.t_s]
        self._window = [t for t in self._window if now - t < 5.0] + [now]
        w = self._window
        with p._lock:
            p.frames_processed += 1
            p._fps = (len(w) - 1) / max(1e-3, now - w[0]) if len(w) > 1 else 0.0
        for g in m.gatherings:
            if g.lat_deg is not None and not g.alerted:
                p.following = (now, g.lat_deg, g.lon_deg)
        if pose is not None and p.policy.alert_policy == "hover_and_speak" and p.plan is not None:
            self._candidates(m)

    def _candidates(self, m: ResultMessage) -> None:
        """The patrol's hold candidates from the raw detections' ground positions."""
        from detection.faces import MaskLabel
        from missions.geo import LocalFrame

        if self.local_frame is None:
            home = self.patrol.plan.home
            self.local_frame = LocalFrame(home.lat_deg, home.lon_deg)
        ll = [(d.lat_deg, d.lon_deg) for d in m.detections if d.lat_deg is not None]
        xy = self.local_frame.to_local_array(np.array(ll)) if ll else np.zeros((0, 2))
        result = SimpleNamespace(
            frame_index=m.frame_index,
            raw_detections=_Raw(xy),
            persons=[
                SimpleNamespace(
                    lat_deg=b.lat_deg,
                    lon_deg=b.lon_deg,
                    track_id=b.track_id,
                    mask=MaskLabel(b.mask),
                    xyxy=np.array(b.xyxy),
                )
                for b in m.persons
            ],
        )
        self.patrol._look_for_candidates(result)
        self.patrol._note_faces(result, time.monotonic())

    def _project(self, m: ResultMessage, pose) -> None:
        """Geotag the people of a result the detector sent without a pose, with ours."""
        from detection.geometry import CameraIntrinsics, ground_offsets
        from missions.geo import LocalFrame

        if pose.alt_m <= 0:
            return
        boxes = [*m.detections, *m.persons]
        if not boxes:
            return
        cfg = self.patrol.cfg
        size = (m.width_px, m.height_px)
        intr = self._intrinsics.get(size)
        if intr is None:
            intr = self._intrinsics[size] = CameraIntrinsics.from_settings(cfg.camera, *size)
        feet = np.array([b.foot_px for b in boxes], dtype=float)
        en = ground_offsets(
            intr,
            pose,
            feet,
            stabilised=cfg.detection.gimbal_stabilised,
            max_range_m=cfg.detection.max_range_m,
        )
        cam = LocalFrame(pose.lat_deg, pose.lon_deg)
        for b, (e, n) in zip(boxes, en, strict=True):
            if np.isfinite(e) and np.isfinite(n):
                lat, lon = cam.to_geo(float(e), float(n))
                b.lat_deg, b.lon_deg = float(lat), float(lon)

    def _on_alert(self, m: AlertMessage) -> None:
        a = m.alert
        if a.id in self._alert_ids:
            self.stats["duplicates"] += 1
            return
        if self._stale(a.t_s):
            return
        self._alert_ids.add(a.id)
        if a.lat_deg is None:
            self._geotag(a)
        a.snapshot = self._write_snapshot(m)
        self.stats["alerts"] += 1
        self.patrol._on_alert(a)

    def _geotag(self, a) -> None:
        """Position of an alert the detector could not geotag: its people's, on its frame."""
        persons = next(
            (ps for (i, _), ps in reversed(self._frames.items()) if i == a.frame_index), []
        )
        ll = [
            (b.lat_deg, b.lon_deg)
            for b in persons
            if b.lat_deg is not None and (not a.track_ids or b.track_id in a.track_ids)
        ]
        if ll:
            a.lat_deg, a.lon_deg = (float(v) for v in np.mean(ll, axis=0))

    def _write_snapshot(self, m: AlertMessage) -> str | None:
        data = m.snapshot_bytes()
        rec = self.patrol.recorder
        if data is None or rec is None:
            return None
        a = m.alert
        path = Path(rec.snapshot_dir) / f"{a.kind.value}_{a.frame_index or 0:06d}_{a.id}.jpg"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as exc:
            log.warning("cannot write snapshot %s: %s", path, exc)
            return None
        return str(path)

    def summary(self) -> str:
        """One line: results, alerts, duplicates, bad and stale messages, disconnects."""
        s = self.stats
        lat = f", median latency {np.median(self.latency_s):.2f} s" if self.latency_s else ""
        return (
            f"remote detection: {s['results']} results, {s['alerts']} alerts, "
            f"{s['duplicates']} re-deliveries ignored, {s['bad']} bad and {s['stale']} stale "
            f"messages skipped, broker lost {s['disconnects']} time(s){lat}"
        )


class _Raw:
    """The part of ``supervision.Detections`` the hold-candidate code reads."""

    def __init__(self, xy: np.ndarray) -> None:
        self.data = {"xy_m": xy}

    def __len__(self) -> int:
        return len(self.data["xy_m"])
