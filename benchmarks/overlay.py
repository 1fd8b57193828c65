"""Live overlay: video delivered to the page and latency, alerts and answers to the page.

Live video (issue 15 item 5), first: the demo's simulated camera (``configs/demo.yaml``: 1280x720
at ``sim.scene.fps``, the drone flying to and fro over the market at the demo's wall speed) is
read by the patrol's :class:`~groundstation.patrol.FramePrefetcher` into the real detection
pipeline (a loop like the patrol's) and into :class:`~groundstation.overlay.live_video.LiveVideo`.
Phases alternate A B B A (A: nobody watches; B: a client long-polls ``/api/frame`` as the page
does), ``--phase-s`` seconds each, so that a drift of the machine's load cancels out. It prints,
beside the camera's rate: video frames per second delivered to the client, the latency camera ->
client (capture stamp ``X-Frame-Time`` to receipt, same clock on loopback), and the detection
rate with and without a viewer. ``--no-live`` skips it (no model, no scene needed).

Starts the overlay server on a free loopback port, listens to ``/api/events`` (Server-Sent
Events, what the page uses for alerts) and long-polls ``/api/frame`` (what the page uses for
video) with httpx, pushes alerts and frames at random moments and prints the delays. The issue's
target: a new alert reaches the page within 1 s. Also (issue 15): an officer's answer (``POST
/api/alerts/{id}/ack``) reaching another page, and an alert written by a patrol to the shared
``alerts.sqlite`` reaching a ``dronepatrol serve`` page (through its store follower); both within
1 s.

    python benchmarks/overlay.py [--alerts 30] [--frames 100] [--phase-s 20] [--no-live]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from pathlib import Path

# the repository first: this folder's broadcast.py must not shadow the broadcast package
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import numpy as np

from detection.alerts import Alert, AlertKind
from groundstation.overlay import OverlayHub, OverlayServer


def alert_latencies(base: str, hub: OverlayHub, n: int) -> list[float]:
    pushed: dict[str, float] = {}
    got: dict[str, float] = {}
    done = threading.Event()

    def listen() -> None:
        with httpx.Client(base_url=base, timeout=60) as c, c.stream("GET", "/api/events") as s:
            kind = None
            for line in s.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "alert":
                    got[json.loads(line[6:])["id"]] = time.perf_counter()
                    if len(got) >= n:
                        done.set()
                        return

    t = threading.Thread(target=listen)
    t.start()
    time.sleep(0.5)
    for _ in range(n):
        time.sleep(random.uniform(0.05, 0.4))
        a = Alert(kind=AlertKind.GATHERING, t_s=time.time(), lat_deg=41.79, lon_deg=123.43, count=5)
        pushed[a.id] = time.perf_counter()
        hub.push_alert(a)
    done.wait(30)
    hub.close()  # ends the event stream
    t.join(10)
    return [got[k] - pushed[k] for k in pushed if k in got]


def _listen(base: str, kind: str, key: str, n: int, got: dict, ready: threading.Event):
    """Collect ``got[data[key]] = arrival time`` for ``n`` SSE events of ``kind``."""
    with httpx.Client(base_url=base, timeout=60) as c, c.stream("GET", "/api/events") as s:
        ready.set()
        current = None
        for line in s.iter_lines():
            if line.startswith("event: "):
                current = line[7:]
            elif line.startswith("data: ") and current == kind:
                got[json.loads(line[6:])[key]] = time.perf_counter()
                if len(got) >= n:
                    return


def answer_latencies(base: str, hub: OverlayHub, n: int) -> list[float]:
    """POST an answer from one client; time until another page's event stream carries it."""
    ids = []
    for _ in range(n):
        a = Alert(kind=AlertKind.GATHERING, t_s=time.time(), lat_deg=41.79, lon_deg=123.43, count=5)
        hub.push_alert(a)
        ids.append(a.id)
    got: dict[str, float] = {}
    ready = threading.Event()
    t = threading.Thread(target=_listen, args=(base, "ack", "alert_id", n, got, ready))
    t.start()
    ready.wait(10)
    sent = {}
    with httpx.Client(base_url=base, timeout=30) as c:
        for i in ids:
            time.sleep(random.uniform(0.05, 0.3))
            sent[i] = time.perf_counter()
            c.post(f"/api/alerts/{i}/ack", json={"officer": "bench", "state": "on_my_way"})
    t.join(30)
    return [got[k] - sent[k] for k in sent if k in got]


