"""Faces left in a recording's video: YuNet over every recorded frame (issue 16 acceptance).

YuNet (``tests/yunet_check.py``, OpenCV's ``FaceDetectorYN`` with the weights of
``../shared/models/yunet``) is a face detector dronepatrol never uses for blurring, so a face it
finds in a recorded frame is one the anonymisation missed (or a false positive of YuNet on a
blurred head: look at the crops).

Usage::

    python benchmarks/yunet_recording.py RECORDING [RECORDING ...] [--crops DIR]

Prints, per recording, the recorded frames, the frames with a face and the faces found, and for
each face its segment, frame index, box and score. With ``--crops`` each hit is saved as the
whole frame with the face boxed and a 4x enlarged crop of the face (``<rec>_<frame>_*.png``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from yunet_check import YuNet, video_frames


def check(folder: Path, yunet: YuNet, crops: Path | None) -> tuple[int, int, int]:
    """``(frames, frames with a face, faces)`` of one recording; prints each face found."""
    index = folder / "video" / "frames.jsonl"
    lines = [json.loads(x) for x in index.read_text().splitlines() if x.strip()]
    by_seg: dict[str, list[dict]] = {}
    for row in lines:
        by_seg.setdefault(row["segment"], []).append(row)
    n = hit_frames = faces = 0
    for seg in sorted(by_seg):
        rows = by_seg[seg]
        for k, img in enumerate(video_frames(folder / "video" / seg)):
            row = rows[k] if k < len(rows) else {"frame_index": None}
            n += 1
            found = yunet.faces(img)
            if not len(found):
                continue
            hit_frames += 1
            faces += len(found)
            for j, f in enumerate(found):
                x, y, w, h = (int(round(v)) for v in f[:4])
                print(
                    f"  {folder.name} {seg} frame {row['frame_index']} (seg #{k}): "
                    f"face x={x} y={y} w={w} h={h} score={f[14]:.2f} "
                    f"frame {img.shape[1]}x{img.shape[0]}"
                )
                if crops is not None:
                    crops.mkdir(parents=True, exist_ok=True)
                    stem = f"{folder.name}_{row['frame_index']}_{j}"
                    whole = img.copy()
                    cv2.rectangle(whole, (x, y), (x + w, y + h), (0, 0, 255), 2)
                    cv2.imwrite(str(crops / f"{stem}_frame.jpg"), whole)
                    pad = max(w, h)
                    x0, y0 = max(0, x - pad), max(0, y - pad)
                    crop = img[y0 : y + h + pad, x0 : x + w + pad]
                    if crop.size:
                        crop = cv2.resize(crop, None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST)
                        cv2.imwrite(str(crops / f"{stem}_crop.png"), crop)
                    if row.get("pose"):
                        (crops / f"{stem}_pose.json").write_text(json.dumps(row))
    return n, hit_frames, faces


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recordings", nargs="+", type=Path, help="recording folders")
    ap.add_argument("--crops", type=Path, default=None, help="save each hit here")
    args = ap.parse_args(argv)
    yunet = YuNet()
    total = [0, 0, 0]
    for folder in args.recordings:
        if not (folder / "video" / "frames.jsonl").is_file():
            print(f"error: {folder}: not a recording with video (no video/frames.jsonl)")
            return 2
        n, hf, f = check(folder, yunet, args.crops)
        print(f"{folder}: {n} recorded frames, {hf} with a face, {f} faces (YuNet)")
        total = [a + b for a, b in zip(total, (n, hf, f), strict=True)]
    print(f"total: {total[0]} recorded frames, {total[1]} with a face, {total[2]} faces (YuNet)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
