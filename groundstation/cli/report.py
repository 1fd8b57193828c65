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
            "battery used, link losses). A plain ArduPilot .tlog or .bin gives the flight part. "
            "Given a folder of recordings (or several recordings, or --since/--until), one report "
            "over all those patrols: alerts by day and by hour of day, an alert heat map with the "
            "part of the district no patrol covered, coverage per patrol and in total, reminders "
            "and patrols flown (recordings are indexed in archive.sqlite, each read once)."
        ),
        epilog=(
            "examples:\n"
            "  dronepatrol report recordings/20261129-101500            # -> .../report.html\n"
            "  dronepatrol report flight.tlog --district configs/districts/demo.geojson\n"
            "  dronepatrol report 00000042.BIN --out 42.html\n"
            "  dronepatrol report recordings/20261129-101500 --format json | jq .summary\n"
            "  dronepatrol report recordings --since 2026-11-01 --until 2026-11-30\n"
            "      # one report over every patrol in November -> recordings/patrols-report.html"
        ),
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "input",
        nargs="+",
        metavar="RECORDING|FILE.tlog|FILE.bin|DIR",
        help="a recording folder written by 'dronepatrol patrol', a MAVLink .tlog or an "
        "ArduPilot DataFlash .bin log (recognised by content); or several recordings / folders "
        "of recordings for one report over many patrols",
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
    from groundstation.cli.archive_args import add_period_args

    add_period_args(p)
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
    from groundstation.archive import is_recording
    from groundstation.cli import config_from_args
    from groundstation.report import build_report
    from groundstation.report.html import render_html
    from missions.errors import InputError

    inputs = [Path(x) for x in args.input]
    many = (
        len(inputs) > 1
        or (inputs[0].is_dir() and not is_recording(inputs[0]) and _holds_recordings(inputs[0]))
        or args.since is not None
        or args.until is not None
    )
    if many:
        return run_many(args, inputs)
    src = inputs[0]
    from groundstation.fleet_recording import is_fleet_recording

    if is_fleet_recording(src):
        return run_fleet(args, src)
    explicit_config = bool(getattr(args, "config", None) or getattr(args, "set_values", None))
    config = config_from_args(args) if explicit_config else None
    with _status(f"reading {src}"):
        report = build_report(
            src, district=args.district, config=config, link_lost_s=args.link_lost
        )
    from groundstation.timezones import display_zone

    # times on the page in display.timezone (the config given, else the machine's); JSON keeps UTC
    tz_cfg = config if config is not None else config_from_args(args)
    report.tz = display_zone(tz_cfg.display.timezone)
    for line in report.missing:
        print(f"warning: partial input: {line}", file=sys.stderr)
    if not len(report.flight.track) and not report.input.alerts and not report.flight.modes:
        raise InputError(f"{src}: nothing to report (no position, mode or alert could be read)")
    if args.format == "json":
        text = json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"
    else:
        with _status("drawing the report"):
            text = render_html(report)
    out = _emit(args, src, text)
    if out is None:
        return 0
    s = report.summary
    cov = s.get("coverage")
    bits = [f"{s['alerts']['count']} alerts", f"{s['broadcasts']['count']} reminders"]
    if cov:
        bits.insert(0, f"coverage {cov['coverage_pct']:.1f} %")
    partial = " (partial input)" if report.missing else ""
    print(f"wrote {out}{partial}: " + ", ".join(bits))
    return 0


def run_fleet(args: argparse.Namespace, src: Path) -> int:
    """The report of a fleet recording: every vehicle's track and flight time, the district
    covered by all, the merged alerts (``docs/fleet.md``)."""
    from groundstation.report.fleet import build_fleet_report, render_fleet_html

    with _status(f"reading {src}"):
        rep = build_fleet_report(src, district=args.district)
    if args.format == "json":
        text = json.dumps(rep.to_dict(), ensure_ascii=False, indent=2) + "\n"
    else:
        text = render_fleet_html(rep)
    out = _emit(args, src, text)
    if out is None:
        return 0
    cov = "" if rep.coverage_pct is None else f", district covered {rep.coverage_pct:.1f} %"
    print(f"wrote {out}: fleet of {len(rep.vehicles)}{cov}, {len(rep.alerts)} alerts")
    return 0


