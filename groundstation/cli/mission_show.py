"""``dronepatrol mission show FILE``: print any mission file (or plan folder) as a table."""

from __future__ import annotations

import argparse
import math


def _num(v: float, digits: int = 6) -> str:
    if math.isnan(v):
        return "nan"
    if v == int(v) and abs(v) < 1e12:
        return str(int(v))
    return f"{v:.{digits}f}".rstrip("0").rstrip(".")


def items_table(items, title: str):
    """A rich Table of mission items: seq, frame, command name, params, lat/x, lon/y, alt/z."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from missions.items import command_name, frame_name

    t = Table(title=escape(title), box=box.SIMPLE, title_justify="left")
    for col in ("seq", "frame", "command", "p1", "p2", "p3", "p4", "lat/x", "lon/y", "alt/z", "ac"):
        t.add_column(col, justify="left" if col in ("frame", "command") else "right")
    for it in items:
        loc = it.xy_is_location
        t.add_row(
            str(it.seq),
            frame_name(it.frame),
            command_name(it.command),
            *(_num(v, 4) for v in (it.param1, it.param2, it.param3, it.param4)),
            _num(it.x, 7 if loc else 4),
            _num(it.y, 7 if loc else 4),
            _num(it.z, 2),
            str(it.autocontinue),
        )
    return t


def run_show(args: argparse.Namespace) -> int:
    """Print the mission, fence and rally lists of a file (format detected from the content)."""
    from rich.console import Console

    from missions.formats import read_mission_file
    from missions.plan_io import is_plan_dir, read_plan_dir

    console = Console(width=max(120, Console().width))
    kind = getattr(args, "type", "all") or "all"
    kinds = ["mission", "fence", "rally"] if kind == "all" else [kind]
    if is_plan_dir(args.file):
        pd = read_plan_dir(args.file)
        for i, mf in enumerate(pd.sorties, 1):
            if "mission" in kinds:
                console.print(
                    items_table(mf.mission, f"sortie {i}: {mf.path} ({len(mf.mission)} items)")
                )
        if "fence" in kinds and pd.fence:
            console.print(items_table(pd.fence, f"fence ({len(pd.fence)} items)"))
        if "rally" in kinds and pd.rally:
            console.print(items_table(pd.rally, f"rally ({len(pd.rally)} items)"))
        return 0
    mf = read_mission_file(args.file)
    home = (
        f", home {mf.home.lat_deg:.7f}, {mf.home.lon_deg:.7f}, {mf.home.alt_m:g} m AMSL"
        if mf.home
        else ""
    )
    shown = 0
    for k in kinds:
        items = mf.items(k)
        if not items and kind == "all":
            continue
        console.print(
            items_table(
                items,
                f"{args.file} [{mf.format}] {k}: {len(items)} items{home if k == 'mission' else ''}",
            )
        )
        shown += 1
    if shown == 0:
        from rich.markup import escape

        console.print(escape(f"{args.file} [{mf.format}]: no items"))
    return 0
