"""Simulated camera cost: milliseconds per rendered frame of the demo scene.

Renders the scene of ``configs/demo.yaml`` from poses along a survey line (oblique camera, the
demo's group in view part of the time) and prints the time per frame, for the demo's image size
and a smaller one. The patrol renders each frame on the detection thread, so this adds to the
detection time per frame.

    python benchmarks/sim_camera.py [--frames 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# the repository first: this folder's broadcast.py must not shadow the broadcast package
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from groundstation.config import load_config
from missions.geo import LocalFrame, Pose
from sim.camera import PinholeCamera, SceneRenderer
from sim.scene import Scene, person_sprites

DEMO = Path(__file__).resolve().parent.parent / "configs" / "demo.yaml"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--frames", type=int, default=60)
    args = ap.parse_args()
    cfg = load_config(DEMO)
    t0 = time.perf_counter()
    person_sprites()
    t_sprites = time.perf_counter() - t0
    home = cfg.sim.home
    scene = Scene(cfg.sim.scene, home.lat_deg, home.lon_deg)
    t0 = time.perf_counter()
    _ = scene.ground
    t_ground = time.perf_counter() - t0
    print(f"cut-outs (GrabCut, once per process): {t_sprites * 1000:.0f} ms")
    print(f"ground texture ({scene.ground.image.shape[1]} px square): {t_ground * 1000:.0f} ms")
    frame = LocalFrame(home.lat_deg, home.lon_deg)
    for w, h in ((cfg.camera.image_width_px, cfg.camera.image_height_px), (960, 540)):
        cam = PinholeCamera.from_hfov(w, h, cfg.camera.hfov_deg)
        r = SceneRenderer(scene, cam, noise=cfg.sim.scene.noise, billboard=cfg.sim.scene.billboard)
        times = []
        for i in range(args.frames):
            lat, lon = frame.to_geo(100.0 - 2.0 * i, 13.0)
            pose = Pose(
                t_s=0,
                lat_deg=float(lat),
                lon_deg=float(lon),
                alt_m=cfg.survey.alt_m,
                yaw_deg=270.0,
                gimbal_pitch_deg=cfg.camera.gimbal_pitch_deg,
            )
            t = time.perf_counter()
            r.render(pose)
            times.append(time.perf_counter() - t)
        print(
            f"render {w}x{h}: median {statistics.median(times) * 1000:.1f} ms, "
            f"max {max(times) * 1000:.1f} ms ({1 / statistics.median(times):.0f} frames/s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
