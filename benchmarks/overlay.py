"""Live overlay latency: from ``OverlayHub.push_alert`` / ``push_frame`` to the browser's channel.

Starts the overlay server on a free loopback port, listens to ``/api/events`` (Server-Sent
Events, what the page uses for alerts) and long-polls ``/api/frame`` (what the page uses for
video) with httpx, pushes alerts and frames at random moments and prints the delays. The issue's
target: a new alert reaches the page within 1 s. Also (issue 15): an officer's answer (``POST
/api/alerts/{id}/ack``) reaching another page, and an alert written by a patrol to the shared
``alerts.sqlite`` reaching a ``dronepatrol serve`` page (through its store follower); both within
1 s.

    python benchmarks/overlay.py [--alerts 30] [--frames 100]
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


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--alerts", type=int, default=30)
    ap.add_argument("--frames", type=int, default=100)
    args = ap.parse_args()
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
