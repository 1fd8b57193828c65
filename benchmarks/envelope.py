"""Benchmark: the operating envelope of each person model, measured on real frames.

The envelope is the smallest person (box height in pixels at the model's input) that a model
still finds in at least half of the cases. For every real frame the model's own confident
detections at full resolution (confidence >= 0.4, found in slices of the frame's short side) are
the reference people; the frame is then shrunk by factors 1 .. 0.15 and pasted on a grey canvas
of the original size (so the model's input scale stays the same and only the people shrink),
and each reference person counts as found when a detection overlaps its shrunk box (IoU >= 0.3).
Recall is printed per size bin of the reference box at model input; the envelope is the
smallest bin whose recall, and the pooled recall of all larger people, are at least 50 %.

Usage:
    python benchmarks/envelope.py [--models yolo11n-int8-openvino yolo11n-visdrone]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.field import DEFAULT_MANIFEST, MODELS, SHARED, load_manifest  # noqa: E402

BINS = (4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 64, 96)
SCALES = (1.0, 0.8, 0.65, 0.5, 0.4, 0.32, 0.25, 0.2, 0.15)


def iou(a, b):
    """IoU matrix of (N, 4) and (M, 4) boxes."""
    import numpy as np

    ix = np.clip(
        np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None
    )
    iy = np.clip(
        np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None
    )
    inter = ix * iy
    aa = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    ab = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(aa[:, None] + ab[None, :] - inter, 1e-9)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--models", nargs="*", default=["yolo11n-int8-openvino", "yolo11n-visdrone"])
    args = ap.parse_args()
    import cv2
    import numpy as np

    from detection.models import load_yolo
    from detection.persons import PersonDetector

    frames = [
        f for f in load_manifest(DEFAULT_MANIFEST, SHARED / "data" / "real") if f["path"].is_file()
    ]
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; {len(frames)} frames")
    for name in args.models:
        det = PersonDetector(load_yolo(SHARED / MODELS.get(name, name)))
        found = np.zeros(len(BINS))
        total = np.zeros(len(BINS))
        for f in frames:
            img = cv2.imread(str(f["path"]))
            h, w = img.shape[:2]
            ref = det.detect(img, tiled=True)
            ref = ref.xyxy[ref.confidence >= 0.4]
            if len(ref) == 0:
                continue
            to_model = det.imgsz / max(w, h)
            for s in SCALES:
                canvas = np.full_like(img, 114)
                small = cv2.resize(
                    img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA
                )
                canvas[: small.shape[0], : small.shape[1]] = small
                d = det.detect(canvas)
                d = d.xyxy[d.confidence >= det.conf] if len(d) else np.zeros((0, 4))
                boxes = ref * s
                hit = iou(boxes, d).max(axis=1) >= 0.3 if len(d) else np.zeros(len(boxes), bool)
                px = (boxes[:, 3] - boxes[:, 1]) * to_model
                idx = np.searchsorted(BINS, px, side="right") - 1
                for i, ok in zip(idx, hit, strict=True):
                    if i >= 0:
                        total[i] += 1
                        found[i] += ok
        print(f"\n== {name} (conf {det.conf:.2f}): recall by person box height at model input")
        envelope = None
        rec = np.where(total > 0, found / np.maximum(total, 1), np.nan)
        for i, b in enumerate(BINS):
            if total[i]:
                print(
                    f"  {b:3d}-{BINS[i + 1] if i + 1 < len(BINS) else '':>3} px: {rec[i] * 100:5.1f} % of {int(total[i])}"
                )
        for i in range(len(BINS)):
            pooled = found[i:].sum() / max(total[i:].sum(), 1)
            if total[i] and rec[i] >= 0.5 and pooled >= 0.5:
                envelope = BINS[i]
                break
        print(f"  envelope (recall >= 50 % in this bin and over all larger people): {envelope} px")
    return 0


if __name__ == "__main__":
    sys.exit(main())
