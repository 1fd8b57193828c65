"""``dronepatrol sim``: run simulated ArduCopters (or a real ArduPilot SITL) until Ctrl-C.

Prints one connection URL per vehicle. With ``--count N`` vehicle i (0-based) listens on
``port + 10 * i`` with system id ``sysid + i``, like ArduPilot SITL instances.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be within 0..1, got {value}")
    return value


def register(sub, common: argparse.ArgumentParser) -> None:
    """Add the ``sim`` subcommand."""
    from groundstation.cli import HelpFormatter, add_config_args

    p = sub.add_parser(
        "sim",
        parents=[common],
        help="run simulated ArduCopter vehicles (MAVLink on 127.0.0.1) until Ctrl-C",
        description=(
            "Start the embedded ArduCopter stand-in (or, with --sitl, a real ArduPilot SITL named by "
            "$ARDUPILOT_SITL) and serve MAVLink 2 on 127.0.0.1 until Ctrl-C. Connect any ground "
            "station to the printed URL. Link faults can be injected for testing."
        ),
        epilog=(
            "examples:\n"
            "  dronepatrol sim                                   # tcp:127.0.0.1:5760, real time\n"
            "  dronepatrol sim --speedup 10 --home 41.79,123.43,50 --loss 0.1\n"
            "  dronepatrol sim --count 3 --port 5760 --udp 14550  # 5760/5770/5780, sysid 1..3\n"
            "  ARDUPILOT_SITL=~/ardupilot/build/sitl/bin/arducopter dronepatrol sim --sitl"
        ),
        formatter_class=HelpFormatter,
    )
    add_config_args(p)
    p.add_argument("--home", metavar="LAT,LON[,ALT]", help="start position (ALT is AMSL metres)")
    p.add_argument("--speedup", type=float, metavar="N", help="simulated time runs N x wall time")
    p.add_argument("--port", type=int, metavar="PORT", help="TCP port (0 = any free port)")
    p.add_argument(
        "--udp",
        type=int,
        metavar="PORT",
        dest="udp_port",
        help="also serve MAVLink on this UDP port",
    )
    p.add_argument("--sysid", type=int, metavar="ID", help="MAVLink system id")
    p.add_argument("--count", type=int, default=1, metavar="N", help="number of vehicles")
    p.add_argument("--loss", type=_probability, metavar="P", help="packet loss probability")
    p.add_argument(
        "--duplicate",
        type=_probability,
        nargs="?",
        const=0.05,
        metavar="P",
        help="duplicate packets with probability P (0.05 when given without P)",
    )
    p.add_argument(
        "--reorder",
        type=_probability,
        nargs="?",
        const=0.05,
        metavar="P",
        help="hold packets back behind the next one with probability P (0.05 without P)",
    )
    p.add_argument("--latency-ms", type=float, metavar="MS", help="added one-way latency")
    p.add_argument("--ready-delay", type=float, metavar="S", help="simulated seconds until armable")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="ArduCopter parameter at boot, e.g. --param FS_GCS_ENABLE=1 (repeatable)",
    )
    p.add_argument(
        "--sitl",
        action="store_true",
        help="run the real ArduPilot SITL named by $ARDUPILOT_SITL (defaults: $ARDUPILOT_DEFAULTS)",
    )
    p.set_defaults(func=run)


def _parse_params(values: list[str]) -> dict[str, float]:
    from missions.errors import InputError

    out: dict[str, float] = {}
    for text in values:
        name, sep, value = text.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip().upper()] = float(value)
        except ValueError:
            raise InputError(f"--param {text!r}: expected NAME=NUMBER") from None
    return out


def run(args: argparse.Namespace) -> int:
    """Start the vehicles, print their URLs, wait for Ctrl-C, stop them cleanly."""
    from groundstation.cli import config_from_args
    from missions.errors import InputError

    if args.count < 1 or args.count > 50:
        raise InputError(f"--count must be within 1..50, got {args.count}")
    overrides = {
        "sim.speedup": args.speedup,
        "sim.port": args.port,
        "sim.udp_port": args.udp_port,
        "sim.sysid": args.sysid,
        "sim.ready_delay_s": args.ready_delay,
        "sim.faults.loss": args.loss,
        "sim.faults.duplicate": args.duplicate,
        "sim.faults.reorder": args.reorder,
        "sim.faults.latency_ms": args.latency_ms,
    }
    cfg = config_from_args(args, {k: v for k, v in overrides.items() if v is not None})
    settings = cfg.sim
    params = _parse_params(args.param)
    handles = []
    # SIGTERM stops as cleanly as Ctrl-C
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        if args.sitl:
            from sim.sitl import start_sitl

            home = None
            if args.home:
                from sim.runner import _home_point

                point = _home_point(args.home)
                home = (point.lat_deg, point.lon_deg, point.alt_m)
            else:
                home = (settings.home.lat_deg, settings.home.lon_deg, settings.home.alt_m)
            for _ in range(args.count):
                h = start_sitl(speedup=settings.speedup, home=home)
                handles.append(h)
                print(f"ArduPilot SITL instance {h.instance}: {h.url}", flush=True)
        else:
            from sim import start_sim

            for i in range(args.count):
                port = settings.port + 10 * i if settings.port else 0
                udp = settings.udp_port
                if udp:
                    udp += 10 * i
                h = start_sim(
                    settings,
                    port=port,
                    udp_port=udp,
                    sysid=min(255, settings.sysid + i),
                    home=args.home,
                    params=params,
                )
                handles.append(h)
                extra = f"  udp: {h.udp_url}" if h.udp_url else ""
                print(
                    f"vehicle sysid {h.sysid}: {h.url}{extra}  (speedup {h.speedup:g})", flush=True
                )
        print("Ctrl-C to stop", flush=True)
        while all(h.running for h in handles):
            time.sleep(0.5)
        print("error: a simulated vehicle stopped unexpectedly", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopping", flush=True)
        return 0
    finally:
        for h in handles:
            with contextlib.suppress(Exception):
                h.stop()
        signal.signal(signal.SIGTERM, previous)