def serve_alert_latencies(n: int) -> list[float]:
    """A patrol's hub writes alerts to alerts.sqlite; a serve hub follows it (0.2 s polls)."""
    import tempfile

    from groundstation.serve import AlertStore, StoreFollower

    with tempfile.TemporaryDirectory() as tmp:
        patrol = OverlayHub()
        patrol.attach_store(AlertStore(Path(tmp) / "alerts.sqlite"), recording="bench")
        serve_store = AlertStore(Path(tmp) / "alerts.sqlite")
        serve = OverlayHub(mode="serve")
        serve.attach_store(serve_store)
        follower = StoreFollower(serve_store, serve).start()
        with OverlayServer(serve, port=0) as server:
            base = f"http://127.0.0.1:{server.port}"
            got: dict[str, float] = {}
            ready = threading.Event()
            t = threading.Thread(target=_listen, args=(base, "alert", "id", n, got, ready))
            t.start()
            ready.wait(10)
            sent = {}
            for _ in range(n):
                time.sleep(random.uniform(0.05, 0.4))
                a = Alert(kind=AlertKind.GATHERING, t_s=time.time(), lat_deg=41.79, lon_deg=123.43)
                sent[a.id] = time.perf_counter()
                patrol.push_alert(a)
            t.join(30)
        follower.stop()
    return [got[k] - sent[k] for k in sent if k in got]


def frame_latencies(base: str, hub: OverlayHub, n: int) -> list[float]:
    image = (np.random.default_rng(0).random((720, 1280, 3)) * 255).astype(np.uint8)
    out = []
    with httpx.Client(base_url=base, timeout=30) as c:
        seq = 0
        for _ in range(n):
            f = hub.push_frame(image, time.time(), seq)
            t0 = time.perf_counter()
            r = c.get("/api/frame", params={"after": seq})
            out.append(time.perf_counter() - t0)
            seq = int(r.headers["x-frame-seq"])
            assert seq == f.seq
    return out


def _percentile(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))] if v else float("nan")


