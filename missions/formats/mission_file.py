"""The :class:`MissionFile` value: what any mission file holds once read."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from missions.items import (
    MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
    MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
    MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
    MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
    MAV_CMD_NAV_FENCE_RETURN_POINT,
    MAV_CMD_NAV_RALLY_POINT,
    MAV_CMD_NAV_WAYPOINT,
    MAV_FRAME_GLOBAL,
    MAV_MISSION_TYPE_FENCE,
    MAV_MISSION_TYPE_MISSION,
    MAV_MISSION_TYPE_RALLY,
    MissionItem,
)
from missions.settings import GeoPoint

FENCE_COMMANDS = frozenset(
    {
        MAV_CMD_NAV_FENCE_RETURN_POINT,
        MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
        MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
        MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
        MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
    }
)
"""MAV_CMD values that only appear in fence lists (mission_type FENCE)."""

RALLY_COMMANDS = frozenset({MAV_CMD_NAV_RALLY_POINT})
"""MAV_CMD values that only appear in rally lists (mission_type RALLY)."""

FORMATS = ("wpl110", "wpl120", "plan", "mission")
"""Format names reported in :attr:`MissionFile.format`."""


@dataclass
class MissionFile:
    """The mission, fence and rally lists of one file, in MAVLink mission-protocol order.

    Attributes:
        path: The file read (``None`` when built in memory).
        format: ``"wpl110"`` (Mission Planner / ArduPilot), ``"wpl120"`` (old QGroundControl, no
            home line), ``"plan"`` (QGroundControl JSON) or ``"mission"`` (legacy QGroundControl
            JSON).
        mission: Mission items ready for upload: seq 0 is home (ArduPilot convention; a placeholder
            at 0, 0 when the file has no home), then seq 1..N. Empty when the file holds no mission.
        fence: Fence items (mission_type FENCE), seq 0..N-1.
        rally: Rally items (mission_type RALLY), seq 0..N-1.
        home: Planned home position (``alt_m`` AMSL) when the file gives one.
        warnings: Non-fatal findings while reading (renumbered sequence gaps...).
    """

    path: Path | None
    format: str
    mission: list[MissionItem] = field(default_factory=list)
    fence: list[MissionItem] = field(default_factory=list)
    rally: list[MissionItem] = field(default_factory=list)
    home: GeoPoint | None = None
    warnings: list[str] = field(default_factory=list)

    def items(self, kind: str) -> list[MissionItem]:
        """The item list named ``"mission"``, ``"fence"`` or ``"rally"``."""
        if kind not in ("mission", "fence", "rally"):
            raise ValueError(f"unknown item list {kind!r}; expected mission, fence or rally")
        return list(getattr(self, kind))

    @property
    def waypoints(self) -> list[MissionItem]:
        """Mission items after home that name a place (NAV commands with a position)."""
        return [it for it in self.mission[1:] if it.has_position]


def home_item(home: GeoPoint | None) -> MissionItem:
    """The seq-0 home item of a mission: MAV_FRAME_GLOBAL NAV_WAYPOINT at home (AMSL altitude).

    ArduPilot replaces whatever is uploaded at seq 0 with its own home (see
    ``../shared/notes/ardupilot.md``); a placeholder at 0, 0 is used when home is unknown.
    """
    if home is None:
        return MissionItem(seq=0, frame=MAV_FRAME_GLOBAL, command=MAV_CMD_NAV_WAYPOINT)
    return MissionItem(
        seq=0,
        frame=MAV_FRAME_GLOBAL,
        command=MAV_CMD_NAV_WAYPOINT,
        x=float(home.lat_deg),
        y=float(home.lon_deg),
        z=float(home.alt_m),
    )


def classify(items: list[MissionItem]) -> int:
    """The MAV_MISSION_TYPE a list of items from a file belongs to, judged by its commands.

    A list made only of fence commands is a fence list, only of rally points a rally list;
    anything else is a mission.
    """
    commands = {it.command for it in items}
    if commands and commands <= FENCE_COMMANDS:
        return MAV_MISSION_TYPE_FENCE
    if commands and commands <= RALLY_COMMANDS:
        return MAV_MISSION_TYPE_RALLY
    return MAV_MISSION_TYPE_MISSION


def with_type(items: list[MissionItem], mission_type: int) -> list[MissionItem]:
    """Copies of ``items`` with ``mission_type`` set and seq renumbered from 0."""
    return [replace(it, seq=i, mission_type=mission_type) for i, it in enumerate(items)]
