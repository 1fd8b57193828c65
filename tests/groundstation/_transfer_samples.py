"""Missions shared by the ground-station tests: the planner's demo plan and synthetic surveys."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from missions.geo import offset
from missions.items import (
    MAV_CMD_DO_CHANGE_SPEED,
    MAV_CMD_NAV_RETURN_TO_LAUNCH,
    MAV_CMD_NAV_TAKEOFF,
    MAV_CMD_NAV_WAYPOINT,
    MAV_FRAME_GLOBAL,
    MAV_FRAME_GLOBAL_RELATIVE_ALT,
    MissionItem,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

HOME = (41.79, 123.43)


@lru_cache(maxsize=1)
def planned_demo():
    """The planner's plan of the demo district (sortie items, fence, rally)."""
    from groundstation.config import load_config
    from missions.planner import plan_from_config

    cfg = load_config(
        None,
        {
            "area.district": str(REPO_ROOT / "configs" / "districts" / "demo.geojson"),
            "connection.url": "sim",
            "rally.points": [
                {"lat_deg": 41.7905, "lon_deg": 123.4310, "alt_m": 30},
                {"lat_deg": 41.7895, "lon_deg": 123.4290, "alt_m": 25},
            ],
        },
    )
    return plan_from_config(cfg)


def survey_mission(n_items: int, alt_m: float = 40.0) -> list[MissionItem]:
    """A lawnmower mission of exactly ``n_items`` items (home, takeoff, speed, waypoints, RTL),
    with values ArduCopter stores verbatim, so the read-back must equal it field by field."""
    items = [
        MissionItem(
            seq=0, frame=MAV_FRAME_GLOBAL, command=MAV_CMD_NAV_WAYPOINT, x=HOME[0], y=HOME[1]
        ),
        MissionItem(
            seq=1,
            frame=MAV_FRAME_GLOBAL_RELATIVE_ALT,
            command=MAV_CMD_NAV_TAKEOFF,
            x=HOME[0],
            y=HOME[1],
            z=alt_m,
        ),
        MissionItem(seq=2, frame=0, command=MAV_CMD_DO_CHANGE_SPEED, param1=1, param2=8.5),
    ]
    k = 0
    while len(items) < n_items - 1:
        row, col = divmod(k, 20)
        east = col * 15.0 if row % 2 == 0 else (19 - col) * 15.0
        lat, lon = offset(HOME[0], HOME[1], 0.0, 30.0 + row * 12.0)
        lat, lon = offset(lat, lon, 90.0, east)
        items.append(
            MissionItem(
                seq=len(items),
                frame=MAV_FRAME_GLOBAL_RELATIVE_ALT,
                command=MAV_CMD_NAV_WAYPOINT,
                param1=float(k % 3),  # hold time, seconds
                x=lat,
                y=lon,
                z=alt_m + (k % 5) * 0.25,
            )
        )
        k += 1
    items.append(MissionItem(seq=len(items), frame=0, command=MAV_CMD_NAV_RETURN_TO_LAUNCH))
    return items
