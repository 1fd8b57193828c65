"""Video sources: files, folders of photos, cameras and network streams, as timestamped frames.

Every source is a :class:`FrameSource`: ``read(timeout_s)`` returns the next :class:`Frame` or
``None`` at the end of the stream; sources iterate and work as context managers.

Live sources (camera index, ``rtsp://``, ``rtsp(s)``, ``udp://``, ``tcp://``, ``http(s)://``,
``rtmp://``, ``srt://``) run a grabber thread that keeps only the LATEST frame: a slow consumer gets
the newest picture, never a growing backlog, so detections stay in step with the vehicle's pose.
FFmpeg is asked for low delay (``OPENCV_FFMPEG_CAPTURE_OPTIONS``: no input buffering, low_delay
flags, TCP for RTSP) and the capture gets open/read timeouts. A source that cannot be opened, or
gives no frame, when it is first opened is an error at once (:class:`SourceError`); a link that
delivered frames and then dropped is reopened with exponential backoff until
:meth:`FrameSource.close`.

OpenCV's and FFmpeg's own log lines (``[ WARN:0@1.5] global cap_v4l.cpp ...``,
``[tcp @ 0x...] Connection refused``) are silenced where sources are opened
(:func:`quiet_opencv`): the sources report problems themselves, in one line.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from detection.errors import SourceError
from missions.geo import Pose

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
"""Photo file types read by :class:`ImageFolderSource`."""

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "udp", "tcp", "http", "https", "srt", "rtp")
"""URL schemes opened as live streams through OpenCV's FFmpeg backend."""

LOW_DELAY_FFMPEG_OPTIONS = (
    "rtsp_transport;tcp|fflags;nobuffer|flags;low_delay|max_delay;500000|"
    "reorder_queue_size;0|analyzeduration;1000000|probesize;500000"
)
"""FFmpeg demuxer options for low latency (``key;value`` pairs joined by ``|``, the format of
OpenCV's ``OPENCV_FFMPEG_CAPTURE_OPTIONS``). A value already set in the environment wins."""


def quiet_opencv() -> None:
    """Keep OpenCV's and FFmpeg's own log lines off the user's terminal.

    Sets OpenCV's log level to silent (``cv2.utils.logging.setLogLevel``; OpenCV 4:
    ``cv2.setLogLevel``) and FFmpeg's to quiet (``OPENCV_FFMPEG_LOGLEVEL=-8``, AV_LOG_QUIET,
    read by OpenCV when its FFmpeg backend first starts). Both are process-wide. Left alone when
    the user set ``OPENCV_LOG_LEVEL`` / ``OPENCV_FFMPEG_LOGLEVEL``, or when this module logs at
    DEBUG (``dronepatrol --debug``, ``-vv``), so that they can still be seen for debugging.
    Called by every source before it opens anything; idempotent.
    """
    if log.isEnabledFor(logging.DEBUG):
        return
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    if "OPENCV_LOG_LEVEL" in os.environ:
        return
    utils_logging = getattr(getattr(cv2, "utils", None), "logging", None)
    set_level = getattr(utils_logging, "setLogLevel", None) or getattr(cv2, "setLogLevel", None)
    silent = getattr(utils_logging, "LOG_LEVEL_SILENT", 0)
    if set_level is not None:
        set_level(silent)


class FrameTimeout(SourceError, TimeoutError):
    """No frame arrived from a live source within the ``read`` timeout (the source stays open)."""


@dataclass
class Frame:
    """One picture from a source.

    Attributes:
        image: BGR uint8 array, shape (H, W, 3).
        t_s: UNIX time of capture, seconds (for files: start time plus the frame's position).
        index: 0-based frame number within the source (counts frames delivered, and for live
            sources also frames dropped because a newer one arrived).
        pose: Vehicle/camera pose at capture time when the source knows it (the simulator's
            camera), else None.
        path: File the frame came from (image folders), else None.
    """

    image: np.ndarray
    t_s: float
    index: int
    pose: Pose | None = None
    path: Path | None = None


