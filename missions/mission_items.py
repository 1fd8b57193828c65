"""Mission, fence and rally item lists (MAVLink MISSION_ITEM_INT semantics) of a patrol.

Mission of one sortie (ArduPilot mission list, https://ardupilot.org/copter/docs/mission-command-list.html):

====  =====================  ===================  ==============================================
seq   command                frame                parameters
====  =====================  ===================  ==============================================
0     NAV_WAYPOINT (home)    GLOBAL (AMSL)        home placeholder; ArduPilot replaces it
1     NAV_TAKEOFF            GLOBAL_RELATIVE_ALT  z = take-off altitude (lat/lon = home)
2     DO_CHANGE_SPEED        GLOBAL_RELATIVE_ALT  param1 = 1 (ground speed), param2 = m/s,
                                                  param3 = -1 (throttle unchanged)
3..   NAV_WAYPOINT           GLOBAL_RELATIVE_ALT  lat, lon, z = survey altitude above home
last  NAV_RETURN_TO_LAUNCH   GLOBAL_RELATIVE_ALT  flies straight home and lands
====  =====================  ===================  ==============================================

Fence (mission_type FENCE, https://mavlink.io/en/services/mission.html#mission_types): one polygon
is sent as consecutive vertex items whose param1 is the polygon's vertex count (at most 255 in
ArduPilot); 5001 = inclusion, 5002 = exclusion, 5004 = exclusion circle (param1 = radius m),
5000 = return point. Rally (mission_type RALLY): 5100 per point, altitude above home.
"""

from __future__ import annotations

import numpy as np
from shapely.geometry import Polygon

from missions.formats.mission_file import home_item
from missions.items import (
    MAV_CMD_DO_CHANGE_SPEED,
    MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
    MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
    MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
    MAV_CMD_NAV_FENCE_RETURN_POINT,
    MAV_CMD_NAV_RALLY_POINT,
    MAV_CMD_NAV_RETURN_TO_LAUNCH,
    MAV_CMD_NAV_TAKEOFF,
    MAV_CMD_NAV_WAYPOINT,
    MAV_FRAME_GLOBAL,
    MAV_FRAME_GLOBAL_RELATIVE_ALT,
    MAV_MISSION_TYPE_FENCE,
    MAV_MISSION_TYPE_RALLY,
    MissionItem,
)

MAX_FENCE_VERTICES = 255
"""ArduPilot rejects a fence polygon with more vertices (MissionItemProtocol_Fence: param1 > 255)."""

SPEED_TYPE_GROUND = 1.0
"""DO_CHANGE_SPEED param1: 1 = ground speed (MAV_CMD_DO_CHANGE_SPEED, MAVLink common.xml)."""


def sortie_items(home, waypoints_latlon: np.ndarray, alt_m: float, takeoff_alt_m: float,
                 speed_m_s: float) -> list[MissionItem]:  # fmt: skip
    """Mission items of one sortie.

    Args:
        home: Home (``lat_deg``, ``lon_deg``, ``alt_m`` AMSL).
        waypoints_latlon: (N, 2) ``[lat, lon]`` of the NAV_WAYPOINTs in order.
        alt_m: Waypoint altitude above home, metres.
        takeoff_alt_m: NAV_TAKEOFF altitude, metres.
        speed_m_s: Ground speed set by DO_CHANGE_SPEED, m/s.

    Returns:
        Items seq 0..N+3 (see the module table).
    """
    rel = MAV_FRAME_GLOBAL_RELATIVE_ALT
    items = [
        home_item(home),
        MissionItem(seq=1, frame=rel, command=MAV_CMD_NAV_TAKEOFF, x=float(home.lat_deg),
                    y=float(home.lon_deg), z=float(takeoff_alt_m)),
        MissionItem(seq=2, frame=rel, command=MAV_CMD_DO_CHANGE_SPEED, param1=SPEED_TYPE_GROUND,
                    param2=float(speed_m_s), param3=-1.0),
    ]  # fmt: skip
    for lat, lon in np.asarray(waypoints_latlon, float).reshape(-1, 2):
        items.append(
            MissionItem(seq=len(items), frame=rel, command=MAV_CMD_NAV_WAYPOINT, x=float(lat),
                        y=float(lon), z=float(alt_m))
        )  # fmt: skip
    items.append(MissionItem(seq=len(items), frame=rel, command=MAV_CMD_NAV_RETURN_TO_LAUNCH))
    return items


def polygon_vertices(poly: Polygon) -> np.ndarray:
    """(N, 2) ``[lon, lat]`` exterior vertices of a (lon, lat) polygon, without the closing one."""
    return np.asarray(poly.exterior.coords)[:-1]


def fence_items(
    inclusion_geo: Polygon | None,
    exclusions_geo: list[Polygon] = (),
    circles: list[tuple[float, float, float]] = (),
    return_point: tuple[float, float, float] | None = None,
) -> list[MissionItem]:
    """Fence list: inclusion polygon, exclusion polygons, exclusion circles, return point.

    Args:
        inclusion_geo: Inclusion polygon (lon, lat), at most 255 vertices.
        exclusions_geo: Exclusion polygons (lon, lat), at most 255 vertices each.
        circles: Exclusion circles ``(lat, lon, radius_m)``.
        return_point: ``(lat, lon, alt_m)`` fence return point, if any.

    Raises:
        ValueError: A polygon has more than 255 vertices (simplify it first).
    """
    items: list[MissionItem] = []

    def add(cmd: int, lat: float, lon: float, p1: float, z: float = 0.0) -> None:
        """Append one fence item (next seq, MAV_FRAME_GLOBAL, param1 ``p1``, altitude ``z``)."""
        items.append(MissionItem(seq=len(items), frame=MAV_FRAME_GLOBAL, command=cmd,
                                 param1=float(p1), x=float(lat), y=float(lon), z=float(z),
                                 mission_type=MAV_MISSION_TYPE_FENCE))  # fmt: skip

    polys = [(MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION, inclusion_geo)] if inclusion_geo else []
    polys += [(MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION, p) for p in exclusions_geo]
    for cmd, poly in polys:
        v = polygon_vertices(poly)
        if len(v) > MAX_FENCE_VERTICES:
            raise ValueError(f"fence polygon has {len(v)} vertices; ArduPilot accepts at most 255")
        for lon, lat in v:
            add(cmd, lat, lon, len(v))
    for lat, lon, r in circles:
        add(MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION, lat, lon, r)
    if return_point is not None:
        lat, lon, alt = return_point
        add(MAV_CMD_NAV_FENCE_RETURN_POINT, lat, lon, 0.0, alt)
    return items


def rally_items(points) -> list[MissionItem]:
    """Rally list from points with ``lat_deg``, ``lon_deg``, ``alt_m`` (above home)."""
    return [
        MissionItem(seq=i, frame=MAV_FRAME_GLOBAL_RELATIVE_ALT, command=MAV_CMD_NAV_RALLY_POINT,
                    x=float(p.lat_deg), y=float(p.lon_deg), z=float(p.alt_m),
                    mission_type=MAV_MISSION_TYPE_RALLY)
        for i, p in enumerate(points)
    ]  # fmt: skip
