"""Benchmark: the demo patrol's detection frame rate, this checkout beside a baseline commit.

Issue 11 asks that the detection frame rate of the demo patrol does not drop with the real-imagery
detector (model profiles, envelope, crowd density, sliced inference). This script measures it on
the same frames, in the same run, for both versions of the code:

1. It renders the demo patrol's camera frames with this checkout's simulated camera
   (``configs/demo.yaml``: 18 m, -45 deg gimbal, 1280x720): the drone flies west at the survey
   speed towards the market gathering (frames at the scene's rate, vehicle time scaled by the
   demo's speed-up, as the patrol sees them), then holds 14 m from it (the market in the lower half of the picture), as ``hover_and_speak`` does.
2. It makes a detached git worktree of the baseline commit (default: the round-1 head, f4576be).
3. Each version runs in its own process, builds ``DetectionPipeline`` from its own
   ``configs/demo.yaml`` the way ``groundstation.patrol`` does (gathering durations divided by the
   speed-up) and processes every frame as fast as it can, in frame order, timing the wall clock
   (the crowd-density worker thread, where a version has one, competes for the same CPU as it
   does in a patrol). The runs go A B B A so that a drift of the machine's load cancels out.

It prints, per version, frames/s over the approach and over the hold, the most people found in
one frame and the most people clustered into one gathering (the market has 8).

Usage:
    python benchmarks/demo_rate.py [--baseline f4576be] [--rounds 2] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")

REPO = Path(__file__).resolve().parent.parent
MARKET = (41.790117, 123.4307218)  # configs/demo.yaml, sim.scene.groups[market]
APPROACH_FROM_M = 60.0  # the drone starts this far east of the market, flying west
APPROACH_TO_M = -5.0
HOLD_AT_M = 14.0  # the market in the lower half of the picture, where the approach clusters it
HOLD_FRAMES = 30


def _east(lat: float, lon: float, metres: float) -> tuple[float, float]:
    """(lat, lon) ``metres`` east of (lat, lon) (local flat-earth approximation, < 100 m)."""
    return lat, lon + metres / (111_320.0 * math.cos(math.radians(lat)))


def render_frames(folder: Path) -> list[dict]:
    """Render the approach and the hold with this checkout's sim camera into ``folder``.

    Returns:
        One dict per frame: ``file`` (a .npy BGR image), ``t_s`` (wall seconds, 1 / scene fps
        apart), ``phase`` ("approach" or "hold") and ``pose`` (Pose fields).
    """
    import numpy as np

    sys.path.insert(0, str(REPO))
    from groundstation.config import load_config
    from missions.geo import Pose
    from sim.camera import PinholeCamera, SceneRenderer
    from sim.scene import Scene

    cfg = load_config(REPO / "configs" / "demo.yaml")
    sc = cfg.sim.scene
    scene = Scene(sc, cfg.sim.home.lat_deg, cfg.sim.home.lon_deg)
    renderer = SceneRenderer(
        scene,
        PinholeCamera.from_settings(cfg.camera),
        noise=sc.noise,
        billboard=sc.billboard,
        seed=sc.seed,
    )
    dt = 1.0 / sc.fps
    step_m = cfg.survey.speed_m_s * cfg.sim.speedup * dt  # metres flown between two frames
    offsets = []
    x = APPROACH_FROM_M
    while x > APPROACH_TO_M:
        offsets.append(("approach", x))
        x -= step_m
    offsets += [("hold", HOLD_AT_M)] * HOLD_FRAMES
    frames = []
    t0 = 1_700_000_000.0
    for i, (phase, x) in enumerate(offsets):
        lat, lon = _east(*MARKET, x)
        pose = Pose(
            t_s=t0 + i * dt,
            lat_deg=lat,
            lon_deg=lon,
            alt_m=cfg.survey.alt_m,
            yaw_deg=270.0,
            gimbal_pitch_deg=cfg.camera.gimbal_pitch_deg,
        )
        path = folder / f"{i:04d}.npy"
        np.save(path, renderer.render(pose))
        frames.append(
            {
                "file": str(path),
                "t_s": pose.t_s,
                "phase": phase,
                "pose": {
                    "t_s": pose.t_s,
                    "lat_deg": lat,
                    "lon_deg": lon,
                    "alt_m": pose.alt_m,
                    "yaw_deg": 270.0,
                    "gimbal_pitch_deg": pose.gimbal_pitch_deg,
                },
            }
        )
    return frames


def worker(frames_json: Path) -> int:
    """Run in a version's checkout (cwd): process every frame, print one JSON line of figures."""
    import numpy as np

    sys.path.insert(0, os.getcwd())
    from detection.pipeline import DetectionPipeline
    from groundstation.config import load_config
    from missions.geo import LocalFrame, Pose

    frames = json.loads(frames_json.read_text())
    overrides = json.loads(os.environ.get("DP_DEMO_RATE_SET", "{}"))
    cfg = load_config(Path("configs") / "demo.yaml", overrides)
    det = cfg.detection
    k = cfg.sim.speedup
    g = det.gathering
    scaled = det.model_copy(
        update={
            "gathering": g.model_copy(
                update={"persist_s": g.persist_s / k, "cooldown_s": g.cooldown_s / k}
            )
        }
    )
    with tempfile.TemporaryDirectory(prefix="dp-demo-rate-") as snaps:
        pipeline = DetectionPipeline(
            scaled,
            cfg.camera,
            snapshot_dir=Path(snaps),
            frame=LocalFrame(cfg.sim.home.lat_deg, cfg.sim.home.lon_deg),
            fps=cfg.sim.scene.fps,
        )
        images = [np.load(f["file"]) for f in frames]
        fields = set(Pose.__dataclass_fields__)
        poses = [Pose(**{k: v for k, v in f["pose"].items() if k in fields}) for f in frames]
        # warm-up (model load, first inference, lazy set-up of every stage) on the first frame,
        # 100 s earlier and 1 km north, so that no track or gathering carries over
        far = dataclasses.replace(poses[0], lat_deg=poses[0].lat_deg + 0.009)
        pipeline.process(images[0], frames[0]["t_s"] - 100.0, far, -1)
        warm_up = getattr(pipeline, "warm_up", None)  # what the patrol does before take-off
        if warm_up is not None:
            warm_up()
        else:  # round 1 warmed up in the patrol
            try:
                from detection.gatherings import cluster_positions

                cluster_positions(np.array([[0.0, 0.0], [0.5, 0.0], [0.0, 0.5]]), 1.0, 2)
            except ImportError:
                pass
        wall = {"approach": 0.0, "hold": 0.0}
        count = {"approach": 0, "hold": 0}
        stages: dict[str, dict[str, float]] = {"approach": {}, "hold": {}}
        most = 0
        gathered = 0
        for i, (f, img, pose) in enumerate(zip(frames, images, poses, strict=True)):
            t = time.perf_counter()
            result = pipeline.process(img, f["t_s"], pose, i)
            wall[f["phase"]] += time.perf_counter() - t
            count[f["phase"]] += 1
            for stage, ms in result.timings_ms.items():
                acc = stages[f["phase"]]
                acc[stage] = acc.get(stage, 0.0) + ms
            most = max(most, len(result.persons))
            gathered = max([gathered] + [g.count for g in result.gatherings])
        close = getattr(pipeline, "close", None)
        if close is not None:
            close()
    print(
        json.dumps(
            {
                "fps": {p: count[p] / wall[p] for p in wall if wall[p] > 0},
                "frames": count,
                "stage_ms": {
                    p: {k: v / count[p] for k, v in stages[p].items()} for p in stages if count[p]
                },
                "most_persons": most,
                "most_in_gathering": gathered,
            }
        )
    )
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--baseline", default="f4576be", help="git commit to compare with")
    ap.add_argument("--rounds", type=int, default=2, help="A B B A rounds (each runs both twice)")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for this checkout only, e.g. detection.density.enabled=false",
    )
    ap.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        return worker(args.worker)

    import yaml

    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            ap.error(f"--set {item!r}: expected KEY=VALUE")
        overrides[key] = yaml.safe_load(value)
    with tempfile.TemporaryDirectory(prefix="dp-demo-rate-") as tmp:
        tmp_path = Path(tmp)
        print("rendering the demo frames ...", file=sys.stderr)
        frames = render_frames(tmp_path)
        frames_json = tmp_path / "frames.json"
        frames_json.write_text(json.dumps(frames))
        base_dir = tmp_path / "baseline"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(base_dir), args.baseline],
            check=True,
            capture_output=True,
        )
        # the baseline reads ../shared the way this checkout does
        shared = REPO.parent / "shared"
        if shared.exists() and not (tmp_path / "shared").exists():
            (tmp_path / "shared").symlink_to(shared)
        try:
            versions = {"baseline " + args.baseline: base_dir, "this checkout": REPO}
            order = list(versions) + list(versions)[::-1]
            results: dict[str, list[dict]] = {name: [] for name in versions}
            for _ in range(args.rounds):
                for name in order:
                    print(f"running {name} ...", file=sys.stderr)
                    env = dict(os.environ, PYTHONPATH=str(versions[name]))
                    if versions[name] == REPO:
                        env["DP_DEMO_RATE_SET"] = json.dumps(overrides)
                    out = subprocess.run(
                        [
                            sys.executable,
                            str(Path(__file__).resolve()),
                            "--worker",
                            str(frames_json),
                        ],
                        cwd=versions[name],
                        env=env,
                        check=True,
                        capture_output=True,
                        text=True,
                        timeout=1800,
                    )
                    results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(base_dir)],
                check=False,
                capture_output=True,
            )
    n_approach = sum(f["phase"] == "approach" for f in frames)
    print(
        f"demo frames: {n_approach} approaching the market at the survey speed, "
        f"{HOLD_FRAMES} holding {HOLD_AT_M:g} m from it; load average {os.getloadavg()[0]:.1f}"
    )
    if overrides:
        print(f"this checkout with {overrides}")
    print(
        f"{'version':<22} {'approach fps':>13} {'hold fps':>9} {'most persons':>13} "
        f"{'gathering':>10}"
    )
    for name, runs in results.items():
        ap_fps = sum(r["fps"]["approach"] for r in runs) / len(runs)
        hold_fps = sum(r["fps"]["hold"] for r in runs) / len(runs)
        most = max(r["most_persons"] for r in runs)
        gathered = min(r["most_in_gathering"] for r in runs)
        print(f"{name:<22} {ap_fps:>13.2f} {hold_fps:>9.2f} {most:>13d} {gathered:>10d}")
    print("mean milliseconds per stage (approach / hold):")
    for name, runs in results.items():
        cells = []
        for stage in runs[0]["stage_ms"]["approach"]:
            a, h = (
                sum(r["stage_ms"][p].get(stage, 0.0) for r in runs) / len(runs)
                for p in ("approach", "hold")
            )
            cells.append(f"{stage} {a:.0f}/{h:.0f}")
        print(f"  {name:<20} " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
