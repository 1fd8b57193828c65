"""Wall time and CPU of a fleet patrol with 1, 2 and 4 simulated vehicles (``docs/fleet.md``).

Flies ``configs/demo-fleet.yaml`` (the 1.9 ha demo block) in-process with
:class:`groundstation.fleet.FleetPatrol` for each fleet size, at one speed-up, and prints per
size: the wall time from start to the last landing, the process CPU time (user + system, all
threads: simulators, links, telemetry, detection), the CPU it used as a share of one core,
the vehicle-clock flight time flown (the work done) and the longest vehicle's flight (the
patrol's duration in the air). At a high speed-up the fixed start (planning, simulators,
connection, uploads: about 10 s wall) weighs on the wall time; the vehicle-clock duration is
what a fleet shortens. The 1-vehicle row is the baseline of the
same run: the ratios compare against it.

Detection is off by default (``detection.source: none``: the figures are the ground station's
own cost per vehicle: simulator, MAVLink, telemetry, recording); ``--detection`` turns on each
vehicle's simulated camera and YOLO pipeline (needs the weights from ../shared/models), whose cost
grows with the number of video streams. No overlay server, no loudspeaker.

Usage:
    python benchmarks/fleet.py [--sizes 1 2 4] [--speedup 20] [--detection]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from groundstation.config import load_config
from groundstation.fleet import FleetPatrol
from groundstation.patrol import Console

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "demo-fleet.yaml"


def fly(n: int, speedup: float, detection: bool, record_dir: Path) -> dict:
    """One fleet patrol of ``n`` vehicles; its figures."""
    overrides = {
        "fleet.count": n,
        "sim.speedup": speedup,
        "overlay.enabled": False,
        "broadcast.enabled": False,
        "recording.video": False,
        "fleet.stagger_s": 10.0,
    }
    if not detection:
        overrides["detection.source"] = "none"
    cfg = load_config(CONFIG, overrides)
    console = Console(io.StringIO(), tty=False)
    t0, c0 = time.monotonic(), time.process_time()
    summary = FleetPatrol(cfg, record_dir=record_dir, console=console).run()
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    return {
        "n": n,
        "end": summary.end_reason,
        "wall_s": wall,
        "cpu_s": cpu,
        "vehicle_flight_s": summary.flight_time_s,
        "longest_flight_s": max(v.flight_time_s for v in summary.vehicles),
        "frames": summary.frames,
        "completed": sum(v.sorties_completed for v in summary.vehicles),
        "planned": sum(v.sorties_planned for v in summary.vehicles),
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--speedup", type=float, default=20.0)
    ap.add_argument("--detection", action="store_true", help="run each vehicle's detection")
    args = ap.parse_args()
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    print(
        f"fleet patrol of configs/demo-fleet.yaml at speed-up {args.speedup:g}, detection "
        f"{'on' if args.detection else 'off'}, {os.cpu_count()} CPU core(s)"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            r = fly(n, args.speedup, args.detection, Path(tmp) / f"fleet-{n}")
            rows.append(r)
            print(
                f"  {n} vehicle(s): {r['end']}, {r['completed']}/{r['planned']} sorties, wall "
                f"{r['wall_s']:.1f} s, CPU {r['cpu_s']:.1f} s ({100 * r['cpu_s'] / r['wall_s']:.0f} "
                f"% of one core), {r['vehicle_flight_s'] / 60:.1f} vehicle-min flown, longest "
                f"vehicle {r['longest_flight_s'] / 60:.1f} min (vehicle clock), "
                f"CPU {r['cpu_s'] / max(1e-9, r['vehicle_flight_s'] / 60):.2f} s per vehicle-min"
                + (f", {r['frames']} frames" if args.detection else ""),
                flush=True,
            )
    base = rows[0]
    print(f"against {base['n']} vehicle(s) (baseline, same run):")
    for r in rows[1:]:
        print(
            f"  {r['n']} vehicles: wall x{r['wall_s'] / base['wall_s']:.2f}, CPU "
            f"x{r['cpu_s'] / base['cpu_s']:.2f}, patrol duration (longest vehicle, vehicle "
            f"clock) x{r['longest_flight_s'] / base['longest_flight_s']:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
