"""Face-mask detectors: find faces in a BGR image and label each one masked or unmasked.

Two pretrained single-shot detectors are supported, both run with onnxruntime on the CPU:

* **AIZOO FaceMaskDetection** (``face_mask_detection.onnx``): an SSD with a 260x260 RGB input
  scaled to 0..1, raw box offsets on a fixed anchor table and two sigmoid scores (Mask, NoMask).
  Anchors and decoding follow the model's README (AIZOOTech/FaceMaskDetection): feature maps 33,
  17, 9, 5, 3; sizes (0.04, 0.056), (0.08, 0.11), (0.16, 0.22), (0.32, 0.45), (0.64, 0.72); aspect
  ratios 1, 0.62, 0.42; SSD variances 0.1, 0.1, 0.2, 0.2 (Liu et al., *SSD*, ECCV 2016).
* **Ultra-Light-Fast RFB-640 masked_face** (``RFB-640-masked_face-v2.onnx``): 640x480 RGB input
  normalised ``(x - 127) / 128``, already decoded normalised ``x1, y1, x2, y2`` boxes and softmax
  scores for background, face, masked_face (Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB).

Neither model knows "mask worn incorrectly"; :func:`nose_uncovered` adds that label from the
colour of the nose band compared with the forehead (a mask pulled below the nose leaves the nose
skin-coloured while the mouth is covered).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import cv2
import numpy as np

from detection.errors import ModelNotFoundError


class MaskLabel(str, Enum):
    """Mask state of one face or one tracked person."""

    MASKED = "masked"
    UNMASKED = "unmasked"
    INCORRECT = "incorrect"
    """Mask worn incorrectly (nose uncovered)."""
    UNKNOWN = "unknown"
    """No face big enough to judge: never a guess."""


@dataclass(frozen=True)
class FaceMask:
    """One face found by a face-mask detector.

    Attributes:
        xyxy: Face box ``[x1, y1, x2, y2]`` in pixels of the image given to ``detect``, shape (4,).
        confidence: Face detection score, 0..1.
        label: :attr:`MaskLabel.MASKED`, :attr:`MaskLabel.UNMASKED` or :attr:`MaskLabel.INCORRECT`.
        mask_score: The model's score for the masked class, 0..1.
    """

    xyxy: np.ndarray
    confidence: float
    label: MaskLabel
    mask_score: float

    @property
    def height_px(self) -> float:
        """Face box height in pixels."""
        return float(self.xyxy[3] - self.xyxy[1])


class _OnnxRuntimeRunner:
    """Runs an ONNX graph with onnxruntime; ``run(blob) -> {output name: array}``."""

    def __init__(self, path: Path, threads: int | None) -> None:
        self.session = _session(path, threads)
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, blob: np.ndarray) -> dict[str, np.ndarray]:
        """Run the graph on one input blob.

        Args:
            blob: Preprocessed NCHW float32 input, shape (1, 3, H, W).

        Returns:
            Output name -> array, as the graph produces them.
        """
        return dict(
            zip(self.output_names, self.session.run(None, {self.input_name: blob}), strict=False)
        )


class _OpenCVRunner:
    """Runs an ONNX graph with OpenCV's dnn module (faster than onnxruntime for some graphs)."""

    def __init__(self, path: Path) -> None:
        try:
            self.net = cv2.dnn.readNet(str(path))
        except cv2.error as exc:
            raise ModelNotFoundError(
                f"{path}: cannot load the face-mask model ({str(exc).strip().splitlines()[-1]})"
            ) from None
        self.output_names = list(self.net.getUnconnectedOutLayersNames())

    def run(self, blob: np.ndarray) -> dict[str, np.ndarray]:
        """Same as :meth:`_OnnxRuntimeRunner.run`, through ``cv2.dnn``."""
        self.net.setInput(blob)
        return dict(zip(self.output_names, self.net.forward(self.output_names), strict=False))


def _session(path: Path, threads: int | None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise ModelNotFoundError(
            f"{path}: cannot load the face-mask model ({str(exc).splitlines()[0]})"
        ) from None


def _nms(boxes: np.ndarray, scores: np.ndarray, score_thr: float, iou_thr: float) -> np.ndarray:
    """Indices kept by OpenCV's greedy NMS, best first. ``boxes`` are xyxy, shape (N, 4)."""
    idx = np.flatnonzero(scores >= score_thr)
    if len(idx) == 0:
        return np.empty(0, dtype=int)
    b = boxes[idx]
    xywh = np.column_stack([b[:, :2], b[:, 2:] - b[:, :2]])
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), scores[idx].tolist(), score_thr, iou_thr)
    return idx[np.asarray(keep, dtype=int).reshape(-1)]


