"""The officers' live video: every camera frame, with the latest detections drawn on it.

Detection runs slower than the camera (1-10 frames/s on two cores against the camera's 10-30).
The page used to show only the detector's frames, 1-3 s behind; :class:`LiveVideo` instead takes
every camera frame (:meth:`LiveVideo.offer`, from the patrol's camera thread,
:class:`groundstation.patrol.FramePrefetcher`) and, while a client watches
(:meth:`groundstation.overlay.hub.OverlayHub.watched`), draws on it on a thread of its own:

1. **Privacy first** (issue 16): the regions the detector hid on its last frame
   (``FrameResult.privacy_xyxy``: heads of persons, faces) are moved by the image motion since
   that frame and grown with the result's age (a face that moved stays covered), then blurred
   (:func:`detection.privacy.anonymise`). Without a result, or with one older than
   ``max_age_s``, the whole frame is pixelated: no face is ever streamed in the clear because
   detection has not caught up.
2. **The latest detections**: boxes, labels and gathering hulls of the last result, moved by the
   same image motion (:func:`detection.annotate.annotate_frame`, text scaled to the frame).
3. **JPEG** in :meth:`~groundstation.overlay.hub.OverlayHub.push_frame`, stamped with the
   camera's capture time (``Frame.t_s``), so the page and ``benchmarks/overlay.py`` measure the
   latency camera -> page.

Nothing is drawn or encoded while nobody watches, and the detection thread only hands over a
reference (:meth:`LiveVideo.update`): the detection loop is never slowed by the video.

The image motion is a global translation between the detector's frame and the camera frame,
from phase correlation of small grey copies (``cv2.phaseCorrelate``, about 2 ms): exact for a
camera looking straight down, a good approximation at the demo's -45 deg gimbal, and independent
of telemetry (a real camera's frames carry no pose).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from detection.annotate import annotate_frame
from detection.privacy import (  # noqa: F401 (MOTION_WIDTH_PX, MIN_RESPONSE: re-exported)
    MIN_RESPONSE,
    MOTION_WIDTH_PX,
    PrivacySettings,
    anonymise,
    grey_small,
    image_shift,
    pad_boxes,
)

log = logging.getLogger(__name__)

GROW_FRAC = 0.15
"""Privacy regions grow by this fraction of their size on each side (beyond the detector's own
padding, :data:`detection.privacy.FACE_PAD`), whatever the age of the result."""
DRIFT_FRAC_S = 0.08
"""...and by this fraction of the frame's short side per second of the result's age (people
walk, and the translation is approximate: 58 px/s at 1280x720, about 1.4 m/s at the demo's
scale)."""


@dataclass
class LiveStats:
    """Counters of the live video (read them from any thread; they only grow, each written by
    one thread: ``offered``/``watched``/``skipped`` the camera's, ``streamed``/``hidden`` the
    drawing one, ``results`` the detector's).

    Attributes:
        offered: Camera frames offered (:meth:`LiveVideo.offer`).
        watched: Of those, frames offered while a client watched.
        streamed: Frames drawn and pushed to the hub.
        skipped: Watched frames replaced by a newer one before they were drawn (the drawing
            thread was behind).
        hidden: Streamed frames pixelated whole (no result, or one too old).
        results: Detection results received (:meth:`LiveVideo.update`).
    """

    offered: int = 0
    watched: int = 0
    streamed: int = 0
    skipped: int = 0
    hidden: int = 0
    results: int = 0


class LiveVideo:
    """Camera frames to the overlay hub at the camera's rate, drawn with the latest detections.

    Args:
        hub: The :class:`~groundstation.overlay.hub.OverlayHub` (its :meth:`watched` decides
            whether frames are drawn, :meth:`push_frame` encodes them).
        privacy: The ``privacy`` section (``blur: off`` streams frames unblurred; otherwise
            frames without a recent result are pixelated whole).
        stopping: Set to end the drawing thread (e.g. the patrol's stop event); None: only
            :meth:`stop`.
        max_age_s: A result older than this (camera seconds between its frame and the frame
            drawn) no longer says where faces are: the frame is pixelated whole.

    Example:
        >>> live = LiveVideo(hub, PrivacySettings()).start()  # doctest: +SKIP
        >>> live.offer(frame)            # camera thread, every frame
        >>> live.update(result, image)   # detection thread, every result
    """

    def __init__(
        self,
        hub,
        privacy: PrivacySettings | None = None,
        stopping: threading.Event | None = None,
        *,
        max_age_s: float = 3.0,
    ) -> None:
        self.hub = hub
        self.privacy = privacy or PrivacySettings()
        self.max_age_s = max_age_s
        self.stats = LiveStats()
        self._stopping = stopping or threading.Event()
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._pending = None  # the newest watched camera frame not drawn yet
        self._result = None  # (FrameResult, its image) from the detection thread
        self._motion_ref: tuple[int, np.ndarray] | None = None  # (id of result, grey copy)
        self.thread = threading.Thread(target=self._run, name="live-video", daemon=True)

    # -- producers -----------------------------------------------------------------------------

    def start(self) -> LiveVideo:
        """Start the drawing thread; returns self."""
        self.thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        """End the drawing thread (idempotent)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(timeout_s)

    def watched(self) -> bool:
        """True while a client watches the video (frames are drawn and encoded only then)."""
        return self.hub.watched()

    def offer(self, frame) -> None:
        """A camera frame (a :class:`detection.sources.Frame`, BGR ``image`` (H, W, 3), capture
        time ``t_s`` in UNIX s). Cheap: the frame is only kept for the drawing thread, and only
        while a client watches; an older frame not drawn yet is dropped."""
        self.stats.offered += 1
        if not self.watched():
            return
        self.stats.watched += 1
        with self._cond:
            if self._pending is not None:
                self.stats.skipped += 1
            self._pending = frame
            self._cond.notify()

    def update(self, result, image: np.ndarray) -> None:
        """The detector's latest result and the frame it was computed on (not copied: the
        caller must not change ``image`` afterwards)."""
        self._result = (result, image)
        self.stats.results += 1

    # -- drawing -------------------------------------------------------------------------------

    def _run(self) -> None:
        while not (self._stop.is_set() or self._stopping.is_set()):
            with self._cond:
                self._cond.wait_for(
                    lambda: self._pending is not None or self._stop.is_set(), timeout=0.5
                )
                frame, self._pending = self._pending, None
            if frame is None:
                continue
            try:
                image = self.render(frame.image, frame.t_s, frame.index)
                self.hub.push_frame(image, frame.t_s, frame.index)
                self.stats.streamed += 1
            except Exception:  # a drawing bug must not end the video for good
                log.exception("live video: frame %d not drawn", frame.index)
                self._stopping.wait(0.5)

    def render(self, image: np.ndarray, t_s: float, frame_index: int) -> np.ndarray:
        """One camera frame, anonymised, with the latest result drawn on it (a new array).

        Args:
            image: BGR uint8 camera frame, shape (H, W, 3); not changed.
            t_s: Its capture time, UNIX s.
            frame_index: Its index.

        Returns:
            BGR uint8 array of the same shape: the regions of the latest result (moved and grown)
            blurred and its detections drawn; pixelated whole when privacy is on and there is no
            result within ``max_age_s``.
        """
        current = self._result
        blur_on = self.privacy.blur != "off"
        age = None if current is None else t_s - current[0].t_s
        if current is None or age is None or age > self.max_age_s or age < -1.0:
            if not blur_on:
                return image.copy()
            self.stats.hidden += 1
            return hide_whole(image, "waiting for detection")
        result, ref = current
        dx, dy = self._motion(result, ref, image)
        regions = np.asarray(result.privacy_xyxy, dtype=float).reshape(-1, 4)
        if len(regions):
            regions = grow_regions(regions + [dx, dy, dx, dy], max(0.0, age), image.shape)
        return annotate_frame(
            image,
            result,
            offset_xy=(dx, dy),
            privacy_xyxy=regions,
            t_s=t_s,
            frame_index=frame_index,
        )

    def _motion(self, result, ref: np.ndarray, image: np.ndarray) -> tuple[float, float]:
        """Image motion ``(dx, dy)`` pixels from the result's frame to ``image``."""
        if ref is image or ref.shape != image.shape:
            return 0.0, 0.0
        key = id(result)
        if self._motion_ref is None or self._motion_ref[0] != key:
            self._motion_ref = (key, grey_small(ref))
        return image_shift(self._motion_ref[1], grey_small(image), image.shape[1])


def grow_regions(regions: np.ndarray, age_s: float, shape: tuple[int, ...]) -> np.ndarray:
    """Privacy regions grown to cover a face that may have moved since they were found.

    Args:
        regions: ``[x1, y1, x2, y2]`` pixels, shape (K, 4).
        age_s: Seconds between the regions' frame and the frame they are drawn on.
        shape: Shape of that frame, ``(H, W, ...)``.

    Returns:
        Regions grown by :data:`GROW_FRAC` of their size plus :data:`DRIFT_FRAC_S` x ``age_s``
        of the frame's short side, on each side; shape (K, 4).
    """
    grown = pad_boxes(regions, GROW_FRAC)
    margin = DRIFT_FRAC_S * max(0.0, age_s) * min(shape[0], shape[1])
    return grown + np.array([-margin, -margin, margin, margin])


def hide_whole(image: np.ndarray, text: str) -> np.ndarray:
    """The frame pixelated whole (supervision's PixelateAnnotator, through
    :func:`detection.privacy.anonymise`) with ``text`` on it: a new array."""
    h, w = image.shape[:2]
    out = anonymise(image, np.array([[0.0, 0.0, w, h]]), "pixelate", copy=True)
    scale = max(0.5, 1e-3 * min(h, w) * 1.25)
    cv2.putText(
        out, text, (12, int(40 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2
    )
    return out
