"""How far a vehicle got through its mission, without counting on one message per item.

ArduCopter does not send one MISSION_ITEM_REACHED per item: items completed in the same loop
collapse into one message for the last of them (a waypoint followed at once by DO_CHANGE_SPEED is
not reported), the final RTL item is reported only at touchdown, and after the end MISSION_CURRENT
reads seq 0 with mission_state 5 (MISSION_STATE_COMPLETE). Measured on ArduCopter SITL 4.7.0-dev
(../shared/notes/ardupilot.md, second section). So progress is the union of what
MISSION_ITEM_REACHED and MISSION_CURRENT say, and "the mission ended" is any of: the last item
reported reached, MISSION_CURRENT state COMPLETE, or the last item made current while the vehicle
was in AUTO and it then landed still in AUTO (a final RTL item whose reached message was lost).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

MISSION_STATE_COMPLETE = 5
"""MAVLink MISSION_STATE_COMPLETE (MISSION_CURRENT.mission_state)."""


@dataclass
class MissionProgress:
    """Progress of one mission run, fed with ``VehicleEvent``s.

    Args:
        last_seq: Seq of the mission's last item (items are 1..last_seq; 0 is home).

    Attributes:
        reached: MISSION_ITEM_REACHED seqs in arrival order.
        current: MISSION_CURRENT seqs in arrival order (each change once).
        complete_reported: MISSION_CURRENT said MISSION_STATE_COMPLETE.
        landed_mode: Flight mode when the vehicle was last seen landed and disarmed (set by the
            caller), None before.
    """

    last_seq: int
    reached: list[int] = field(default_factory=list)
    current: list[int] = field(default_factory=list)
    complete_reported: bool = False
    landed_mode: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on_event(self, ev) -> None:
        """Record a ``mission_item_reached`` or ``mission_current`` event (others are ignored)."""
        with self._lock:
            if ev.kind == "mission_item_reached":
                self.reached.append(int(ev.data["seq"]))
            elif ev.kind == "mission_current":
                seq = int(ev.data.get("seq", 0))
                if seq and (not self.current or self.current[-1] != seq):
                    self.current.append(seq)
                if int(ev.data.get("state", 0) or 0) == MISSION_STATE_COMPLETE and (
                    self.current or self.reached
                ):
                    self.complete_reported = True

    @property
    def furthest(self) -> int:
        """Highest item seq reported reached or made current (0 before any)."""
        with self._lock:
            return max([0, *self.reached, *self.current])

    def visited(self) -> list[int]:
        """Every seq reported reached or made current, ascending, each once."""
        with self._lock:
            return sorted(set(self.reached) | set(self.current))

    def completed(self) -> list[int]:
        """Seqs known done, ascending: reported reached, or made current and then left for
        another item (the item current when the vehicle stopped counts only when reached)."""
        with self._lock:
            return sorted(set(self.reached) | set(self.current[:-1]))

    def finished(self, landed_mode: str | None = None) -> bool:
        """Whether the mission ran to its end.

        Args:
            landed_mode: Flight mode when the vehicle landed and disarmed; with ``"AUTO"`` the
                last item having been made current counts as the end (ArduCopter stays in AUTO,
                disarmed, after a final RTL item). A failsafe or fence breach switches to RTL or
                LAND and so never counts this way.
        """
        if self.last_seq <= 0:
            return True
        with self._lock:
            if self.last_seq in self.reached or self.complete_reported:
                return True
            if max([0, *self.reached]) >= self.last_seq:
                return True
            return landed_mode == "AUTO" and self.last_seq in self.current
