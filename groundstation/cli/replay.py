"""``dronepatrol replay``: serve the live overlay from a flight recording.

The officers' overlay page (video, map, alerts, status) plays the recording time-synchronised,
with play/pause, speed and a seek bar. It serves until Ctrl-C (or SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path


def register(sub, common: argparse.ArgumentParser) -> None:
    """Add the ``replay`` subcommand."""
    from groundstation.cli import HelpFormatter, add_config_args

    p = sub.add_parser(
        "replay",
        parents=[common],
        help="replay a recorded patrol in the overlay web page (video, map, alerts; pause/seek)",
        description=(
            "Serve the live overlay from a recording folder written by 'dronepatrol patrol': the "
            "annotated video, the vehicle on the map and the alerts appear when they happened, "
            "scaled by --speed. The page has play/pause, speed and a seek bar."
        ),
        epilog=(
            "examples:\n"
            "  dronepatrol replay recordings/20261129-101500\n"
            "  dronepatrol replay recordings/20261129-101500 --speed 8 --port 8081\n"
            "  dronepatrol replay recordings/20261129-101500 --host 0.0.0.0 --token s3cret-token\n"
            "  dronepatrol replay recordings/20261129-101500 --config configs/demo.yaml"
        ),
        formatter_class=HelpFormatter,
    )
    p.add_argument("recording", metavar="RECORDING", help="a recording folder")
    p.add_argument(
        "--speed",
        type=float,
        default=4.0,
        help="playback speed (recording seconds per second, <= 64)",
    )
    # no argparse default for --port/--host/--token: overlay.port/host/token of the config are
    # their defaults (SUPPRESS: the attribute is absent unless the flag is given)
    p.add_argument(
        "--port",
        type=int,
        default=argparse.SUPPRESS,
        metavar="P",
        help="TCP port of the page, 0 = any free port (default: overlay.port of the config, 8080)",
    )
    p.add_argument(
        "--host",
        default=argparse.SUPPRESS,
        metavar="H",
        help="address to serve on; any non-loopback address needs --token (default: "
        "overlay.host of the config, 127.0.0.1)",
    )
    p.add_argument(
        "--token",
        default=argparse.SUPPRESS,
        metavar="TOKEN",
        help="access token the page requires (officers open it with ?token=...); needed, of at "
        "least 8 characters, when --host is not a loopback address (default: "
        "overlay.token of the config, none)",
    )
    p.add_argument("--paused", action="store_true", help="start paused at the beginning")
    p.add_argument(
        "--start",
        type=float,
        default=0.0,
        metavar="S",
        help="start this many seconds into the recording",
    )
    add_config_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve the replay until interrupted."""
    from groundstation.cli import config_from_args
    from groundstation.overlay import OverlayHub, OverlayServer, check_bind
    from groundstation.replay import RecordingReplay, check_speed, load_timeline
    from missions.errors import DronePatrolError

    check_speed(args.speed)
    cfg = config_from_args(
        args,
        {
            "overlay.port": getattr(args, "port", None),
            "overlay.host": getattr(args, "host", None),
            "overlay.token": getattr(args, "token", None),
        },
    )
    host, port, token = cfg.overlay.host, cfg.overlay.port, cfg.overlay.token
    # name what the user set (the flag, or the config key a value came from) or should set
    check_bind(
        host,
        token,
        host_option="--host" if hasattr(args, "host") else "overlay.host",
        token_option="overlay.token" if token and not hasattr(args, "token") else "--token",
    )
    timeline = load_timeline(args.recording)
    hub = OverlayHub(title=f"dronepatrol replay · {timeline.name}", mode="replay")
    from groundstation.timezones import page_zone

    hub.timezone = page_zone(cfg.display.timezone)  # the page shows times in display.timezone
    hub.snapshot_root = Path(args.recording).resolve()
    replay = RecordingReplay(
        timeline, hub, speed=args.speed, paused=args.paused, start_s=args.start
    )
    from groundstation.overlay.access_log import ACCESS_LOG_NAME, AccessLog

    # views of a replayed recording's snapshots go to the log beside that recording
    server = OverlayServer(
        hub,
        host=host,
        port=port,
        token=token,
        bind_hint="use --port P, 0 = any free port",
        access_log=AccessLog(
            Path(args.recording).resolve().parent / ACCESS_LOG_NAME, source=timeline.name
        ),
    )
    stop = threading.Event()

    def on_signal(signum, _frame):
        """SIGINT/SIGTERM handler: ask the main loop to stop the replay."""
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        replay.start()
        length = timeline.end_s - timeline.start_s
        for line in timeline.missing:
            print(f"warning: partial recording: {line}", file=sys.stderr)
        n_frames = sum(len(f) for _, f in timeline.videos.values()) or len(timeline.frames)
        fleet = f", {len(timeline.videos)} vehicles" if timeline.videos else ""
        print(
            f"replaying {timeline.name} ({length:.0f} s{fleet}, {n_frames} video frames, "
            f"{len(timeline.alerts)} alerts) at {args.speed:g}x on {server.url}",
            flush=True,
        )
        print("press Ctrl-C to stop", flush=True)
        while not stop.wait(0.5):
            if not replay.running:
                raise DronePatrolError(f"replay stopped: {replay.error or 'feeder ended'}")
    finally:
        replay.stop()
        server.stop()
        for s, h in old.items():
            signal.signal(s, h)
    print("stopped", file=sys.stderr)
    return 0