class FrameSource:
    """Base class of every source.

    Attributes:
        is_live: True for cameras and streams (frames are dropped when the consumer is slow).
        is_stills: True for folders of photos: each frame is an independent still.
        fps: Nominal frame rate, or None when unknown (stills).
        frame_count: Number of frames when known in advance (files, folders), else None.
        name: Human-readable description (path or URL with credentials removed).
    """

    is_live: bool = False
    is_stills: bool = False
    fps: float | None = None
    frame_count: int | None = None
    name: str = ""

    def read(self, timeout_s: float = 5.0) -> Frame | None:
        """The next frame.

        Args:
            timeout_s: Longest wait for a live frame, seconds.

        Returns:
            The next :class:`Frame`, or None at the end of the stream or after :meth:`close`.

        Raises:
            FrameTimeout: A live source delivered nothing within ``timeout_s`` (it keeps trying
                to reconnect in the background; call ``read`` again or ``close``).
            SourceError: The source cannot be read.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release the source and stop any worker thread (idempotent)."""

    def __iter__(self) -> Iterator[Frame]:
        while True:
            frame = self.read()
            if frame is None:
                return
            yield frame

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _redact(url: str) -> str:
    """URL without ``user:password@``."""
    return re.sub(r"//[^/@]*@", "//***@", url)


class VideoFileSource(FrameSource):
    """A video file read frame by frame (every frame, in order).

    Args:
        path: Any file OpenCV/FFmpeg reads (.mp4, .avi, .mkv, .gif...).
        start_t_s: UNIX time of the first frame; default: the file's modification time minus its
            duration (close to the recording start), so alerts carry plausible times.

    Raises:
        SourceError: The file is missing or not a readable video.
    """

    def __init__(self, path: str | os.PathLike, start_t_s: float | None = None) -> None:
        self.path = Path(path)
        self.name = str(self.path)
        if not self.path.is_file():
            raise SourceError(f"{self.path}: video file not found")
        quiet_opencv()
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise SourceError(f"{self.path}: not a video OpenCV can read")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0 < fps < 1000 else None
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count = count if count > 0 else None
        if start_t_s is None:
            duration = (self.frame_count or 0) / (self.fps or 25.0)
            start_t_s = self.path.stat().st_mtime - duration
        self.start_t_s = float(start_t_s)
        self._index = 0
        self._closed = False

    def read(self, timeout_s: float = 5.0) -> Frame | None:
        """Decode the next frame in file order; ``timeout_s`` is unused (a file never blocks)."""
        if self._closed:
            return None
        ok, image = self._cap.read()
        if not ok or image is None:
            return None
        index = self._index
        self._index += 1
        pos_ms = float(self._cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0)
        offset = pos_ms / 1000.0 if pos_ms > 0 else index / (self.fps or 25.0)
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        return Frame(image=image, t_s=self.start_t_s + offset, index=index)

    def close(self) -> None:
        """Release the OpenCV capture (idempotent); later reads return None."""
        if not self._closed:
            self._closed = True
            self._cap.release()


