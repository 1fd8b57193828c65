"""``dronepatrol patrol``: the main job — plan, fly, detect, speak, show and record a patrol."""

from __future__ import annotations

import argparse


def register(sub, common: argparse.ArgumentParser) -> None:
    """Add the ``patrol`` subcommand."""
    from groundstation.cli import HelpFormatter, add_config_args

    p = sub.add_parser(
        "patrol",
        parents=[common],
        help="fly a patrol over a district: detection, reminders, live overlay, recording",
        description=(
            "Plan the district of the config, connect to the vehicle (default: start the embedded "
            "simulator), upload and verify mission, fence and rally, take off and fly every "
            "sortie in AUTO. Meanwhile detect people and gatherings on the video, speak "
            "reminders on the loudspeaker, serve the live overlay for officers and record the "
            "flight. Ends when the last sortie has landed; Ctrl-C returns the vehicle to launch "
            "and closes the recording. See docs/patrol.md."
        ),
        epilog=(
            "examples:\n"
            "  dronepatrol patrol --config configs/demo.yaml\n"
            "  dronepatrol patrol --config configs/demo.yaml --speedup 10 --overlay-port 8090\n"
            "  dronepatrol patrol --config my.yaml --connect udpin:0.0.0.0:14550 --speedup 1 \\\n"
            "      --set detection.source=rtsp://192.168.144.25:8554/main\n"
            "  dronepatrol patrol --config configs/demo.yaml --alert-policy speak_only --no-overlay\n"
            "  dronepatrol patrol --config configs/demo.yaml --risk-map configs/districts/demo-risk.geojson\n"
            "  dronepatrol patrol --config configs/demo.yaml --set sim.udp_port=14550 \\\n"
            "      --remote-detection mqtt://127.0.0.1:1883   # docs/remote-detection.md"
        ),
        formatter_class=HelpFormatter,
    )
    add_config_args(p)
    p.add_argument(
        "--record-dir",
        metavar="DIR",
        default=None,
        help="parent folder of the flight recording (default: recording.dir, 'recordings')",
    )
    p.add_argument(
        "--name", metavar="NAME", default=None, help="suffix of the recording folder's name"
    )
    p.add_argument(
        "--speedup",
        type=float,
        metavar="N",
        default=None,
        help="embedded simulator speed-up (sim.speedup)",
    )
    p.add_argument(
        "--connect",
        metavar="URL",
        default=None,
        help="vehicle endpoint (tcp:HOST:PORT, udpin:HOST:PORT, udpout:HOST:PORT, "
        "/dev/ttyUSB0:57600), sim or sitl (ArduPilot SITL from ARDUPILOT_SITL) (connection.url)",
    )
    p.add_argument(
        "--no-overlay",
        action="store_true",
        help="do not serve the live overlay (overlay.enabled: false)",
    )
    p.add_argument(
        "--overlay-port",
        type=int,
        metavar="P",
        default=None,
        help="port of the live overlay (overlay.port; 0 picks a free one)",
    )
    p.add_argument(
        "--alert-policy",
        choices=["hover_and_speak", "speak_only", "log_only"],
        default=None,
        help="what the patrol does on an alert (policy.alert_policy)",
    )
    p.add_argument(
        "--risk-map",
        metavar="FILE",
        default=None,
        help="five-colour risk map: fly red first, tag alerts with their class (area.risk_map)",
    )
    p.add_argument(
        "--remote-detection",
        metavar="URL",
        default=None,
        help="take detections from a remote detector through this MQTT broker, "
        "mqtt://HOST[:PORT][/PREFIX] (detection.remote, docs/remote-detection.md)",
    )
    from groundstation.cli.fly import add_force_unsafe_arg

    add_force_unsafe_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the patrol; prints a summary.

    Returns:
        0 when every sortie landed, 130 after Ctrl-C (the vehicle was sent home).
    """
    from groundstation.cli import config_from_args
    from groundstation.patrol import Patrol
    from groundstation.preflight import check_value, parse_force

    check_value("--speedup", args.speedup, gt=0, le=1000)
    force = parse_force(args.force_unsafe)

    overrides = {
        "sim.speedup": args.speedup,
        "connection.url": args.connect,
        "overlay.port": args.overlay_port,
        "policy.alert_policy": args.alert_policy,
        "overlay.enabled": False if args.no_overlay else None,
        "area.risk_map": getattr(args, "risk_map", None),
        "detection.remote": args.remote_detection,
    }
    cfg = config_from_args(args, overrides)
    from groundstation.fleet import FleetPatrol, is_fleet

    kind = FleetPatrol if is_fleet(cfg) else Patrol  # fleet.count > 1: docs/fleet.md
    patrol = kind(cfg, record_dir=args.record_dir, name=args.name, force_unsafe=force)
    from groundstation.cli.plan import envelope_hook

    envelope_hook(cfg)
    summary = patrol.run()
    print(summary.format(), flush=True)
    return 130 if summary.end_reason == "interrupted" else 0
