"""``dronepatrol risk``: show the district's five-colour risk map and keep it current."""

from __future__ import annotations

import argparse
import getpass
import os

EPILOG = """\
examples:
  dronepatrol risk show configs/districts/demo-risk.geojson
  dronepatrol risk set risk.geojson --id H003 --risk white --by "officer Li"
  dronepatrol risk set risk.geojson --id B1 --risk 白        # Chinese class names work too

A risk map is GeoJSON: points or polygons with `risk` red/orange/yellow/green/white (红/橙/黄/绿/白)
and combat-map symbols with `kind` gate/checkpoint/exit (see docs/planning.md). `set` rewrites
the file with the new colour, who changed it (--by, default the login name) and when (UTC), and
appends the change to the feature's `risk_history`.
"""


def register(sub, common: argparse.ArgumentParser) -> None:
    """Add the ``risk`` subcommand (``show``, ``set``)."""
    from groundstation.cli import HelpFormatter

    p = sub.add_parser(
        "risk",
        parents=[common],
        help="show the five-colour risk map or change a household's colour",
        description="Show the district's five-colour risk map (五色装户图) or update it.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    actions = p.add_subparsers(dest="risk_action", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show", help="count features per class", formatter_class=HelpFormatter
    )
    show.add_argument("file", metavar="FILE", help="risk map (GeoJSON)")
    show.set_defaults(func=run_show)
    st = actions.add_parser(
        "set", help="change one feature's colour, recording who and when",
        formatter_class=HelpFormatter,
    )  # fmt: skip
    st.add_argument("file", metavar="FILE", help="risk map (GeoJSON), rewritten in place")
    st.add_argument("--id", required=True, help="the feature's id")
    st.add_argument(
        "--risk", required=True, help="new class: red/orange/yellow/green/white or 红/橙/黄/绿/白"
    )
    st.add_argument("--by", default=None, help="who made the change (default: the login name)")
    st.set_defaults(func=run_set)
    p.set_defaults(func=run_show)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "") or "unknown"


def run_set(args: argparse.Namespace) -> int:
    """Change the colour and print ``ID: old -> new (by, at)``."""
    from missions.risk import set_risk

    by = args.by if args.by is not None else _login()
    old, new = set_risk(args.file, args.id, args.risk, by=by)
    print(f"{args.id}: {old} -> {new} (by {by.strip()})")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print the number of features per class and the combat-map symbols."""
    from missions.risk import RISK_ZH, load_risk_map

    m = load_risk_map(args.file)
    for cls, n in m.counts().items():
        print(f"{cls:7s} {RISK_ZH[cls]}  {n}")
    for c in m.combat:
        print(f"{c.kind:10s} {c.id}  {c.name or ''}".rstrip())
    return 0
