"""``dronepatrol export``: alerts, flown tracks and coverage for GIS tools.

GeoJSON, KML (Google Earth), GPX and CSV (alerts) from one recording or every recording under a
folder (indexed in the archive first), optionally limited to a period and to alert kinds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub, common: argparse.ArgumentParser) -> None:
    """Add the ``export`` subcommand."""
    from groundstation.cli import HelpFormatter, add_config_args
    from groundstation.cli.archive_args import add_period_args

    p = sub.add_parser(
        "export",
        parents=[common],
        help="export alerts, flown tracks and coverage as GeoJSON, KML, GPX or CSV",
        description=(
            "Export what patrols recorded for GIS tools (QGIS, ArcGIS, Google Earth): alerts as "
            "points with their properties, the flown track as a line (with times in GPX), and "
            "the covered area as a polygon (GeoJSON and KML). CSV holds the alerts, one row "
            "each, with a WKT point column. Coordinates WGS-84; times UTC, plus the display "
            "time zone's in a time_local property."
        ),
        epilog=(
            "examples:\n"
            "  dronepatrol export recordings/20261129-101500 --format kml --out patrol.kml\n"
            "  dronepatrol export recordings --format geojson --out november.geojson \\\n"
            "      --since 2026-11-01 --until 2026-11-30 --kind gathering\n"
            "  dronepatrol export recordings --format csv --out alerts.csv"
        ),
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "input",
        nargs="+",
        metavar="RECORDING_OR_DIR",
        help="a recording folder, or a folder of recordings",
    )
    p.add_argument(
        "--format",
        required=True,
        choices=["geojson", "kml", "gpx", "csv"],
        help="output format",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="output file ('-' for stdout)")
    p.add_argument(
        "--kind",
        action="append",
        default=[],
        metavar="KIND",
        help="only alerts of this kind (gathering, unmasked, mask_incorrect, link_lost...; "
        "repeatable)",
    )
    p.add_argument(
        "--district", default=None, metavar="NAME", help="only patrols over this district"
    )
    add_period_args(p)
    add_config_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Index, select and write the export."""
    from groundstation.archive.export import export_patrols
    from groundstation.cli import config_from_args
    from groundstation.cli.archive_args import open_archive, parse_when
    from groundstation.timezones import display_zone
    from missions.errors import InputError

    cfg = config_from_args(args)
    tz = display_zone(cfg.display.timezone)
    roots = [Path(x) for x in args.input]
    for r in roots:
        if not r.is_dir():
            raise InputError(f"{r}: no such folder (expected a recording or a folder of them)")
    since = parse_when(args.since, tz, end=False, flag="--since")
    until = parse_when(args.until, tz, end=True, flag="--until")
    arc, scan = open_archive(roots, args.index)
    try:
        for path, msg in scan.failed:
            print(f"warning: {path}: not indexed: {msg}", file=sys.stderr)
        patrols = arc.patrols(
            since=since,
            until=until,
            district=args.district,
            kinds=args.kind or None,
            paths=roots,
        )
    finally:
        arc.close()
    if not patrols:
        raise InputError(
            "nothing to export: no patrol matches (" + ", ".join(map(str, roots)) + ")"
        )
    out = None if args.out == "-" else Path(args.out)
    text = export_patrols(patrols, args.format, out, tz)
    if out is None:
        sys.stdout.write(text)
        return 0
    n_alerts = sum(1 for p in patrols for a in p.alerts if a.get("lat_deg") is not None)
    print(f"wrote {out}: {len(patrols)} patrols, {n_alerts} alerts ({args.format})")
    return 0
