"""The layout of a fleet recording (``docs/fleet.md``): the one place that knows it.

A fleet recording is one recording folder whose ``vehicles/<sysid>/`` sub-folders are complete
single-vehicle recordings (``flight.tlog``, telemetry, events, raw alerts, video, plan,
manifest); its top level holds the merged alerts, the fleet's events, the reminders and the
whole district's plan. The fleet runner writes the vehicle folders with :func:`vehicle_folder`;
every reader (report, replay, archive, exports) finds them with :func:`fleet_vehicles`.

Nothing here reads more than directory entries: cheap enough for an archive scan.
"""

from __future__ import annotations

import os
from pathlib import Path

VEHICLES_DIR = "vehicles"
"""The sub-folder of a fleet recording that holds one recording per vehicle."""


def vehicle_folder(fleet_folder: str | os.PathLike, sysid: int) -> Path:
    """Where a fleet recording keeps vehicle ``sysid``'s recording: ``FLEET/vehicles/<sysid>``."""
    return Path(fleet_folder) / VEHICLES_DIR / str(int(sysid))


def vehicle_sysid(folder: str | os.PathLike) -> int | str:
    """The MAVLink system id a vehicle folder is named after (the name itself when not a number,
    a folder written by hand)."""
    name = Path(folder).name
    return int(name) if name.isdigit() else name


def fleet_vehicles(folder: str | os.PathLike) -> list[tuple[int | str, Path]]:
    """The vehicles of a fleet recording as ``(sysid, folder)``, by system id.

    A vehicle folder counts when it holds a ``manifest.json`` (the recorder writes it first).

    Args:
        folder: A recording folder (fleet or not; a missing folder gives []).

    Returns:
        ``[(sysid, Path)]``; [] for a single-vehicle recording.
    """
    root = Path(folder) / VEHICLES_DIR
    if not root.is_dir():
        return []
    subs = [p for p in root.iterdir() if p.is_dir() and (p / "manifest.json").is_file()]
    subs.sort(key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name))
    return [(vehicle_sysid(p), p) for p in subs]


def fleet_vehicle_folders(folder: str | os.PathLike) -> list[Path]:
    """The per-vehicle recordings of a fleet recording (``vehicles/<sysid>/``), by system id;
    empty for a single-vehicle recording."""
    return [p for _, p in fleet_vehicles(folder)]


def is_fleet_recording(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` is a fleet recording (it holds ``vehicles/<sysid>/`` recordings)."""
    return Path(folder).is_dir() and bool(fleet_vehicles(folder))
