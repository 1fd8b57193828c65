"""A stand-in for ArduPilot's ``arducopter`` SITL binary: its command line, the built-in simulator.

NOT ArduPilot: it lets the tests run the SITL launcher (``sim.sitl.start_sitl``), ``dronepatrol
sim --sitl`` and the ``vehicle_endpoint`` fixture's SITL branch on a machine without an
ArduPilot build. It accepts the options the launcher passes (``--model``, ``--speedup``,
``--home LAT,LON,ALT,HDG``, ``-I N``, ``--serial0 tcp:0``, ``-w``, ``--defaults FILE``), serves
MAVLink on TCP ``5760 + 10 * N`` like SITL's serial0, exits when its parent process dies as SITL
does, and appends its argument list to ``$SITL_STANDIN_LOG`` when set. ``$SITL_STANDIN_FAIL``
makes it print that text to stderr and exit 1 at once (a binary that cannot start).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time


def main(argv: list[str]) -> int:
    if os.environ.get("SITL_STANDIN_FAIL"):
        print("starting", file=sys.stderr)
        print(os.environ["SITL_STANDIN_FAIL"], file=sys.stderr)
        return 1
    log = os.environ.get("SITL_STANDIN_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(" ".join(argv) + "\n")
    ap = argparse.ArgumentParser(prog="arducopter")
    ap.add_argument("--model", required=True)
    ap.add_argument("--speedup", type=float, default=1.0)
    ap.add_argument("--home", required=True)
    ap.add_argument("-I", dest="instance", type=int, default=0)
    ap.add_argument("--serial0", required=True)
    ap.add_argument("-w", action="store_true")
    ap.add_argument("--defaults")
    args = ap.parse_args(argv)
    if args.serial0 != "tcp:0":
        print(f"unsupported --serial0 {args.serial0}", file=sys.stderr)
        return 1
    lat, lon, alt, _hdg = (float(v) for v in args.home.split(","))

    from sim import start_sim

    parent = os.getppid()
    handle = start_sim(port=5760 + 10 * args.instance, speedup=args.speedup, home=(lat, lon, alt))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        while not stop and handle.running and os.getppid() == parent:
            time.sleep(0.1)
    finally:
        handle.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
