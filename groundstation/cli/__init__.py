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
import os
import re
import select
import sys
from collections.abc import Sequence

from missions.errors import DronePatrolError

SUBCOMMAND_MODULES = (
    "patrol",
    "recordings",
    "plan",
    "risk",
    "mission",
    "fly",
    "sim",
    "detect",
    "say",
    "replay",
    "serve",
    "report",
    "export",
)
"""Modules of ``groundstation.cli`` that define a subcommand, in ``--help`` order."""

__version__ = "0.1.0"


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the examples in epilogs as written and shows each option's default once.

    argparse's ``ArgumentDefaultsHelpFormatter`` appends ``(default: %(default)s)`` to every
    option. That is left out when it would say nothing or say it twice: the help text already
    names its default (``default: the config's connection.url``), the default is None or
    ``SUPPRESS`` (the option is unset unless given), an empty list (repeatable options), or the
    option is a flag that takes no value (``store_true``, ``count``).
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        """The help of ``action``, with ``(default: ...)`` only where it adds information."""
        text = action.help or ""
        default = action.default
        if (
            "default" in text.lower()
            or default is None
            or default is argparse.SUPPRESS
            or (isinstance(default, (list, tuple, dict, set)) and not default)
            or action.nargs == 0
        ):
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return f"{text} (default: %(default)s)"
        return text


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
        ConfigError: Bad file, unknown key or invalid value. The message names where it came
            from: ``FILE:LINE`` for the file, ``--set KEY=VALUE`` for a ``--set``, and
            ``command-line option KEY=VALUE`` for a dedicated flag.
    """
    from groundstation.config import load_config, parse_override

    merged = {k: v for k, v in (overrides or {}).items() if v is not None}
    sources = {k: f"command-line option {k}={v!r}" for k, v in merged.items()}
    for text in getattr(args, "set_values", []) or []:
        key, value = parse_override(text)
        merged[key] = value
        sources[key] = f"--set {text}"
    return load_config(getattr(args, "config", None), merged, sources=sources)


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
    _accept_negative_values(parser)
    return parser


_NEGATIVE_VALUE = re.compile(r"^-\d[\d.,eE+-]*$")
"""``-27.3,151.3`` (a southern latitude), ``-5``, ``-1e3``: a value, never an option."""


def _accept_negative_values(parser: argparse.ArgumentParser) -> None:
    """Let option values start with a minus sign (``--home -27.3,151.3``) in every subparser.

    argparse takes only plain negative numbers for values; a southern or western coordinate
    pair was refused with "expected one argument". No option of ours looks like a number.
    """
    parser._negative_number_matcher = _NEGATIVE_VALUE
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _accept_negative_values(child)


BROKEN_PIPE_STATUS = 1
"""Exit status when stdout's reader went away (as the Python docs' "Note on SIGPIPE" and rich)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dronepatrol`` console script.

    Output piped into a reader that stops early (``dronepatrol mission show F | head``) ends the
    command quietly with status 1, as the Python docs' "Note on SIGPIPE" (signal module) advise:
    stdout is pointed at os.devnull so that the interpreter's final flush cannot fail again.
    SIGPIPE itself stays ignored (Python's default), so a vehicle's TCP socket closing still
    gives an error instead of killing the ground station.

    Returns:
        Process exit status: 0 success, 2 bad input, 1 other failure or stdout closed by its
        reader, 130 interrupted.
    """
    try:
        try:
            return _run_command(argv)
        finally:
            # Output still buffered (pipes are block-buffered) must fail here, not at exit.
            if sys.stdout is not None:
                sys.stdout.flush()
    except BrokenPipeError:
        if not _stdout_reader_gone():
            raise
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return BROKEN_PIPE_STATUS


def _stdout_reader_gone() -> bool:
    """True when the BrokenPipeError came from stdout: its pipe has no reader left.

    Polls stdout for POLLERR/POLLHUP, which Linux and the BSDs report on the write end of a
    pipe whose read end is closed. Where poll() is missing, any BrokenPipeError reaching the
    entry point is taken to be stdout's.
    """
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    if not hasattr(select, "poll"):
        return True
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


class _LogFormatter(logging.Formatter):
    """Log lines as the CLI's own: ``warning: ...`` / ``error: ...``; with ``-v`` or ``--debug``
    every line also names its level and logger (``INFO groundstation.link: ...``)."""

    def __init__(self, detailed: bool) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self.detailed = detailed

    def format(self, record: logging.LogRecord) -> str:
        """One line for ``record``."""
        if self.detailed:
            return super().format(record)
        text = f"{record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _run_command(argv: Sequence[str] | None) -> int:
    """Parse ``argv``, set up logging and run the subcommand (see :func:`main`)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    verbosity = getattr(args, "verbose", 0) or 0
    level = (
        logging.DEBUG if debug or verbosity >= 2 else logging.INFO if verbosity else logging.WARNING
    )
    handler = logging.StreamHandler()
    handler.setFormatter(_LogFormatter(detailed=level < logging.WARNING))
    logging.basicConfig(level=level, handlers=[handler])
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
