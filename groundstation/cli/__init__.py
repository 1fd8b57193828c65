"""The ``dronepatrol`` command line.

Each subcommand lives in its own module of this package and exposes
``register(subparsers, common)`` which adds its parser (with an example in the epilog) and sets
``func`` to a ``run(args) -> int`` function. Heavy imports (torch, ultralytics, pymavlink links)
happen inside ``run`` so that ``--help`` stays fast.

Errors a user can cause are :class:`missions.errors.DronePatrolError`: printed as one line
``error: ...`` on stderr with a non-zero exit status, without a traceback unless ``--debug``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from missions.errors import DronePatrolError

SUBCOMMAND_MODULES = (
    "patrol",
    "plan",
    "mission",
    "fly",
    "sim",
    "detect",
    "say",
    "replay",
    "report",
)
"""Modules of ``groundstation.cli`` that define a subcommand, in ``--help`` order."""

__version__ = "0.1.0"


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the examples in epilogs as written and shows defaults."""


def common_parent() -> argparse.ArgumentParser:
    """Options every subcommand accepts (``--debug``, ``-v``)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks and debug logs",
    )
    parent.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="more log output (-vv for debug)",
    )
    return parent


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--config FILE`` and repeatable ``--set KEY=VALUE`` to a subcommand parser."""
    parser.add_argument(
        "--config", metavar="FILE", help="YAML config (see configs/default.yaml); default: built-in"
    )
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        dest="set_values",
        help="override one config value, e.g. --set survey.alt_m=40 (repeatable)",
    )


def config_from_args(args: argparse.Namespace, overrides: dict | None = None):
    """Load the config named by ``--config`` with ``--set`` values and flag ``overrides`` on top.

    Args:
        args: Parsed arguments of a parser given :func:`add_config_args`.
        overrides: Dotted keys to values from dedicated flags (None values are ignored).
            ``--set`` wins over dedicated flags, which win over the file.

    Returns:
        ``groundstation.config.Config``.

    Raises:
        ConfigError: Bad file, unknown key or invalid value.
    """
    from groundstation.config import load_config, parse_override

    merged = dict(overrides or {})
    for text in getattr(args, "set_values", []) or []:
        key, value = parse_override(text)
        merged[key] = value
    return load_config(getattr(args, "config", None), merged)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="dronepatrol",
        description=(
            "Drone patrol ground station: plan survey patrols over a district, fly them on an "
            "ArduPilot copter, detect gatherings and unmasked people, speak reminders, show a live "
            "overlay and report recorded flights."
        ),
        epilog=(
            "examples:\n"
            "  dronepatrol patrol --config configs/demo.yaml     # the whole job on the embedded sim\n"
            "  dronepatrol plan configs/districts/demo.geojson --alt 40 --out plan/\n"
            "  dronepatrol <command> --help                       # help and an example per command"
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"dronepatrol {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = common_parent()
    for name in SUBCOMMAND_MODULES:
        module = importlib.import_module(f"groundstation.cli.{name}")
        module.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dronepatrol`` console script.

    Returns:
        Process exit status: 0 success, 2 bad input, 1 other failure, 130 interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    verbosity = getattr(args, "verbose", 0) or 0
    level = (
        logging.DEBUG if debug or verbosity >= 2 else logging.INFO if verbosity else logging.WARNING
    )
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except DronePatrolError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        if debug:
            raise
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
