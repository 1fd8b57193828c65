"""Person detection with Ultralytics YOLO, on the full frame or in overlapping tiles.

Any weights format Ultralytics loads works (``.pt``, ``.onnx``, an OpenVINO model folder); only
the COCO ``person`` class is kept. Tiled inference (slicing-aided inference, Akyon et al., *SAHI*,
ICIP 2022) runs the model on overlapping tiles at native resolution through supervision's
:class:`supervision.InferenceSlicer` and merges the tiles' boxes with NMS, so small people seen
from altitude keep enough pixels.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import supervision as sv

from detection.errors import ModelNotFoundError


def load_yolo(path: str | os.PathLike):
    """Load Ultralytics weights for detection, offline.

    Args:
        path: ``.pt``/``.onnx`` file or OpenVINO folder (``*_openvino_model`` with .xml/.bin).

    Returns:
        ``ultralytics.YOLO`` loaded with ``task="detect"``.

    Raises:
        ModelNotFoundError: Missing path, or Ultralytics cannot load it (one line, with the
            cause, e.g. a missing runtime such as ``openvino``).
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    p = Path(path)
    if not p.exists():
        raise ModelNotFoundError(f"person model {p} not found")
    from ultralytics import YOLO

    try:
        return YOLO(str(p), task="detect")
    except Exception as exc:  # Ultralytics raises many types (FileNotFoundError, ModuleNotFound...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelNotFoundError(f"{p}: cannot load the person model ({first})") from None


def person_class_id(model) -> int:
    """Index of the ``person`` class in the model's names.

    Raises:
        ModelNotFoundError: The model has no class named person.
    """
    names = model.names if isinstance(model.names, dict) else dict(enumerate(model.names))
    for cid, name in names.items():
        if str(name).lower() in ("person", "pedestrian", "people"):
            return int(cid)
    raise ModelNotFoundError(
        f"the person model has no 'person' class (classes: {', '.join(map(str, names.values()))[:80]})"
    )


def tile_grid(width_px: int, height_px: int, imgsz: int) -> tuple[int, int]:
    """Tiles across and down so each tile is close to the model input size.

    Returns:
        ``(cols, rows)`` = ``ceil(W / imgsz)``, ``ceil(H / imgsz)``, at least two tiles, so no
        tile is larger than the model input (small people are never downscaled, usually upscaled).
    """
    cols = max(1, math.ceil(width_px / imgsz))
    rows = max(1, math.ceil(height_px / imgsz))
    if cols * rows == 1:
        cols = 2 if width_px >= height_px else 1
        rows = 1 if width_px >= height_px else 2
    return cols, rows


def merge_full_and_tiles(
    full: sv.Detections, tiles: sv.Detections, ios_thresh: float = 0.6
) -> sv.Detections:
    """Merge a full-frame pass with tiled detections (SAHI's "standard prediction" step).

    A person cut by a tile border appears in the tiles as partial boxes; the full-frame pass sees
    the whole person. Every full-frame box is kept; a tile box is added only when no full-frame
    box covers most of it (intersection over the smaller box below ``ios_thresh``).

    Args:
        full: Detections of the full-frame pass.
        tiles: Merged detections of the tiles.
        ios_thresh: Intersection-over-smaller above which a tile box is a duplicate.

    Returns:
        The union, full-frame boxes first.
    """
    if len(full) == 0 or len(tiles) == 0:
        return full if len(tiles) == 0 else tiles
    a, b = full.xyxy, tiles.xyxy
    ix = np.clip(
        np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None
    )
    iy = np.clip(
        np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None
    )
    inter = ix * iy
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    ios = inter / np.maximum(np.minimum(area_a[:, None], area_b[None, :]), 1e-6)
    keep = ios.max(axis=0) < ios_thresh
    return sv.Detections.merge([full, tiles[keep]])


class PersonDetector:
    """YOLO person detector.

    Args:
        model: A loaded ``ultralytics.YOLO`` (see :func:`load_yolo`).
        conf: Minimum confidence, 0..1.
        iou: NMS IoU threshold (within a pass and between tiles).
        imgsz: Inference size in pixels (long side).
        tile_overlap: Overlap between tiles as a fraction of the tile size.
    """

    def __init__(
        self,
        model,
        conf: float = 0.25,
        iou: float = 0.5,
        imgsz: int = 640,
        tile_overlap: float = 0.15,
    ) -> None:
        self.model = model
        self.conf = conf
        self.iou = iou
        self.imgsz = imgsz
        self.tile_overlap = tile_overlap
        # One warm-up pass builds Ultralytics' predictor (and the runtime's compiled model); the
        # class names of an exported model are only known after it (reading them first would
        # build the backend twice).
        self.model.predict(
            np.zeros((imgsz, imgsz, 3), np.uint8), imgsz=imgsz, conf=conf, verbose=False
        )
        self.class_id = person_class_id(model)
        self._slicers: dict[tuple[int, int], sv.InferenceSlicer] = {}

    def _predict(self, image: np.ndarray) -> sv.Detections:
        result = self.model.predict(
            image,
            imgsz=self.imgsz,
            conf=self.conf,
            iou=self.iou,
            classes=[self.class_id],
            verbose=False,
        )[0]
        return sv.Detections.from_ultralytics(result)

    def detect(self, image: np.ndarray, tiled: bool = False) -> sv.Detections:
        """Persons in a BGR frame.

        Args:
            image: BGR uint8, shape (H, W, 3).
            tiled: Also run on overlapping tiles (see :func:`tile_grid`) and merge with the
                full-frame pass (:func:`merge_full_and_tiles`).

        Returns:
            ``supervision.Detections`` with ``xyxy`` (N, 4) pixels, ``confidence`` (N,) and
            ``class_id`` (N,) all equal to the person class.
        """
        if not tiled:
            return self._predict(image)
        h, w = image.shape[:2]
        cols, rows = tile_grid(w, h, self.imgsz)
        key = (w, h)
        slicer = self._slicers.get(key)
        if slicer is None:
            tw = math.ceil(w / cols)
            th = math.ceil(h / rows)
            ow = int(tw * self.tile_overlap) if cols > 1 else 0
            oh = int(th * self.tile_overlap) if rows > 1 else 0
            slicer = sv.InferenceSlicer(
                callback=self._predict,
                slice_wh=(tw + ow, th + oh),
                overlap_wh=(ow, oh),
                iou_threshold=self.iou,
                thread_workers=1,
            )
            self._slicers[key] = slicer
        tiles = slicer(image)
        if len(tiles) and tiles.class_id is not None:
            tiles = tiles[tiles.class_id == self.class_id]
        full = self._predict(image)
        return merge_full_and_tiles(full, tiles)