class ImageFolderSource(FrameSource):
    """A folder of photos (or one photo), each an independent still.

    Files are read in name order; unreadable files are skipped with a warning (they are counted in
    ``skipped``). Each frame's ``t_s`` is the file's modification time.

    Args:
        path: Folder (not recursive) or a single image file.

    Raises:
        SourceError: The path is missing or holds no photos.
    """

    is_stills = True

    def __init__(self, path: str | os.PathLike) -> None:
        p = Path(path)
        self.name = str(p)
        if p.is_file():
            files = [p]
        elif p.is_dir():
            files = sorted(
                f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
            )
        else:
            raise SourceError(f"{p}: no such file or folder")
        if not files:
            raise SourceError(f"{p}: no photos ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        quiet_opencv()
        self.files = files
        self.frame_count = len(files)
        self.skipped: list[Path] = []
        self._next = 0

    def read(self, timeout_s: float = 5.0) -> Frame | None:
        """Load the next readable photo (unreadable files are skipped and listed in ``skipped``)."""
        while self._next < len(self.files):
            index = self._next
            f = self.files[index]
            self._next += 1
            image = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if image is None:
                log.warning("%s: not a readable image, skipped", f)
                self.skipped.append(f)
                continue
            return Frame(image=image, t_s=f.stat().st_mtime, index=index, path=f)
        return None

    def close(self) -> None:
        """Skip the remaining photos; later reads return None."""
        self._next = len(self.files)


CaptureOpener = Callable[[], Any]
"""Returns an object with ``isOpened()``, ``read() -> (ok, image)``, ``get(prop)``, ``release()``
(a ``cv2.VideoCapture`` or a stand-in)."""


class StreamSource(FrameSource):
    """A live camera or network stream with a latest-frame grabber thread and reconnects.

    The grabber reads as fast as the stream delivers and keeps only the newest frame; ``read``
    returns a frame newer than the one it returned before (older ones are dropped and counted in
    ``dropped``).

    **At start** the source must work: if the first open fails (no such camera, host refused or
    unreachable within ``open_timeout_s``, not a video) or the opened capture gives no first
    frame, the source ends with that reason in ``start_error``: the constructor raises
    :class:`SourceError` at once (it does not wait for ``first_frame_timeout_s``), and ``read``
    raises it too when the constructor was told not to wait. **Once it delivered a frame**, a
    failure (read error, timeout, end of a finite stream) is a dropped link: the grabber reopens
    it after a backoff that doubles from ``reconnect_min_s`` to ``reconnect_max_s`` until
    :meth:`close`; ``reconnects`` counts the attempts (the drone's video link drops in flight and
    comes back).

    Args:
        spec: Camera index (``"0"``) or URL (``rtsp://host/stream``, ``udp://@:5600``...).
        open_timeout_s: FFmpeg open timeout, seconds (URLs; a local camera opens or fails at
            once).
        read_timeout_s: FFmpeg read timeout, seconds.
        reconnect: Reopen a dropped stream (True), or end the stream (False).
        reconnect_min_s: First backoff, seconds.
        reconnect_max_s: Longest backoff, seconds.
        opener: Override how the capture is opened (tests, custom backends).
        first_frame_timeout_s: ``__init__`` waits at most this long for the first frame and
            raises :class:`SourceError` if none came (0: do not wait). It bounds the start
            even when a backend ignores its timeouts.

    Raises:
        SourceError: The stream could not be opened or gave no first frame (one line saying
            which), or no frame within ``first_frame_timeout_s``.
    """

    is_live = True

    def __init__(
        self,
        spec: str,
        *,
        open_timeout_s: float = 5.0,
        read_timeout_s: float = 5.0,
        reconnect: bool = True,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 10.0,
        opener: CaptureOpener | None = None,
        first_frame_timeout_s: float = 15.0,
    ) -> None:
        self.spec = spec
        self.name = _redact(spec)
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.reconnect = reconnect
        self.reconnect_min_s = reconnect_min_s
        self.reconnect_max_s = reconnect_max_s
        self._opener = opener or self._open_cv
        self.dropped = 0
        self.reconnects = 0
        self.last_error = ""
        self.start_error: str | None = None
        """Why the source failed when first opened (it then ended), else None."""
        self._cond = threading.Condition()
        self._latest: tuple[np.ndarray, float, int] | None = None
        self._delivered = -1
        self._grabbed = 0
        self._ended = False
        self._stop = threading.Event()
        self._cap: Any = None
        if opener is None:
            quiet_opencv()
        self._thread = threading.Thread(target=self._run, name=f"grabber {self.name}")
        self._thread.start()
        if first_frame_timeout_s > 0:
            with self._cond:
                self._cond.wait_for(
                    lambda: self._latest is not None or self._ended, timeout=first_frame_timeout_s
                )
                got = self._latest is not None
            if not got:
                self.close()
                if self.start_error:
                    raise SourceError(self.start_error)
                why = f": {self.last_error}" if self.last_error else ""
                raise SourceError(f"{self.name}: no frame within {first_frame_timeout_s:g} s{why}")

    def _open_cv(self):
        if self.spec.isdigit():
            cap = cv2.VideoCapture(int(self.spec))
        else:
            os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", LOW_DELAY_FFMPEG_OPTIONS)
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                int(self.open_timeout_s * 1000),
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                int(self.read_timeout_s * 1000),
            ]
            cap = cv2.VideoCapture(self.spec, cv2.CAP_FFMPEG, params)
        return cap

    def _cannot_open(self) -> str:
        """One line saying that the source could not be opened at start, and the likely causes."""
        if self.spec.isdigit():
            msg = f"camera {self.spec}: cannot be opened (no such camera, or it is in use)"
            if sys.platform.startswith("linux"):
                found = sorted(glob.glob("/dev/video*"))
                msg += f"; video devices here: {', '.join(found) if found else 'none'}"
            return msg
        return (
            f"{self.name}: cannot open the stream (refused, unreachable within "
            f"{self.open_timeout_s:g} s, wrong path, or not a video)"
        )

    def _run(self) -> None:
        backoff = self.reconnect_min_s
        while not self._stop.is_set():
            try:
                cap = self._opener()
            except Exception as exc:  # a backend may raise instead of returning a closed capture
                cap, self.last_error = None, f"open failed: {exc}"
            opened = cap is not None and cap.isOpened()
            if opened:
                self._cap = cap
                if self.fps is None:
                    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
                    self.fps = fps if 0 < fps < 1000 else None
                got_any = self._grab_loop(cap)
                cap.release()
                self._cap = None
                if got_any:
                    backoff = self.reconnect_min_s
            else:
                if cap is not None:
                    cap.release()
                self.last_error = self.last_error or "cannot open"
            if self._grabbed == 0 and not self._stop.is_set():
                # Never worked since the start: a wrong index/URL, not a dropped link.
                if opened:
                    self.start_error = f"{self.name}: opened, but gave no frame ({self.last_error})"
                else:
                    self.start_error = self._cannot_open()
                    if self.last_error.startswith("open failed"):
                        self.start_error += f": {self.last_error}"
                break
            if self._stop.is_set() or not self.reconnect:
                break
            self.reconnects += 1
            log.warning(
                "%s: stream lost (%s); reconnecting in %.1f s",
                self.name,
                self.last_error or "no frames",
                backoff,
            )
            self._stop.wait(backoff)
            backoff = min(backoff * 2.0, self.reconnect_max_s)
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def _grab_loop(self, cap) -> bool:
        got_any = False
        while not self._stop.is_set():
            ok, image = cap.read()
            if not ok or image is None:
                self.last_error = "read failed or stream ended"
                return got_any
            got_any = True
            t_s = time.time()
            if image.ndim == 2:
                image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
            with self._cond:
                if self._latest is not None and self._latest[2] > self._delivered:
                    self.dropped += 1
                self._latest = (image, t_s, self._grabbed)
                self._grabbed += 1
                self._cond.notify_all()
        return got_any

    def read(self, timeout_s: float = 5.0) -> Frame | None:
        """Wait for a frame newer than the last one returned (older frames are dropped).

        Returns None once the stream ended for good (no reconnect) or after :meth:`close`; raises
        :class:`FrameTimeout` when no new frame came within ``timeout_s``, and
        :class:`SourceError` when the source failed at start (see ``start_error``).
        """
        if self.start_error:
            raise SourceError(self.start_error)
        if self._stop.is_set():
            return None
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    (self._latest is not None and self._latest[2] > self._delivered) or self._ended
                ),
                timeout=timeout_s,
            )
            if self._latest is not None and self._latest[2] > self._delivered:
                image, t_s, index = self._latest
                self._delivered = index
                return Frame(image=image, t_s=t_s, index=index)
            if self._ended:
                if self.start_error:
                    raise SourceError(self.start_error)
                return None
        raise FrameTimeout(
            f"{self.name}: no new frame within {timeout_s:g} s"
            + (f" ({self.last_error})" if self.last_error else "")
        )

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the grabber (waits up to ``timeout_s`` for it to finish its current read)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning(
                    "%s: grabber still blocked in a read after %.0f s", self.name, timeout_s
                )
        with self._cond:
            self._ended = True
            self._cond.notify_all()


