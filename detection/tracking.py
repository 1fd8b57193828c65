"""Multi-object tracking with stable ids, in pixels or on the ground in metres.

ByteTrack (Zhang et al., *ByteTrack: Multi-Object Tracking by Associating Every Detection Box*,
ECCV 2022) associates high-score boxes first, then low-score ones, with a Kalman filter per track;
BoT-SORT (Aharon et al., *BoT-SORT: Robust Associations Multi-Pedestrian Tracking*, 2022) adds
global camera-motion compensation (GMC, sparse optical flow on the frame). The trackers are
Ultralytics' implementations, fed here with supervision detections so that they work the same on
full-frame and tiled inference.

**Pixels fail from a moving drone.** Both trackers associate boxes by their overlap (IoU) in the
image. A drone flying its survey at a few frames per second with an oblique camera moves people
across the picture by more than their own width from one frame to the next (the demo: 18 m,
-45 deg, 3 m/s, 1280x720, hfov 50 deg), so consecutive boxes of one person do not overlap, new
tracks are never confirmed and no gathering can persist.

**Ground association** (``kind="ground"``, the default). When the frame has a pose, each person's
foot point is already projected onto the ground (``detection.geometry``), and there a standing
person does not move, whatever the camera does. The same ByteTrack association then runs on
*pseudo-boxes* in metres: a square of side ``2 * gate`` centred on the person's ground position
``(east_m, north_m)`` in the pipeline's local frame, where the gate is how far the person's
ground position may move from one frame to the next (:func:`ground_gate_m`)::

    gate = GROUND_NOISE_M + foot-point jitter projected at that range + WALK_SPEED_M_S * dt

Two such squares offset by the gate along one axis have IoU 1/3 (1/4 diagonally), so with the
match threshold :data:`GROUND_MATCH_THRESH` (cost ``1 - IoU`` <= 0.75) a person is associated
with its track while it stays within about one gate, and the Hungarian assignment of ByteTrack
picks, among neighbours of a group, the pairing with the largest overlaps. Scores are not fused
into the cost (``fuse_score`` off): the IoU of pseudo-boxes is a distance, not a box quality.
Frames without a pose (no projection) use the pixel tracker (ByteTrack); people whose foot point
does not reach the ground on a frame with a pose (at or above the horizon, beyond
``max_range_m``) are not tracked on that frame.

Track ids count up from 1 across both the ground and the pixel tracker, so an id is never given
to two people; a switch between the two (a pose lost for a while) starts new tracks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import supervision as sv

TRACKER_KINDS = ("ground", "bytetrack", "botsort")
"""Values of ``detection.tracker``."""
WALK_SPEED_M_S = 2.0
"""Fastest ground speed of a person on foot the ground gate allows for (a brisk walk), m/s."""
GROUND_NOISE_M = 0.5
"""Frame-to-frame scatter of a standing person's projected foot point, metres: pose
interpolation and time-sync errors, heading error times range, and the foot-point heuristic
moving on the box as the view angle changes (measured on the simulated camera: under 0.3 m at
the demo's geometry; doubled here for real telemetry)."""
FOOT_JITTER_FRACTION = 0.05
"""Box-bottom jitter of a detector between frames, as a fraction of the box height (at least
:data:`FOOT_JITTER_MIN_PX`); projected to metres at the person's range it widens the gate of
far, low-angle people."""
FOOT_JITTER_MIN_PX = 2.0
MAX_GATE_M = 10.0
"""The gate never exceeds this, metres (near the horizon a pixel spans metres of ground)."""
GROUND_MATCH_THRESH = 0.75
"""Largest association cost ``1 - IoU`` of ground pseudo-boxes (see the module docstring)."""


def ground_gate_m(dt_s: float, jitter_m: np.ndarray | float = 0.0) -> np.ndarray:
    """How far a person's ground position may move between two frames, metres.

    ``GROUND_NOISE_M + jitter_m + WALK_SPEED_M_S * dt_s``, capped at :data:`MAX_GATE_M`.

    Args:
        dt_s: Time since the previous frame, seconds (clipped to 0..2 s: after longer gaps the
            Kalman prediction of a lost track is what matters, not the walk).
        jitter_m: (N,) or scalar: the detector's box-bottom jitter projected onto the ground at
            each person's range, metres.

    Returns:
        (N,) gates in metres (a 0-d array for scalar input).
    """
    dt = float(np.clip(dt_s, 0.0, 2.0))
    gate = GROUND_NOISE_M + np.asarray(jitter_m, dtype=float) + WALK_SPEED_M_S * dt
    return np.minimum(gate, MAX_GATE_M)


@dataclass
class _Boxes:
    """The detections interface Ultralytics trackers read: ``conf``, ``cls``, ``xywh``,
    ``xyxy`` (BoT-SORT's camera-motion compensation masks the boxes out of the frame), ``len``
    and boolean/integer indexing."""

    conf: np.ndarray
    cls: np.ndarray
    xywh: np.ndarray

    @property
    def xyxy(self) -> np.ndarray:
        """(N, 4) ``[x1, y1, x2, y2]``."""
        c, wh = self.xywh[:, :2], self.xywh[:, 2:4]
        return np.concatenate([c - wh / 2, c + wh / 2], axis=1)

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, idx) -> _Boxes:
        return _Boxes(self.conf[idx], self.cls[idx], self.xywh[idx])


