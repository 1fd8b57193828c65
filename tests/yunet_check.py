"""An independent face detector for privacy checks: YuNet (OpenCV's ``FaceDetectorYN``) from
../shared/models. dronepatrol never uses it for blurring (that is the project's own face-mask
detector plus person heads), so a face it finds in an output is a face the anonymisation missed.

Source of the weights: ``../shared/models/SOURCES.md`` (yunet/face_detection_yunet_2023mar.onnx,
OpenCV Zoo / ShiqiYu libfacedetection.train).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from testkit import shared_path

YUNET_REL = ("models", "yunet", "face_detection_yunet_2023mar.onnx")
SCORE = 0.6
"""YuNet score threshold (SOURCES.md: 171/197 faces of the andrewmvd mask images at 0.6)."""


class YuNet:
    """``count(image) -> faces`` with YuNet, re-sized to each image (skips when absent)."""

    def __init__(self, score: float = SCORE) -> None:
        self.path = str(shared_path(*YUNET_REL))
        self.score = score
        self._det = None
        self._size = None

    def faces(self, image: np.ndarray) -> np.ndarray:
        """Face rows ``[x, y, w, h, 10 landmark coords, score]``, shape (N, 15)."""
        h, w = image.shape[:2]
        if self._det is None:
            self._det = cv2.FaceDetectorYN.create(self.path, "", (w, h), self.score, 0.3, 5000)
        if self._size != (w, h):
            self._det.setInputSize((w, h))
            self._size = (w, h)
        _, f = self._det.detect(image)
        return np.zeros((0, 15)) if f is None else f

    def count(self, image: np.ndarray) -> int:
        return len(self.faces(image))


def video_frames(path: str | Path, limit: int | None = None):
    """BGR frames of a video file (MP4, MPEG-TS), up to ``limit``."""
    cap = cv2.VideoCapture(str(path))
    n = 0
    try:
        while limit is None or n < limit:
            ok, img = cap.read()
            if not ok:
                break
            n += 1
            yield img
    finally:
        cap.release()
