"""Benchmark: the detection pipeline on every real frame, counts beside the truth, per model.

For each person model (default: every Ultralytics model under ../shared/models) and each frame
of ``benchmarks/field_frames.yaml`` (real frames of ../shared/data/real with the pose each was
taken from, plus ``--manifest`` files of your own), prints:

* boxes found by the pipeline, its ``people_estimate`` (boxes + CSRNet on crowd crops), the
  bare model's count (one full-frame ``predict``) and the truth;
* whether the frame is inside the model's envelope, whether slices were used, and whether a
  gathering was raised (against the truth where it is known);
* the time of the pipeline's detection stage and of the density count, beside the bare model's
  time on the same frame, measured interleaved in the same run.

Summary per model and frame group (aerial, crowd): mean absolute count error
``mean(|estimate - truth| / truth)`` of the pipeline and of the bare model, gathering hits and
false alarms, and the mean time ratios.

Usage:
    python benchmarks/field.py                       # every model, every frame (a few minutes)
    python benchmarks/field.py --models yolo11n-int8-openvino yolo11n-visdrone
    python benchmarks/field.py --manifest my_frames.yaml --root /data/frames --no-density
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SHARED = Path(os.environ.get("DRONEPATROL_SHARED", REPO.parent / "shared"))
DEFAULT_MANIFEST = REPO / "benchmarks" / "field_frames.yaml"
MODELS = {
    "yolo11n-int8-openvino": "models/yolo11n-int8-openvino/yolo11n_int8_openvino_model",
    "yolov8n-int8-openvino": "models/yolov8n-int8-openvino/yolov8n_int8_openvino_model",
    "yolov8n-int8-onnx": "models/yolov8n-int8-onnx/yolov8n_int8.onnx",
    "yolo26n-int8-onnx": "models/yolo26n-int8-onnx/yolo26n_int8.onnx",
    "yolo11n-visdrone": "models/yolo11n-visdrone/yolo11n_visdrone_dynamic_int8_default.tflite",
}


def load_manifest(path: Path, root: Path) -> list[dict]:
    """Frames of a manifest (``frames:`` list of file, people, gathering, pose), paths resolved
    against ``root``.

    Raises:
        SystemExit: The manifest is unreadable or a frame lacks ``file``/``people``/``pose``.
    """
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SystemExit(f"{path}: cannot read the manifest ({exc})") from None
    frames = []
    for i, f in enumerate(data.get("frames") or []):
        for key in ("file", "people", "pose"):
            if key not in f:
                raise SystemExit(f"{path}: frame {i + 1} has no '{key}'")
        f = dict(f)
        f["path"] = (root / f["file"]).resolve()
        f["group"] = f.get("group") or ("crowd" if "crowd/" in f["file"] else "aerial")
        frames.append(f)
    return frames


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--models", nargs="*", default=list(MODELS), help="model names or paths")
    ap.add_argument("--manifest", type=Path, action="append", help="extra frames (YAML)")
    ap.add_argument("--root", type=Path, default=None, help="folder the --manifest paths are in")
    ap.add_argument("--only", nargs="*", default=None, help="frame file names to keep")
    ap.add_argument("--no-density", action="store_true", help="boxes only (no CSRNet)")
    ap.add_argument("--tiling", choices=["auto", "on", "off"], default="auto")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()

    import cv2

    from detection.models import load_yolo
    from detection.pipeline import DetectionPipeline
    from groundstation.config import load_config
    from missions.geo import Pose

    frames = load_manifest(DEFAULT_MANIFEST, SHARED / "data" / "real")
    for m in args.manifest or []:
        frames += load_manifest(m, args.root or m.parent)
    if args.only:
        frames = [f for f in frames if Path(f["file"]).name in args.only]
    missing = [str(f["path"]) for f in frames if not f["path"].is_file()]
    if missing:
        print(f"missing frames (skipped): {', '.join(missing)}", file=sys.stderr)
        frames = [f for f in frames if f["path"].is_file()]
    if not frames:
        print("no frames", file=sys.stderr)
        return 1
    load = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        f" at start; {len(frames)} frames"
    )
    summaries = []
    for name in args.models:
        path = Path(name) if Path(name).exists() else SHARED / MODELS.get(name, name)
        if not path.exists():
            print(f"{name}: not found at {path}, skipped", file=sys.stderr)
            continue
        overrides = {"detection.tiling": args.tiling, "detection.mask.enabled": False}
        overrides["detection.density.enabled"] = not args.no_density
        for kv in args.set:
            k, _, v = kv.partition("=")
            overrides[k] = v
        model = load_yolo(path)
        rows = []
        print(f"\n== {name} ({path.name})")
        print(
            f"{'frame':44s}{'truth':>6s}{'boxes':>6s}{'estim':>7s}{'bare':>6s}{'err%':>6s}"
            f"{'bare%':>6s} {'env':>4s}{'px':>5s} {'tile':>4s} {'gath':>5s}"
            f"{'det ms':>8s}{'dens ms':>8s}{'bare ms':>8s}"
        )
        pipe = None
        for f in frames:
            pose_d = f["pose"]
            cfg = load_config(
                None, {**overrides, "camera.hfov_deg": float(pose_d.get("hfov_deg", 70.0))}
            )
            if pipe is None or pipe.camera.hfov_deg != cfg.camera.hfov_deg:
                if pipe is not None:
                    pipe.close()
                pipe = DetectionPipeline(
                    cfg.detection, cfg.camera, stills=True, model=model, geotag=False
                )
            image = cv2.imread(str(f["path"]))
            pose = Pose(
                0.0,
                float(pose_d.get("lat_deg", 41.79)),
                float(pose_d.get("lon_deg", 123.43)),
                float(pose_d["alt_m"]),
                gimbal_pitch_deg=float(pose_d["pitch_deg"]),
            )
            det = pipe.detector
            t0 = time.perf_counter()
            bare = det.detect(image)  # one full-frame pass: the bare model
            bare_ms = (time.perf_counter() - t0) * 1000
            r = pipe.process(image, time.time(), pose, 0)
            truth = float(f["people"])
            est = r.people_estimate
            n_bare = len(bare)
            gathered = any(a.kind.value == "gathering" for a in r.alerts)
            row = {
                "frame": Path(f["file"]).name,
                "group": f["group"],
                "truth": truth,
                "boxes": len(r.raw_detections),
                "estimate": est,
                "bare": n_bare,
                "err": abs(est - truth) / truth,
                "bare_err": abs(n_bare - truth) / truth,
                "inside": r.envelope.inside if r.envelope else None,
                "px": r.envelope.person_px if r.envelope else float("nan"),
                "tiled": r.tiled,
                "gathering": gathered,
                "want_gathering": f.get("gathering"),
                "det_ms": r.timings_ms.get("detect", 0.0),
                "dens_ms": r.timings_ms.get("density", 0.0),
                "bare_ms": bare_ms,
            }
            rows.append(row)
            g = "yes" if gathered else "no"
            if row["want_gathering"] is not None and gathered != row["want_gathering"]:
                g += "!"
            print(
                f"{row['frame'][:43]:44s}{truth:6.0f}{row['boxes']:6d}{est:7.0f}{n_bare:6d}"
                f"{row['err'] * 100:6.0f}{row['bare_err'] * 100:6.0f} "
                f"{'in' if row['inside'] else 'OUT':>4s}{row['px']:5.0f} "
                f"{'yes' if r.tiled else 'no':>4s} {g:>5s}"
                f"{row['det_ms']:8.0f}{row['dens_ms']:8.0f}{bare_ms:8.0f}",
                flush=True,
            )
        if pipe is not None:
            pipe.close()
        summaries.append((name, rows))
        print_summary(name, rows)
    if len(summaries) > 1:
        print("\n== all models")
        for name, rows in summaries:
            print_summary(name, rows, short=True)
    load = os.getloadavg()
    print(f"\nload average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


def print_summary(name: str, rows: list[dict], short: bool = False) -> None:
    """Mean count errors, gathering hits / false alarms and time ratios per frame group."""
    for group in ("aerial", "crowd"):
        g = [r for r in rows if r["group"] == group]
        if not g:
            continue
        err = statistics.fmean(r["err"] for r in g) * 100
        bare = statistics.fmean(r["bare_err"] for r in g) * 100
        inside = [r for r in g if r["inside"]]
        err_in = statistics.fmean(r["err"] for r in inside) * 100 if inside else float("nan")
        want = [r for r in g if r["want_gathering"] is True]
        neg = [r for r in g if r["want_gathering"] is False]
        hits = sum(r["gathering"] for r in want)
        false = sum(r["gathering"] for r in neg)
        det = statistics.fmean(r["det_ms"] for r in g)
        bare_ms = statistics.fmean(r["bare_ms"] for r in g)
        dens = statistics.fmean(r["dens_ms"] for r in g)
        found = sum(r["estimate"] for r in g)
        truth = sum(r["truth"] for r in g)
        line = (
            f"{name[:24]:24s} {group:6s}: mean count error {err:4.0f} % (bare model {bare:3.0f} %;"
            f" {len(inside)}/{len(g)} frames inside the envelope: {err_in:3.0f} %), "
            f"people {found:.0f} of {truth:.0f}"
        )
        if want or neg:
            line += f", gatherings {hits}/{len(want)} flagged, {false}/{len(neg)} false"
        line += (
            f"; detect {det:.0f} ms = {det / bare_ms:.2f}x bare ({bare_ms:.0f} ms), "
            f"density {dens:.0f} ms"
        )
        print(line)


if __name__ == "__main__":
    sys.exit(main())
