"""Mission files: QGC WPL 110/120, QGroundControl ``.plan`` and legacy ``.mission``.

Read any of them with :func:`read_mission_file` (the format is detected from the content, never
from the extension); write with :func:`write_wpl` and :func:`write_plan`. A read-then-write round
trip in the same format keeps every frame, command and parameter exactly.

Example:
    >>> mf = read_mission_file("plan/sortie_1.waypoints")      # doctest: +SKIP
    >>> mf.format, len(mf.mission), mf.home                    # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

from missions.errors import MissionFileError
from missions.formats.mission_file import FORMATS, MissionFile
from missions.formats.qgc_json import is_qgc_json, parse_qgc_json, plan_dict, write_plan
from missions.formats.wpl import format_wpl, is_wpl, parse_wpl, write_wpl
from missions.textio import loads_json, read_text

__all__ = [
    "FORMATS",
    "MissionFile",
    "format_wpl",
    "parse_mission_text",
    "plan_dict",
    "read_mission_file",
    "write_plan",
    "write_plan_outputs",
    "write_wpl",
]


def parse_mission_text(text: str, where: str = "<text>") -> MissionFile:
    """Parse mission-file text of any supported format (detected from the content).

    Raises:
        MissionFileError: The text is neither WPL nor QGroundControl JSON, or is malformed.
    """
    stripped = text.lstrip("\ufeff \t\n")
    if is_wpl(text):
        return parse_wpl(text, where)
    if stripped.startswith("{"):
        data = loads_json(text, where, MissionFileError)
        if is_qgc_json(data):
            return parse_qgc_json(data, where)
        if isinstance(data, dict) and data.get("type") in (
            "FeatureCollection",
            "Feature",
            "Polygon",
            "MultiPolygon",
        ):
            raise MissionFileError(
                f"{where}: is a GeoJSON area, not a mission file; plan it with 'dronepatrol plan'"
            )
        raise MissionFileError(f"{where}: JSON but not a QGroundControl .plan or .mission file")
    first = stripped.split("\n", 1)[0][:40]
    raise MissionFileError(
        f"{where}: not a mission file (expected a 'QGC WPL 110' header or QGroundControl JSON), "
        f"starts with {first!r}"
    )


def read_mission_file(path: str | os.PathLike) -> MissionFile:
    """Read a mission file: WPL 110/120, ``.plan`` or legacy ``.mission``.

    Args:
        path: The file. Its extension is ignored; the format comes from the content.

    Returns:
        A :class:`MissionFile` (``.mission`` with seq 0 = home, ``.fence``, ``.rally``,
        ``.home``, ``.format``).

    Raises:
        MissionFileError: Missing, unreadable or malformed file; the message names file and line.
    """
    return parse_mission_text(read_text(path, MissionFileError), str(Path(path)))


def write_plan_outputs(plan, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write every output of a patrol plan into a folder (see :mod:`missions.plan_io`)."""
    from missions.plan_io import write_plan_outputs as _write

    return _write(plan, out_dir)
