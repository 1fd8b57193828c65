"""The overlay hub: what the officers' page shows, fed by a live patrol or by a replay.

The hub is a thread-safe store with change counters; the web app (:mod:`groundstation.overlay.app`)
only reads it. Producers push into it from any thread:

* the latest annotated video frame (:meth:`OverlayHub.push_frame`, JPEG-encoded once here);
* the vehicle state (:meth:`OverlayHub.push_state`: position, heading, mode, battery, link...);
* alerts (:meth:`OverlayHub.push_alert`) with their snapshot files;
* log lines (:meth:`OverlayHub.push_log`: mode changes, holds, broadcasts, warnings);
* the static map (:meth:`OverlayHub.set_map`: district with holes, route, fence, home).

A replay (``dronepatrol replay``) feeds the same hub from a recording and installs a
:class:`ReplayControl` (:meth:`OverlayHub.set_replay`) so that the page shows play/pause, speed
and a seek bar; on a seek it calls :meth:`OverlayHub.reset` and pushes the alerts up to the new
time again. See ``docs/overlay.md``.
"""

from __future__ import annotations

import collections
import contextlib
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

MAX_ALERTS = 500
MAX_LOG = 300
MAX_TRAIL = 100_000
VIEWER_GRACE_S = 3.0
"""A video client counts as watching this long after its last frame request ended (the page
asks again at once; a phone that went to sleep stops costing JPEG encodes after this)."""

QUIET_LOG = re.compile(
    r"^(vehicle: )?(PreArm|Arm(ing)?:|fence|rally|FENCE_|param|EKF|AHRS|GPS|Field Elevation|"
    r"Barometer|Compass|Throttle)|items uploaded and verified",
    re.IGNORECASE,
)
"""Operator chatter (fence and parameter lines, PreArm noise, transfers): marked ``quiet`` in the
log, which the officers' page hides unless asked to show everything."""


@runtime_checkable
class ReplayControl(Protocol):
    """What a replay feeder offers the page (all methods are called from the web server thread).

    ``status()`` returns ``{"t_s", "start_s", "end_s", "paused", "speed"}`` (UNIX seconds of the
    recording's clock, the current playback time and its bounds).
    """

    def play(self) -> None:
        """Resume playback at the current speed."""

    def pause(self) -> None:
        """Stop at the current position."""

    def seek(self, t_s: float) -> None:
        """Jump to ``t_s`` (UNIX seconds of the recording's clock)."""

    def set_speed(self, speed: float) -> None:
        """Play ``speed`` recording seconds per wall second."""

    def status(self) -> dict:
        """``{"t_s", "start_s", "end_s", "paused", "speed"}`` (see the class docstring)."""


@dataclass
class VideoFrame:
    """The latest frame: JPEG bytes, its sequence number (1, 2, ...), UNIX time and index."""

    seq: int
    jpeg: bytes
    t_s: float
    frame_index: int


