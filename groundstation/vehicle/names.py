"""ArduCopter mode names and MAV_RESULT words."""

from __future__ import annotations

from pymavlink import mavutil

from groundstation.link import MAV
from missions.errors import InputError

COPTER_MODES: dict[str, int] = {name: num for num, name in mavutil.mode_mapping_acm.items()}
"""ArduCopter mode name -> HEARTBEAT custom_mode (STABILIZE 0, ACRO 1, ALT_HOLD 2, AUTO 3,
GUIDED 4, LOITER 5, RTL 6, CIRCLE 7, LAND 9, DRIFT 11, SPORT 13, POSHOLD 16, BRAKE 17,
SMART_RTL 21, ...), from pymavlink's ``mode_mapping_acm``."""

COPTER_MODE_NAMES: dict[int, str] = dict(mavutil.mode_mapping_acm)
"""HEARTBEAT custom_mode -> ArduCopter mode name."""


def result_name(result: int) -> str:
    """MAV_RESULT in words: ``"MAV_RESULT_DENIED (command is invalid ...)"``."""
    entry = MAV.enums["MAV_RESULT"].get(int(result))
    if entry is None:
        return f"unknown MAV_RESULT {int(result)}"
    desc = entry.description.strip().split(". ")[0].rstrip(".")
    return f"{entry.name} ({desc[:1].lower() + desc[1:]})" if desc else entry.name


def mode_number(name: str) -> int:
    """ArduCopter custom_mode for a mode name (case-insensitive).

    Raises:
        InputError: Unknown name; the message lists the known names.
    """
    key = str(name).strip().upper().replace("-", "_").replace(" ", "_")
    if key not in COPTER_MODES:
        known = ", ".join(sorted(COPTER_MODES, key=COPTER_MODES.get))
        raise InputError(f"unknown ArduCopter mode {name!r}; known modes: {known}")
    return COPTER_MODES[key]
