"""``dronepatrol report``: a flight report from a recording, a tlog or a DataFlash log.

Writes one self-contained HTML page (figures and snapshots embedded, no external resource) or,
with ``--format json``, the same summary for machines. A cut or damaged input is reported as far
as it goes: what is missing is listed in the report and on stderr, and the exit status is 0 as
long as something could be reported. An input that is not a recording, tlog or DataFlash log is
a one-line error (exit status 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub, common: argparse.ArgumentParser) -> None:
    """Add the ``report`` subcommand."""
    from groundstation.cli import HelpFormatter, add_config_args

    p = sub.add_parser(
        "report",
        parents=[common],
        help="flight report (HTML or JSON) from a recording, a .tlog or a DataFlash .bin",
        description=(
            "Make a flight report: track over the district with the area the camera covered and "
            "the coverage %, alert markers and a gathering heat map, a timeline of mode, altitude "
            "and battery with alerts and reminders marked, tables of alerts (with snapshots) and "
            "reminders, and summary figures (flight time, distance, maximum distance from home, "
            "battery used, link losses). A plain ArduPilot .tlog or .bin gives the flight part."
        ),
        epilog=(
            "examples:\n"
            "  dronepatrol report recordings/20261129-101500            # -> .../report.html\n"
            "  dronepatrol report flight.tlog --district configs/districts/demo.geojson\n"
            "  dronepatrol report 00000042.BIN --out 42.html\n"
            "  dronepatrol report recordings/20261129-101500 --format json | jq .summary"
        ),
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "input",
        metavar="RECORDING|FILE.tlog|FILE.bin",
        help="a recording folder written by 'dronepatrol patrol', a MAVLink .tlog or an "
        "ArduPilot DataFlash .bin log (recognised by content)",
    )
    p.add_argument(
        "--out",
        metavar="FILE",
        default=argparse.SUPPRESS,  # the default depends on the input: see default_out
        help="output file, '-' for stdout (default: report.html inside a recording folder, "
        "NAME.report.html next to a log NAME.tlog or NAME.bin; stdout for --format json)",
    )
    p.add_argument("--format", choices=["html", "json"], default="html", help="output format")
    p.add_argument(
        "--district",
        metavar="FILE",
        default=None,
        help="district file (GeoJSON, KML, .plan geoFence...) for the coverage; default: the one "
        "recorded with the plan",
    )
    p.add_argument(
        "--link-lost",
        type=float,
        default=None,
        metavar="S",
        help="in a tlog, a vehicle silence longer than this is a link loss; default: "
        "connection.link_lost_s of the recorded config (5 s)",
    )
    add_config_args(p)
    p.set_defaults(func=run)


def default_out(input_path: Path, fmt: str) -> Path | None:
    """Where the report goes when ``--out`` is not given (None = stdout)."""
    if fmt == "json":
        return None
    if input_path.is_dir():
        return input_path / "report.html"
    if input_path.name == "manifest.json":
        return input_path.parent / "report.html"
    return input_path.with_name(input_path.stem + ".report.html")


def _status(text: str):
    """A spinner on stderr while a step runs, when stderr is a terminal (else nothing)."""
    import contextlib

    if not sys.stderr.isatty():
        return contextlib.nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(text)


def run(args: argparse.Namespace) -> int:
    """Build and write the report."""
    from groundstation.cli import config_from_args
    from groundstation.report import build_report
    from groundstation.report.html import render_html
    from missions.errors import InputError

    src = Path(args.input)
    explicit_config = bool(getattr(args, "config", None) or getattr(args, "set_values", None))
    config = config_from_args(args) if explicit_config else None
    with _status(f"reading {src}"):
        report = build_report(
            src, district=args.district, config=config, link_lost_s=args.link_lost
        )
    for line in report.missing:
        print(f"warning: partial input: {line}", file=sys.stderr)
    if not len(report.flight.track) and not report.input.alerts and not report.flight.modes:
        raise InputError(f"{src}: nothing to report (no position, mode or alert could be read)")
    if args.format == "json":
        text = json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"
    else:
        with _status("drawing the report"):
            text = render_html(report)
    given = getattr(args, "out", None)  # absent unless --out was given
    out = Path(given) if given and given != "-" else None
    if out is None and given != "-":
        out = default_out(src, args.format)
    if out is None:
        sys.stdout.write(text)
        return 0
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        raise InputError(f"{out}: cannot write the report: {exc.strerror or exc}") from None
    s = report.summary
    cov = s.get("coverage")
    bits = [f"{s['alerts']['count']} alerts", f"{s['broadcasts']['count']} reminders"]
    if cov:
        bits.insert(0, f"coverage {cov['coverage_pct']:.1f} %")
    partial = " (partial input)" if report.missing else ""
    print(f"wrote {out}{partial}: " + ", ".join(bits))
    return 0
