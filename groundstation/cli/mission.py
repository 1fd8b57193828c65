"""``dronepatrol mission show|upload|download|clear``: mission files and mission transfer.

``show`` (any mission file as a table) is implemented in ``groundstation.cli.mission_show``;
``upload``/``download``/``clear`` (MAVLink mission protocol against a vehicle) in
``groundstation.cli.mission_transfer``.
"""

from __future__ import annotations

import argparse


def register(sub, common: argparse.ArgumentParser) -> None:
    """Add the ``mission`` command and its four subcommands to ``sub``."""
    from groundstation.cli import HelpFormatter

    p = sub.add_parser(
        "mission",
        parents=[common],
        help="show a mission file; upload, download or clear a vehicle's mission/fence/rally",
        description="Show mission files, and transfer missions, fences and rally points.",
        epilog=(
            "examples:\n"
            "  dronepatrol mission show plan/sortie_1.waypoints\n"
            "  dronepatrol mission upload plan/sortie_1.waypoints --connect tcp:127.0.0.1:5760\n"
            "  dronepatrol mission download --connect tcp:127.0.0.1:5760 --type fence -o fence.waypoints\n"
            "  dronepatrol mission clear --connect tcp:127.0.0.1:5760 --type rally"
        ),
        formatter_class=HelpFormatter,
    )
    msub = p.add_subparsers(dest="mission_command", metavar="ACTION", required=True)

    show = msub.add_parser(
        "show",
        parents=[common],
        help="print a mission file (WPL 110/120, .plan, .mission) or a plan folder as tables",
        epilog="example:\n  dronepatrol mission show plan/sortie_1.waypoints",
        formatter_class=HelpFormatter,
    )
    show.add_argument(
        "file",
        help="mission file (the format is detected from the content) or a plan folder "
        "written by 'dronepatrol plan --out'",
    )
    show.add_argument(
        "--type",
        choices=["mission", "fence", "rally", "all"],
        default="all",
        help="which item list to show (a .plan file or a plan folder can hold all three)",
    )
    show.set_defaults(func=_run_show)

    def transfer_args(q: argparse.ArgumentParser) -> None:
        """Add the options every transfer subcommand takes (``--connect``, ``--type``...)."""
        from groundstation.cli import add_config_args

        q.add_argument(
            "--connect",
            required=True,
            metavar="URL",
            help="vehicle endpoint: tcp:HOST:PORT, udpin:HOST:PORT, udpout:HOST:PORT, "
            "/dev/ttyUSB0:57600, sim (start the embedded simulator) or sitl (start ArduPilot SITL from "
            "ARDUPILOT_SITL)",
        )
        q.add_argument(
            "--type",
            choices=["mission", "fence", "rally", "all"],
            default="mission",
            help="MAV_MISSION_TYPE to transfer (all = every list)",
        )
        q.add_argument(
            "--timeout",
            type=float,
            default=10.0,
            help="wait this long for a vehicle HEARTBEAT, seconds",
        )
        add_config_args(q)

    up = msub.add_parser(
        "upload",
        parents=[common],
        help="upload one mission file and verify it by downloading it back",
        description=(
            "Upload the --type list(s) of one mission file and verify them by downloading them "
            "back. A plan folder holds several sorties: upload one of its files, or fly the "
            "whole plan with 'dronepatrol fly PLAN_DIR'."
        ),
        epilog=(
            "examples:\n"
            "  dronepatrol mission upload plan/sortie_1.waypoints --connect tcp:127.0.0.1:5760\n"
            "  dronepatrol mission upload plan/fence.waypoints --connect tcp:127.0.0.1:5760 "
            "--type fence"
        ),
        formatter_class=HelpFormatter,
    )
    up.add_argument("file", help="one mission file (WPL, .plan, .mission), not a plan folder")
    transfer_args(up)
    up.add_argument(
        "--on-failure",
        choices=["clear", "keep"],
        default="clear",
        help="after a failed upload (the vehicle may hold a partial or mixed list, which the "
        "error reports): clear that list, or keep it",
    )
    up.set_defaults(func=_run_transfer)

    down = msub.add_parser(
        "download",
        parents=[common],
        help="download the vehicle's items and print them or write a file",
        epilog=(
            "example:\n"
            "  dronepatrol mission download --connect tcp:127.0.0.1:5760 -o onboard.waypoints"
        ),
        formatter_class=HelpFormatter,
    )
    down.add_argument(
        "-o", "--out", help="write to this file (.waypoints or .plan); default: print"
    )
    transfer_args(down)
    down.set_defaults(func=_run_transfer)

    clear = msub.add_parser(
        "clear",
        parents=[common],
        help="clear the vehicle's mission, fence or rally list",
        epilog="example:\n  dronepatrol mission clear --connect tcp:127.0.0.1:5760 --type fence",
        formatter_class=HelpFormatter,
    )
    transfer_args(clear)
    clear.set_defaults(func=_run_transfer)


def _run_show(args: argparse.Namespace) -> int:
    from groundstation.cli.mission_show import run_show

    return run_show(args)


def _run_transfer(args: argparse.Namespace) -> int:
    from groundstation.cli.mission_transfer import run_transfer

    return run_transfer(args)
