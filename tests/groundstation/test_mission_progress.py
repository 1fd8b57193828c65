"""MissionProgress: progress and "mission ended" without one MISSION_ITEM_REACHED per item.

The event sequences are the ones measured on ArduCopter SITL 4.7 (../shared/notes/ardupilot.md,
second section): collapsed MISSION_ITEM_REACHED, MISSION_CURRENT seq 0 / state 5 after the end.
"""

from __future__ import annotations

from groundstation.vehicle.progress import MissionProgress
from groundstation.vehicle.state import VehicleEvent


def _feed(progress: MissionProgress, events: list[tuple[str, dict]]) -> MissionProgress:
    for kind, data in events:
        progress.on_event(VehicleEvent(kind, 0.0, data))
    return progress


def _current(seq: int, state: int = 3) -> tuple[str, dict]:
    return ("mission_current", {"seq": seq, "state": state})


def test_collapsed_reached_messages_still_show_every_item_flown():
    # 1 TAKEOFF, 2 DO_CHANGE_SPEED, 3..5 WAYPOINT, 6 RTL: item 1 is never reported reached
    events = [_current(1), _current(3), ("mission_item_reached", {"seq": 2}), _current(4)]
    events += [("mission_item_reached", {"seq": 3}), _current(5)]
    events += [("mission_item_reached", {"seq": 4}), ("mission_item_reached", {"seq": 5})]
    events += [_current(6), ("mission_item_reached", {"seq": 6}), _current(0, state=5)]
    p = _feed(MissionProgress(last_seq=6), events)
    assert 1 not in p.reached
    assert p.visited() == [1, 2, 3, 4, 5, 6]
    assert p.furthest == 6 and p.finished("AUTO")


def test_complete_state_ends_the_mission_when_the_final_reached_is_lost():
    events = [_current(1), _current(2), ("mission_item_reached", {"seq": 1}), _current(0, state=5)]
    p = _feed(MissionProgress(last_seq=3), events)
    assert p.finished(None)


def test_last_item_current_and_landed_in_auto_is_the_end():
    p = _feed(MissionProgress(last_seq=3), [_current(1), _current(2), _current(3)])
    assert p.finished("AUTO")
    # a failsafe or fence breach switched the vehicle to RTL: not the end of the mission
    assert not p.finished("RTL")


def test_a_breach_before_the_end_is_not_finished():
    events = [_current(1), _current(2), ("mission_item_reached", {"seq": 1})]
    p = _feed(MissionProgress(last_seq=5), events)
    assert p.furthest == 2 and not p.finished("RTL") and not p.finished("AUTO")


def test_a_stale_complete_state_before_any_progress_is_ignored():
    # MISSION_CURRENT of the previous mission (complete) arrives before the new one starts
    p = _feed(MissionProgress(last_seq=4), [_current(0, state=5), _current(1)])
    assert not p.complete_reported and not p.finished("AUTO")


def test_completed_counts_an_item_only_once_left_or_reached():
    events = [_current(1), _current(2), _current(3), ("mission_item_reached", {"seq": 2})]
    p = _feed(MissionProgress(last_seq=5), events)
    # 3 is current when a breach takes the vehicle home: not completed
    assert p.completed() == [1, 2] and p.visited() == [1, 2, 3]
