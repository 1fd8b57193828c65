"""``dronepatrol mission show FILE``: print any mission file (or plan folder) as a table.

The table code here is shared with ``dronepatrol mission download`` (:func:`print_item_list`), so
a list read from a file and a list read back from a vehicle look the same.
"""

from __future__ import annotations

import argparse
import math

TABLE_MIN_WIDTH = 120
"""Columns the item table is laid out for at least (also when piped), so rows do not wrap."""


SHOW_HEAD_ROWS = 1000
"""An item table longer than this shows its first rows and its last :data:`SHOW_TAIL_ROWS`."""
SHOW_TAIL_ROWS = 20


def _num(v: float, digits: int = 6) -> str:
    if not math.isfinite(v):
        return str(v)  # nan, inf, -inf: shown, never a crash
    if v == int(v) and abs(v) < 1e12:
        return str(int(v))
    return f"{v:.{digits}f}".rstrip("0").rstrip(".")


def count_text(kind: str, items: list) -> str:
    """How many items a list holds, saying which one is home in a mission list.

    A mission list's seq 0 is the home slot (ArduPilot convention: always sent and counted in
    MISSION_COUNT, but the vehicle keeps its own home there), so a 28-item mission is 27 items to
    fly, the number ``dronepatrol fly`` reports.

    Args:
        kind: ``"mission"``, ``"fence"`` or ``"rally"``.
        items: The list, seq 0 first.

    Returns:
        ``"28 items: home (seq 0) + 27"`` for a mission, ``"25 items"`` otherwise; a mission whose
        seq 0 is not a NAV_WAYPOINT (e.g. a lone fence or unknown command read from a file) is not
        called home: ``"1 item: seq 0 is an unknown command 5005, not home (...) + 0"``.
    """
    from missions.items import MAV_CMD_NAV_WAYPOINT, describe_command

    n = len(items)
    total = f"{n} item{'' if n == 1 else 's'}"
    if kind == "mission" and n:
        if items[0].command != MAV_CMD_NAV_WAYPOINT:
            # not a home slot: say what is there rather than call it home
            first = describe_command(items[0].command)
            return f"{total}: seq 0 is {first}, not home (a vehicle overwrites seq 0 with its home) + {n - 1}"
        return f"{total}: home (seq 0) + {n - 1}"
    return total


def items_table(items, title: str | None = None):
    """A rich Table of mission items: seq, frame, command name, params, lat/x, lon/y, alt/z, ac.

    Args:
        items: ``MissionItem`` list.
        title: Optional title above the table.
    """
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from missions.items import command_name, frame_name

    t = Table(title=escape(title) if title else None, box=box.SIMPLE, title_justify="left")
    for col in ("seq", "frame", "command", "p1", "p2", "p3", "p4", "lat/x", "lon/y", "alt/z", "ac"):
        t.add_column(col, justify="left" if col in ("frame", "command") else "right")
    rows = list(items)
    hidden = 0
    if len(rows) > SHOW_HEAD_ROWS + SHOW_TAIL_ROWS:
        hidden = len(rows) - SHOW_HEAD_ROWS - SHOW_TAIL_ROWS
        rows = rows[:SHOW_HEAD_ROWS] + [None] + rows[-SHOW_TAIL_ROWS:]
    for it in rows:
        if it is None:
            t.add_row("...", f"{hidden:,} items not shown", *[""] * 9)
            continue
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


def table_console():
    """The rich Console for item tables: stdout, at least :data:`TABLE_MIN_WIDTH` columns wide."""
    from rich.console import Console

    return Console(width=max(TABLE_MIN_WIDTH, Console().width))


def print_item_list(console, source: str, kind: str, items: list, note: str = "") -> None:
    """Print one item list as a table titled ``SOURCE KIND: COUNT[; NOTE]``.

    Args:
        console: From :func:`table_console`.
        source: Where the list comes from: a file (with its format) or a vehicle URL.
        kind: ``"mission"``, ``"fence"`` or ``"rally"``.
        items: The items, seq 0 first.
        note: Appended after the count (e.g. the planned home).
    """
    from rich.markup import escape

    title = f"{source} {kind}: {count_text(kind, items)}{'; ' + note if note else ''}"
    console.print(escape(title), soft_wrap=True, highlight=False)  # one line, however long
    console.print(items_table(items))


def run_show(args: argparse.Namespace) -> int:
    """Print the mission, fence and rally lists of a file (format detected from the content)."""
    from rich.markup import escape

    from missions.formats import read_mission_file
    from missions.plan_io import is_plan_dir, read_plan_dir

    console = table_console()
    kind = getattr(args, "type", "all") or "all"
    kinds = ["mission", "fence", "rally"] if kind == "all" else [kind]
    if is_plan_dir(args.file):
        pd = read_plan_dir(args.file)
        for i, mf in enumerate(pd.sorties, 1):
            if "mission" in kinds:
                print_item_list(console, f"sortie {i}: {mf.path}", "mission", mf.mission)
        if "fence" in kinds and pd.fence:
            print_item_list(console, str(args.file), "fence", pd.fence)
        if "rally" in kinds and pd.rally:
            print_item_list(console, str(args.file), "rally", pd.rally)
        return 0
    mf = read_mission_file(args.file)
    home = (
        f"planned home {mf.home.lat_deg:.7f}, {mf.home.lon_deg:.7f}, {mf.home.alt_m:g} m AMSL"
        if mf.home
        else ""
    )
    shown = 0
    for k in kinds:
        items = mf.items(k)
        if not items and kind == "all":
            continue
        note = home if k == "mission" else ""
        print_item_list(console, f"{args.file} [{mf.format}]", k, items, note)
        shown += 1
    if shown == 0:
        console.print(escape(f"{args.file} [{mf.format}]: no items"), soft_wrap=True)
    return 0
