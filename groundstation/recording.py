"""The flight recorder: one folder per flight that survives a killed process.

The format is specified in ``docs/recording.md`` (version 1). In short, under
``<record-dir>/<YYYYmmdd-HHMMSS>[-NAME]/``:

* ``manifest.json``: rewritten atomically (temp file + ``os.replace``), so it is always either the
  previous or the next complete version;
* ``*.jsonl`` (telemetry, alerts, events, broadcasts, video frame index): one JSON object per
  line, each line handed to the operating system as soon as it is written (line-buffered files),
  so a SIGKILL loses at most a partly written last line;
* ``video/segment_NNNNN.ts``: annotated video as MPEG-TS (a container made for broadcast, which
  a reader can decode up to the last complete packet), encoded by an ``ffmpeg`` child process per
  segment that reads raw frames from a pipe. If the recorder dies, the child sees the pipe close
  and finishes the segment. Without ffmpeg, segments are raw concatenated JPEGs
  (``segment_NNNNN.mjpeg``), equally readable when cut.

Writers run on the calling thread except video, which has its own thread with a bounded queue so
that a slow encoder drops frames (counted) instead of slowing detection.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import math
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from missions.errors import InputError

log = logging.getLogger(__name__)

FORMAT_NAME = "dronepatrol-recording"
FORMAT_VERSION = 1

FILES = {
    "tlog": "flight.tlog",
    "telemetry": "telemetry.jsonl",
    "alerts": "alerts.jsonl",
    "events": "events.jsonl",
    "broadcasts": "broadcasts.jsonl",
    "broadcast_wavs": "broadcasts/",
    "video": "video/",
    "frames": "video/frames.jsonl",
    "snapshots": "private/snapshots/",
    "plan": "plan/",
}
"""Paths inside a recording folder (the ``files`` map of the manifest)."""


def utc_iso(t_s: float) -> str:
    """UNIX seconds -> ``2026-11-29T10:15:00.123Z``."""
    d = dt.datetime.fromtimestamp(t_s, tz=dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def _json_default(obj: Any):
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "value"):  # enums
        return obj.value
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps(obj: Any) -> str:
    """Compact one-line JSON, UTF-8 kept, NaN written as null."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    return text.replace("NaN", "null") if "NaN" in text else text


