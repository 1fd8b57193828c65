"""Detection frame rate with detection in-process vs on another machine (MQTT), and latency.

Renders a clip of the demo scene (``configs/demo.yaml``: the camera flies over the market group
at the survey height) into a temporary MP4, then in the same run:

1. **remote** (first, so that this process's CPU is only the consumer's): ``dronepatrol detect CLIP --publish mqtt://...`` in another process publishes
   through a Mosquitto on 127.0.0.1 (started here, its own folder and port) and this process
   consumes the results as the patrol does (:class:`groundstation.remote_detection.RemoteDetection`):
   results/s received, the ground-station CPU per result, and the message latency (publish on
   the detector -> handled here, same clock);
2. **in-process**: this process runs the pipeline on the clip, as the patrol does without
   ``detection.remote``: frames/s and the CPU it takes.

On one 2-core machine the detector and the ground station share the CPU, so the remote frame
rate here is the detector's own rate; on a companion computer or a GPU server it adds to the
ground station's instead of competing with it. Needs Debian's ``mosquitto`` and the weights
from ../shared/models.

    python benchmarks/remote_detection.py [--frames 80]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository first (this folder's broadcast.py)
sys.path.insert(1, str(ROOT / "tests"))
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from groundstation.config import load_config  # noqa: E402
from missions.geo import LocalFrame, Pose  # noqa: E402

DEMO = ROOT / "configs" / "demo.yaml"


def render_clip(cfg, path: Path, frames: int) -> tuple[float, float]:
    """Write ``frames`` frames flying west over the market; returns the mid-clip lat, lon."""
    from sim.camera import PinholeCamera, SceneRenderer
    from sim.scene import Scene, person_sprites

    home = cfg.sim.home
    scene = Scene(cfg.sim.scene, home.lat_deg, home.lon_deg)
    person_sprites()
    r = SceneRenderer(scene, PinholeCamera.from_settings(cfg.camera), noise=cfg.sim.scene.noise,
                      billboard=cfg.sim.scene.billboard, seed=cfg.sim.scene.seed)  # fmt: skip
    market = next(g for g in cfg.sim.scene.groups if g.name == "market")
    local = LocalFrame(home.lat_deg, home.lon_deg)
    mx, my = local.to_local(market.lat_deg, market.lon_deg)
    w, h = cfg.camera.image_width_px, cfg.camera.image_height_px
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (w, h))
    for i in range(frames):
        # west at 0.3 m per frame (3 m/s at 10 frames/s), 18 m ahead of the group to past it
        lat, lon = local.to_geo(mx + 30.0 - 0.3 * i, my)
        pose = Pose(t_s=0, lat_deg=float(lat), lon_deg=float(lon), alt_m=cfg.survey.alt_m,
                    yaw_deg=270.0, gimbal_pitch_deg=cfg.camera.gimbal_pitch_deg)  # fmt: skip
        out.write(r.render(pose))
    out.release()
    return market.lat_deg, market.lon_deg


def in_process(cfg, clip: Path, lat: float, lon: float) -> tuple[int, float, float, int]:
    """Frames, wall seconds, CPU seconds, alerts of the pipeline on the clip in this process."""
    from detection.pipeline import DetectionPipeline
    from detection.sources import open_source

    src = open_source(str(clip))
    pipe = DetectionPipeline(cfg.detection, cfg.camera, fps=src.fps or 10.0, privacy=cfg.privacy)
    pipe.warm_up()
    blank = np.zeros((cfg.camera.image_height_px, cfg.camera.image_width_px, 3), np.uint8)
    pipe.process(blank, 0.0, None, 0)  # the model loads on its first frame: not timed
    pipe.reset()
    n = alerts = 0
    w0, c0 = time.perf_counter(), time.process_time()
    while (frame := src.read(timeout_s=10.0)) is not None:
        pose = Pose(t_s=frame.t_s, lat_deg=lat, lon_deg=lon, alt_m=cfg.survey.alt_m,
                    yaw_deg=270.0, gimbal_pitch_deg=cfg.camera.gimbal_pitch_deg)  # fmt: skip
        alerts += len(pipe.process(frame.image, frame.t_s, pose, frame.index).alerts)
        n += 1
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    src.close()
    pipe.close()
    return n, wall, cpu, alerts


class _Patrol:
    """What :class:`RemoteDetection` needs of a patrol, counting what it is given."""

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.frames_processed = 0
        self._fps = 0.0
        self.following = None
        self.policy = SimpleNamespace(alert_policy="log_only")
        self.plan = self.recorder = self.vehicle = None
        self.alerts: list = []
        self.first = self.last = None
        self.console = SimpleNamespace(line=lambda text: None)

    def log(self, text, level="info"):
        if level != "info":
            print(f"  ground station: {text}")

    def _on_alert(self, alert):
        self.alerts.append(alert)

    def _pose_for(self, t_s):
        return None


def remote(cfg, clip: Path, lat: float, lon: float, frames: int):
    """Frames received, their wall seconds, ground-station process CPU seconds, CPU seconds of
    handling the messages, latencies, alerts, the detector's last line."""
    from mqtt_broker import Broker

    from detection.remote.bus import unique_suffix
    from groundstation.remote_detection import RemoteDetection

    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(Path(tmp) / "broker").start()
        patrol = _Patrol(cfg)
        rd = RemoteDetection(patrol, broker.url, client_id=f"bench-{unique_suffix()}")
        rd.started_s = 0.0  # the clip's frame times start at 0: nothing is stale
        latencies: list[float] = []
        times: list[float] = []
        handling = [0.0]  # CPU seconds of the handling thread in handle()
        handle = rd.handle

        def timed(topic, payload):
            """Handle, and note arrival time and publish-to-handled latency of results."""
            import json

            c = time.thread_time()
            handle(topic, payload)
            handling[0] += time.thread_time() - c
            if topic.endswith("/results"):
                now = time.time()
                times.append(time.perf_counter())
                latencies.append(now - json.loads(payload)["sent_s"])

        rd.handle = timed
        rd.start()
        worker = threading.Thread(target=rd.run, name="bench-remote")
        c0 = time.process_time()
        worker.start()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "groundstation.cli",
                "detect",
                str(clip),
                "--config",
                str(DEMO),
                "--alt",
                str(cfg.survey.alt_m),
                "--lat",
                str(lat),
                "--lon",
                str(lon),
                "--yaw",
                "270",
                "--publish",
                broker.url,
            ],  # fmt: skip
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        out, _ = proc.communicate(timeout=900)
        deadline = time.monotonic() + 60
        while len(times) < frames and time.monotonic() < deadline:
            time.sleep(0.05)
        cpu = time.process_time() - c0
        patrol.stopping.set()
        worker.join(15)
        broker.stop()
    detector_line = next((ln for ln in out.splitlines() if "frames/s" in ln), out[-300:])
    wall = times[-1] - times[0] if len(times) > 1 else float("nan")
    return len(times), wall, cpu, handling[0], latencies, len(patrol.alerts), detector_line


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--frames", type=int, default=80)
    args = ap.parse_args()
    from mqtt_broker import MOSQUITTO

    if MOSQUITTO is None:
        print("error: needs the mosquitto broker (Debian package mosquitto)", file=sys.stderr)
        return 2
    cfg = load_config(DEMO)
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "market.mp4"
        lat, lon = render_clip(cfg, clip, args.frames)
        # remote first: this process has not loaded the model yet, so its CPU is the consumer's
        rn, rwall, rcpu, hcpu, lat_s, ralerts, det_line = remote(cfg, clip, lat, lon, args.frames)
        n, wall, cpu, alerts = in_process(cfg, clip, lat, lon)
        print(f"in-process: {n} frames in {wall:.1f} s = {n / wall:.1f} frames/s; "
              f"CPU {cpu / n * 1000:.0f} ms per frame in the ground station; {alerts} alert(s)")  # fmt: skip

        lat_s.sort()
        p95 = lat_s[int(0.95 * (len(lat_s) - 1))] if lat_s else float("nan")
        print(f"remote:     {rn} results received at {(rn - 1) / rwall:.1f} frames/s; "
              f"ground-station CPU {rcpu / max(1, rn) * 1000:.1f} ms per result (MQTT client "
              f"and handling; {hcpu / max(1, rn) * 1000:.1f} ms of it in handling); "
              f"{ralerts} alert(s)")  # fmt: skip
        print(f"            detector process: {det_line.strip()}")
        if lat_s:
            print(f"            latency publish -> handled: median {statistics.median(lat_s) * 1000:.1f} ms, "
                  f"p95 {p95 * 1000:.1f} ms, max {lat_s[-1] * 1000:.1f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
