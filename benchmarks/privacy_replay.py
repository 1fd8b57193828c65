"""Faces left unblurred along a recorded demo patrol's camera path, with the clear frames known.

A recorded video is already blurred, so it cannot say why a face was left. This script renders
the demo scene (``sim``, real face photos of ``../shared/data/real/masks``) again at every pose of
a recording's ``video/frames.jsonl``, runs the detection pipeline on those frames in order (video
mode, the ``privacy`` settings of the config), and counts with YuNet (``tests/yunet_check.py``,
never used for blurring) the faces in the clear frames and in the anonymised ones. Each face
left is printed with what the pipeline had on that frame and saved (``--crops``): the clear
crop, the anonymised crop, and the whole frame with person boxes (green) and privacy regions
(red).

Usage::

    YOLO_OFFLINE=1 python benchmarks/privacy_replay.py RECORDING [...] [--config configs/demo.yaml]
        [--crops DIR] [--limit N]

The poses are the recorded telemetry poses (the patrol rendered the simulator's true pose), and
frames are rendered one after another without the patrol's timing, so the counts are close to,
not the same as, the recording's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # before benchmarks/ (broadcast.py)
from yunet_check import YuNet  # noqa: E402


def _iou_cover(face_xywh: np.ndarray, regions: np.ndarray) -> float:
    """Fraction of the face box covered by the union of regions (pixel mask)."""
    x, y, w, h = (int(round(v)) for v in face_xywh[:4])
    if w <= 0 or h <= 0:
        return 0.0
    m = np.zeros((h, w), bool)
    for r in regions:
        x1, y1 = int(max(r[0] - x, 0)), int(max(r[1] - y, 0))
        x2, y2 = int(min(r[2] - x, w)), int(min(r[3] - y, h))
        if x2 > x1 and y2 > y1:
            m[y1:y2, x1:x2] = True
    return float(m.mean())


def _densify(rows: list[dict], k: int) -> list[dict]:
    """``k`` rows per recorded row, poses and times interpolated linearly towards the next one;
    frame indices renumbered 0, 1, ... (the face pass counts frames). Angles are interpolated
    as numbers: a yaw crossing 0/360 gives one unreal frame in between."""
    out = []
    for a, b in zip(rows, rows[1:] + rows[-1:], strict=True):
        for j in range(k):
            f = j / k
            pose = {
                key: (1 - f) * v + f * b["pose"][key]
                if isinstance(v, (int, float)) and isinstance(b["pose"].get(key), (int, float))
                else v
                for key, v in a["pose"].items()
            }
            t = (1 - f) * a["t_s"] + f * b["t_s"]
            out.append({**a, "pose": pose, "t_s": t, "frame_index": len(out)})
        if k == 1:
            out[-1]["frame_index"] = a["frame_index"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recordings", nargs="+", type=Path)
    ap.add_argument("--config", type=Path, default=REPO / "configs" / "demo.yaml")
    ap.add_argument("--crops", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=None, help="frames per recording")
    ap.add_argument("--set", action="append", default=[], help="config override key=value")
    ap.add_argument(
        "--densify",
        type=int,
        default=1,
        help="render K frames per recorded frame, poses interpolated (more frames per flight)",
    )
    args = ap.parse_args(argv)

    from detection.pipeline import DetectionPipeline
    from groundstation.config import load_config
    from missions.geo import LocalFrame, Pose
    from sim.camera import PinholeCamera, SceneRenderer
    from sim.dress import find_faces_dir
    from sim.scene import Scene

    overrides = dict(kv.split("=", 1) for kv in args.set)
    cfg = load_config(args.config, overrides or None)
    sc = cfg.sim.scene
    if sc.faces_dir is None and find_faces_dir() is None:
        print("error: no face photos (../shared/data/real/masks): nothing to check")
        return 2
    scene = Scene(sc, cfg.sim.home.lat_deg, cfg.sim.home.lon_deg)
    renderer = SceneRenderer(
        scene, PinholeCamera.from_settings(cfg.camera), noise=sc.noise, billboard=sc.billboard
    )
    yunet = YuNet()
    totals = np.zeros(4, int)  # frames, faces in, faces out, frames with a face out
    for folder in args.recordings:
        rows = [
            json.loads(x)
            for x in (folder / "video" / "frames.jsonl").read_text().splitlines()
            if x.strip()
        ]
        rows = _densify([r for r in rows if r.get("pose")], args.densify)[: args.limit]
        pipe = DetectionPipeline(
            cfg.detection,
            cfg.camera,
            frame=LocalFrame(cfg.sim.home.lat_deg, cfg.sim.home.lon_deg),
            fps=sc.fps,
            privacy=cfg.privacy,
        )
        n = f_in = f_out = fr_out = 0
        for row in rows:
            pose = Pose.from_dict(row["pose"])
            clear = renderer.render(pose)
            res = pipe.process(clear, row["t_s"], pose, row["frame_index"])
            out = res.annotate(clear.copy())
            n += 1
            found_in = yunet.faces(clear)
            found = yunet.faces(out)
            f_in += len(found_in)
            f_out += len(found)
            fr_out += bool(len(found))
            for j, f in enumerate(found):
                x, y, w, h = (int(round(v)) for v in f[:4])
                raw = res.raw_detections.xyxy if len(res.raw_detections) else np.zeros((0, 4))
                cover = _iou_cover(f, res.privacy_xyxy)
                print(
                    f"  {folder.name} frame {row['frame_index']}: face x={x} y={y} w={w} h={h} "
                    f"score={f[14]:.2f}; {len(raw)} person boxes, "
                    f"{len(res.privacy_xyxy)} regions cover {cover:.0%} of it; "
                    f"alt {pose.alt_m:.1f} m pitch {pose.gimbal_pitch_deg:.0f}"
                )
                if args.crops is not None:
                    args.crops.mkdir(parents=True, exist_ok=True)
                    stem = f"{folder.name}_{row['frame_index']}_{j}"
                    pad = max(w, h)
                    sl = (slice(max(0, y - pad), y + h + pad), slice(max(0, x - pad), x + w + pad))
                    both = np.hstack([clear[sl], out[sl]])
                    both = cv2.resize(both, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
                    cv2.imwrite(str(args.crops / f"{stem}_crop.png"), both)
                    whole = out.copy()
                    for b in raw.astype(int):
                        cv2.rectangle(whole, tuple(b[:2]), tuple(b[2:]), (0, 255, 0), 2)
                    for b in res.privacy_xyxy.astype(int):
                        cv2.rectangle(whole, tuple(b[:2]), tuple(b[2:]), (0, 0, 255), 2)
                    cv2.rectangle(whole, (x, y), (x + w, y + h), (255, 0, 255), 2)
                    cv2.imwrite(str(args.crops / f"{stem}_frame.jpg"), whole)
        print(
            f"{folder}: {n} frames, YuNet faces {f_in} in the clear frames, {f_out} left in "
            f"{fr_out} anonymised frames"
        )
        totals += (n, f_in, f_out, fr_out)
    print(
        f"total: {totals[0]} frames, YuNet faces {totals[1]} clear, {totals[2]} left in "
        f"{totals[3]} anonymised frames"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