def run_many(args: argparse.Namespace, roots: list[Path]) -> int:
    """One report over the patrols under ``roots`` (indexed in the archive first)."""
    from groundstation.cli import config_from_args
    from groundstation.cli.archive_args import open_archive, parse_when
    from groundstation.report.multi import build_multi_report, render_multi_html
    from groundstation.timezones import display_zone
    from missions.errors import InputError

    cfg = config_from_args(args)
    tz = display_zone(cfg.display.timezone)
    since = parse_when(args.since, tz, end=False, flag="--since")
    until = parse_when(args.until, tz, end=True, flag="--until")
    if since is not None and until is not None and until <= since:
        raise InputError(f"--until {args.until} is not after --since {args.since}")
    for flag, value in (("--district", args.district), ("--link-lost", args.link_lost)):
        if value is not None:
            raise InputError(
                f"{flag} applies to a single recording or log; a report over several patrols "
                "uses the district recorded with each patrol"
            )
    for r in roots:
        if r.is_file():
            raise InputError(
                f"{r}: a report over several patrols takes recording folders (or folders of "
                "them), not log files"
            )
    with _status("indexing recordings"):
        arc, scan = open_archive(roots, args.index)
    try:
        for path, msg in scan.failed:
            print(f"warning: {path}: not indexed: {msg}", file=sys.stderr)
        patrols = arc.patrols(since=since, until=until, paths=roots, with_track=False)
    finally:
        arc.close()
    if not patrols:
        raise InputError(
            "no patrol in "
            + ", ".join(str(r) for r in roots)
            + (" in that period" if since is not None or until is not None else "")
        )
    rep = build_multi_report(
        patrols, since_s=since, until_s=until, tz=tz, tile_url=cfg.overlay.tile_url
    )
    if args.format == "json":
        text = json.dumps(rep.to_dict(), ensure_ascii=False, indent=2) + "\n"
    else:
        with _status("drawing the report"):
            text = render_multi_html(rep)
    given = getattr(args, "out", None)
    if given == "-" or (given is None and args.format == "json"):
        sys.stdout.write(text)
        return 0
    base = roots[0] if not is_dir_recording(roots[0]) else roots[0].parent
    out = Path(given) if given else base / "patrols-report.html"
    _write(out, text)
    tot = rep.to_dict()["totals"]
    print(
        f"wrote {out}: {tot['patrols']} patrols ({scan.read} read, {len(scan.unchanged)} "
        f"already indexed), {tot['alerts']} alerts, {tot['reminders']} reminders"
    )
    return 0


def _holds_recordings(p: Path) -> bool:
    """True when folder ``p`` has recording folders below it."""
    from groundstation.archive import find_recordings

    return bool(find_recordings([p]))


def is_dir_recording(p: Path) -> bool:
    """True when ``p`` is itself a recording folder."""
    from groundstation.archive import is_recording

    return is_recording(p)


def _emit(args, src, text: str) -> Path | None:
    """Write ``text`` to ``--out`` (default: beside ``src``, :func:`default_out`) or, with
    ``--out -``, to stdout; returns the file written, None for stdout."""
    given = getattr(args, "out", None)  # absent unless --out was given
    out = Path(given) if given and given != "-" else None
    if out is None and given != "-":
        out = default_out(src, args.format)
    if out is None:
        sys.stdout.write(text)
        return None
    _write(out, text)
    return out


def _write(out: Path, text: str) -> None:
    from missions.errors import InputError

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        raise InputError(f"{out}: cannot write the report: {exc.strerror or exc}") from None
