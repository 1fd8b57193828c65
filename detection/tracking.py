"""Multi-object tracking with stable ids: Ultralytics' ByteTrack or BoT-SORT on any detections.

ByteTrack (Zhang et al., ECCV 2022) associates high-score boxes first, then low-score ones, with a
Kalman filter per track; BoT-SORT (Aharon et al., 2022) adds camera-motion compensation. The
trackers are Ultralytics' implementations, fed here with supervision detections so that they
work the same on full-frame and tiled inference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import supervision as sv


@dataclass
class _Boxes:
    """The detections interface Ultralytics trackers read: conf, cls, xywh, boolean indexing."""

    conf: np.ndarray
    cls: np.ndarray
    xywh: np.ndarray

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, idx) -> _Boxes:
        return _Boxes(self.conf[idx], self.cls[idx], self.xywh[idx])


class Tracker:
    """Assigns stable track ids to detections frame after frame.

    Args:
        kind: ``"bytetrack"`` or ``"botsort"``.
        fps: Frame rate of the source; lost tracks are kept for ``lost_s`` seconds of frames.
        lost_s: How long a track that is not seen survives (occlusion), seconds.
        high_thresh: Score of the first association stage and of new tracks (use the
            detector's confidence threshold).
    """

    def __init__(
        self,
        kind: str = "bytetrack",
        fps: float | None = None,
        lost_s: float = 2.0,
        high_thresh: float = 0.25,
    ) -> None:
        from ultralytics.trackers.bot_sort import BOTSORT
        from ultralytics.trackers.byte_tracker import BYTETracker
        from ultralytics.utils import ROOT, YAML, IterableSimpleNamespace

        if kind not in ("bytetrack", "botsort"):
            raise ValueError(f"unknown tracker {kind!r}; use bytetrack or botsort")
        cfg = YAML.load(ROOT / "cfg" / "trackers" / f"{kind}.yaml")
        cfg["track_buffer"] = max(1, int(round((fps or 10.0) * lost_s)))
        cfg["track_high_thresh"] = high_thresh
        cfg["new_track_thresh"] = high_thresh
        cfg["track_low_thresh"] = min(0.1, high_thresh / 2)
        args = IterableSimpleNamespace(**cfg)
        self.kind = kind
        self._tracker = BOTSORT(args) if kind == "botsort" else BYTETracker(args)

    def update(self, detections: sv.Detections, image: np.ndarray | None = None) -> sv.Detections:
        """Track one frame.

        Args:
            detections: This frame's detections (xyxy pixels, confidence, class_id).
            image: The BGR frame (used by BoT-SORT's camera-motion compensation).

        Returns:
            The detections that belong to confirmed tracks, with ``tracker_id`` (N,) set;
            boxes are the detector's (not the Kalman prediction), so they stay on the person.
        """
        n = len(detections)
        xyxy = detections.xyxy.astype(np.float32) if n else np.zeros((0, 4), np.float32)
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
        xywh = np.column_stack([(xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]])
        out = self._tracker.update(_Boxes(conf, cls, xywh.astype(np.float32)), image)
        if len(out) == 0:
            empty = detections[np.zeros(n, dtype=bool)] if n else sv.Detections.empty()
            empty.tracker_id = np.zeros(0, dtype=int)
            return empty
        idx = out[:, -1].astype(int)
        tracked = detections[idx]
        tracked.tracker_id = out[:, 4].astype(int)
        return tracked

    def reset(self) -> None:
        """Forget every track (ids restart)."""
        self._tracker.reset()