def live_video(phase_s: float) -> dict:
    """The demo's camera, detection and live video, phases A B B A (A: no viewer, B: viewer).

    Returns:
        ``{"camera_fps", "phases": [{"viewer", "seconds", "camera_frames", "detections",
        "delivered", "latency_s": [...]}]}``.
    """
    import math
    import os
    import tempfile

    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    from detection.pipeline import DetectionPipeline
    from groundstation.config import load_config
    from groundstation.overlay.live_video import LiveVideo
    from groundstation.patrol import FramePrefetcher
    from missions.geo import LocalFrame, Pose
    from sim.camera import PinholeCamera, SceneRenderer, SimCamera
    from sim.scene import Scene

    repo = Path(__file__).resolve().parent.parent
    cfg = load_config(repo / "configs" / "demo.yaml")
    sc = cfg.sim.scene
    scene = Scene(sc, cfg.sim.home.lat_deg, cfg.sim.home.lon_deg)
    renderer = SceneRenderer(
        scene, PinholeCamera.from_settings(cfg.camera), noise=sc.noise,
        billboard=sc.billboard, seed=sc.seed,
    )  # fmt: skip
    market = next(g for g in sc.groups if g.name == "market")
    lat0, lon0 = market.lat_deg, market.lon_deg
    speed = cfg.survey.speed_m_s * cfg.sim.speedup  # metres per wall second, as in the demo
    t_start = time.time()

    def pose_now() -> Pose:
        """To and fro between 60 m east of the market and 5 m west of it, heading west."""
        d = (time.time() - t_start) * speed % 130.0
        east = 60.0 - (d if d < 65.0 else 130.0 - d)
        lon = lon0 + east / (111_320.0 * math.cos(math.radians(lat0)))
        return Pose(
            t_s=time.time(), lat_deg=lat0, lon_deg=lon, alt_m=cfg.survey.alt_m,
            yaw_deg=270.0, gimbal_pitch_deg=cfg.camera.gimbal_pitch_deg,
        )  # fmt: skip

    det = cfg.detection
    g = det.gathering
    k = cfg.sim.speedup
    scaled = det.model_copy(
        update={"gathering": g.model_copy(
            update={"persist_s": g.persist_s / k, "cooldown_s": g.cooldown_s / k})}
    )  # fmt: skip
    stop = threading.Event()
    hub = OverlayHub()
    ready: dict[int, float] = {}

    class StampedCamera(SimCamera):
        """The sim camera, noting when each frame is rendered (its ``t_s`` is taken before the
        rendering, as a real camera's capture time would be)."""

        def read(self, timeout_s: float = 5.0):
            frame = super().read(timeout_s)
            if frame is not None:
                ready[frame.index] = time.time()
            return frame

    camera = StampedCamera(renderer, pose_now, fps=sc.fps)
    detections = [0]
    with tempfile.TemporaryDirectory(prefix="dp-bench-overlay-") as snaps:
        pipeline = DetectionPipeline(
            scaled, cfg.camera, snapshot_dir=Path(snaps),
            frame=LocalFrame(cfg.sim.home.lat_deg, cfg.sim.home.lon_deg),
            fps=sc.fps, privacy=cfg.privacy,
        )  # fmt: skip
        pipeline.warm_up()
        live = LiveVideo(hub, cfg.privacy, stop).start()
        frames = FramePrefetcher(camera, stop, live=live).start()

        def detect() -> None:
            """The patrol's detection loop, reduced: process, annotate (recorded), hand over."""
            from detection.sources import FrameTimeout

            while not stop.is_set():
                try:
                    frame = frames.read(timeout_s=1.0)
                except FrameTimeout:
                    continue
                if frame is None:
                    return
                result = pipeline.process(frame.image, frame.t_s, pose_now(), frame.index)
                result.annotate(frame.image)  # the patrol records the annotated frame
                live.update(result, frame.image)
                detections[0] += 1

        worker = threading.Thread(target=detect, name="bench-detect")
        worker.start()
        phases = []
        with OverlayServer(hub, port=0) as server:
            base = f"http://127.0.0.1:{server.port}"
            time.sleep(3.0)  # the first frames, tracks and gatherings
            for viewer in (False, True, True, False):
                ph = {"viewer": viewer, "delivered": 0, "latency_s": [], "after_render_s": []}
                if not viewer:
                    time.sleep(4.0)  # the previous viewer's grace period ends
                cam0, det0, t0 = live.stats.offered, detections[0], time.perf_counter()
                if viewer:
                    seq = 0
                    with httpx.Client(base_url=base, timeout=30) as c:
                        while time.perf_counter() - t0 < phase_s:
                            r = c.get("/api/frame", params={"after": seq})
                            if r.status_code != 200:
                                continue
                            got = time.time()
                            seq = int(r.headers["x-frame-seq"])
                            ph["delivered"] += 1
                            ph["latency_s"].append(got - float(r.headers["x-frame-time"]))
                            rendered = ready.get(int(r.headers["x-frame-index"]))
                            if rendered is not None:
                                ph["after_render_s"].append(got - rendered)
                else:
                    time.sleep(phase_s)
                ph["seconds"] = time.perf_counter() - t0
                ph["camera_frames"] = live.stats.offered - cam0
                ph["detections"] = detections[0] - det0
                phases.append(ph)
            stop.set()
            camera.close()
            worker.join(10)
        live.stop()
        close = getattr(pipeline, "close", None)
        if close is not None:
            close()
    return {"camera_fps": sc.fps, "phases": phases, "stats": live.stats}


