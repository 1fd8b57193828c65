"""Benchmark: mission upload (and read-back) time over a lossy link.

Uploads a survey mission of 100 and 500 items to the built-in ArduCopter simulator with 0, 10 and
30 % packet loss injected in both directions (plus the duplication/reordering given), and prints
the upload time, the read-back (download) time and the packets the fault injector dropped.

The upload is driven by the vehicle (it requests each item; ArduPilot re-requests a lost request
after 1 s of wall time, MissionItemProtocol.cpp), so lost requests dominate the upload time on a
lossy link; the download is driven by the ground station with several requests in flight.

Usage:
    python benchmarks/upload.py [--sizes 100 500] [--loss 0 0.1 0.3] [--duplicate 0] [--reorder 0]
                                [--repeat 1] [--seed 1] [--url tcp:HOST:PORT]
                                [--mavproxy | --setup-mavproxy] [--mavproxy-timeout 300]

``--mavproxy`` uploads the same mission with MAVProxy (``wp load``, in its own environment
``benchmarks/.venv-mavproxy``, made once by ``--setup-mavproxy`` with pip) to a fresh simulator
with the same faults and seed, and prints its row beside dronepatrol's (verified = read back by
dronepatrol and equal).

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


MAVPROXY_VENV = Path(__file__).resolve().parent / ".venv-mavproxy"
"""The benchmark's own environment for MAVProxy (``--setup-mavproxy`` creates it)."""


def setup_mavproxy() -> Path:
    """Create :data:`MAVPROXY_VENV` with MAVProxy from PyPI (install time, not run time)."""
    import subprocess
    import venv

    if not (MAVPROXY_VENV / "bin" / "python").exists():
        venv.create(MAVPROXY_VENV, with_pip=True)
    subprocess.run([str(MAVPROXY_VENV / "bin" / "pip"), "install", "-q", "MAVProxy"], check=True)
    return MAVPROXY_VENV / "bin" / "mavproxy.py"


def run_mavproxy(mavproxy: Path, url: str, items: list[MissionItem], timeout_s: float):
    """Upload with MAVProxy's ``wp load`` (typed at its prompt once it is online), then read back
    with dronepatrol and compare. Returns the upload time (to "Sent all N waypoints"), or None
    when MAVProxy did not finish within ``timeout_s`` or the vehicle holds something else."""
    import select
    import subprocess
    import tempfile

    from missions.formats import write_wpl

    with tempfile.TemporaryDirectory(prefix="mavproxy-bench-") as tmp:
        path = write_wpl(items, Path(tmp) / "m.waypoints")
        proc = subprocess.Popen(
            [sys.executable if mavproxy.suffix != ".py" else str(mavproxy.parent / "python"),
             str(mavproxy), "--master", url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            cwd=tmp,
        )  # fmt: skip
        t_up = None
        try:
            start = time.monotonic()
            online = sent = None
            while time.monotonic() - start < timeout_s + 30:
                ready, _, _ = select.select([proc.stdout], [], [], 0.5)
                now = time.monotonic()
                if sent is None and online is not None and now - online > 3.0:
                    proc.stdin.write(f"wp load {path}\n")
                    proc.stdin.flush()
                    sent = now
                if sent is not None and now - sent > timeout_s:
                    break
                if not ready:
                    continue
                line = proc.stdout.readline()
                if not line:
                    break
                if online is None and "online system" in line:
                    online = now
                if sent is not None and "Sent all" in line:
                    t_up = now - sent
                    break
        finally:
            try:
                proc.stdin.write("exit\n")
                proc.stdin.flush()
                proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait(timeout=10)
    if t_up is None:
        print(f"  MAVProxy did not finish within {timeout_s:g} s", flush=True)
        return None
    with Link.connect(url, timeout_s=30) as link:
        try:
            onboard = mt.download(link, 0)
        except mt.MissionTransferError as exc:
            print(f"  MAVProxy: read-back failed: {exc}", flush=True)
            return None
    # MAVProxy truncates lat/lon to degE7 (int(x * 1e7)) where dronepatrol rounds: a 1e-7 degree
    # (1 cm) difference is MAVProxy's rounding, not a failed upload
    problems = [
        m
        for m in mt.compare_items(items, onboard, 0)
        if not (
            m.field.startswith(("x/", "y/"))
            and isinstance(m.planned, int)
            and abs(m.planned - m.onboard) <= 1
        )
    ]
    if problems:
        print(f"  MAVProxy: verification failed: {problems[0]}", flush=True)
        return None
    return t_up


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 500])
    ap.add_argument("--loss", type=float, nargs="+", default=[0.0, 0.1, 0.3])
    ap.add_argument("--duplicate", type=float, default=0.0)
    ap.add_argument("--reorder", type=float, default=0.0)
    ap.add_argument("--repeat", type=int, default=1, help="runs per cell (median printed)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--url", default=None, help="benchmark this vehicle instead of the simulator")
    ap.add_argument(
        "--mavproxy",
        action="store_true",
        help="also upload with MAVProxy (from benchmarks/.venv-mavproxy) and print it beside",
    )
    ap.add_argument(
        "--setup-mavproxy", action="store_true", help="create benchmarks/.venv-mavproxy first"
    )
    ap.add_argument("--mavproxy-timeout", type=float, default=300.0, metavar="S")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    mavproxy = None
    if args.setup_mavproxy:
        mavproxy = setup_mavproxy()
    elif args.mavproxy:
        mavproxy = MAVPROXY_VENV / "bin" / "mavproxy.py"
        if not mavproxy.exists():
            raise SystemExit(f"{mavproxy}: not installed; run with --setup-mavproxy once")

    print(
        f"{'tool':>11} {'items':>6} {'loss':>6} {'upload s':>9} {'items/s':>8} "
        f"{'read-back s':>12} {'dropped':>8} {'verified':>9}"
    )
    for n in args.sizes:
        items = survey(n)
        for loss in [None] if args.url else args.loss:
            ups, downs, dropped, mp_ups = [], [], 0, []
            for r in range(args.repeat):
                if args.url:
                    got = run_once(args.url, items)
                else:
                    from sim import start_sim

                    faults = {"loss": loss, "duplicate": args.duplicate, "reorder": args.reorder}
                    with start_sim(port=0, speedup=10, faults=faults, seed=args.seed + r) as sim:
                        got = run_once(sim.url, items)
                        dropped += sim.fault_stats.get("dropped", 0)
                    if mavproxy is not None:
                        with start_sim(
                            port=0, speedup=10, faults=faults, seed=args.seed + r
                        ) as sim:
                            t = run_mavproxy(mavproxy, sim.url, items, args.mavproxy_timeout)
                        if t is not None:
                            mp_ups.append(t)
                if got is None:
                    continue
                ups.append(got[0])
                downs.append(got[1])
            loss_txt = "link" if loss is None else f"{loss:.0%}"
            rows = [("dronepatrol", ups, downs)]
            if mavproxy is not None:
                rows.append(("MAVProxy", mp_ups, []))
            for tool, tups, tdowns in rows:
                ok = f"{len(tups)}/{args.repeat}"
                if not tups:
                    print(
                        f"{tool:>11} {n:>6} {loss_txt:>6} {'-':>9} {'-':>8} {'-':>12} {'-':>8} {ok:>9}"
                    )
                    continue
                up = statistics.median(tups)
                down = f"{statistics.median(tdowns):.2f}" if tdowns else "-"
                print(
                    f"{tool:>11} {n:>6} {loss_txt:>6} {up:>9.2f} {n / up:>8.1f} {down:>12} "
                    f"{dropped // max(1, args.repeat):>8} {ok:>9}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