class JsonlWriter:
    """Append-only JSON Lines file; every line reaches the OS when written (line buffering).

    Thread-safe. A file that already exists is appended to, after a newline if its last line
    was cut.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        needs_newline = False
        if self.path.exists() and self.path.stat().st_size:
            with open(self.path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                needs_newline = f.read(1) != b"\n"
        self._f = open(self.path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        if needs_newline:
            self._f.write("\n")
        self._lock = threading.Lock()
        self.count = 0

    def write(self, obj: Any) -> None:
        """Write one object as a line (dicts, pydantic models, objects with ``to_dict``)."""
        if hasattr(obj, "to_json") and not isinstance(obj, dict):
            line = obj.to_json()
        else:
            line = dumps(obj)
        with self._lock:
            if self._f.closed:
                return
            self._f.write(line + "\n")
            self.count += 1

    def close(self) -> None:
        """Flush, fsync and close the file (idempotent); later writes are ignored."""
        with self._lock:
            if not self._f.closed:
                self._f.flush()
                with contextlib.suppress(OSError):
                    os.fsync(self._f.fileno())
                self._f.close()


def iter_jsonl(path: str | os.PathLike) -> Iterator[dict]:
    """Read a JSON Lines file written by a recorder, tolerating what a killed writer leaves.

    Blank lines and a UTF-8 BOM are skipped; a line that is not valid JSON is skipped when it is
    the last one (a partial write) and logged otherwise. A missing file yields nothing.

    Yields:
        One dict per line.
    """
    p = Path(path)
    if not p.is_file():
        return
    data = p.read_bytes().decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = data.splitlines()
    for i, line in enumerate(lines):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            if i < len(lines) - 1:
                log.warning("%s:%d: skipped a line that is not JSON", p, i + 1)
            continue
        if isinstance(obj, dict):
            yield obj


def finite_number(value: Any) -> float | None:
    """A numeric field of a recorded line as a float, or None when it is missing or not finite.

    Recorders write NaN as ``null`` (:func:`dumps`) and older or foreign lines may hold strings;
    readers take whatever ``float()`` accepts and drop the rest.
    """
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to ``path`` through a temp file and ``os.replace`` (never a half file)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, ensure_ascii=False, indent=2, default=_json_default))
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# --- video --------------------------------------------------------------------------------------


@dataclass
class _VideoItem:
    image: np.ndarray
    t_s: float
    frame_index: int
    pose: dict | None


class SegmentedVideoWriter:
    """Annotated video in segments of ``segment_s`` seconds, on a worker thread.

    Each segment is one ``ffmpeg`` process reading raw BGR frames from its stdin and writing
    H.264 in MPEG-TS, stamped with the wall clock as frames arrive
    (``-use_wallclock_as_timestamps 1``, variable frame rate kept), so the file plays at the
    speed it was recorded. Without ffmpeg, segments are concatenated JPEGs (``.mjpeg``). Every
    frame written gets a line in ``frames.jsonl`` (``frame_index``, ``t_s``, ``segment``,
    ``segment_frame``, ``pose``) *after* it was handed to the encoder.

    Args:
        folder: The ``video/`` folder.
        segment_s: Segment length, seconds.
        fps: Nominal frame rate (encoder hint, keyframe interval).
        queue_size: Frames buffered before new frames are dropped.
        ffmpeg: Path of the ffmpeg binary (default: found on PATH); ``""`` forces MJPEG.
    """

    def __init__(
        self,
        folder: Path,
        *,
        segment_s: float = 60.0,
        fps: float = 10.0,
        queue_size: int = 16,
        ffmpeg: str | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.segment_s = float(segment_s)
        self.fps = max(1.0, float(fps))
        self.ffmpeg = shutil.which("ffmpeg") if ffmpeg is None else (ffmpeg or None)
        self.frames = JsonlWriter(self.folder / "frames.jsonl")
        self._q: queue.Queue[_VideoItem | None] = queue.Queue(maxsize=queue_size)
        self.dropped = 0
        self.written = 0
        self.segments: list[str] = []
        self._proc: subprocess.Popen | None = None
        self._mjpeg = None
        self._log = None
        self._seg_index = -1
        self._seg_start_t: float | None = None
        self._seg_frames = 0
        self._size: tuple[int, int] | None = None
        self._error: str | None = None
        self._thread = threading.Thread(target=self._run, name="video-writer")
        self._thread.start()

    @property
    def extension(self) -> str:
        """``.ts`` with ffmpeg, ``.mjpeg`` without."""
        return ".ts" if self.ffmpeg else ".mjpeg"

    def write(self, image: np.ndarray, t_s: float, frame_index: int, pose: dict | None) -> bool:
        """Queue a frame (never blocks). Returns False when it was dropped (queue full/closed)."""
        if self._error is not None or not self._thread.is_alive():
            self.dropped += 1
            return False
        try:
            self._q.put_nowait(_VideoItem(image, t_s, frame_index, pose))
            return True
        except queue.Full:
            self.dropped += 1
            return False

    def close(self, timeout_s: float = 20.0) -> None:
        """Finish the queued frames and the current segment; stop the worker."""
        deadline = time.monotonic() + timeout_s
        while self._thread.is_alive():
            try:
                self._q.put(None, timeout=0.2)
                break
            except queue.Full:
                if time.monotonic() > deadline:
                    break
        self._thread.join(max(0.1, deadline - time.monotonic()))
        if self._thread.is_alive():
            log.warning("video writer did not stop within %.0f s", timeout_s)
            self._kill_proc()
        self.frames.close()

    # -- worker ------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                item = self._q.get()
                if item is None:
                    break
                try:
                    self._write_one(item)
                except (OSError, ValueError) as exc:
                    self._error = str(exc)
                    log.warning("video recording stopped: %s", exc)
                    break
        finally:
            self._end_segment()

    def _write_one(self, item: _VideoItem) -> None:
        import cv2

        h, w = item.image.shape[:2]
        if (
            self._seg_start_t is None
            or item.t_s - self._seg_start_t >= self.segment_s
            or self._size != (w, h)
        ):
            self._end_segment()
            self._start_segment(w, h, item.t_s)
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.write(np.ascontiguousarray(item.image).tobytes())
            self._proc.stdin.flush()
        else:
            ok, buf = cv2.imencode(".jpg", item.image, [cv2.IMWRITE_JPEG_QUALITY, 85])
            if not ok:
                raise ValueError("JPEG encoding failed")
            self._mjpeg.write(buf.tobytes())
            self._mjpeg.flush()
        self.frames.write(
            {
                "frame_index": item.frame_index,
                "t_s": item.t_s,
                "segment": self.segments[-1],
                "segment_frame": self._seg_frames,
                "pose": item.pose,
            }
        )
        self._seg_frames += 1
        self.written += 1

    def _start_segment(self, w: int, h: int, t_s: float) -> None:
        self._seg_index += 1
        name = f"segment_{self._seg_index:05d}{self.extension}"
        path = self.folder / name
        self._size = (w, h)
        self._seg_start_t = t_s
        self._seg_frames = 0
        self.segments.append(name)
        if self.ffmpeg:
            gop = max(1, int(round(self.fps)))
            cmd = [
                self.ffmpeg,
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-use_wallclock_as_timestamps",
                "1",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "bgr24",
                "-s",
                f"{w}x{h}",
                "-i",
                "pipe:0",
                "-an",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
                "-pix_fmt",
                "yuv420p",
                "-g",
                str(gop),
                "-fps_mode",
                "passthrough",
                "-flush_packets",
                "1",
                "-f",
                "mpegts",
                str(path),
            ]
            # its own process group: a Ctrl-C meant for the patrol must not cut the segment short
            self._log = open(self.folder / "ffmpeg.log", "ab")  # noqa: SIM115
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=self._log,
                start_new_session=True,
            )
        else:
            self._mjpeg = open(path, "ab")  # noqa: SIM115

    def _end_segment(self) -> None:
        if self._proc is not None:
            proc, self._proc = self._proc, None
            with contextlib.suppress(OSError):
                if proc.stdin is not None:
                    proc.stdin.close()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            if proc.returncode:
                log.warning("ffmpeg exited with status %s (see video/ffmpeg.log)", proc.returncode)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._mjpeg is not None:
            self._mjpeg.close()
            self._mjpeg = None

    def _kill_proc(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(OSError):
                self._proc.kill()


# --- the recorder -----------------------------------------------------------------------------------


class FlightRecorder:
    """Writes one flight's recording folder (``docs/recording.md``).

    Args:
        root: The record directory (``--record-dir``); created when missing.
        name: Optional suffix of the folder name (``20261129-101500-NAME``).
        config: The validated :class:`groundstation.config.Config` (stored in the manifest).
        connection: The vehicle connection (``sim`` or a URL) for the manifest.
        home: ``{"lat_deg", "lon_deg", "alt_m"}`` of home, when known.
        segment_s: Video segment length, seconds.
        video_fps: Nominal video frame rate.
        video: Record video at all.
        clock: UNIX time source.
        folder: Write exactly this folder (created, must not exist) instead of a new dated one
            under ``root``: a fleet's per-vehicle recording ``vehicles/<sysid>/``
            (``docs/fleet.md``).

    Raises:
        InputError: The record directory cannot be created or written.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        *,
        name: str | None = None,
        config: Any = None,
        connection: str = "",
        home: dict | None = None,
        segment_s: float = 60.0,
        video_fps: float = 10.0,
        video: bool = True,
        clock=time.time,
        folder: str | os.PathLike | None = None,
    ) -> None:
        from groundstation.cli import __version__

        self.clock = clock
        self.started_s = clock()
        stamp = dt.datetime.fromtimestamp(self.started_s, tz=dt.timezone.utc).strftime(
            "%Y%m%d-%H%M%S"
        )
        root = Path(root)
        base = f"{stamp}-{name}" if name else stamp
        try:
            root.mkdir(parents=True, exist_ok=True)
            if folder is not None:
                folder = Path(folder)
                folder.mkdir(parents=True)
            else:
                folder = root / base
                n = 1
                while folder.exists():
                    n += 1
                    folder = root / f"{base}-{n}"
                folder.mkdir()
            for sub in ("video", "broadcasts", "plan"):
                (folder / sub).mkdir()
            # alert snapshots keep faces: apart from the blurred material, owner-only
            (folder / "private").mkdir(mode=0o700)
            (folder / FILES["snapshots"]).mkdir(mode=0o700)
            self._lock_fh = hold_recording_lock(folder)
        except OSError as exc:
            raise InputError(f"{root}: cannot create the recording folder: {exc}") from None
        self.folder = folder
        self._lock = threading.Lock()
        self.manifest: dict[str, Any] = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "name": folder.name,
            "started_utc": utc_iso(self.started_s),
            "started_s": self.started_s,
            "updated_utc": utc_iso(self.started_s),
            "ended_utc": None,
            "complete": False,
            "end_reason": None,
            "dronepatrol_version": __version__,
            "connection": connection,
            "home": home,
            "config": config.model_dump(mode="json") if hasattr(config, "model_dump") else config,
            "files": dict(FILES),
            "video": {
                "format": None,
                "segment_s": segment_s,
                "segments": [],
                "frames": 0,
                "dropped": 0,
            },
            "counts": {},
            "summary": None,
        }
        self.telemetry_w = JsonlWriter(folder / FILES["telemetry"])
        self.alerts_w = JsonlWriter(folder / FILES["alerts"])
        self.events_w = JsonlWriter(folder / FILES["events"])
        self.broadcasts_w = JsonlWriter(folder / FILES["broadcasts"])
        self.video: SegmentedVideoWriter | None = None
        if video:
            self.video = SegmentedVideoWriter(folder / "video", segment_s=segment_s, fps=video_fps)
            self.manifest["video"]["format"] = (
                "mpegts-h264" if self.video.extension == ".ts" else "mjpeg"
            )
        self._last_manifest = 0.0
        self._closed = False
        self.write_manifest()
        self.event("start", folder=folder.name, connection=connection)

    # -- paths -----------------------------------------------------------------------------------

    @property
    def tlog_path(self) -> Path:
        """Where the link writes the tlog."""
        return self.folder / FILES["tlog"]

    @property
    def snapshot_dir(self) -> Path:
        """Where alert snapshots (JPEG, faces in the clear) are written: ``private/snapshots``,
        owner-only, apart from the blurred video (``docs/privacy.md``)."""
        return self.folder / FILES["snapshots"]

    @property
    def broadcast_dir(self) -> Path:
        """Where the reminders' WAV files are written."""
        return self.folder / "broadcasts"

    @property
    def plan_dir(self) -> Path:
        """Where the patrol plan (missions, fence, rally, district) is written."""
        return self.folder / "plan"

    def relative(self, path: str | os.PathLike | None) -> str | None:
        """``path`` relative to the folder when it is inside it (POSIX separators), else as is."""
        if path is None:
            return None
        p = Path(path)
        try:
            return p.resolve().relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            return str(p)

    # -- writers ---------------------------------------------------------------------------------

    def event(self, kind: str, t_s: float | None = None, **fields: Any) -> None:
        """Append to ``events.jsonl``: ``{"t_s", "kind", **fields}``."""
        self.events_w.write({"t_s": self.clock() if t_s is None else t_s, "kind": kind, **fields})
        self._maybe_manifest()

    def alert(self, alert) -> None:
        """Append a :class:`detection.alerts.Alert`; its snapshot path is made folder-relative."""
        if alert.snapshot:
            alert = alert.model_copy(update={"snapshot": self.relative(alert.snapshot)})
        self.alerts_w.write(alert)
        self._maybe_manifest()

    def telemetry(self, record: dict) -> None:
        """Append one vehicle-state line (keys in ``docs/recording.md``)."""
        self.telemetry_w.write(record)
        self._maybe_manifest()

    def broadcast(self, record) -> None:
        """Append a :class:`broadcast.announcer.BroadcastRecord` (or dict); WAV made relative."""
        data = record.to_dict() if hasattr(record, "to_dict") else dict(record)
        if data.get("wav"):
            data["wav"] = self.relative(data["wav"])
        self.broadcasts_w.write(data)
        self._maybe_manifest()

    def video_frame(
        self, image: np.ndarray, t_s: float, frame_index: int, pose: dict | None = None
    ) -> bool:
        """Queue an annotated frame for the video (never blocks; False when dropped)."""
        if self.video is None:
            return False
        return self.video.write(image, t_s, frame_index, pose)

    def update(self, **fields: Any) -> None:
        """Set top-level manifest fields and rewrite it."""
        with self._lock:
            self.manifest.update(fields)
        self.write_manifest()

    def write_manifest(self) -> None:
        """Rewrite ``manifest.json`` atomically with the current counts."""
        with self._lock:
            now = self.clock()
            self.manifest["updated_utc"] = utc_iso(now)
            self.manifest["counts"] = {
                "telemetry": self.telemetry_w.count,
                "alerts": self.alerts_w.count,
                "events": self.events_w.count,
                "broadcasts": self.broadcasts_w.count,
            }
            if self.video is not None:
                v = self.manifest["video"]
                v["segments"] = list(self.video.segments)
                v["frames"] = self.video.written
                v["dropped"] = self.video.dropped
            self._last_manifest = time.monotonic()
            try:
                write_json_atomic(self.folder / "manifest.json", self.manifest)
            except OSError as exc:
                log.warning("cannot write %s: %s", self.folder / "manifest.json", exc)

    def _maybe_manifest(self) -> None:
        if time.monotonic() - self._last_manifest >= 2.0 and not self._closed:
            self.write_manifest()

    def close(self, end_reason: str = "landed", summary: dict | None = None) -> None:
        """Finish the video, close every file and mark the manifest complete (idempotent)."""
        if self._closed:
            return
        self.event("stop", reason=end_reason)
        self._closed = True
        if self.video is not None:
            self.video.close()
        for w in (self.telemetry_w, self.alerts_w, self.events_w, self.broadcasts_w):
            w.close()
        with self._lock:
            self.manifest.update(
                ended_utc=utc_iso(self.clock()),
                complete=True,
                end_reason=end_reason,
                summary=summary,
            )
        self.write_manifest()
        release_recording_lock(self._lock_fh)


