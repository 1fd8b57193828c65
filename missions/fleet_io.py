"""A fleet plan folder: one plan folder per vehicle and a ``fleet.json`` index.

Layout written by :func:`write_fleet_outputs` (``dronepatrol plan --vehicles N --out DIR``)::

    DIR/fleet.json        index: "format": "dronepatrol-fleet", "version": 1, the summary
                          (per-vehicle flight time, imbalance, coverage, single-vehicle figures)
                          and per vehicle: index, home, transit_alt_m, flight time, sorties,
                          part_area (GeoJSON) and "plan_dir"
    DIR/vehicle_1/        the plan folder of vehicle 1 (index 0), exactly as ``dronepatrol plan``
                          writes for one vehicle (sortie_N.waypoints/.plan, fence, rally,
                          route.geojson, area.geojson, preview.png, plan.json)
    DIR/vehicle_2/ ...

Each vehicle folder is read by :func:`missions.plan_io.read_plan_dir`; :func:`read_fleet_dir`
reads them all.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from missions.errors import MissionFileError
from missions.plan_io import PlanDir, read_plan_dir, write_plan_outputs

FLEET_JSON = "fleet.json"
FLEET_FORMAT = "dronepatrol-fleet"


def vehicle_dir(index: int) -> str:
    """Folder name of vehicle ``index`` (0-based): ``vehicle_1`` for index 0."""
    return f"vehicle_{index + 1}"


def write_fleet_outputs(fleet, out_dir: str | os.PathLike, *, preview: bool = True) -> dict:
    """Write every vehicle's plan folder and ``fleet.json`` into ``out_dir``.

    Vehicle folders of an earlier, larger fleet are removed so the folder never mixes two plans.

    Returns:
        Name → path: ``fleet.json`` and each ``vehicle_K`` folder.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("vehicle_*"):
        if old.is_dir() and (old / "plan.json").is_file():
            shutil.rmtree(old)
    files: dict[str, Path] = {}
    doc = fleet.to_dict()
    for part, entry in zip(fleet.parts, doc["parts"], strict=True):
        name = vehicle_dir(part.index)
        write_plan_outputs(part.plan, out / name, preview=preview)
        entry["plan_dir"] = name
        files[name] = out / name
    p = out / FLEET_JSON
    p.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    files[FLEET_JSON] = p
    return files


def is_fleet_dir(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder holding a ``fleet.json``."""
    p = Path(path)
    return p.is_dir() and (p / FLEET_JSON).is_file()


def read_fleet_dir(path: str | os.PathLike) -> tuple[dict, list[PlanDir]]:
    """Read a folder written by :func:`write_fleet_outputs`.

    Returns:
        The ``fleet.json`` index and one :class:`~missions.plan_io.PlanDir` per vehicle, by index.

    Raises:
        MissionFileError: No fleet.json, a different format, or a bad vehicle folder.
    """
    folder = Path(path)
    idx = folder / FLEET_JSON
    if not idx.is_file():
        raise MissionFileError(
            f"{folder}: not a fleet plan folder (no {FLEET_JSON}); write one with "
            "'dronepatrol plan --vehicles N --out DIR'"
        )
    try:
        index = json.loads(idx.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise MissionFileError(f"{idx}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(index, dict) or index.get("format") != FLEET_FORMAT:
        raise MissionFileError(f"{idx}: not a dronepatrol fleet index (format {FLEET_FORMAT!r})")
    plans = [read_plan_dir(folder / p["plan_dir"]) for p in index.get("parts", [])]
    return index, plans
