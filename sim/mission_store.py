"""How the simulated vehicle stores mission, fence and rally items, the way ArduPilot does.

The storage rules themselves (``AP_Mission`` packing, ``MissionItemProtocol_Fence`` and
``MissionItemProtocol_Rally``) are in :mod:`missions.ardupilot`, shared with the ground station's
upload verification; they are re-exported here. This module adds the simulator's capacities and
its three stored lists (:class:`ItemLists`).
"""

from __future__ import annotations

from dataclasses import dataclass

from missions.ardupilot import (
    ACCEPTED,
    ERROR,
    FENCE_COMMANDS,
    INVALID,
    LOCATION_ALT_MAX_M,
    UNSUPPORTED,
    UNSUPPORTED_FRAME,
    R,
    home_item,
    store_fence_item,
    store_mission_item,
    store_rally_item,
    validate_fence,
)
from missions.items import MissionItem

__all__ = [
    "ACCEPTED",
    "ERROR",
    "FENCE_COMMANDS",
    "FENCE_MAX_ITEMS",
    "INVALID",
    "LOCATION_ALT_MAX_M",
    "MISSION_MAX_ITEMS",
    "RALLY_MAX_ITEMS",
    "UNSUPPORTED",
    "UNSUPPORTED_FRAME",
    "ItemLists",
    "R",
    "home_item",
    "store_fence_item",
    "store_mission_item",
    "store_rally_item",
    "validate_fence",
]

MISSION_MAX_ITEMS = 700
"""Items (home included) the simulated storage holds (AP_Mission::num_commands_max on SITL is ~724)."""
FENCE_MAX_ITEMS = 100
RALLY_MAX_ITEMS = 50


@dataclass
class ItemLists:
    """The three stored lists of one vehicle.

    Attributes:
        mission: Mission items seq 1..N at index 1..N; index 0 is a placeholder, download of seq 0
            is always answered with the current home (``AP_Mission::read_cmd_from_storage``).
        fence: Fence items (seq 0..N-1).
        rally: Rally points (seq 0..N-1).
        mission_version: Incremented whenever the mission changes (mission change detector).
        home_counted: Whether MISSION_COUNT counts the home slot: True at boot (MIS_TOTAL 1) and
            after an upload, False after MISSION_CLEAR_ALL (ArduCopter 4.7 then reports 0).
    """

    mission: list[MissionItem]
    fence: list[MissionItem]
    rally: list[MissionItem]
    mission_version: int = 0
    home_counted: bool = True

    @classmethod
    def empty(cls) -> ItemLists:
        """Empty mission (home slot only), no fence, no rally."""
        placeholder = MissionItem(seq=0, frame=0, command=16)
        return cls(mission=[placeholder], fence=[], rally=[])

    @property
    def mission_count(self) -> int:
        """MISSION_COUNT of the mission: home plus the items (0 after a clear)."""
        if not self.home_counted and len(self.mission) == 1:
            return 0
        return len(self.mission)
