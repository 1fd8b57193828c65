"""Person detection with Ultralytics YOLO, on the full frame or in overlapping slices.

Any weights format Ultralytics loads works (``.pt``, ``.onnx``, an OpenVINO model folder); the
classes kept are the model's person classes (:mod:`detection.models`). Sliced inference
(slicing-aided hyper inference, Akyon et al., *SAHI*, ICIP 2022) runs the model on overlapping
square slices and merges the slices' boxes with SAHI's greedy non-maximum *merging* (a person cut
by a slice border is one box again, the union of its parts), so small people seen from altitude
keep enough pixels. The slices are only as small as the people need (:func:`slice_plan`): on a
1280x720 frame two 720 px slices, i.e. two inferences instead of one.
"""

from __future__ import annotations

import math

import numpy as np
import supervision as sv

from detection.models import ModelProfile, load_yolo, model_names, profile_for

__all__ = ["PersonDetector", "load_yolo", "slice_plan", "merge_slices"]


def slice_plan(
    width_px: int, height_px: int, imgsz: int, side_px: float | None = None, overlap: float = 0.15
) -> list[tuple[int, int, int, int]]:
    """Square slices covering a frame.

    Args:
        width_px, height_px: Frame size.
        imgsz: Model input size; slices are never smaller (people are not upscaled past it).
        side_px: Wanted slice side (default: the frame's short side: the fewest slices that
            still enlarge people over the full-frame pass).
        overlap: Overlap of neighbouring slices, fraction of the side.

    Returns:
        ``(x1, y1, x2, y2)`` pixel boxes, row by row (SAHI's ``get_slice_bboxes``).
    """
    from sahi.slicing import get_slice_bboxes

    short = min(width_px, height_px)
    side = int(round(min(short, max(imgsz, side_px if side_px else short))))
    return [
        tuple(int(v) for v in b)
        for b in get_slice_bboxes(
            height_px,
            width_px,
            slice_height=side,
            slice_width=side,
            auto_slice_resolution=False,
            overlap_height_ratio=overlap,
            overlap_width_ratio=overlap,
        )
    ]


def merge_slices(dets: sv.Detections, ios_thresh: float = 0.5) -> sv.Detections:
    """Merge boxes of overlapping slices with SAHI's greedy non-maximum merging.

    Boxes are taken in confidence order; a lower box overlapping a kept one by more than
    ``ios_thresh`` (intersection over the smaller box) is merged into it: the kept box grows to
    the union of both and keeps the higher confidence.

    Args:
        dets: Detections of all slices in frame pixels.
        ios_thresh: Intersection over smaller above which two boxes are one person.

    Returns:
        Merged detections (``class_id`` of the kept boxes).
    """
    if len(dets) < 2:
        return dets
    from sahi.postprocess.combine import greedy_nmm

    pred = np.column_stack([dets.xyxy, dets.confidence, np.zeros(len(dets))]).astype(np.float64)
    groups = greedy_nmm(pred, match_metric="IOS", match_threshold=ios_thresh)
    keep = sorted(groups)
    xyxy = dets.xyxy[keep].astype(float).copy()
    for row, k in enumerate(keep):
        members = groups[k]
        if members:
            allb = dets.xyxy[[k, *members]]
            xyxy[row] = [*allb[:, :2].min(axis=0), *allb[:, 2:].max(axis=0)]
    out = dets[keep]
    out.xyxy = xyxy.astype(dets.xyxy.dtype)
    return out


class PersonDetector:
    """YOLO person detector.

    Args:
        model: A loaded ``ultralytics.YOLO`` (see :func:`detection.models.load_yolo`).
        conf: Minimum confidence, 0..1 (None: the model's measured value).
        iou: NMS IoU threshold within one inference.
        imgsz: Inference size in pixels (long side).
        tile_overlap: Overlap between slices as a fraction of the slice side.
        classes: Class ids counted as people (None: from the model's class names).
        min_person_px: Override of the model's envelope (pixels at model input).
        tile_below_px: Override of the model's slicing threshold (pixels at model input).

    Attributes:
        profile: The model's :class:`detection.models.ModelProfile` (class map, envelope).
    """

    def __init__(
        self,
        model,
        conf: float | None = None,
        iou: float = 0.5,
        imgsz: int = 640,
        tile_overlap: float = 0.15,
        classes: list[int] | None = None,
        min_person_px: float | None = None,
        tile_below_px: float | None = None,
    ) -> None:
        self.model = model
        self.iou = iou
        self.imgsz = imgsz
        self.tile_overlap = tile_overlap
        # One warm-up pass builds Ultralytics' predictor (and the runtime's compiled model); the
        # class names of an exported model are only known after it.
        self.model.predict(
            np.zeros((imgsz, imgsz, 3), np.uint8), imgsz=imgsz, conf=0.5, verbose=False
        )
        self.profile: ModelProfile = profile_for(
            model_names(model),
            classes=classes,
            conf=conf,
            min_person_px=min_person_px,
            tile_below_px=tile_below_px,
        )
        self.conf = self.profile.conf
        self.classes = list(self.profile.person_classes)

    @property
    def class_id(self) -> int:
        """The first person class (detections are reported with it)."""
        return self.classes[0]

    def _predict(self, image: np.ndarray) -> sv.Detections:
        result = self.model.predict(
            image,
            imgsz=self.imgsz,
            conf=self.conf,
            iou=self.iou,
            classes=self.classes,
            agnostic_nms=len(self.classes) > 1,
            verbose=False,
        )[0]
        dets = sv.Detections.from_ultralytics(result)
        if len(dets) and len(self.classes) > 1:
            # one person class downstream (VisDrone's pedestrian / people)
            dets.class_id = np.full(len(dets), self.class_id, dtype=int)
        return dets

    def detect(
        self, image: np.ndarray, tiled: bool = False, slice_side_px: float | None = None
    ) -> sv.Detections:
        """Persons in a BGR frame.

        Args:
            image: BGR uint8, shape (H, W, 3).
            tiled: Run on overlapping square slices (:func:`slice_plan`) instead of the full
                frame, merged with :func:`merge_slices`.
            slice_side_px: Slice side (default: the frame's short side).

        Returns:
            ``supervision.Detections`` with ``xyxy`` (N, 4) pixels, ``confidence`` (N,) and
            ``class_id`` (N,) all equal to :attr:`class_id`.
        """
        if not tiled:
            return self._predict(image)
        h, w = image.shape[:2]
        parts = []
        for x1, y1, x2, y2 in slice_plan(w, h, self.imgsz, slice_side_px, self.tile_overlap):
            d = self._predict(image[y1:y2, x1:x2])
            if len(d):
                d.xyxy = d.xyxy + np.array([x1, y1, x1, y1], dtype=d.xyxy.dtype)
                parts.append(d)
        if not parts:
            return sv.Detections.empty()
        return merge_slices(sv.Detections.merge(parts))


def expected_person_px(
    size_m: float, gsd_cm_px: float, width_px: int, height_px: int, imgsz: int
) -> float:
    """A person's size at model input (full-frame pass): ``size / GSD * imgsz / max(W, H)``."""
    return size_m / (gsd_cm_px / 100.0) * imgsz / max(width_px, height_px)


def slice_side_for(person_px_native: float, target_px: float, imgsz: int) -> float:
    """Slice side that brings a person of ``person_px_native`` pixels to ``target_px`` at model
    input: ``imgsz * person / target``."""
    return imgsz * person_px_native / max(target_px, 1e-6) if person_px_native > 0 else math.inf
