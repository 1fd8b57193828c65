"""Comparing a planned item list with what the vehicle holds (verification rules)."""

from __future__ import annotations

import logging
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace

from groundstation.link import MAV
from missions.ardupilot import store_fence_item, store_mission_item, store_rally_item
from missions.items import (
    MAV_MISSION_TYPE_MISSION,
    MissionItem,
    command_name,
)

log = logging.getLogger(__name__)

_FRAME_ALIASES = {
    MAV.MAV_FRAME_GLOBAL_INT: MAV.MAV_FRAME_GLOBAL,
    MAV.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT: MAV.MAV_FRAME_GLOBAL_RELATIVE_ALT,
    MAV.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT: MAV.MAV_FRAME_GLOBAL_TERRAIN_ALT,
}
"""``*_INT`` frames are the same frame in MISSION_ITEM_INT; ArduPilot reads them back without
``_INT`` (AP_Mission stores only "relative"/"terrain" flags)."""


@dataclass(frozen=True)
class Mismatch:
    """One difference between a planned and an on-board list.

    Attributes:
        seq: Item seq (None for a count difference).
        field: ``count`` or a MISSION_ITEM_INT field name (``param7/z`` style for x/y/z).
        planned: Planned value (wire units for x/y: degE7 for locations).
        onboard: Value on the vehicle.
        command: MAV_CMD name of the planned item.
    """

    seq: int | None
    field: str
    planned: object
    onboard: object
    command: str = ""

    def __str__(self) -> str:
        if self.field == "count":
            return (
                f"the vehicle holds {self.onboard} items, {self.planned} were planned"
                " (a half-uploaded list)"
            )
        cmd = f" ({self.command})" if self.command else ""
        return (
            f"item {self.seq}{cmd} field {self.field}: planned {self.planned}, "
            f"vehicle has {self.onboard}"
        )


_FIELD_LABELS = {
    "param1": "param1",
    "param2": "param2",
    "param3": "param3",
    "param4": "param4",
    "x": "x/param5 (lat degE7)",
    "y": "y/param6 (lon degE7)",
    "z": "z/param7",
}


def _normalised(item: MissionItem, mission_type: int) -> MissionItem:
    frame = _FRAME_ALIASES.get(item.frame, item.frame)
    return replace(item, frame=frame, mission_type=mission_type, current=0)


def _f32(v: float) -> bytes:
    return struct.pack("<f", v)


def ardupilot_stored(item: MissionItem, mission_type: int) -> MissionItem | None:
    """What ArduPilot keeps of ``item`` and sends back on download, or None if unknown.

    ArduPilot does not store items verbatim (``AP_Mission::mavlink_int_to_mission_cmd`` packs them
    into 15 bytes: altitudes in centimetres, many params as uint8/uint16, non-positional commands
    read back in frame 0 with x/y/z zero; fence and rally points have their own formats). The rules
    are :mod:`missions.ardupilot`'s, which the embedded simulator stores uploads with too.
    """
    store = {
        0: store_mission_item,
        1: store_fence_item,
        2: store_rally_item,
    }.get(int(mission_type))
    if store is None:
        return None
    result, stored = store(replace(item, mission_type=int(mission_type)))
    return stored if result == MAV.MAV_MISSION_ACCEPTED else None


def _first_difference(a: MissionItem, b: MissionItem) -> tuple[str, object, object] | None:
    wa, wb = a.to_wire(), b.to_wire()
    for key, va in wa.items():
        if key == "current":
            continue
        vb = wb[key]
        differs = _f32(va) != _f32(vb) if isinstance(va, float) else va != vb
        if differs:
            return _FIELD_LABELS.get(key, key), va, vb
    return None


def compare_items(
    planned: Sequence[MissionItem],
    onboard: Sequence[MissionItem],
    mission_type: int,
    *,
    storage_rules: bool = True,
) -> list[Mismatch]:
    """Compare a planned list with what the vehicle holds, field by field on the wire.

    Each pair is compared with :meth:`MissionItem.same_on_wire` (float32 params, degE7 locations),
    with ``*_INT`` frames equal to their non-INT frame and ``current`` ignored. With
    ``storage_rules``, a pair that differs only the way ArduPilot's storage changes an item
    (:func:`ardupilot_stored`: a NAV_WAYPOINT acceptance radius the copter drops, an altitude
    rounded to centimetres, a DO command read back in frame 0) is equal too; the differences that
    remain are real. For a mission, seq 0 (home, replaced by the vehicle) is excluded.

    Args:
        planned: The items that were uploaded.
        onboard: The items read back.
        mission_type: 0 mission, 1 fence, 2 rally.
        storage_rules: Accept ArduPilot's storage normalisation (see above).

    Returns:
        Mismatches (empty when equal); a count difference comes first.
    """
    start = 1 if int(mission_type) == MAV_MISSION_TYPE_MISSION else 0
    out: list[Mismatch] = []
    if len(planned) != len(onboard):
        out.append(Mismatch(None, "count", len(planned), len(onboard)))
    for a, b in zip(planned[start:], onboard[start:], strict=False):
        na, nb = _normalised(a, mission_type), _normalised(b, mission_type)
        if na.same_on_wire(nb):
            continue
        expected = ardupilot_stored(na, mission_type) if storage_rules else None
        if expected is not None:
            ne = _normalised(expected, mission_type)
            if ne.same_on_wire(nb):
                log.debug("item %d differs only by ArduPilot's storage rules", a.seq)
                continue
            diff = _first_difference(ne, nb)
            if diff is not None:
                label, _, vb = diff
                va = na.to_wire()[_wire_key(label)]
                out.append(Mismatch(a.seq, label, va, vb, command_name(a.command)))
                continue
        diff = _first_difference(na, nb)
        if diff is not None:
            out.append(Mismatch(a.seq, diff[0], diff[1], diff[2], command_name(a.command)))
    return out


def _wire_key(label: str) -> str:
    for key, text in _FIELD_LABELS.items():
        if text == label:
            return key
    return label