class OverlayHub:
    """Thread-safe state of the live overlay.

    Args:
        title: Shown in the page header.
        mode: ``live`` or ``replay``.
        jpeg_quality: Quality of frames encoded by :meth:`push_frame`.
        max_width_px: Frames wider than this are scaled down before encoding (bandwidth).
    """

    def __init__(
        self,
        *,
        title: str = "dronepatrol",
        mode: str = "live",
        jpeg_quality: int = 75,
        max_width_px: int = 1280,
    ) -> None:
        self.title = title
        self.mode = mode
        self.jpeg_quality = jpeg_quality
        self.max_width_px = max_width_px
        self._lock = threading.Lock()
        self._frame: VideoFrame | None = None
        self._frame_seq = 0
        self._viewers = 0  # video requests in flight (/api/frame long polls, MJPEG streams)
        self._viewer_end = -float("inf")  # time.monotonic() the last one ended
        self._state: dict[str, Any] = {}
        self._state_version = 0
        self._map: dict[str, Any] = {}
        self._map_version = 0
        self._alerts: collections.OrderedDict[str, dict] = collections.OrderedDict()
        self._snapshots: dict[str, Path] = {}
        self.snapshot_root: Path | None = None
        """When set, :meth:`snapshot_path` gives only files inside this folder (a replay's
        recording folder)."""
        self._log: collections.deque[dict] = collections.deque(maxlen=MAX_LOG)
        self._trail: collections.deque[tuple[float, float]] = collections.deque(maxlen=MAX_TRAIL)
        self._trail_total = 0  # points appended since the last reset (clients ask "since N")
        self.timezone: dict = {"name": None, "utc_offset_min": 0}
        # every alert/log/reset message gets a sequence number; clients ask "since N"
        self._messages: collections.deque[tuple[int, str, dict]] = collections.deque(maxlen=2000)
        self._msg_seq = 0
        self._epoch = 0
        self.replay: ReplayControl | None = None
        self.closed = False
        # acknowledgements per alert id (also those that came before their alert, and kept over
        # a replay's reset), copied into the alert dicts as "acks" and the latest as "ack"
        self.store = None
        self.recording: str | None = None
        self._ack_ids: set[int] = set()
        self._acks: dict[str, list[dict]] = {}
        self._local_ack_id = 0
        # a fleet (groundstation.fleet): state and trail per vehicle, and the vehicle whose
        # video the page shows; its state is also the hub's state (the status panel)
        self._vehicles: dict[int, dict] = {}
        self.video_vehicle: int | None = None
        self._route_owners: list[int] = []

    def attach_store(self, store, *, recording: str | None = None) -> None:
        """Write alerts and acknowledgements through to ``store`` (a
        :class:`groundstation.serve.AlertStore`), the alerts tagged with ``recording``."""
        self.store = store
        self.recording = recording

    # -- producers ---------------------------------------------------------------------------------

    def push_frame(self, image: np.ndarray | bytes, t_s: float, frame_index: int = 0) -> VideoFrame:
        """Publish a video frame (BGR array, encoded to JPEG here, or JPEG bytes)."""
        if isinstance(image, bytes | bytearray):
            jpeg = bytes(image)
        else:
            import cv2

            img = image
            if img.shape[1] > self.max_width_px:
                scale = self.max_width_px / img.shape[1]
                img = cv2.resize(
                    img, (self.max_width_px, int(round(img.shape[0] * scale))), cv2.INTER_AREA
                )
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
            if not ok:
                raise ValueError("JPEG encoding of the overlay frame failed")
            jpeg = buf.tobytes()
        with self._lock:
            self._frame_seq += 1
            self._frame = VideoFrame(self._frame_seq, jpeg, float(t_s), int(frame_index))
            return self._frame

    @contextlib.contextmanager
    def viewing(self):
        """Context of one video request (the web app wraps ``/api/frame`` and ``/video.mjpg``):
        while it runs, and :data:`VIEWER_GRACE_S` after, :meth:`watched` is True."""
        with self._lock:
            self._viewers += 1
        try:
            yield
        finally:
            with self._lock:
                self._viewers -= 1
                self._viewer_end = time.monotonic()

    def watched(self, grace_s: float = VIEWER_GRACE_S) -> bool:
        """True while a client asks for video (or did within ``grace_s`` seconds): producers
        such as :class:`~groundstation.overlay.live_video.LiveVideo` draw and encode frames only
        then."""
        with self._lock:
            return self._viewers > 0 or time.monotonic() - self._viewer_end < grace_s

    def push_state(self, **state: Any) -> None:
        """Merge vehicle/patrol state fields and publish them.

        Known keys (all optional): ``t_s``, ``lat_deg``, ``lon_deg``, ``alt_m``, ``yaw_deg``,
        ``groundspeed_m_s``, ``mode``, ``armed``, ``battery_pct``, ``battery_v``, ``link_ok``,
        ``mission_seq``, ``mission_count``, ``sortie``, ``sorties``, ``phase`` (what the patrol
        is doing: ``takeoff``, ``survey``, ``hold``, ``rtl``...), ``gps_fix``, ``detection_fps``.
        A position adds a point to the vehicle's trail.
        """
        with self._lock:
            self._state.update(state)
            self._state_version += 1
            lat, lon = state.get("lat_deg"), state.get("lon_deg")
            point = None if lat is None or lon is None else (round(lat, 7), round(lon, 7))
            if point is not None and (not self._trail or self._trail[-1] != point):
                self._trail.append(point)
                self._trail_total += 1

    def push_vehicle(self, vehicle: int, **state: Any) -> None:
        """Merge one fleet vehicle's state (keys as :meth:`push_state`) and add its position to
        its own trail. The vehicle selected for video (:attr:`video_vehicle`) also sets the
        hub's state, which the page's status panel shows."""
        with self._lock:
            v = self._vehicles.setdefault(vehicle, {"id": vehicle, "trail": []})
            v.update({k: val for k, val in state.items() if k != "trail"})
            lat, lon = state.get("lat_deg"), state.get("lon_deg")
            if lat is not None and lon is not None:
                point = [round(lat, 7), round(lon, 7)]
                if not v["trail"] or v["trail"][-1] != point:
                    v["trail"].append(point)
                    if len(v["trail"]) > MAX_TRAIL:
                        del v["trail"][: len(v["trail"]) - MAX_TRAIL]
            self._state_version += 1
        if vehicle == self.video_vehicle:
            with self._lock:
                self._state.update(state, vehicle=vehicle)
                self._state_version += 1

    def select_video(self, vehicle: int) -> None:
        """Show this fleet vehicle's video (and its state in the status panel).

        Raises:
            KeyError: No such vehicle.
        """
        with self._lock:
            if vehicle not in self._vehicles:
                raise KeyError(vehicle)
            self.video_vehicle = vehicle
            self._state.update(
                {k: v for k, v in self._vehicles[vehicle].items() if k not in ("trail", "id")},
                vehicle=vehicle,
            )
            self._state_version += 1

    def vehicles(self, trail_points: int = 2000) -> list[dict]:
        """Each fleet vehicle's state with its latest ``trail_points`` trail points, by id."""
        with self._lock:
            return [
                {**v, "trail": v["trail"][-trail_points:]}
                for _, v in sorted(self._vehicles.items())
            ]

    def vehicle_positions(self) -> list[dict]:
        """Each fleet vehicle's latest ``id``, position, heading, mode and phase (no trail): what
        the page's ``state`` messages carry to move every vehicle's marker; [] for one vehicle."""
        keys = ("id", "lat_deg", "lon_deg", "alt_m", "yaw_deg", "mode", "phase", "battery_pct")
        with self._lock:
            return [{k: v.get(k) for k in keys} for _, v in sorted(self._vehicles.items())]

    def set_route_owners(self, owners: list[int]) -> None:
        """For a fleet's map: the vehicle index (0, 1...) flying each route of :meth:`set_map`."""
        with self._lock:
            self._route_owners = [int(o) for o in owners]
            self._map["route_owners"] = list(self._route_owners)
            self._map_version += 1
            self._post("map", {"version": self._map_version})

    def trail_since(self, n: int) -> tuple[int, list[tuple[float, float]]]:
        """Trail points appended after the first ``n`` (since the last reset).

        Args:
            n: How many points the client has (the snapshot's ``trail_total``).

        Returns:
            ``(total, new points)``; every point when ``n`` is ahead of the hub (a reset).
        """
        with self._lock:
            total = self._trail_total
            if n >= total:
                return total, [] if n == total else list(self._trail)
            first = total - len(self._trail)
            return total, list(self._trail)[max(0, n - first) :]

    def push_alert(self, alert, snapshot: str | Path | None = None, *, store: bool = True) -> None:
        """Publish a :class:`detection.alerts.Alert` (or its dict).

        Args:
            alert: The alert.
            snapshot: Path of its snapshot JPEG, served to the page as
                ``/api/alerts/<id>/snapshot``. A relative path is taken relative to the working
                directory now (as the detector wrote it, e.g. under a relative
                ``--record-dir``) and stored absolute. Default: ``alert.snapshot`` when it is
                absolute (a recorded alert's relative snapshot is relative to its recording
                folder, which the hub does not know: the replay passes it resolved).
            store: Also write it to the attached store (:meth:`attach_store`), if any.
        """
        data = alert.model_dump(mode="json") if hasattr(alert, "model_dump") else dict(alert)
        if snapshot is not None:
            snap = Path(snapshot).absolute() if str(snapshot) else None
        else:
            recorded = data.get("snapshot")
            snap = Path(recorded) if recorded and Path(recorded).is_absolute() else None
        data.pop("acks", None)
        data.pop("ack", None)
        if store and self.store is not None:
            self.store.add_alert(data, recording=self.recording, snapshot=snap)
        with self._lock:
            if snap is not None:
                self._snapshots[data["id"]] = snap
            data["has_snapshot"] = data["id"] in self._snapshots
            data["acks"] = list(self._acks.get(data["id"], []))
            data["ack"] = data["acks"][-1] if data["acks"] else None
            self._alerts[data["id"]] = data
            while len(self._alerts) > MAX_ALERTS:
                old, _ = self._alerts.popitem(last=False)
                self._snapshots.pop(old, None)
            self._post("alert", data)

    def has_alert(self, alert_id: str) -> bool:
        """True when the hub holds alert ``alert_id``."""
        with self._lock:
            return alert_id in self._alerts

    def ack(self, alert_id: str, officer: str, state: str, *, verified: bool = False) -> dict:
        """An officer acknowledges an alert: kept (in the store when attached) and pushed.

        Args:
            alert_id: The alert.
            officer: Who (the name of a per-officer token, or as typed on the page).
            state: One of :data:`groundstation.serve.ACK_STATES`.
            verified: The name comes from a per-officer token.

        Returns:
            The acknowledgement: ``ack_id``, ``alert_id``, ``officer``, ``state``, ``t_s``
            (UNIX s), ``verified``.

        Raises:
            KeyError: No such alert.
            ValueError: Unknown ``state``.
        """
        from groundstation.serve.store import ACK_STATES, _ack

        if not self.has_alert(alert_id):
            raise KeyError(alert_id)
        if state not in ACK_STATES:
            raise ValueError(f"state must be one of {', '.join(ACK_STATES)}, not {state!r}")
        if self.store is not None:
            ack = self.store.add_ack(alert_id, officer, state, verified=verified)
        else:
            with self._lock:
                self._local_ack_id += 1
                ack_id = self._local_ack_id
            ack = _ack(ack_id, alert_id, officer, state, time.time(), verified)
        self.apply_ack(ack)
        return ack

    def apply_ack(self, ack: dict) -> None:
        """Add an acknowledgement (from :meth:`ack` or a store) to its alert and push it.

        Idempotent by ``ack_id``; one for an alert the hub does not hold yet waits for it.
        """
        with self._lock:
            if ack["ack_id"] in self._ack_ids:
                return
            self._ack_ids.add(ack["ack_id"])
            acks = self._acks.setdefault(ack["alert_id"], [])
            acks.append(ack)
            alert = self._alerts.get(ack["alert_id"])
            if alert is None:
                return
            alert["acks"] = list(acks)
            alert["ack"] = ack
            self._post("ack", {"alert_id": ack["alert_id"], "ack": ack, "acks": alert["acks"]})

    def alerts(self) -> list[dict]:
        """Copies of the alerts held, oldest first (with ``acks`` and the latest ``ack``)."""
        with self._lock:
            return [dict(a) for a in self._alerts.values()]

    def push_log(self, text: str, *, level: str = "info", t_s: float | None = None) -> None:
        """Publish a line for the page's log (``level``: info, warning, error)."""
        entry = {
            "t_s": time.time() if t_s is None else t_s,
            "text": text,
            "level": level,
            "quiet": level != "error" and bool(QUIET_LOG.search(text)),
        }
        with self._lock:
            self._log.append(entry)
            self._post("log", entry)

    def set_map(
        self,
        *,
        district: dict | None = None,
        route: list[list[tuple[float, float]]] | None = None,
        fence: dict | None = None,
        home: tuple[float, float] | None = None,
        tile_url: str | None = None,
        risk: dict | None = None,
        route_owners: list[int] | None = None,
    ) -> None:
        """Set the static map layers.

        Args:
            district: GeoJSON geometry (Polygon/MultiPolygon, lon/lat order; interior rings are
                no-fly holes) or a FeatureCollection.
            route: Planned route per sortie, each a list of ``(lat_deg, lon_deg)``.
            fence: GeoJSON geometry of the uploaded fence (inclusion ring + exclusion holes).
            home: ``(lat_deg, lon_deg)``.
            tile_url: Optional XYZ tile URL template (``.../{z}/{x}/{y}.png``).
            risk: The five-colour risk layer, a GeoJSON FeatureCollection
                (:meth:`missions.risk.RiskMap.to_geojson`), or None.
            route_owners: For a fleet, the vehicle index (0, 1...) flying each route, as
                :meth:`set_route_owners` sets it.
        """
        with self._lock:
            self._map = {
                "district": district,
                "route": [[list(p) for p in r] for r in (route or [])],
                "fence": fence,
                "home": list(home) if home else None,
                "tile_url": tile_url,
                "risk": risk,
            }
            if route_owners is not None:
                self._route_owners = [int(o) for o in route_owners]
                self._map["route_owners"] = list(self._route_owners)
            self._map_version += 1
            self._post("map", {"version": self._map_version})

    def set_replay(self, control: ReplayControl | None) -> None:
        """Install (or remove) the replay controls; the hub's mode becomes ``replay``."""
        self.replay = control
        if control is not None:
            self.mode = "replay"

    def reset(self) -> None:
        """Forget alerts, log, trail, frame and vehicle state (a replay seek): clients reload and
        show exactly what is pushed after it (nothing before the first telemetry)."""
        with self._lock:
            self._alerts.clear()
            self._snapshots.clear()
            self._log.clear()
            self._trail.clear()
            self._trail_total = 0
            self._state = {}
            for v in self._vehicles.values():
                v["trail"] = []
            self._state_version += 1
            self._frame = None
            self._epoch += 1
            self._post("reset", {"epoch": self._epoch})

    def close(self) -> None:
        """Tell streaming clients to finish (the server is stopping)."""
        self.closed = True

    def _post(self, kind: str, data: dict) -> None:
        self._msg_seq += 1
        self._messages.append((self._msg_seq, kind, data))

    # -- readers (web app) ------------------------------------------------------------------------------

    def frame(self) -> VideoFrame | None:
        """The latest frame, or None."""
        with self._lock:
            return self._frame

    def frame_after(self, seq: int) -> VideoFrame | None:
        """The latest frame when it is not frame ``seq`` (the one the client already has)."""
        with self._lock:
            f = self._frame
            return f if f is not None and f.seq != seq else None

    def state(self) -> tuple[int, dict]:
        """``(version, state)``: a copy of the state with its change counter."""
        with self._lock:
            return self._state_version, dict(self._state)

    def snapshot(self) -> dict:
        """Everything a page needs on (re)load: title, mode, state, alerts, log, trail, replay."""
        with self._lock:
            out = {
                "title": self.title,
                "mode": self.mode,
                "state": dict(self._state),
                "state_version": self._state_version,
                "alerts": list(self._alerts.values()),
                "log": list(self._log),
                "trail": list(self._trail),
                "trail_total": self._trail_total,
                "timezone": dict(self.timezone),
                "message_seq": self._msg_seq,
                "epoch": self._epoch,
                "map_version": self._map_version,
                "frame_seq": self._frame.seq if self._frame else 0,
                "video_vehicle": self.video_vehicle,
            }
        out["vehicles"] = self.vehicles()
        out["replay"] = self.replay_status()
        return out

    def map(self) -> dict:
        """The static map (district, holes, route, fence, home) as set by :meth:`set_map`."""
        with self._lock:
            return dict(self._map)

    def messages_since(self, seq: int) -> tuple[int, list[tuple[int, str, dict]]]:
        """Alert/log/map/reset messages after ``seq``: ``(latest_seq, [(seq, kind, data)])``.

        When ``seq`` is older than the buffer, a ``reset`` message comes first so the client
        reloads.
        """
        with self._lock:
            latest = self._msg_seq
            if seq >= latest:
                return latest, []
            msgs = [m for m in self._messages if m[0] > seq]
            if self._messages and self._messages[0][0] > seq + 1:
                msgs.insert(0, (latest, "reset", {"epoch": self._epoch}))
            return latest, msgs

    def snapshot_path(self, alert_id: str) -> Path | None:
        """The snapshot file of alert ``alert_id``, or None when it has none."""
        with self._lock:
            path = self._snapshots.get(alert_id)
        root = self.snapshot_root
        if path is not None and root is not None:
            # only files inside the recording folder are ever served
            try:
                path = path.resolve()
            except (OSError, RuntimeError):
                return None
            if not path.is_relative_to(Path(root).resolve()):
                return None
        return path

    def replay_status(self) -> dict | None:
        """The replay's :meth:`ReplayControl.status`, or None when live.

        A feeder that raises gives ``{"error": text}`` instead, so the page keeps working.
        """
        if self.replay is None:
            return None
        try:
            return dict(self.replay.status())
        except Exception as exc:  # a feeder bug must not break the page
            return {"error": str(exc)}
