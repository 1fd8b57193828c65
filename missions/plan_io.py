"""A plan folder: every output of a :class:`~missions.planner.PatrolPlan`, and reading it back.

Layout written by :func:`write_plan_outputs` (``dronepatrol plan --out DIR``)::

    DIR/sortie_1.waypoints   QGC WPL 110 mission of sortie 1 (seq 0 home ... RTL); one per sortie
    DIR/sortie_1.plan        the same sortie as a QGroundControl .plan, with geoFence and rally
    DIR/fence.waypoints      fence list (mission_type FENCE) as WPL (when the fence is enabled)
    DIR/rally.waypoints      rally list (mission_type RALLY) as WPL (when rally points are set)
    DIR/route.geojson        sortie routes and waypoints
    DIR/area.geojson         district, no-fly zones, fence
    DIR/preview.png          picture of all of it
    DIR/plan.json            stats, home, sorties and the names of the files above

``plan.json`` (``"format": "dronepatrol-plan"``, ``"version": 1``) is the index a ground station
reads: :func:`read_plan_dir` returns the sorties' :class:`~missions.formats.MissionFile` objects
with fence and rally attached.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from missions.errors import MissionFileError
from missions.formats import MissionFile, read_mission_file, write_plan, write_wpl
from missions.formats.geojson_out import (
    area_feature_collection,
    route_feature_collection,
    write_geojson,
)
from missions.settings import GeoPoint

PLAN_JSON = "plan.json"
PLAN_FORMAT = "dronepatrol-plan"
PLAN_VERSION = 1


def write_plan_outputs(
    plan, out_dir: str | os.PathLike, *, preview: bool = True
) -> dict[str, Path]:
    """Write all files of a plan into ``out_dir`` (created if needed).

    Args:
        plan: The :class:`~missions.planner.PatrolPlan`.
        out_dir: Destination folder. Existing sortie files of an earlier, longer plan are removed
            so the folder never mixes two plans.
        preview: Also draw ``preview.png`` (matplotlib).

    Returns:
        Name → path: ``sortie_N.waypoints``, ``sortie_N.plan``, ``fence.waypoints``,
        ``rally.waypoints``, ``route.geojson``, ``area.geojson``, ``preview.png``, ``plan.json``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in list(out.glob("sortie_*.waypoints")) + list(out.glob("sortie_*.plan")):
        old.unlink()
    for name in ("fence.waypoints", "rally.waypoints"):
        (out / name).unlink(missing_ok=True)
    files: dict[str, Path] = {}
    sorties_json = []
    for s in plan.sorties:
        wpl = write_wpl(s.items, out / f"sortie_{s.index}.waypoints")
        qgc = write_plan(
            out / f"sortie_{s.index}.plan",
            s.items,
            plan.fence_items,
            plan.rally_items,
            plan.home,
            cruise_speed_m_s=plan.stats.speed_m_s,
            hover_speed_m_s=plan.stats.speed_m_s,
        )
        files[wpl.name] = wpl
        files[qgc.name] = qgc
        sorties_json.append(
            {
                "index": s.index,
                "waypoints_file": wpl.name,
                "plan_file": qgc.name,
                "items": len(s.items),
                "waypoints": len(s.waypoints_local),
                "transects": len(s.transects),
                "length_m": round(s.length_m, 1),
                "flight_time_s": round(s.flight_time_s, 1),
            }
        )
    if plan.fence_items:
        files["fence.waypoints"] = write_wpl(plan.fence_items, out / "fence.waypoints")
    if plan.rally_items:
        files["rally.waypoints"] = write_wpl(plan.rally_items, out / "rally.waypoints")
    files["route.geojson"] = write_geojson(route_feature_collection(plan), out / "route.geojson")
    files["area.geojson"] = write_geojson(area_feature_collection(plan), out / "area.geojson")
    if preview:
        from missions.formats.preview import write_preview

        files["preview.png"] = write_preview(plan, out / "preview.png")
    index = {
        "format": PLAN_FORMAT,
        "version": PLAN_VERSION,
        "area": {"name": plan.area.name, "source": str(plan.area.source)},
        "home": {
            "lat_deg": plan.home.lat_deg,
            "lon_deg": plan.home.lon_deg,
            "alt_m": plan.home.alt_m,
        },
        "stats": plan.stats.as_dict(),
        "sorties": sorties_json,
        "fence_file": "fence.waypoints" if plan.fence_items else None,
        "rally_file": "rally.waypoints" if plan.rally_items else None,
        "files": sorted(files),
        "warnings": list(plan.warnings),
    }
    if getattr(plan, "risk", None) is not None:
        index["risk"] = plan.risk
        index["risk_map"] = {"source": str(plan.risk_map.source), "file": "risk.geojson"}
        files["risk.geojson"] = write_geojson(plan.risk_map.to_geojson(), out / "risk.geojson")
        index["files"] = sorted(files)
    p = out / PLAN_JSON
    p.write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    files[PLAN_JSON] = p
    return files


@dataclass
class PlanDir:
    """A plan folder read back.

    Attributes:
        path: The folder.
        home: Home of the plan.
        sorties: One :class:`MissionFile` per sortie (mission items, with the plan's fence and
            rally lists attached), in flight order.
        fence: Fence items (empty if none).
        rally: Rally items (empty if none).
        stats: The ``stats`` object of plan.json.
        index: The whole plan.json.
    """

    path: Path
    home: GeoPoint
    sorties: list[MissionFile]
    fence: list = field(default_factory=list)
    rally: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    index: dict = field(default_factory=dict)


def is_plan_dir(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder holding a dronepatrol ``plan.json``."""
    p = Path(path)
    return p.is_dir() and (p / PLAN_JSON).is_file()


def read_plan_dir(path: str | os.PathLike) -> PlanDir:
    """Read a folder written by :func:`write_plan_outputs`.

    Raises:
        MissionFileError: No plan.json, a different format, or a missing/bad sortie file.
    """
    folder = Path(path)
    idx_path = folder / PLAN_JSON
    if not idx_path.is_file():
        raise MissionFileError(
            f"{folder}: not a plan folder (no {PLAN_JSON}); write one with 'dronepatrol plan --out'"
        )
    try:
        index = json.loads(idx_path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise MissionFileError(f"{idx_path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(index, dict) or index.get("format") != PLAN_FORMAT:
        raise MissionFileError(f"{idx_path}: not a dronepatrol plan index (format {PLAN_FORMAT!r})")
    fence = read_mission_file(folder / index["fence_file"]).fence if index.get("fence_file") else []
    rally = read_mission_file(folder / index["rally_file"]).rally if index.get("rally_file") else []
    sorties = []
    for entry in index.get("sorties", []):
        mf = read_mission_file(folder / entry["waypoints_file"])
        mf.fence, mf.rally = list(fence), list(rally)
        sorties.append(mf)
    h = index.get("home") or {}
    home = GeoPoint(
        lat_deg=h.get("lat_deg", 0.0), lon_deg=h.get("lon_deg", 0.0), alt_m=h.get("alt_m", 0.0)
    )
    return PlanDir(folder, home, sorties, fence, rally, index.get("stats", {}), index)