LOCK_NAME = ".recording.lock"
"""A file in each recording folder that the recorder holds an exclusive ``flock`` on while it
records; the OS releases it when the process ends, even when killed
(:func:`recording_in_progress`)."""


def hold_recording_lock(folder: Path):
    """Take the recording's lock (kept until :func:`release_recording_lock` or process exit)."""
    import fcntl

    fh = open(folder / LOCK_NAME, "w")  # noqa: SIM115 - held for the whole recording
    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fh


def release_recording_lock(fh) -> None:
    """Release a lock taken by :func:`hold_recording_lock` (None is accepted)."""
    if fh is not None and not fh.closed:
        import fcntl

        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def recording_in_progress(folder: str | os.PathLike) -> bool:
    """Whether a recorder (in this or another process) is writing ``folder`` now.

    True while its lock file is held; a recording cut by a crash is not in progress.
    """
    import fcntl

    lock = Path(folder) / LOCK_NAME
    if not lock.is_file():
        return False
    with open(lock) as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


# --- reading ---------------------------------------------------------------------------------------


@dataclass
class Recording:
    """A recording folder opened for reading (complete or cut by a crash).

    Attributes:
        folder: The folder.
        manifest: ``manifest.json`` (an empty dict when missing or unreadable).
        complete: The manifest says the recorder closed cleanly.
    """

    folder: Path
    manifest: dict

    @classmethod
    def open(cls, folder: str | os.PathLike) -> Recording:
        """Open a recording folder.

        Raises:
            InputError: The folder does not exist or holds no recording.
        """
        p = Path(folder)
        if not p.is_dir():
            raise InputError(f"{p}: recording folder not found")
        manifest: dict = {}
        mpath = p / "manifest.json"
        if mpath.is_file():
            try:
                manifest = json.loads(mpath.read_text(encoding="utf-8-sig"))
            except (OSError, ValueError) as exc:  # JSONDecodeError, UnicodeDecodeError
                log.warning("%s: unreadable manifest (%s); reading the files as they are", p, exc)
            if not isinstance(manifest, dict):  # valid JSON but not an object: not a manifest
                log.warning("%s: manifest.json is not a JSON object; ignored", p)
                manifest = {}
        elif not any((p / f).exists() for f in ("events.jsonl", "telemetry.jsonl")):
            raise InputError(f"{p}: not a dronepatrol recording (no manifest.json)")
        return cls(p, manifest)

    def home(self) -> tuple[float, float, float] | None:
        """The manifest's home as (lat_deg, lon_deg, alt_m AMSL), None when it has none.

        Raises:
            InputError: The home is there but not valid numbers (a crafted or damaged manifest
                is named, never silently used or a crash).
        """
        import math

        home = self.manifest.get("home")
        if home is None:
            return None
        where = f"{self.folder / 'manifest.json'}: home"
        if not isinstance(home, dict):
            raise InputError(f"{where} is {type(home).__name__}, expected {{lat_deg, lon_deg}}")
        if home.get("lat_deg") is None and home.get("lon_deg") is None:
            return None
        vals = []
        for key, lo, hi in (("lat_deg", -90, 90), ("lon_deg", -180, 180), ("alt_m", -1e4, 1e5)):
            v = home.get(key, 0.0) if key == "alt_m" else home.get(key)
            if v is None and key == "alt_m":
                v = 0.0
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise InputError(f"{where}.{key} is {str(v)[:40]!r}, not a number")
            if not lo <= v <= hi:
                raise InputError(f"{where}.{key} is {v}, outside {lo}..{hi}")
            vals.append(float(v))
        return vals[0], vals[1], vals[2]

    @property
    def complete(self) -> bool:
        """Whether the manifest says the recorder closed cleanly."""
        return bool(self.manifest.get("complete"))

    def path(self, key: str) -> Path:
        """Path of one of :data:`FILES` (by key)."""
        return self.folder / self.manifest.get("files", FILES).get(key, FILES[key])

    def telemetry(self) -> list[dict]:
        """``telemetry.jsonl`` records (dicts, a cut last line dropped)."""
        return list(iter_jsonl(self.path("telemetry")))

    def events(self) -> list[dict]:
        """``events.jsonl`` records (dicts, a cut last line dropped)."""
        return list(iter_jsonl(self.path("events")))

    def broadcasts(self) -> list[dict]:
        """``broadcasts.jsonl`` records (dicts, a cut last line dropped)."""
        return list(iter_jsonl(self.path("broadcasts")))

    def frames(self) -> list[dict]:
        """The video frame index (one dict per frame in the video segments)."""
        return list(iter_jsonl(self.path("frames")))

    def alerts(self) -> list:
        """Alerts as :class:`detection.alerts.Alert` (a cut last line is dropped), one per id:
        a fleet recording writes a merged alert again with each new sighting, the last line
        for an id is the alert (``docs/fleet.md``)."""
        from detection.alerts import Alert
        from groundstation.fleet_alerts import latest_by_id

        out = []
        for d in iter_jsonl(self.path("alerts")):
            try:
                out.append(Alert.model_validate(d))
            except ValueError:
                log.warning("%s: skipped an alert line that does not validate", self.folder)
        return latest_by_id(out)

    def segments(self) -> list[Path]:
        """Video segment files in order."""
        folder = self.path("video")
        return sorted(
            p for p in folder.glob("segment_*") if p.suffix in (".ts", ".mjpeg") and p.is_file()
        )

    def read_segment(self, segment: str | Path) -> Iterator[np.ndarray]:
        """Decode a segment's frames in order (stops quietly where a cut file ends)."""
        import cv2

        p = Path(segment)
        if not p.is_absolute():
            p = self.path("video") / p
        if p.suffix == ".mjpeg":
            data = p.read_bytes()
            start = 0
            while True:
                a = data.find(b"\xff\xd8", start)
                if a < 0:
                    return
                b = data.find(b"\xff\xd9", a + 2)
                if b < 0:
                    return
                img = cv2.imdecode(np.frombuffer(data[a : b + 2], np.uint8), cv2.IMREAD_COLOR)
                start = b + 2
                if img is not None:
                    yield img
            return
        cap = cv2.VideoCapture(str(p))
        try:
            while True:
                ok, img = cap.read()
                if not ok:
                    return
                yield img
        finally:
            cap.release()

    def missing(self) -> list[str]:
        """What a complete recording has and this one lacks (for partial-recording reports)."""
        out = []
        if not self.manifest:
            out.append("manifest.json")
        elif not self.complete:
            out.append("clean end (manifest complete: false)")
        for key in ("tlog", "telemetry", "events"):
            if not self.path(key).is_file() or self.path(key).stat().st_size == 0:
                out.append(FILES[key])
        if not self.segments():
            out.append("video segments")
        return out