def is_stream_spec(spec: str) -> bool:
    """True for a camera index or a URL with a streaming scheme."""
    s = spec.strip()
    if s.isdigit():
        return True
    m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", s)
    return bool(m) and m.group(1).lower() in STREAM_SCHEMES


def open_source(spec: str | os.PathLike, **opts: Any) -> FrameSource:
    """Open a source from its command-line form.

    Args:
        spec: A video file, an image file or folder of photos, a camera index (``"0"``), or a
            stream URL (``rtsp://``, ``udp://``, ``http://``...).
        **opts: Passed to the source class (``start_t_s`` for files; ``reconnect``,
            ``open_timeout_s``, ``first_frame_timeout_s``... for streams).

    Returns:
        A :class:`FrameSource`.

    Raises:
        SourceError: Missing path, unreadable file, or a stream with no frame in time.
    """
    text = os.fspath(spec).strip()
    if not text:
        raise SourceError("empty video source; give a file, folder, camera index or URL")
    if is_stream_spec(text):
        return StreamSource(text, **opts)
    if "://" in text:
        raise SourceError(
            f"{_redact(text)}: unsupported URL scheme; use one of {', '.join(STREAM_SCHEMES)}"
        )
    p = Path(text).expanduser()
    if p.is_dir() or (p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES):
        return ImageFolderSource(p)
    return VideoFileSource(p, **opts)
