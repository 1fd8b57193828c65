"""``dronepatrol serve``: the officers' page as a service that outlives patrols.

It serves the alerts of every recording under ``--recordings`` (today's by default) and those of
patrols running meanwhile, which write them to ``alerts.sqlite`` beside their recordings; the
officers' acknowledgements are kept there too (``groundstation.serve``). Serves until Ctrl-C or
SIGTERM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
import threading
from pathlib import Path


def register(sub, common: argparse.ArgumentParser) -> None:
    """Add the ``serve`` subcommand."""
    from groundstation.cli import HelpFormatter, add_config_args

    p = sub.add_parser(
        "serve",
        parents=[common],
        help="serve the officers' page: alerts of recordings and running patrols, with answers",
        description=(
            "Serve the officers' page (alerts, map, answers) for every recording under "
            "--recordings and for patrols that run meanwhile with the same recording folder. "
            "Alerts and the officers' answers are kept in RECORDINGS/alerts.sqlite and survive "
            "restarts."
        ),
        epilog=(
            "examples:\n"
            "  dronepatrol serve\n"
            "  dronepatrol serve --recordings recordings --date 2026-12-07 --port 8090\n"
            "  dronepatrol serve --date all --host 0.0.0.0 --set overlay.officers.wang=harbour-7-wang\n"
            "  dronepatrol serve --host 0.0.0.0 --token blue-harbour-42 --set overlay.tls_cert=self-signed"
        ),
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--recordings",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="folder of recordings (default: recording.dir of the config, recordings)",
    )
    p.add_argument(
        "--date",
        default="today",
        metavar="YYYY-MM-DD",
        help="show alerts raised on this local day; 'today' or 'all'",
    )
    p.add_argument(
        "--port",
        type=int,
        default=argparse.SUPPRESS,
        metavar="P",
        help="TCP port, 0 = any free port (default: overlay.port of the config, 8080)",
    )
    p.add_argument(
        "--host",
        default=argparse.SUPPRESS,
        metavar="H",
        help="address to serve on; any non-loopback address needs --token or overlay.officers "
        "(default: overlay.host of the config, 127.0.0.1)",
    )
    p.add_argument(
        "--token",
        default=argparse.SUPPRESS,
        metavar="TOKEN",
        help="shared access token (default: overlay.token of the config, none)",
    )
    add_config_args(p)
    p.set_defaults(func=run)


def parse_day(text: str) -> dt.date | None:
    """``today``, ``all`` (None) or ``YYYY-MM-DD``.

    Raises:
        InputError: Anything else.
    """
    from missions.errors import InputError

    if text == "all":
        return None
    if text == "today":
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--date {text!r}: use YYYY-MM-DD, 'today' or 'all'") from None


def recording_folders(root: Path) -> list[Path]:
    """Recording folders under ``root`` (those with an ``alerts.jsonl`` or ``manifest.json``)."""
    return sorted(
        d
        for d in root.iterdir()
        if d.is_dir() and ((d / "alerts.jsonl").is_file() or (d / "manifest.json").is_file())
    )


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from groundstation.cli import config_from_args
    from groundstation.overlay import OverlayHub, OverlayServer, check_bind
    from groundstation.overlay.tls import resolve_tls
    from groundstation.serve import DB_NAME, AlertStore, StoreFollower
    from missions.errors import DronePatrolError, InputError

    day = parse_day(args.date)
    cfg = config_from_args(
        args,
        {
            "overlay.port": getattr(args, "port", None),
            "overlay.host": getattr(args, "host", None),
            "overlay.token": getattr(args, "token", None),
            "recording.dir": getattr(args, "recordings", None),
        },
    )
    ov = cfg.overlay
    check_bind(
        ov.host,
        ov.token,
        host_option="--host" if hasattr(args, "host") else "overlay.host",
        token_option="--token",
        officers=ov.officers,
    )
    root = Path(cfg.recording.dir)
    if not root.is_dir():
        raise InputError(f"--recordings {root}: no such folder")
    from groundstation.overlay.access_log import ACCESS_LOG_NAME, AccessLog
    from groundstation.retention import expired_warning

    warning = expired_warning(root, cfg.recording.retention_days)
    if warning:
        print(warning, file=sys.stderr)
    tls = resolve_tls(ov.tls_cert, ov.tls_key, folder=root / "tls", host=ov.host)
    store = AlertStore(root / DB_NAME)
    hub = OverlayHub(title="dronepatrol · officers", mode="serve")
    hub.attach_store(store)
    folders = recording_folders(root)
    imported = 0
    for folder in folders:
        try:
            imported += store.import_recording(folder)
        except DronePatrolError as exc:
            print(f"warning: {folder}: {exc}", file=sys.stderr)
    _set_map(hub, folders)
    follower = StoreFollower(store, hub, day=day)
    server = OverlayServer(
        hub,
        host=ov.host,
        port=ov.port,
        token=ov.token,
        officers=ov.officers,
        basemap=ov.basemap,
        tls=tls,
        bind_hint="use --port P, 0 = any free port",
        access_log=AccessLog(root / ACCESS_LOG_NAME, source="serve"),
    )
    stop = threading.Event()

    def on_signal(signum, _frame):
        """SIGINT/SIGTERM handler: ask the main loop to stop serving."""
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        follower.start()
        server.start()
        shown = len(hub.alerts())
        print(
            f"serving {shown} alert(s) ({'all days' if day is None else day.isoformat()}; "
            f"{len(folders)} recording(s), {imported} newly imported) from {store.path} "
            f"on {server.url}",
            flush=True,
        )
        print("press Ctrl-C to stop", flush=True)
        stop.wait()
    finally:
        follower.stop()
        server.stop()
        store.close()
        for s, h in old.items():
            signal.signal(s, h)
    print("stopped", file=sys.stderr)
    return 0


def _set_map(hub, folders: list[Path]) -> None:
    """The district, route and home of the newest recording that has a plan."""
    from groundstation.recording import Recording
    from groundstation.replay import _map_layers

    for folder in reversed(folders):
        try:
            layers = _map_layers(Recording.open(folder), folder)
        except Exception:  # a damaged recording: try the one before
            continue
        if layers.get("district"):
            hub.set_map(**layers)
            return
