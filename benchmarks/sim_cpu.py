"""CPU share of one simulated vehicle (target: < 5 % of one core at speed-up 1).

Starts a simulator, connects a plain pymavlink client that requests every stream at 10 Hz (what
a ground station does), takes off and hovers, and measures the process CPU time used by the
simulator thread's work over a wall-clock window. The client's own decoding is excluded by
reading the simulator thread's own CPU clock from /proc (Linux); elsewhere the whole process time
is printed as an upper bound.

Usage:
    python benchmarks/sim_cpu.py [--seconds 20] [--speedup 1] [--rate 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymavlink import mavutil

from sim import start_sim


def _thread_cpu_s(native_id: int) -> float | None:
    """CPU seconds (user + system) of one thread of this process, from /proc."""
    path = Path(f"/proc/self/task/{native_id}/stat")
    try:
        fields = path.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=20.0, help="measurement window, wall s")
    ap.add_argument("--speedup", type=float, default=1.0)
    ap.add_argument("--rate", type=int, default=10, help="stream rate requested, Hz")
    args = ap.parse_args()

    sim = start_sim(port=0, speedup=args.speedup)
    try:
        m = mavutil.mavlink_connection(sim.url, source_system=255)
        m.wait_heartbeat(timeout=30)
        m.mav.request_data_stream_send(m.target_system, 1, 0, args.rate, 1)
        sim.wait_ready(60)
        m.mav.set_mode_send(m.target_system, 1, 4)
        m.mav.command_long_send(m.target_system, 1, 400, 0, 1, 0, 0, 0, 0, 0, 0)
        time.sleep(0.5)
        m.mav.command_long_send(m.target_system, 1, 22, 0, 0, 0, 0, 0, 0, 0, 10)
        native = sim._thread.native_id
        received = 0
        t0 = time.monotonic()
        c0 = _thread_cpu_s(native)
        p0 = time.process_time()
        while time.monotonic() - t0 < args.seconds:
            if m.recv_match(blocking=True, timeout=0.1) is not None:
                received += 1
        wall = time.monotonic() - t0
        c1 = _thread_cpu_s(native)
        p1 = time.process_time()
        pose = sim.true_pose()
        m.close()
    finally:
        sim.stop()
    if c0 is not None and c1 is not None:
        share = (c1 - c0) / wall * 100.0
        how = "simulator thread, /proc per-thread CPU clock"
    else:  # pragma: no cover - non-Linux
        share = (p1 - p0) / wall * 100.0
        how = "whole process including the client (upper bound)"
    print(f"speedup {args.speedup:g}, streams {args.rate} Hz, window {wall:.1f} s wall")
    print(f"messages received by the client: {received} ({received / wall:.0f}/s)")
    print(f"vehicle altitude at the end: {pose.alt_m:.1f} m")
    print(f"CPU share of one vehicle: {share:.2f} % of one core ({how}); target < 5 %")
    print(f"whole process (vehicle + pymavlink client): {(p1 - p0) / wall * 100.0:.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
