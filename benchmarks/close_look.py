"""Benchmark: what the close look buys, on the real face-mask photos.

Every labelled face of ``../shared/data/real/masks/labels.csv`` (the andrewmvd VOC boxes and the
chandrikadeb7 single-face photos: masked, unmasked, mask worn incorrectly) is shown to the
face-mask model at the pixel height a face has

* from the survey (the baseline): the demo camera (1280 px wide, 50 deg field of view) 18 m up,
  45 deg down, a person at the image centre 25.5 m away;
* from the close look: ``policy.close_look`` defaults (5 m up, 4.5 m away, the gimbal on the
  face: 5.6 m away);

and, for context, at a sweep of face heights. Each photo is scaled so that the face has that
height (a 0.2 m face at distance d is ``0.2 / d * fx`` pixels, ``fx = 640 / tan(25 deg)``) and
pasted on a grey canvas the model's input size, as :func:`detection.masks.find_faces` crops a
frame. The project's rule decides: a face found (IoU >= 0.3 with the labelled box) at least
``detection.mask.min_face_px`` (24) pixels tall gives its label, anything else is "unknown".

Printed per view and truth: decided correctly, decided wrongly (a masked face called unmasked is a
false reminder), unknown. Survey and close look are measured in the same run.

Usage:
    python benchmarks/close_look.py [--model PATH] [--min-face-px 24]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SHARED = Path(os.environ.get("DRONEPATROL_SHARED", REPO.parent / "shared"))
FACE_M = 0.2
FX = 640.0 / math.tan(math.radians(25.0))
TRUTH = {"with_mask": "masked", "without_mask": "unmasked", "mask_weared_incorrect": "incorrect"}
FOLDER = {"with": "masked", "without": "unmasked", "incorrect": "incorrect"}


def face_px(distance_m: float) -> float:
    """Pixel height of a 0.2 m face at ``distance_m`` with the demo camera."""
    return FACE_M / distance_m * FX


def faces(root: Path):
    """(image, [x1, y1, x2, y2], truth) of every labelled face."""
    import cv2

    with (root / "labels.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))[1:]
    for row in rows:
        img = cv2.imread(str(root / row[0]), cv2.IMREAD_COLOR)
        if img is None:
            continue
        h, w = img.shape[:2]
        for box in json.loads(row[5]):
            if len(box) == 5:
                label, *xyxy = box
            else:
                label, xyxy = box[0], [0, 0, w, h]
            truth = TRUTH.get(label) or FOLDER.get(row[0].split("/")[0])
            yield img, [float(v) for v in xyxy], truth


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def judge(detector, img, box, height_px: float, min_face_px: int) -> str:
    """The label the pipeline's rule gives a face shown ``height_px`` tall."""
    import cv2
    import numpy as np

    s = height_px / max(1.0, box[3] - box[1])
    small = cv2.resize(
        img,
        (max(1, round(img.shape[1] * s)), max(1, round(img.shape[0] * s))),
        interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
    )
    cw, ch = detector.input_wh
    cw, ch = max(cw, small.shape[1]), max(ch, small.shape[0])
    canvas = np.full((ch, cw, 3), 110, np.uint8)
    ox, oy = (cw - small.shape[1]) // 2, (ch - small.shape[0]) // 2
    canvas[oy : oy + small.shape[0], ox : ox + small.shape[1]] = small
    gt = [box[0] * s + ox, box[1] * s + oy, box[2] * s + ox, box[3] * s + oy]
    best = None
    for f in detector.detect(canvas):
        if iou(f.xyxy, gt) >= 0.3 and (best is None or f.confidence > best.confidence):
            best = f
    if best is None or best.height_px < min_face_px:
        return "unknown"
    return best.label.value


def main(argv=None) -> int:
    from detection.faces import load_face_mask_detector

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--model",
        default=str(SHARED / "models/ultraface-masked-rfb640/RFB-640-masked_face-v2.onnx"),
    )
    ap.add_argument("--min-face-px", type=int, default=24)
    args = ap.parse_args(argv)
    root = SHARED / "data" / "real" / "masks"
    if not (root / "labels.csv").is_file() or not Path(args.model).is_file():
        print(f"needs {root}/labels.csv and {args.model} (see ../shared SOURCES.md)")
        return 2
    detector = load_face_mask_detector(args.model, conf=0.35)
    survey_d = 18.0 / math.sin(math.radians(45.0))
    from groundstation.settings import CloseLookSettings

    cl = CloseLookSettings()
    look_d = math.hypot(cl.standoff_m, max(cl.look_alt_m, cl.min_alt_m) - 1.6)
    views = {
        f"survey (baseline) {face_px(survey_d):.0f} px": face_px(survey_d),
        f"close look {face_px(look_d):.0f} px": face_px(look_d),
    }
    views.update({f"sweep {h} px": float(h) for h in (16, 24, 32, 48, 64)})
    data = list(faces(root))
    print(f"{len(data)} labelled faces from {root}; model {Path(args.model).name}")
    print(f"{'view':<26} {'truth':<10} {'n':>3} {'correct':>8} {'wrong':>6} {'unknown':>8}")
    for name, h in views.items():
        table: dict[str, list[int]] = {}
        false_reminders = 0
        for img, box, truth in data:
            got = judge(detector, img, box, h, args.min_face_px)
            row = table.setdefault(truth, [0, 0, 0, 0])
            row[0] += 1
            if got == "unknown":
                row[3] += 1
            elif got == truth:
                row[1] += 1
            else:
                row[2] += 1
                false_reminders += truth == "masked" and got in ("unmasked", "incorrect")
        for truth, (n, ok, bad, unk) in sorted(table.items()):
            print(f"{name:<26} {truth:<10} {n:>3} {ok:>8} {bad:>6} {unk:>8}")
        print(f"{name:<26} masked faces that would get a reminder: {false_reminders}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
