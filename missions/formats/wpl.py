"""QGC WPL waypoint files (``.waypoints``, ``.txt``): the text format of Mission Planner and QGC.

Format (https://mavlink.io/en/file_formats/#mission_plain_text_file): a header line
``QGC WPL <version>``, then one item per line with 12 fields separated by tabs::

    seq  current  frame  command  param1  param2  param3  param4  x/lat  y/lon  z/alt  autocontinue

* ``QGC WPL 110`` (Mission Planner, ArduPilot): line 0 is the home position (MAV_FRAME_GLOBAL,
  altitude AMSL), the mission proper starts at seq 1.
* ``QGC WPL 120`` (old QGroundControl): there is no home line; QGroundControl adds one on load and
  shifts every DO_JUMP target by one (``MissionController::_loadTextMissionFile``). This module does
  the same, and undoes it when writing version 120.

The reader accepts what real files contain: tabs or runs of spaces, CRLF, a BOM, ``#`` comment
lines, blank lines, sequence gaps (renumbered in file order, with a warning) and commands it does not
know (kept as they are). Numbers are written in the shortest form that reads back to the same
float, so a read-then-write round trip keeps every frame, command and parameter exactly.
"""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import replace
from pathlib import Path

from missions.errors import MissionFileError
from missions.formats.mission_file import MissionFile, classify, home_item, with_type
from missions.items import (
    MAV_CMD_DO_JUMP,
    MAV_CMD_NAV_WAYPOINT,
    MAV_MISSION_TYPE_FENCE,
    MAV_MISSION_TYPE_MISSION,
    MAV_MISSION_TYPE_RALLY,
    MissionItem,
    describe_command,
)
from missions.settings import GeoPoint
from missions.textio import read_text

log = logging.getLogger(__name__)

HEADER_RE = re.compile(r"^QGC\s+WPL\s+(\d+)$", re.IGNORECASE)
"""The header line; its number is the file format version (110 or 120)."""

SUPPORTED_VERSIONS = (110, 120)

_FIELDS = (
    "seq",
    "current",
    "frame",
    "command",
    "param1",
    "param2",
    "param3",
    "param4",
    "x/lat",
    "y/lon",
    "z/alt",
    "autocontinue",
)
_INT_FIELDS = {0, 1, 2, 3, 11}


def is_wpl(text: str) -> bool:
    """True when the first line that is not blank or a ``#`` comment is a ``QGC WPL`` header."""
    for line in text.splitlines():
        s = line.strip().lstrip("\ufeff")
        if not s or s.startswith("#"):
            continue
        return " ".join(s.split()).upper().startswith("QGC WPL")
    return False


def parse_wpl(text: str, where: str = "<text>") -> MissionFile:
    """Parse the text of a WPL file.

    Args:
        text: File content (any newline style).
        where: File name used in messages.

    Returns:
        A :class:`MissionFile`. A file made only of fence (or rally) commands is returned as the
        fence (or rally) list, as MAVProxy and Mission Planner save them; otherwise it is a mission
        whose seq 0 is home.

    Raises:
        MissionFileError: No/unknown header, a line without 12 fields, or a field that is not a
            number; the message names the file and line.
    """
    version: int | None = None
    rows: list[tuple[int, MissionItem]] = []
    for lineno, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        line = raw.strip().lstrip("\ufeff").strip()
        if not line or line.startswith("#"):
            continue
        if version is None:
            m = HEADER_RE.match(" ".join(line.split()))
            if not m:
                raise MissionFileError(
                    f"{where}:{lineno}: expected the header 'QGC WPL 110' (or 120), got {line[:40]!r}"
                )
            version = int(m.group(1))
            if version not in SUPPORTED_VERSIONS:
                raise MissionFileError(
                    f"{where}:{lineno}: unsupported WPL version {version} (supported: 110, 120)"
                )
            continue
        rows.append((lineno, _parse_line(line, where, lineno)))
    if version is None:
        raise MissionFileError(f"{where}: empty file, expected a 'QGC WPL 110' header")

    warnings: list[str] = []
    items = [it for _, it in rows]
    mission_type = classify(items)
    first_seq = 0 if (version == 110 or mission_type != MAV_MISSION_TYPE_MISSION) else None
    expected = first_seq if first_seq is not None else (items[0].seq if items else 0)
    for lineno, it in rows:
        if it.seq != expected:
            what = "duplicate seq" if it.seq < expected else "sequence gap"
            msg = f"{where}:{lineno}: {what} (seq {it.seq} where {expected} was expected); items renumbered in file order"
            warnings.append(msg)
            log.warning("%s", msg)
            break
        expected += 1

    fmt = f"wpl{version}"
    path = Path(where) if where != "<text>" else None
    if mission_type == MAV_MISSION_TYPE_FENCE:
        return MissionFile(path, fmt, fence=with_type(items, mission_type), warnings=warnings)
    if mission_type == MAV_MISSION_TYPE_RALLY:
        return MissionFile(path, fmt, rally=with_type(items, mission_type), warnings=warnings)

    home: GeoPoint | None = None
    if version == 110:
        mission = with_type(items, MAV_MISSION_TYPE_MISSION)
        if mission and mission[0].command != MAV_CMD_NAV_WAYPOINT:
            # Mission Planner writes home as a NAV_WAYPOINT on line 0; anything else there is an
            # item the vehicle would overwrite with its own home (ArduPilot keeps home at seq 0)
            msg = (
                f"{where}:{rows[0][0]}: seq 0 is {describe_command(mission[0].command)}, not a "
                "home waypoint: a vehicle keeps its own home at seq 0, so this item would never be "
                "flown"
            )
            warnings.append(msg)
            log.warning("%s", msg)
        elif mission and mission[0].xy_is_location and mission[0].has_position:
            h = mission[0]
            try:
                home = GeoPoint(lat_deg=h.x, lon_deg=h.y, alt_m=h.z)
            except ValueError:
                home = None
    else:
        shifted = [
            replace(it, param1=it.param1 + 1) if it.command == MAV_CMD_DO_JUMP else it
            for it in items
        ]
        mission = with_type([home_item(None), *shifted], MAV_MISSION_TYPE_MISSION)
    return MissionFile(path, fmt, mission=mission, home=home, warnings=warnings)