def print_live(res: dict, phase_s: float) -> None:
    """Print :func:`live_video`'s figures."""
    ph = res["phases"]
    on = [p for p in ph if p["viewer"]]
    off = [p for p in ph if not p["viewer"]]
    rate = lambda ps, key: sum(p[key] for p in ps) / sum(p["seconds"] for p in ps)  # noqa: E731
    lat = [v for p in on for v in p["latency_s"]]
    print(
        f"live video, demo camera 1280x720, phases A B B A of {phase_s:g} s "
        "(A: no viewer, B: one client long-polling /api/frame):"
    )
    print(f"  camera rate (configured sim.scene.fps)       {res['camera_fps']:5.1f} frames/s")
    print(
        f"  camera frames read while watched             {rate(on, 'camera_frames'):5.1f} frames/s"
    )
    print(f"  video delivered to the client                {rate(on, 'delivered'):5.1f} frames/s")
    print(
        f"  latency camera -> client (capture to receipt) median {1000 * statistics.median(lat):.0f}"
        f" ms, p95 {1000 * _percentile(lat, 0.95):.0f} ms, max {1000 * max(lat):.0f} ms"
        " (target < 500 ms)"
    )
    after = [v for p in on for v in p["after_render_s"]]
    if after:
        print(
            f"  of which after the sim camera's rendering (drawing, JPEG, HTTP) median"
            f" {1000 * statistics.median(after):.0f} ms, p95 {1000 * _percentile(after, 0.95):.0f} ms"
        )
    print(
        f"  detection rate: no viewer {rate(off, 'detections'):.2f} frames/s,"
        f" with a viewer {rate(on, 'detections'):.2f} frames/s"
    )
    print(
        "  per phase (viewer, camera fps, delivered fps, detection fps): "
        + "; ".join(
            f"{'B' if p['viewer'] else 'A'} {p['camera_frames'] / p['seconds']:.1f}"
            f" {p['delivered'] / p['seconds']:.1f} {p['detections'] / p['seconds']:.2f}"
            for p in ph
        )
    )
    print(f"  live video counters: {res['stats']}")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--alerts", type=int, default=30)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--phase-s", type=float, default=20.0, help="live video: seconds per phase")
    ap.add_argument("--no-live", action="store_true", help="skip the live video (camera, model)")
    args = ap.parse_args()
    live = None if args.no_live else live_video(args.phase_s)
    hub = OverlayHub()
    with OverlayServer(hub, port=0) as server:
        base = f"http://127.0.0.1:{server.port}"
        t0 = time.perf_counter()
        frames = frame_latencies(base, hub, args.frames)
        encode = []
        img = (np.random.default_rng(1).random((720, 1280, 3)) * 255).astype(np.uint8)
        for _ in range(20):
            t = time.perf_counter()
            hub.push_frame(img, time.time(), 0)
            encode.append(time.perf_counter() - t)
        answers = answer_latencies(base, hub, args.alerts)
        alerts = alert_latencies(base, hub, args.alerts)
    served = serve_alert_latencies(args.alerts)
    wall = time.perf_counter() - t0
    ms = lambda v: f"{1000 * v:7.1f} ms"  # noqa: E731
    if live is not None:
        print_live(live, args.phase_s)
    print(f"alert push -> SSE client ({len(alerts)}/{args.alerts} received):")
    print(f"  median {ms(statistics.median(alerts))}   max {ms(max(alerts))}   (target < 1000 ms)")
    print(f"answer POST -> another page's SSE ({len(answers)}/{args.alerts} received):")
    print(
        f"  median {ms(statistics.median(answers))}   max {ms(max(answers))}   (target < 1000 ms)"
    )
    print(f"patrol alert -> alerts.sqlite -> serve page ({len(served)}/{args.alerts} received):")
    print(f"  median {ms(statistics.median(served))}   max {ms(max(served))}   (target < 1000 ms)")
    print(f"frame fetch after push ({len(frames)} frames, 1280x720 JPEG):")
    print(f"  median {ms(statistics.median(frames))}   max {ms(max(frames))}")
    print(
        f"JPEG encoding in push_frame (1280x720 noise, worst case): median {ms(statistics.median(encode))}"
    )
    print(f"total {wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
