"""QGroundControl JSON files: ``.plan`` (mission + geoFence + rallyPoints) and the legacy ``.mission``.

Sources (QGroundControl ``src/MissionManager``): ``MissionController::_loadJsonMissionFileV1/V2``,
``MissionItem::load/_convertJsonV1ToV2``, ``GeoFenceController::load/save``,
``QGCFencePolygon``/``QGCFenceCircle``, ``RallyPointController``. Formats accepted:

* ``.plan`` (``"fileType": "Plan"``): ``mission.items`` of ``SimpleItem`` (``params`` with 7 values,
  ``null`` for NaN; or older 4 ``params`` + ``coordinate``) and ``ComplexItem`` survey/corridor
  items whose generated items are stored in ``TransectStyleComplexItem.Items``;
  ``mission.plannedHomePosition`` ``[lat, lon, alt AMSL]``; ``geoFence`` version 2 (``polygons``
  with ``inclusion``, ``circles``, ``breachReturn``) or version 1 (one inclusion ``polygon``);
  ``rallyPoints.points`` ``[[lat, lon, alt], ...]``.
* legacy ``.mission``: version ``"1.0"`` with ``items`` of ``missionItem`` (``param1``..``param4``
  + ``coordinate``) and a ``plannedHomePosition`` item object, or ``"fileType": "Mission"`` with a
  ``plannedHomePosition`` coordinate array.
* the old separate ``"fileType": "GeoFence"`` and ``"RallyPoints"`` files.

DO_JUMP targets are stored as ``doJumpId`` values in ``.plan`` files and mapped back to sequence
numbers on load, as QGroundControl does. The writer produces ``.plan`` files QGroundControl opens.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from missions.errors import MissionFileError
from missions.formats.mission_file import MissionFile, home_item
from missions.items import (
    MAV_CMD_DO_JUMP,
    MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
    MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
    MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
    MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
    MAV_CMD_NAV_FENCE_RETURN_POINT,
    MAV_CMD_NAV_RALLY_POINT,
    MAV_FRAME_GLOBAL,
    MAV_FRAME_GLOBAL_RELATIVE_ALT,
    MAV_FRAME_GLOBAL_TERRAIN_ALT,
    MAV_MISSION_TYPE_FENCE,
    MAV_MISSION_TYPE_MISSION,
    MAV_MISSION_TYPE_RALLY,
    MissionItem,
)
from missions.settings import GeoPoint
from missions.textio import loads_json, read_text

MAV_AUTOPILOT_ARDUPILOTMEGA = 3
MAV_TYPE_QUADROTOR = 2

# QGroundControlQmlGlobal::AltMode
_ALT_MODE = {MAV_FRAME_GLOBAL_RELATIVE_ALT: 1, MAV_FRAME_GLOBAL: 2, MAV_FRAME_GLOBAL_TERRAIN_ALT: 4}


def is_qgc_json(data: Any) -> bool:
    """True when parsed JSON looks like a QGroundControl plan, mission, fence or rally file."""
    if not isinstance(data, dict):
        return False
    if data.get("fileType") in ("Plan", "Mission", "GeoFence", "RallyPoints"):
        return True
    return "mission" in data or ("items" in data and "plannedHomePosition" in data)


def parse_qgc_json(data: Any, where: str = "<json>") -> MissionFile:
    """Convert parsed QGroundControl JSON to a :class:`MissionFile`.

    Args:
        data: The parsed JSON root object.
        where: File name used in messages.

    Raises:
        MissionFileError: The structure is not a QGroundControl file or an item is malformed;
            the message names the file and the item.
    """
    path = Path(where) if not where.startswith("<") else None
    if not isinstance(data, dict):
        raise MissionFileError(f"{where}: expected a JSON object at the top level")
    file_type = data.get("fileType")
    if file_type == "GeoFence":
        fence, _ = _fence_from_json(data, f"{where}: geoFence")
        return MissionFile(path, "plan", fence=fence)
    if file_type == "RallyPoints":
        return MissionFile(path, "plan", rally=_rally_from_json(data, f"{where}: rallyPoints"))
    if "mission" in data or file_type == "Plan":
        mission_json = data.get("mission")
        if not isinstance(mission_json, dict):
            raise MissionFileError(f"{where}: a .plan file needs a 'mission' object")
        home, mission = _mission_from_json(mission_json, f"{where}: mission")
        fence: list[MissionItem] = []
        if data.get("geoFence") is not None:
            fence, _ = _fence_from_json(data["geoFence"], f"{where}: geoFence")
        rally: list[MissionItem] = []
        if data.get("rallyPoints") is not None:
            rally = _rally_from_json(data["rallyPoints"], f"{where}: rallyPoints")
        return MissionFile(path, "plan", mission=mission, fence=fence, rally=rally, home=home)
    if "items" in data:
        home, mission = _mission_from_json(data, where)
        return MissionFile(path, "mission", mission=mission, home=home)
    raise MissionFileError(f"{where}: not a QGroundControl plan or mission file")


def read_qgc_json(path: str | os.PathLike) -> MissionFile:
    """Read a ``.plan`` or legacy ``.mission`` file (see :func:`parse_qgc_json`)."""
    where = str(path)
    return parse_qgc_json(
        loads_json(read_text(path, MissionFileError), where, MissionFileError), where
    )


# --- mission -------------------------------------------------------------------------------------


def _mission_from_json(obj: dict, where: str) -> tuple[GeoPoint | None, list[MissionItem]]:
    home = _home_from_json(obj.get("plannedHomePosition"), where)
    raw_items = obj.get("items")
    if not isinstance(raw_items, list):
        raise MissionFileError(f"{where}: 'items' must be a list")
    items: list[MissionItem] = [home_item(home)]
    jump_ids: dict[int, int] = {}
    for i, raw in enumerate(raw_items):
        iw = f"{where}: item {i}"
        if not isinstance(raw, dict):
            raise MissionFileError(f"{iw}: expected an object")
        kind = raw.get("type")
        if kind == "ComplexItem":
            style = raw.get("TransectStyleComplexItem")
            sub = style.get("Items") if isinstance(style, dict) else None
            if not isinstance(sub, list):
                raise MissionFileError(
                    f"{iw}: complex item '{raw.get('complexItemType')}' stores no mission items; "
                    "open the file in QGroundControl and export it as .waypoints"
                )
            for k, sub_raw in enumerate(sub):
                it, jump_id = _simple_item(sub_raw, f"{iw} (complex item {k})", len(items))
                if jump_id is not None:
                    jump_ids.setdefault(jump_id, it.seq)
                items.append(it)
            continue
        it, jump_id = _simple_item(raw, iw, len(items))
        if jump_id is not None:
            jump_ids.setdefault(jump_id, it.seq)
        items.append(it)
    # DO_JUMP param1 holds the doJumpId of its target in .plan files.
    if jump_ids:
        fixed = []
        for it in items:
            if it.command == MAV_CMD_DO_JUMP and it.seq > 0:
                target = int(it.param1)
                if target not in jump_ids:
                    raise MissionFileError(
                        f"{where}: DO_JUMP at seq {it.seq}: no item has doJumpId {target}"
                    )
                it = MissionItem(**{**it.to_dict(), "param1": float(jump_ids[target])})
            fixed.append(it)
        items = fixed
    return home, items


def _simple_item(raw: Any, where: str, seq: int) -> tuple[MissionItem, int | None]:
    if not isinstance(raw, dict):
        raise MissionFileError(f"{where}: expected an object")
    kind = raw.get("type")
    if kind not in ("SimpleItem", "missionItem", "MissionItem"):
        raise MissionFileError(f"{where}: unknown item type {kind!r}")
    frame = _int(raw.get("frame"), f"{where}: frame")
    command = _int(raw.get("command"), f"{where}: command")
    if "params" in raw:
        params = raw["params"]
        if not isinstance(params, list):
            raise MissionFileError(f"{where}: 'params' must be a list")
        params = list(params)
    else:
        params = [raw.get(f"param{k}") for k in range(1, 5)]
    if len(params) == 4:
        coord = raw.get("coordinate")
        if not isinstance(coord, list) or len(coord) < 3:
            raise MissionFileError(f"{where}: needs 'coordinate' [lat, lon, alt] with 4 params")
        params = params + list(coord[:3])
    if len(params) != 7:
        raise MissionFileError(f"{where}: 'params' must hold 7 values, got {len(params)}")
    values = [_float(v, f"{where}: param{k + 1}") for k, v in enumerate(params)]
    auto = raw.get("autoContinue", True)
    jump_id = raw.get("doJumpId", raw.get("id"))
    item = MissionItem(
        seq=seq,
        frame=frame,
        command=command,
        current=0,
        autocontinue=1 if auto else 0,
        param1=values[0],
        param2=values[1],
        param3=values[2],
        param4=values[3],
        x=values[4],
        y=values[5],
        z=values[6],
        mission_type=MAV_MISSION_TYPE_MISSION,
    )
    return item, (int(jump_id) if isinstance(jump_id, (int, float)) else None)


def _home_from_json(raw: Any, where: str) -> GeoPoint | None:
    if raw is None:
        return None
    if isinstance(raw, dict):  # legacy .mission: a whole item
        coord = raw.get("coordinate")
    else:
        coord = raw
    if not isinstance(coord, list) or len(coord) < 2:
        raise MissionFileError(f"{where}: plannedHomePosition must be [lat, lon, alt]")
    lat, lon = _float(coord[0], f"{where}: home lat"), _float(coord[1], f"{where}: home lon")
    alt = _float(coord[2], f"{where}: home alt") if len(coord) > 2 else 0.0
    if lat == 0 and lon == 0:
        return None
    try:
        return GeoPoint(lat_deg=lat, lon_deg=lon, alt_m=0.0 if math.isnan(alt) else alt)
    except ValueError:
        raise MissionFileError(
            f"{where}: plannedHomePosition {lat}, {lon} is out of range"
        ) from None


# --- fence and rally ---------------------------------------------------------------------------------


def _fence_from_json(obj: Any, where: str) -> tuple[list[MissionItem], tuple | None]:
    if not isinstance(obj, dict):
        raise MissionFileError(f"{where}: expected an object")
    items: list[MissionItem] = []

    def add(command: int, lat: float, lon: float, p1: float, z: float = 0.0) -> None:
        """Append one fence item (next seq, MAV_FRAME_GLOBAL) of ``command``."""
        items.append(
            MissionItem(
                seq=len(items),
                frame=MAV_FRAME_GLOBAL,
                command=command,
                param1=float(p1),
                x=lat,
                y=lon,
                z=z,
                mission_type=MAV_MISSION_TYPE_FENCE,
            )
        )

    version = obj.get("version", 1)
    if version == 1 or ("polygons" not in obj and "polygon" in obj):
        poly = obj.get("polygon") or []
        coords = [_latlon(v, f"{where}: polygon vertex {k}") for k, v in enumerate(poly)]
        for lat, lon in coords:
            add(MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION, lat, lon, len(coords))
    else:
        for i, pj in enumerate(obj.get("polygons") or []):
            pw = f"{where}: polygon {i}"
            if not isinstance(pj, dict) or not isinstance(pj.get("polygon"), list):
                raise MissionFileError(f"{pw}: expected an object with a 'polygon' list")
            coords = [_latlon(v, f"{pw}, vertex {k}") for k, v in enumerate(pj["polygon"])]
            cmd = (
                MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION
                if pj.get("inclusion", True)
                else MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION
            )
            for lat, lon in coords:
                add(cmd, lat, lon, len(coords))
        for i, cj in enumerate(obj.get("circles") or []):
            cw = f"{where}: circle {i}"
            circle = cj.get("circle") if isinstance(cj, dict) else None
            if not isinstance(circle, dict):
                raise MissionFileError(f"{cw}: expected an object with a 'circle'")
            lat, lon = _latlon(circle.get("center"), f"{cw} center")
            radius = _float(circle.get("radius"), f"{cw} radius")
            cmd = (
                MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION
                if cj.get("inclusion", True)
                else MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION
            )
            add(cmd, lat, lon, radius)
    ret = obj.get("breachReturn")
    if ret is not None:
        lat, lon = _latlon(ret, f"{where}: breachReturn")
        alt = _float(ret[2], f"{where}: breachReturn alt") if len(ret) > 2 else 0.0
        add(MAV_CMD_NAV_FENCE_RETURN_POINT, lat, lon, 0.0, alt)
        return items, (lat, lon, alt)
    return items, None


def _rally_from_json(obj: Any, where: str) -> list[MissionItem]:
    if not isinstance(obj, dict):
        raise MissionFileError(f"{where}: expected an object")
    items = []
    for i, pt in enumerate(obj.get("points") or []):
        lat, lon = _latlon(pt, f"{where}: point {i}")
        alt = _float(pt[2], f"{where}: point {i} alt") if len(pt) > 2 else 0.0
        items.append(
            MissionItem(
                seq=i,
                frame=MAV_FRAME_GLOBAL_RELATIVE_ALT,
                command=MAV_CMD_NAV_RALLY_POINT,
                x=lat,
                y=lon,
                z=alt,
                mission_type=MAV_MISSION_TYPE_RALLY,
            )
        )
    return items


# --- writing -----------------------------------------------------------------------------------------


def plan_dict(
    mission: list[MissionItem],
    fence: list[MissionItem] = (),
    rally: list[MissionItem] = (),
    home: GeoPoint | None = None,
    *,
    cruise_speed_m_s: float = 15.0,
    hover_speed_m_s: float = 5.0,
) -> dict:
    """A QGroundControl ``.plan`` document (version 1, mission v2, geoFence v2, rallyPoints v2).

    Args:
        mission: Mission items with seq 0 = home (not written as an item: it becomes
            ``plannedHomePosition`` unless ``home`` is given).
        fence: Fence items in mission-protocol order (polygon vertices grouped, circles, return
            point).
        rally: Rally items.
        home: Planned home; default the seq-0 item of ``mission``.
        cruise_speed_m_s: ``mission.cruiseSpeed`` (fixed-wing default speed in QGroundControl).
        hover_speed_m_s: ``mission.hoverSpeed`` (multirotor default speed in QGroundControl).

    Raises:
        MissionFileError: The fence list is malformed (a polygon's vertex count does not match).
    """
    if home is not None:
        home_coord = [home.lat_deg, home.lon_deg, home.alt_m]
    elif mission:
        home_coord = [mission[0].x, mission[0].y, mission[0].z]
    else:
        home_coord = [0.0, 0.0, 0.0]
    body = (
        [it for it in mission if it.seq != 0] if mission and mission[0].seq == 0 else list(mission)
    )
    items_json = []
    for it in body:
        entry: dict[str, Any] = {}
        if it.xy_is_location and it.frame in _ALT_MODE:
            entry["AMSLAltAboveTerrain"] = None
            entry["Altitude"] = _json_num(it.z)
            entry["AltitudeMode"] = _ALT_MODE[it.frame]
        entry.update(
            {
                "autoContinue": bool(it.autocontinue),
                "command": int(it.command),
                "doJumpId": int(it.seq),
                "frame": int(it.frame),
                "params": [
                    _json_num(v)
                    for v in (it.param1, it.param2, it.param3, it.param4, it.x, it.y, it.z)
                ],
                "type": "SimpleItem",
            }
        )
        items_json.append(entry)
    return {
        "fileType": "Plan",
        "geoFence": _fence_to_json(list(fence)),
        "groundStation": "dronepatrol",
        "mission": {
            "cruiseSpeed": cruise_speed_m_s,
            "firmwareType": MAV_AUTOPILOT_ARDUPILOTMEGA,
            "hoverSpeed": hover_speed_m_s,
            "items": items_json,
            "plannedHomePosition": home_coord,
            "vehicleType": MAV_TYPE_QUADROTOR,
            "version": 2,
        },
        "rallyPoints": {"points": [[it.x, it.y, it.z] for it in rally], "version": 2},
        "version": 1,
    }


def write_plan(
    path: str | os.PathLike,
    mission: list[MissionItem],
    fence: list[MissionItem] = (),
    rally: list[MissionItem] = (),
    home: GeoPoint | None = None,
    **kwargs: float,
) -> Path:
    """Write a QGroundControl ``.plan`` file (see :func:`plan_dict` for the arguments).

    Returns:
        The path written.
    """
    p = Path(path)
    doc = plan_dict(mission, fence, rally, home, **kwargs)
    p.write_text(json.dumps(doc, indent=4, allow_nan=False) + "\n", encoding="utf-8")
    return p


def _fence_to_json(fence: list[MissionItem]) -> dict:
    polygons: list[dict] = []
    circles: list[dict] = []
    out: dict[str, Any] = {"circles": circles, "polygons": polygons, "version": 2}
    i = 0
    while i < len(fence):
        it = fence[i]
        if it.command in (
            MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
            MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
        ):
            count = int(it.param1)
            group = fence[i : i + count]
            if count < 3 or len(group) != count or any(g.command != it.command for g in group):
                raise MissionFileError(
                    f"fence item {it.seq}: polygon of {count} vertices is not followed by "
                    f"{count} vertex items of the same kind"
                )
            polygons.append(
                {
                    "fenceAction": 0,
                    "inclusion": it.command == MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
                    "polygon": [[g.x, g.y] for g in group],
                    "version": 1,
                }
            )
            i += count
            continue
        if it.command in (MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION, MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION):
            circles.append(
                {
                    "circle": {"center": [it.x, it.y], "radius": it.param1},
                    "inclusion": it.command == MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
                    "version": 1,
                }
            )
        elif it.command == MAV_CMD_NAV_FENCE_RETURN_POINT:
            out["breachReturn"] = [it.x, it.y, it.z]
        else:
            raise MissionFileError(
                f"fence item {it.seq}: command {it.command} is not a fence command"
            )
        i += 1
    return out


# --- small helpers -------------------------------------------------------------------------------------


def _json_num(v: float) -> float | int | None:
    v = float(v)
    if math.isnan(v):
        return None
    if math.isinf(v):
        raise MissionFileError("an infinite parameter cannot be written to a .plan file")
    return (
        int(v) if v == int(v) and abs(v) < 1e15 and not (v == 0 and math.copysign(1, v) < 0) else v
    )


def _float(v: Any, where: str) -> float:
    if v is None:
        return math.nan
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise MissionFileError(f"{where}: expected a number, got {v!r}")
    return float(v)


def _int(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v):
        raise MissionFileError(f"{where}: expected an integer, got {v!r}")
    return int(v)


def _latlon(v: Any, where: str) -> tuple[float, float]:
    if not isinstance(v, list) or len(v) < 2:
        raise MissionFileError(f"{where}: expected [lat, lon], got {v!r}")
    lat, lon = _float(v[0], where), _float(v[1], where)
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        raise MissionFileError(f"{where}: {lat}, {lon} is not a valid lat, lon")
    return lat, lon