class FaceMaskDetector:
    """Base class: ``detect(image) -> list[FaceMask]``.

    Args:
        path: ONNX weights.
        conf: Minimum face score, 0..1.
        nms_iou: IoU threshold of the non-maximum suppression.
        threads: onnxruntime intra-op threads (None: onnxruntime's default).
        judge_incorrect: Run :func:`nose_uncovered` on masked faces to find masks worn incorrectly.
    """

    input_wh: tuple[int, int] = (0, 0)

    def __init__(
        self,
        path: str | os.PathLike,
        conf: float = 0.5,
        nms_iou: float = 0.4,
        threads: int | None = None,
        judge_incorrect: bool = True,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelNotFoundError(
                f"face-mask model {self.path} not found; set detection.mask.face_model"
            )
        self.conf = conf
        self.nms_iou = nms_iou
        self.judge_incorrect = judge_incorrect
        self._runner = self._make_runner(self.path, threads)

    def _make_runner(self, path: Path, threads: int | None):
        return _OnnxRuntimeRunner(path, threads)

    def detect(self, image: np.ndarray) -> list[FaceMask]:
        """Find faces and label their masks.

        Args:
            image: BGR uint8 image, shape (H, W, 3), any size.

        Returns:
            Faces, best score first, boxes in ``image`` pixels.
        """
        h, w = image.shape[:2]
        if h < 2 or w < 2:
            return []
        blob = self._preprocess(image)
        outputs = self._runner.run(blob)
        boxes, face_scores, mask_scores = self._decode(outputs)
        boxes = np.clip(boxes, 0.0, 1.0) * np.array([w, h, w, h], dtype=np.float32)
        keep = _nms(boxes, face_scores, self.conf, self.nms_iou)
        faces = []
        for i in keep:
            masked = float(mask_scores[i])
            label = MaskLabel.MASKED if masked >= 0.5 else MaskLabel.UNMASKED
            box = boxes[i].astype(np.float32)
            if label is MaskLabel.MASKED and self.judge_incorrect and nose_uncovered(image, box):
                label = MaskLabel.INCORRECT
            faces.append(FaceMask(box, float(face_scores[i]), label, masked))
        return faces

    def _preprocess(self, image: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _decode(
        self, outputs: dict
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
        """Model outputs -> (normalised xyxy boxes (N, 4), face scores (N,), masked scores (N,))."""
        raise NotImplementedError


def _aizoo_anchors() -> np.ndarray:
    """AIZOO anchor table, normalised ``[cx, cy, w, h]``, shape (5972, 4), in output order."""
    feature_maps = (33, 17, 9, 5, 3)
    sizes = ((0.04, 0.056), (0.08, 0.11), (0.16, 0.22), (0.32, 0.45), (0.64, 0.72))
    ratios = (1.0, 0.62, 0.42)
    rows = []
    for fm, (s0, s1) in zip(feature_maps, sizes, strict=False):
        # 4 anchors per cell: both sizes at ratio 1, then the first size at the other ratios.
        shapes = [(s0, 1.0), (s1, 1.0)] + [(s0, r) for r in ratios[1:]]
        wh = np.array([(s * np.sqrt(r), s / np.sqrt(r)) for s, r in shapes])
        centres = (np.arange(fm) + 0.5) / fm
        cx, cy = np.meshgrid(centres, centres)  # row-major: y outer, x inner
        c = np.column_stack([cx.ravel(), cy.ravel()])
        cell = np.concatenate([np.repeat(c, len(shapes), axis=0), np.tile(wh, (fm * fm, 1))], 1)
        rows.append(cell)
    return np.concatenate(rows).astype(np.float32)


class AizooFaceMaskDetector(FaceMaskDetector):
    """AIZOO FaceMaskDetection SSD (260x260): faces labelled Mask / NoMask.

    Measured on ``../shared/data/real/masks`` (SOURCES.md): 80/111 boxed faces found, 62/70 labels
    right; 16/16 single-face photos right.
    """

    input_wh = (260, 260)
    _variances = np.array([0.1, 0.1, 0.2, 0.2], dtype=np.float32)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._anchors = _aizoo_anchors()

    def _make_runner(self, path: Path, threads: int | None):
        # OpenCV dnn runs this graph about 3x faster than onnxruntime here (15 vs 48 ms).
        return _OpenCVRunner(path)

    def _preprocess(self, image: np.ndarray) -> np.ndarray:
        rgb = cv2.cvtColor(cv2.resize(image, self.input_wh), cv2.COLOR_BGR2RGB)
        return (rgb.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]

    def _decode(self, outputs):
        loc, cls = outputs["loc_branch_concat"][0], outputs["cls_branch_concat"][0]
        a = self._anchors
        v = self._variances
        cxcy = a[:, :2] + loc[:, :2] * v[:2] * a[:, 2:]
        wh = a[:, 2:] * np.exp(loc[:, 2:] * v[2:])
        boxes = np.concatenate([cxcy - wh / 2, cxcy + wh / 2], axis=1)
        face = cls.max(axis=1)
        masked = cls[:, 0] / np.maximum(cls[:, 0] + cls[:, 1], 1e-6)
        return boxes, face, masked


class UltraFaceMaskedDetector(FaceMaskDetector):
    """Ultra-Light RFB-640 trained on WIDER FACE + MAFA: classes face / masked_face (640x480).

    Measured on ``../shared/data/real/masks`` at score 0.35 (SOURCES.md): 81/111 boxed faces found,
    72/72 labels right.
    """

    input_wh = (640, 480)

    def _preprocess(self, image: np.ndarray) -> np.ndarray:
        rgb = cv2.cvtColor(cv2.resize(image, self.input_wh), cv2.COLOR_BGR2RGB)
        return ((rgb.astype(np.float32) - 127.0) / 128.0).transpose(2, 0, 1)[None]

    def _decode(self, outputs):
        scores = outputs["scores"][0]
        boxes = outputs["boxes"][0]
        face = scores[:, 1] + scores[:, 2]
        masked = scores[:, 2] / np.maximum(face, 1e-6)
        return boxes.astype(np.float32), face, masked


def load_face_mask_detector(path: str | os.PathLike, conf: float = 0.5) -> FaceMaskDetector:
    """Open a face-mask model, choosing the decoder from the ONNX input shape.

    Args:
        path: ``face_mask_detection.onnx`` (AIZOO, 260x260 input) or
            ``RFB-640-masked_face-v2.onnx`` (UltraFace masked, 480x640 input).
        conf: Minimum face score.

    Returns:
        A :class:`FaceMaskDetector`.

    Raises:
        ModelNotFoundError: The file is missing, unloadable, or not one of the known models.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelNotFoundError(
            f"face-mask model {p} not found; put face_mask_detection.onnx there or set "
            "detection.mask.face_model"
        )
    shape = _session(p, 1).get_inputs()[0].shape
    if list(shape[2:]) == [260, 260]:
        return AizooFaceMaskDetector(p, conf=conf)
    if list(shape[2:]) == [480, 640]:
        return UltraFaceMaskedDetector(p, conf=conf)
    raise ModelNotFoundError(
        f"{p}: unknown face-mask model (input {shape}); use the AIZOO face_mask_detection.onnx "
        "or RFB-640-masked_face-v2.onnx (see docs/detection.md)"
    )


def nose_uncovered(image: np.ndarray, face_xyxy: np.ndarray) -> bool:
    """Whether a masked face shows its nose (mask worn incorrectly).

    Heuristic, measured in ``tests/detection/test_masks_real.py``: inside the face box the
    forehead band (15-30 % of the height) gives the person's skin colour in CIE Lab; the nose band
    (40-55 %) of a correctly worn mask has a different colour, while a mask pulled below the nose
    leaves that band skin-coloured.

    Args:
        image: BGR uint8 image, shape (H, W, 3).
        face_xyxy: Face box in ``image`` pixels, shape (4,).

    Returns:
        True when the nose band matches the skin colour (Lab distance below 14 and clearly nearer
        the skin than the lower band, the mask).
    """
    x1, y1, x2, y2 = (int(round(v)) for v in face_xyxy)
    h, w = image.shape[:2]
    x1, x2 = max(0, x1), min(w, x2)
    y1, y2 = max(0, y1), min(h, y2)
    fh, fw = y2 - y1, x2 - x1
    if fh < 12 or fw < 8:
        return False
    lab = cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2LAB).astype(np.float32)
    cx0, cx1 = int(fw * 0.35), max(int(fw * 0.65), int(fw * 0.35) + 1)

    def band(a: float, b: float) -> np.ndarray:
        """Median Lab colour of the centre columns from ``a`` to ``b`` of the face height."""
        part = lab[int(fh * a) : max(int(fh * b), int(fh * a) + 1), cx0:cx1]
        return np.median(part.reshape(-1, 3), axis=0)

    skin = band(0.15, 0.30)
    nose = band(0.40, 0.55)
    mask = band(0.70, 0.85)
    d_nose_skin = float(np.linalg.norm(nose - skin))
    d_nose_mask = float(np.linalg.norm(nose - mask))
    return d_nose_skin < 14.0 and d_nose_skin < 0.6 * d_nose_mask