def read_wpl(path: str | os.PathLike) -> MissionFile:
    """Read a WPL file (see :func:`parse_wpl`).

    Raises:
        MissionFileError: The file is missing, unreadable or malformed.
    """
    return parse_wpl(read_text(path, MissionFileError), str(path))


def _parse_line(line: str, where: str, lineno: int) -> MissionItem:
    fields = line.split()
    if len(fields) != 12:
        raise MissionFileError(
            f"{where}:{lineno}: expected 12 fields (seq current frame command param1..param4 "
            f"lat lon alt autocontinue), got {len(fields)}"
        )
    values: list[float | int] = []
    for k, tok in enumerate(fields):
        try:
            v = float(tok)
        except ValueError:
            raise MissionFileError(
                f"{where}:{lineno}: field {k + 1} ({_FIELDS[k]}) is not a number: {tok!r}"
            ) from None
        if k in _INT_FIELDS:
            if not math.isfinite(v) or v != int(v):
                raise MissionFileError(
                    f"{where}:{lineno}: field {k + 1} ({_FIELDS[k]}) must be an integer, got {tok!r}"
                )
            v = int(v)
        values.append(v)
    seq, current, frame, command, p1, p2, p3, p4, x, y, z, autocontinue = values
    if command < 0 or command > 65535:
        raise MissionFileError(f"{where}:{lineno}: command {command} is not a MAV_CMD (0..65535)")
    if frame < 0 or frame > 255:
        raise MissionFileError(f"{where}:{lineno}: frame {frame} is not a MAV_FRAME (0..255)")
    return MissionItem(
        seq=int(seq),
        frame=int(frame),
        command=int(command),
        current=int(current),
        autocontinue=int(autocontinue),
        param1=float(p1),
        param2=float(p2),
        param3=float(p3),
        param4=float(p4),
        x=float(x),
        y=float(y),
        z=float(z),
    )


def format_number(v: float) -> str:
    """Shortest text that reads back to exactly ``v`` (``0``, ``16``, ``41.7912345``, ``nan``)."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == int(v) and abs(v) < 1e15 and not (v == 0 and math.copysign(1.0, v) < 0):
        return str(int(v))
    return repr(v)


def format_wpl(items: list[MissionItem], version: int = 110) -> str:
    """WPL text for a list of items.

    Args:
        items: Mission items with seq 0 = home (version 110 writes them as they are), or a fence or
            rally list (written as is: seq 0 is its first item).
        version: 110 (default), or 120 to drop the seq-0 home of a mission and shift DO_JUMP
            targets back, as old QGroundControl files are.

    Returns:
        The file text, tab separated, one ``\\n``-terminated line per item.
    """
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"unsupported WPL version {version}")
    out_items = list(items)
    if version == 120 and out_items and classify(out_items) == MAV_MISSION_TYPE_MISSION:
        out_items = [
            replace(it, seq=i, param1=it.param1 - 1) if it.command == MAV_CMD_DO_JUMP
            else replace(it, seq=i)
            for i, it in enumerate(out_items[1:])
        ]  # fmt: skip
    lines = [f"QGC WPL {version}"]
    for it in out_items:
        fields = [
            str(int(it.seq)),
            str(int(it.current)),
            str(int(it.frame)),
            str(int(it.command)),
            *(format_number(v) for v in (it.param1, it.param2, it.param3, it.param4)),
            *(format_number(v) for v in (it.x, it.y, it.z)),
            str(int(it.autocontinue)),
        ]
        lines.append("\t".join(fields))
    return "\n".join(lines) + "\n"


def write_wpl(items: list[MissionItem], path: str | os.PathLike, version: int = 110) -> Path:
    """Write items as a QGC WPL file (see :func:`format_wpl`).

    Returns:
        The path written.
    """
    p = Path(path)
    p.write_text(format_wpl(items, version), encoding="utf-8", newline="\n")
    return p