def _ultralytics_tracker(kind: str, track_buffer: int, high_thresh: float, **overrides):
    """An Ultralytics BYTETracker / BOTSORT configured from its shipped YAML plus overrides."""
    from ultralytics.trackers.bot_sort import BOTSORT
    from ultralytics.trackers.byte_tracker import BYTETracker
    from ultralytics.utils import ROOT, YAML, IterableSimpleNamespace

    cfg = YAML.load(ROOT / "cfg" / "trackers" / f"{kind}.yaml")
    cfg["track_buffer"] = track_buffer
    cfg["track_high_thresh"] = high_thresh
    cfg["new_track_thresh"] = high_thresh
    cfg["track_low_thresh"] = min(0.1, high_thresh / 2)
    cfg.update(overrides)
    args = IterableSimpleNamespace(**cfg)
    return BOTSORT(args) if kind == "botsort" else BYTETracker(args)


class Tracker:
    """Assigns stable track ids to detections frame after frame.

    Args:
        kind: ``"ground"`` (associate on the ground in metres when the frame has ground
            positions, else ByteTrack in pixels), ``"bytetrack"`` or ``"botsort"`` (pixels).
        fps: Frame rate of the source; lost tracks are kept for ``lost_s`` seconds of frames.
        lost_s: How long a track that is not seen survives (occlusion), seconds.
        high_thresh: Score of the first association stage and of new tracks (use the
            detector's confidence threshold).

    Raises:
        ValueError: Unknown ``kind``.

    Example:
        >>> tracker = Tracker("ground", fps=5)
        >>> tracked = tracker.update(dets, image, ground_xy=xy_m, t_s=t)  # doctest: +SKIP
        >>> tracked.tracker_id, tracker.last_mode
    """

    def __init__(
        self,
        kind: str = "ground",
        fps: float | None = None,
        lost_s: float = 2.0,
        high_thresh: float = 0.25,
    ) -> None:
        if kind not in TRACKER_KINDS:
            raise ValueError(f"unknown tracker {kind!r}; use {', '.join(TRACKER_KINDS)}")
        self.kind = kind
        self._fps = fps or 10.0
        self._buffer = max(1, int(round(self._fps * lost_s)))
        kw = {"fuse_score": False, "match_thresh": GROUND_MATCH_THRESH}
        self._ground = (
            _ultralytics_tracker("bytetrack", self._buffer, high_thresh, **kw)
            if kind == "ground"
            else None
        )
        pixel_kind = "bytetrack" if kind == "ground" else kind
        self._pixel = _ultralytics_tracker(pixel_kind, self._buffer, high_thresh)
        self._public: dict[tuple[str, int], int] = {}  # (mode, tracker's id) -> our id
        self._next_id = 1
        self._updates = 0
        self._last_t: float | None = None
        self.last_mode: str | None = None
        """``"ground"`` or ``"pixel"``: how the latest frame was associated."""

    def update(
        self,
        detections: sv.Detections,
        image: np.ndarray | None = None,
        *,
        ground_xy: np.ndarray | None = None,
        jitter_m: np.ndarray | None = None,
        t_s: float | None = None,
    ) -> sv.Detections:
        """Track one frame.

        Args:
            detections: This frame's detections (xyxy pixels, confidence, class_id).
            image: The BGR frame (used by BoT-SORT's camera-motion compensation).
            ground_xy: (N, 2) ground positions ``(east_m, north_m)`` of the detections in a
                fixed local frame, NaN rows where the foot point does not reach the ground; None
                when the frame has no pose. Used by ``kind="ground"`` only.
            jitter_m: (N,) box-bottom jitter projected onto the ground, metres (see
                :func:`ground_gate_m`); default 0.
            t_s: Frame time, seconds (the gate grows with the time since the previous frame);
                default: ``1 / fps``.

        Returns:
            The detections that belong to confirmed tracks, with ``tracker_id`` (N,) set;
            boxes are the detector's (not the Kalman prediction), so they stay on the person;
            ``data`` arrays of ``detections`` follow their rows.
        """
        n = len(detections)
        dt = t_s - self._last_t if t_s is not None and self._last_t is not None else 1.0 / self._fps
        if t_s is not None:
            self._last_t = t_s
        conf = (
            detections.confidence.astype(np.float32)
            if n and detections.confidence is not None
            else np.ones(n, np.float32)
        )
        cls = (
            detections.class_id.astype(np.float32)
            if n and detections.class_id is not None
            else np.zeros(n, np.float32)
        )
        if self.kind == "ground" and ground_xy is not None:
            self.last_mode = "ground"
            xy = np.asarray(ground_xy, dtype=float).reshape(-1, 2)
            rows = np.flatnonzero(~np.isnan(xy).any(axis=1))
            jit = np.zeros(n) if jitter_m is None else np.nan_to_num(np.asarray(jitter_m), nan=0.0)
            side = 2.0 * ground_gate_m(dt, jit[rows]).reshape(-1)
            xywh = np.column_stack([xy[rows], side, side]).astype(np.float32)
            boxes = _Boxes(conf[rows], cls[rows], xywh)
            out = self._ground.update(boxes, None)
            index = rows
        else:
            self.last_mode = "pixel"
            xyxy = detections.xyxy.astype(np.float32) if n else np.zeros((0, 4), np.float32)
            xywh = np.column_stack([(xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]])
            out = self._pixel.update(_Boxes(conf, cls, xywh.astype(np.float32)), image)
            index = np.arange(n)
        self._updates += 1
        if self._updates % 50 == 0:
            self._forget_finished()
        if len(out) == 0:
            tracked = detections[np.zeros(n, dtype=bool)] if n else sv.Detections.empty()
            tracked.tracker_id = np.zeros(0, dtype=int)
            return tracked
        idx = index[out[:, -1].astype(int)]
        tracked = detections[idx]
        tracked.tracker_id = np.array([self._public_id(int(i)) for i in out[:, 4]], dtype=int)
        return tracked

    def _public_id(self, raw: int) -> int:
        key = (self.last_mode, raw)
        pid = self._public.get(key)
        if pid is None:
            pid = self._public[key] = self._next_id
            self._next_id += 1
        return pid

    def _forget_finished(self) -> None:
        """Drop the id mapping of tracks the trackers no longer hold (tracked or lost)."""
        alive = set()
        for mode, t in (("pixel", self._pixel), ("ground", self._ground)):
            if t is not None:
                alive |= {(mode, s.track_id) for s in (*t.tracked_stracks, *t.lost_stracks)}
        self._public = {k: v for k, v in self._public.items() if k in alive}

    def reset(self) -> None:
        """Forget every track (ids restart at 1)."""
        for t in (self._pixel, self._ground):
            if t is not None:
                t.reset()
        self._public.clear()
        self._next_id = 1
        self._last_t = None
