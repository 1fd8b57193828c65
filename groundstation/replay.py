"""Replay a flight recording into the live overlay: ``dronepatrol replay``.

:class:`RecordingReplay` reads a recording folder (``docs/recording.md``) and feeds the overlay's
:class:`~groundstation.overlay.hub.OverlayHub` as the live patrol would, on a clock of its own:

* the vehicle state (position, heading, mode, battery, link...) from ``telemetry.jsonl``, or from
  the tlog when the recorder's telemetry is missing;
* the annotated video: for the playback time ``t``, the last frame of ``video/frames.jsonl`` with
  ``t_s <= t``, decoded from its segment (``segment``, ``segment_frame``) and pushed once;
* alerts when their ``t_s`` is reached (with their snapshots), and log lines for recorder events
  and reminders broadcast;
* the static map (district with no-fly holes, planned route, fence, home) from ``plan/``;
* a fleet recording: every vehicle, and the video of the vehicle the page selects
  (:mod:`groundstation.replay_fleet`).

It implements the hub's :class:`~groundstation.overlay.hub.ReplayControl` so the page shows
play/pause, speed and a seek bar. A seek resets the hub and pushes again everything up to the new
time (alerts, log, the trail flown so far), so the page looks as it did live at that moment.

Playback time runs ``speed`` times the wall clock (``time.monotonic``); the feeder thread wakes every
:data:`TICK_S` seconds (or at once on a control change) and stops at the end of the recording,
paused. Cut recordings (SIGKILL) play as far as they go: a cut last JSONL line is skipped by the
reader, frames the cut last segment cannot deliver are skipped.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from groundstation.overlay.hub import OverlayHub
from groundstation.recording import finite_number
from missions.errors import InputError

log = logging.getLogger(__name__)

TICK_S = 0.04
"""Feeder period (25 Hz): the finest time step of state, alerts and frames."""
MAX_SPEED = 64.0
MAX_FRAME_FALLBACK = 100
"""When a frame cannot be decoded (a cut segment), up to this many earlier frames are tried."""


@dataclass(frozen=True)
class FrameRef:
    """One indexed video frame: UNIX time, segment file name, index in it, global index."""

    t_s: float
    segment: str
    segment_frame: int
    frame_index: int


@dataclass
class ReplayTimeline:
    """Everything a replay pushes, sorted by time.

    Attributes:
        name: Recording name (folder name).
        states: ``(t_s, fields)`` for :meth:`OverlayHub.push_state`.
        alerts: ``(t_s, Alert, snapshot_path | None)``; the path is absolute, None when the
            alert names no snapshot or its file is missing.
        logs: ``(t_s, text, level)``.
        frames: Indexed video frames (only those of existing segment files); a fleet's first
            vehicle's.
        video_dir: The ``video/`` folder (a fleet's first vehicle's).
        videos: A fleet's ``{sysid: (video_dir, frames)}`` per vehicle; empty for one vehicle.
        map: Keyword arguments of :meth:`OverlayHub.set_map`.
        missing: What the recording lacks (shown in the page log at start).
    """

    name: str
    states: list[tuple[float, dict]] = field(default_factory=list)
    alerts: list[tuple[float, object, Path | None]] = field(default_factory=list)
    logs: list[tuple[float, str, str]] = field(default_factory=list)
    frames: list[FrameRef] = field(default_factory=list)
    video_dir: Path | None = None
    videos: dict = field(default_factory=dict)
    map: dict = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def start_s(self) -> float:
        """UNIX time of the earliest state, alert, log line or frame (0 for an empty timeline)."""
        return min(self._bounds()) if self._bounds() else 0.0

    @property
    def end_s(self) -> float:
        """UNIX time of the latest state, alert, log line or frame (0 for an empty timeline)."""
        return max(self._bounds()) if self._bounds() else 0.0

    def _bounds(self) -> list[float]:
        out = []
        for seq in (self.states, self.alerts, self.logs):
            if seq:
                out += [seq[0][0], seq[-1][0]]
        for frames in [self.frames] + [f for _, f in self.videos.values()]:
            if frames:
                out += [frames[0].t_s, frames[-1].t_s]
        return out


def confined_path(folder: str | os.PathLike, relative: str | os.PathLike) -> Path | None:
    """``folder/relative`` when it is a file inside ``folder``, else None.

    A recording is data from anywhere: a path written in it (an alert's snapshot) may be
    absolute or climb out with ``..`` or a symlink. Absolute paths and ``..`` parts are refused,
    and the resolved path must lie inside the resolved folder.
    """
    text = str(relative)
    if not text or "\x00" in text:
        return None
    rel = Path(text)
    if rel.is_absolute() or ".." in rel.parts:
        return None
    root = Path(folder).resolve()
    try:
        full = (root / rel).resolve()
    except (OSError, RuntimeError):
        return None
    if not full.is_relative_to(root) or not full.is_file():
        return None
    return full


def load_timeline(folder: str | os.PathLike) -> ReplayTimeline:
    """Read a recording folder into a :class:`ReplayTimeline`.

    Raises:
        InputError: Not a recording folder, or one with nothing to replay (no telemetry, tlog
            position, video frame or alert).
    """
    from groundstation.recording import Recording, iter_jsonl
    from groundstation.report.recording import cut_last_line, event_severity, event_text

    p = Path(folder)
    if p.is_file() and p.name == "manifest.json":
        p = p.parent
    if p.is_file():
        raise InputError(
            f"{p}: replay needs a recording folder (a tlog alone has no video: use 'dronepatrol report')"
        )
    rec = Recording.open(p)
    tl = ReplayTimeline(name=rec.manifest.get("name") or p.name, video_dir=rec.path("video"))
    if rec.manifest and not rec.complete:
        tl.missing.append(
            "the recording was cut (manifest complete: false): it plays up to the cut"
        )
    for key in ("telemetry", "alerts", "events", "broadcasts", "frames"):
        if cut_last_line(rec.path(key)):
            tl.missing.append(f"{rec.path(key).name}: the last line was cut (skipped)")

    from groundstation.fleet_recording import fleet_vehicles
    from groundstation.replay_fleet import load_fleet, read_frame_index

    vehicles = fleet_vehicles(p)
    if vehicles:  # a fleet (docs/fleet.md): every vehicle's states, log and video
        load_fleet(tl, vehicles)
    # vehicle states
    for r in iter_jsonl(rec.path("telemetry")):
        st = _state_from_telemetry(r)
        if st is not None:
            tl.states.append(st)
    if not tl.states:
        tl.states = _states_from_tlog(rec.path("tlog"), tl.missing)
        if tl.states:
            tl.missing.append(
                "telemetry.jsonl is missing or empty: the vehicle is shown from the tlog"
            )
    tl.states.sort(key=lambda s: s[0])

    # alerts; a recorded snapshot path is relative to the recording folder (docs/recording.md):
    # made absolute here, so that it does not depend on the working directory and the hub
    # serves it (it takes relative paths as relative to the working directory)
    for a in rec.alerts():
        snap = confined_path(p, a.snapshot) if a.snapshot else None
        if a.snapshot and snap is None:
            tl.missing.append(
                f"alert snapshot {str(a.snapshot)[:80]!r} is outside the recording folder or "
                "missing: not served"
            )
        tl.alerts.append((float(a.t_s), a, snap))
    tl.alerts.sort(key=lambda x: x[0])

    # log lines: events and reminders
    for e in iter_jsonl(rec.path("events")):
        t = finite_number(e.get("t_s"))
        if t is None:
            continue
        tl.logs.append((t, event_text(e), event_severity(e)))
    for b in iter_jsonl(rec.path("broadcasts")):
        t = finite_number(b.get("t_s"))
        if t is None:
            continue
        played = "" if b.get("played") else " (not played: no audio device)"
        tl.logs.append(
            (t, f"reminder ({b.get('language', '?')}): {b.get('text', '')}{played}", "info")
        )
    tl.logs.sort(key=lambda x: x[0])

    if not vehicles:  # video frames of existing segments (a fleet's: each vehicle's)
        tl.frames = read_frame_index(rec)
        if not tl.frames:
            tl.missing.append("no video frames")

    tl.map = _map_layers(rec, p)
    if not (tl.states or tl.frames or tl.alerts):
        raise InputError(
            f"{p}: nothing to replay (no telemetry, video frame or alert in the recording)"
        )
    return tl


_STATE_KEYS = (
    "mode",
    "armed",
    "groundspeed_m_s",
    "battery_pct",
    "battery_v",
    "mission_seq",
    "mission_count",
    "link_ok",
    "sortie",
    "sorties",
    "phase",
)


def _state_from_telemetry(r: dict) -> tuple[float, dict] | None:
    t = finite_number(r.get("t_s"))
    if t is None:
        return None
    st: dict = {"t_s": t}
    pose = r.get("pose") if isinstance(r.get("pose"), dict) else None
    if pose:
        for src, dst in (
            ("lat_deg", "lat_deg"),
            ("lon_deg", "lon_deg"),
            ("alt_m", "alt_m"),
            ("yaw_deg", "yaw_deg"),
        ):
            v = finite_number(pose.get(src))
            if v is not None:
                st[dst] = v
    for k in _STATE_KEYS:
        if r.get(k) is not None:
            st[k] = r[k]
    return t, st


def _states_from_tlog(path: Path, missing: list[str]) -> list[tuple[float, dict]]:
    from groundstation.report.tlog import load_tlog

    if not path.is_file() or path.stat().st_size == 0:
        return []
    try:
        fl = load_tlog(path)
    except InputError as exc:
        missing.append(f"{path.name}: {exc}")
        return []
    missing.extend(fl.missing)
    tr = fl.track
    if not len(tr):
        return []
    modes = fl.mode_at(tr.t_s)
    armed = fl.armed_at(tr.t_s)
    b = fl.battery
    out = []
    for i in range(len(tr)):
        st = {
            "t_s": float(tr.t_s[i]),
            "lat_deg": float(tr.lat_deg[i]),
            "lon_deg": float(tr.lon_deg[i]),
            "alt_m": float(tr.alt_m[i]),
            "armed": bool(armed[i]),
        }
        if np.isfinite(tr.yaw_deg[i]):
            st["yaw_deg"] = float(tr.yaw_deg[i])
        if modes[i]:
            st["mode"] = str(modes[i])
        if len(b):
            j = int(np.searchsorted(b.t_s, tr.t_s[i], side="right")) - 1
            if j >= 0 and np.isfinite(b.remaining_pct[j]):
                st["battery_pct"] = float(b.remaining_pct[j])
            if j >= 0 and np.isfinite(b.voltage_v[j]):
                st["battery_v"] = float(b.voltage_v[j])
        out.append((st["t_s"], st))
    return out


def _map_layers(rec, folder: Path) -> dict:
    """``set_map`` arguments from the recording's plan files and manifest."""
    from shapely.geometry import Polygon, mapping

    out: dict = {}
    plan = rec.path("plan")
    area_file = plan / "area.geojson"
    if area_file.is_file():
        try:
            from missions.areas import load_area

            area = load_area(area_file)
            district = Polygon(
                area.polygon_geo.exterior.coords, [h.exterior.coords for h in area.holes_geo]
            )
            out["district"] = mapping(district)
        except Exception as exc:  # a bad plan file must not stop the replay
            log.warning("%s: district not shown: %s", area_file, exc)
        with contextlib.suppress(OSError, ValueError, AttributeError, TypeError):
            obj = json.loads(area_file.read_text(encoding="utf-8-sig"))
            for f in obj.get("features", []):
                g = f.get("geometry") or {}
                if (f.get("properties") or {}).get("role") == "fence" and g.get("coordinates"):
                    coords = (
                        g["coordinates"] if g.get("type") == "LinearRing" else g["coordinates"][0]
                    )
                    out["fence"] = {"type": "Polygon", "coordinates": [coords]}
    from groundstation.report.recording import read_route

    route = read_route(plan / "route.geojson")
    if route:
        out["route"] = route
    parts = sorted(plan.glob("part-*/route.geojson"), key=lambda f: f.parent.name)
    if parts and not route:  # a fleet: each vehicle's routes, in its colour on the page
        out["route"], out["route_owners"] = [], []
        for k, f in enumerate(parts):
            for r in read_route(f) or []:
                out["route"].append(r)
                out["route_owners"].append(k)
    risk_file = plan / "risk.geojson"
    if risk_file.is_file():
        from missions.risk import RiskMapError, load_risk_map

        try:
            out["risk"] = load_risk_map(risk_file).to_geojson()
        except RiskMapError as exc:  # a bad plan file must not stop the replay
            log.warning("risk layer not shown: %s", exc)
    home = rec.home()
    if home is not None:
        out["home"] = (home[0], home[1])
    return out


class _SegmentReader:
    """Decodes frames of video segments, sequentially within a segment (seeks reopen it)."""

    def __init__(self, video_dir: Path) -> None:
        self.video_dir = video_dir
        self._seg: str | None = None
        self._cap = None
        self._jpegs: list[tuple[int, int]] | None = None
        self._data: bytes = b""
        self._pos = 0
        self._readable: dict[str, int] = {}  # segment -> frames it could deliver (cut file)

    def read(self, segment: str, n: int):
        """Frame ``n`` (0-based) of ``segment`` as a BGR array, or None when it cannot be read."""
        import cv2

        if n >= self._readable.get(segment, 1 << 30):
            return None
        path = self.video_dir / segment
        if segment.endswith(".mjpeg"):
            if self._seg != segment:
                self._open_mjpeg(path, segment)
            if n >= len(self._jpegs or []):
                self._readable[segment] = len(self._jpegs or [])
                return None
            a, b = self._jpegs[n]
            return cv2.imdecode(np.frombuffer(self._data[a:b], np.uint8), cv2.IMREAD_COLOR)
        if self._seg != segment or n < self._pos or self._cap is None:
            self.close()
            self._cap = cv2.VideoCapture(str(path))
            self._seg = segment
            self._pos = 0
        while self._pos < n:
            if not self._cap.grab():
                self._cut(segment)
                return None
            self._pos += 1
        ok, img = self._cap.read()
        if not ok:
            self._cut(segment)
            return None
        self._pos += 1
        return img

    def _cut(self, segment: str) -> None:
        """The segment ended before frame ``self._pos``: a cut file (a recording killed while
        writing). Its last decodable frame is not delivered either: the cut falls inside it and
        the H.264 decoder conceals the missing macroblocks with what it has ("error while
        decoding MB"; measured on a recording cut at a third: that frame's colour was 10 to 30
        levels off, the frames before it 2 to 4)."""
        self._readable[segment] = max(0, self._pos - 1)

    def _open_mjpeg(self, path: Path, segment: str) -> None:
        self.close()
        self._seg = segment
        self._data = path.read_bytes() if path.is_file() else b""
        spans, i = [], 0
        while True:
            a = self._data.find(b"\xff\xd8", i)
            if a < 0:
                break
            b = self._data.find(b"\xff\xd9", a + 2)
            if b < 0:
                break
            spans.append((a, b + 2))
            i = b + 2
        self._jpegs = spans

    def close(self) -> None:
        """Release the open segment (capture or MJPEG bytes); the next read reopens it."""
        if self._cap is not None:
            self._cap.release()
        self._cap = None
        self._seg = None
        self._jpegs = None
        self._data = b""


class RecordingReplay:
    """Plays a recording into an :class:`OverlayHub` (implements ``ReplayControl``).

    Args:
        folder: The recording folder (or a :class:`ReplayTimeline` already loaded).
        hub: The hub the overlay server reads.
        speed: Playback speed, recording seconds per wall second (0 < speed <= 64).
        paused: Start paused at the beginning.
        start_s: Start this many seconds into the recording.
        clock: Monotonic wall clock (tests may pass a fake one).

    Raises:
        InputError: See :func:`load_timeline`; a speed out of range.

    Example:
        >>> hub = OverlayHub(title="replay")
        >>> with RecordingReplay("recordings/20261129-101500", hub, speed=4):  # doctest: +SKIP
        ...     ...  # serve the hub with OverlayServer
    """

    def __init__(
        self,
        folder: str | os.PathLike | ReplayTimeline,
        hub: OverlayHub,
        *,
        speed: float = 1.0,
        paused: bool = False,
        start_s: float = 0.0,
        clock=time.monotonic,
    ) -> None:
        check_speed(speed)
        self.timeline = folder if isinstance(folder, ReplayTimeline) else load_timeline(folder)
        self.hub = hub
        self.clock = clock
        tl = self.timeline
        self._state_t = [s[0] for s in tl.states]
        self._alert_t = [a[0] for a in tl.alerts]
        self._log_t = [x[0] for x in tl.logs]
        # video per key: None for one vehicle, each fleet vehicle's system id
        videos = tl.videos or ({None: (tl.video_dir, tl.frames)} if tl.video_dir else {})
        self._videos = {
            k: (frames, [f.t_s for f in frames], _SegmentReader(d))
            for k, (d, frames) in videos.items()
        }
        self._cond = threading.Condition()
        self._speed = float(speed)
        self._paused = bool(paused)
        self._anchor_t = min(tl.end_s, tl.start_s + max(0.0, float(start_s)))
        self._anchor_wall = clock()
        self._needs_rebuild = True
        self._stop = False
        self._thread: threading.Thread | None = None
        self._cursor = tl.start_s
        self._i_state = self._i_alert = self._i_log = 0
        self._shown_frame: tuple | None = None  # (video key, frame) on the page
        self.frames_pushed = 0
        self.frames_unreadable = 0
        self.error: str | None = None

    # -- ReplayControl --------------------------------------------------------------------------------

    def position(self) -> float:
        """Current playback time (UNIX seconds of the recording's clock)."""
        with self._cond:
            return self._position_locked()

    def _position_locked(self) -> float:
        t = self._anchor_t
        if not self._paused:
            t += (self.clock() - self._anchor_wall) * self._speed
        return min(max(t, self.timeline.start_s), self.timeline.end_s)

    def _reanchor_locked(self) -> None:
        self._anchor_t = self._position_locked()
        self._anchor_wall = self.clock()

    def play(self) -> None:
        """Resume (from the start again when at the end)."""
        with self._cond:
            self._reanchor_locked()
            if self._anchor_t >= self.timeline.end_s:
                self._anchor_t = self.timeline.start_s
                self._needs_rebuild = True
            self._paused = False
            self._cond.notify_all()

    def pause(self) -> None:
        """Stop at the current position."""
        with self._cond:
            self._reanchor_locked()
            self._paused = True
            self._cond.notify_all()

    def seek(self, t_s: float) -> None:
        """Jump to UNIX time ``t_s`` (clamped to the recording)."""
        with self._cond:
            self._anchor_t = min(max(float(t_s), self.timeline.start_s), self.timeline.end_s)
            self._anchor_wall = self.clock()
            self._needs_rebuild = True
            self._cond.notify_all()

    def set_speed(self, speed: float) -> None:
        """Play at ``speed`` recording seconds per wall second from the current position.

        Raises:
            InputError: ``speed`` outside (0, 64].
        """
        check_speed(speed)
        with self._cond:
            self._reanchor_locked()
            self._speed = float(speed)
            self._cond.notify_all()

    def status(self) -> dict:
        """``{"t_s", "start_s", "end_s", "paused", "speed", "name"}``."""
        with self._cond:
            t = self._position_locked()
            return {
                "t_s": round(t, 3),
                "start_s": round(self.timeline.start_s, 3),
                "end_s": round(self.timeline.end_s, 3),
                "paused": self._paused or t >= self.timeline.end_s,
                "speed": self._speed,
                "name": self.timeline.name,
            }

    def marks(self) -> list[dict]:
        """Every alert of the recording for the seek bar: ``[{"t_s", "id", "kind"}]``, in time
        order (seeking to ``t_s`` shows that alert: it appears at its own time)."""
        return [
            {"t_s": float(t), "id": a.id, "kind": str(getattr(a.kind, "value", a.kind))}
            for t, a, _ in self.timeline.alerts
        ]

    # -- running --------------------------------------------------------------------------------------------

    def attach(self) -> RecordingReplay:
        """Install the replay controls in the hub and set the map (no thread; see :meth:`step`)."""
        self.hub.set_replay(self)
        if self.timeline.videos and self.hub.video_vehicle is None:  # a fleet: the first one's
            self.hub.video_vehicle = next(iter(self.timeline.videos))
        if self.timeline.map:
            layers = dict(self.timeline.map)
            owners = layers.pop("route_owners", None)
            self.hub.set_map(**layers)
            if owners:
                self.hub.set_route_owners(owners)
        return self

    def start(self) -> RecordingReplay:
        """:meth:`attach` and start the feeder thread."""
        if self._thread is not None:
            return self
        self.attach()
        self._thread = threading.Thread(target=self._run, name="replay-feeder")
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the feeder thread and close the video (idempotent)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("replay feeder did not stop within %.0f s", timeout_s)
            self._thread = None
        for _, _, reader in self._videos.values():
            reader.close()

    @property
    def running(self) -> bool:
        """Whether the feeder thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> RecordingReplay:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def step(self) -> float:
        """Bring the hub to the current playback time once (what the feeder does every tick).

        Returns:
            The playback time shown.
        """
        with self._cond:
            t = self._position_locked()
            rebuild, self._needs_rebuild = self._needs_rebuild, False
            if not self._paused and t >= self.timeline.end_s:
                self._reanchor_locked()
                self._paused = True
        if rebuild or t < self._cursor:
            self._rebuild(t)
        else:
            self._advance(t)
        self._show_frame(t)
        return t

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    if self._stop:
                        return
                self.step()
                with self._cond:
                    if self._stop:
                        return
                    self._cond.wait(TICK_S)
        except Exception as exc:  # keep the page informative instead of dying silently
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("replay feeder failed")
            with contextlib.suppress(Exception):
                self.hub.push_log(f"replay stopped: {self.error}", level="error")

    def _rebuild(self, t: float) -> None:
        from groundstation.replay_fleet import push_state

        tl = self.timeline
        self.hub.reset()
        for line in tl.missing:
            self.hub.push_log(f"recording: {line}", level="warning", t_s=tl.start_s)
        self._i_alert = bisect.bisect_right(self._alert_t, t)
        for _, alert, snap in tl.alerts[: self._i_alert]:
            self.hub.push_alert(alert, snapshot=snap)
        self._i_log = bisect.bisect_right(self._log_t, t)
        for lt, text, level in tl.logs[max(0, self._i_log - 300) : self._i_log]:
            self.hub.push_log(text, level=level, t_s=lt)
        self._i_state = bisect.bisect_right(self._state_t, t)
        past = tl.states[: self._i_state]
        if past:
            # every position up to t: the path is the recorded one, not a decimated copy
            for _, st in past[:-1]:
                if "lat_deg" in st:
                    pos = {k: st[k] for k in ("lat_deg", "lon_deg", "vehicle") if k in st}
                    push_state(self.hub, pos)
            push_state(self.hub, past[-1][1])
        self._cursor = t
        self._shown_frame = None

    def _advance(self, t: float) -> None:
        from groundstation.replay_fleet import push_state

        tl = self.timeline
        j = bisect.bisect_right(self._state_t, t)
        for _, st in tl.states[self._i_state : j]:
            push_state(self.hub, st)
        self._i_state = j
        j = bisect.bisect_right(self._alert_t, t)
        for _, alert, snap in tl.alerts[self._i_alert : j]:
            self.hub.push_alert(alert, snapshot=snap)
        self._i_alert = j
        j = bisect.bisect_right(self._log_t, t)
        for lt, text, level in tl.logs[self._i_log : j]:
            self.hub.push_log(text, level=level, t_s=lt)
        self._i_log = j
        self._cursor = t

    def _show_frame(self, t: float) -> None:
        """Push the frame of time ``t`` of the selected vehicle's video (a fleet's page switch
        sets ``hub.video_vehicle``; one vehicle: its video), once per frame and vehicle."""
        key = self.hub.video_vehicle
        if key not in self._videos:  # one vehicle (key None), or none selected yet: the first
            key = next(iter(self._videos), None)
        if key not in self._videos or not self._videos[key][0]:
            return
        frames, times, reader = self._videos[key]
        i = bisect.bisect_right(times, t) - 1
        if i < 0 or (key, i) == self._shown_frame:
            return
        self._shown_frame = (key, i)
        # a frame the (cut) video cannot deliver: show the last one before it that it can
        for j in range(i, max(-1, i - MAX_FRAME_FALLBACK), -1):
            fr = frames[j]
            img = reader.read(fr.segment, fr.segment_frame)
            if img is not None:
                self.hub.push_frame(img, fr.t_s, fr.frame_index)
                self.frames_pushed += 1
                return
            if j == i:
                self.frames_unreadable += 1


def check_speed(speed: float) -> None:
    """Raises InputError unless ``0 < speed <= 64``."""
    if not (isinstance(speed, int | float) and 0 < float(speed) <= MAX_SPEED):
        raise InputError(f"replay speed must be in (0, {MAX_SPEED:g}], got {speed}")
