"""Benchmark: mission upload (and read-back) time over a lossy link.

Uploads a survey mission of 100 and 500 items to the built-in ArduCopter simulator with 0, 10 and
30 % packet loss injected in both directions (plus the duplication/reordering given), and prints
the upload time, the read-back (download) time and the packets the fault injector dropped.

The upload is driven by the vehicle (it requests each item; ArduPilot re-requests a lost request
after 1 s of wall time, MissionItemProtocol.cpp), so lost requests dominate the upload time on a
lossy link; the download is driven by the ground station with several requests in flight.

Usage:
    python benchmarks/upload.py [--sizes 100 500] [--loss 0 0.1 0.2] [--duplicate 0] [--reorder 0]
                                [--repeat 1] [--seed 1] [--url tcp:HOST:PORT]

With ``--url`` the uploads go to that vehicle instead (no fault injection: the link is what it is).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from groundstation import mission_transfer as mt
from groundstation.link import Link
from missions.geo import offset
from missions.items import MissionItem

HOME = (41.79, 123.43)


def survey(n: int) -> list[MissionItem]:
    """Home, NAV_TAKEOFF, then NAV_WAYPOINTs on a lawnmower grid, NAV_RETURN_TO_LAUNCH: n items."""
    items = [
        MissionItem(seq=0, frame=0, command=16, x=HOME[0], y=HOME[1]),
        MissionItem(seq=1, frame=3, command=22, x=HOME[0], y=HOME[1], z=40.0),
    ]
    k = 0
    while len(items) < n - 1:
        row, col = divmod(k, 25)
        lat, lon = offset(HOME[0], HOME[1], 0.0, 20.0 + 10.0 * row)
        lat, lon = offset(lat, lon, 90.0, 10.0 * (col if row % 2 == 0 else 24 - col))
        items.append(MissionItem(seq=len(items), frame=3, command=16, x=lat, y=lon, z=40.0))
        k += 1
    items.append(MissionItem(seq=len(items), frame=0, command=20))
    return items


def run_once(url: str, items: list[MissionItem]) -> tuple[float, float] | None:
    """Upload, read back and compare; (upload s, read-back s), or None when it failed."""
    with Link.connect(url, timeout_s=30) as link:
        t0 = time.perf_counter()
        try:
            mt.upload(link, items, 0)
            t1 = time.perf_counter()
            onboard = mt.download(link, 0)
        except mt.MissionTransferError as exc:
            print(f"  failed: {exc}", flush=True)
            return None
        t2 = time.perf_counter()
        problems = mt.compare_items(items, onboard, 0)
        if problems:
            print(f"  verification failed: {problems[0]}", flush=True)
            return None
    return t1 - t0, t2 - t1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 500])
    ap.add_argument("--loss", type=float, nargs="+", default=[0.0, 0.1, 0.3])
    ap.add_argument("--duplicate", type=float, default=0.0)
    ap.add_argument("--reorder", type=float, default=0.0)
    ap.add_argument("--repeat", type=int, default=1, help="runs per cell (median printed)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--url", default=None, help="benchmark this vehicle instead of the simulator")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    print(
        f"{'items':>6} {'loss':>6} {'upload s':>9} {'items/s':>8} {'read-back s':>12} "
        f"{'dropped':>8} {'verified':>9}"
    )
    for n in args.sizes:
        items = survey(n)
        for loss in [None] if args.url else args.loss:
            ups, downs, dropped = [], [], 0
            for r in range(args.repeat):
                if args.url:
                    got = run_once(args.url, items)
                else:
                    from sim import start_sim

                    faults = {"loss": loss, "duplicate": args.duplicate, "reorder": args.reorder}
                    with start_sim(port=0, speedup=10, faults=faults, seed=args.seed + r) as sim:
                        got = run_once(sim.url, items)
                        dropped += sim.fault_stats.get("dropped", 0)
                if got is None:
                    continue
                ups.append(got[0])
                downs.append(got[1])
            loss_txt = "link" if loss is None else f"{loss:.0%}"
            ok = f"{len(ups)}/{args.repeat}"
            if not ups:
                print(f"{n:>6} {loss_txt:>6} {'-':>9} {'-':>8} {'-':>12} {'-':>8} {ok:>9}")
                continue
            up, down = statistics.median(ups), statistics.median(downs)
            print(
                f"{n:>6} {loss_txt:>6} {up:>9.2f} {n / up:>8.1f} {down:>12.2f} "
                f"{dropped // max(1, args.repeat):>8} {ok:>9}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
