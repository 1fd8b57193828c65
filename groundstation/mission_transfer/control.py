"""Clearing a list and setting the current mission item."""

from __future__ import annotations

import logging
import time

from groundstation.link import MAV, Link
from groundstation.mission_transfer.protocol import (
    DEFAULT_ITEM_TIMEOUT_S,
    MissionTransferError,
    Rto,
    for_us,
    same_type,
    type_name,
)
from missions.items import (
    MAV_MISSION_TYPE_MISSION,
    mission_result_name,
)

log = logging.getLogger(__name__)


def clear(
    link: Link,
    mission_type: int = MAV_MISSION_TYPE_MISSION,
    *,
    item_timeout_s: float = DEFAULT_ITEM_TIMEOUT_S,
) -> None:
    """Clear the vehicle's mission, fence or rally list (``MISSION_CLEAR_ALL`` -> ``MISSION_ACK``).

    Re-sent until the ACK arrives. ArduPilot answers ``MAV_MISSION_ERROR`` while an upload is in
    progress. On a mission, ArduPilot keeps home (seq 0).

    Raises:
        MissionTransferError: A NACK (in words) or no ACK within ``item_timeout_s``.
    """
    mission_type = int(mission_type)
    what = f"{type_name(mission_type)} clear on {link.url}"
    rto = Rto()
    started = time.monotonic()
    nack = None
    attempt = 0
    with link.queue("MISSION_ACK") as q:
        while True:
            now = time.monotonic()
            if now - started > item_timeout_s:
                if nack is not None:
                    raise MissionTransferError(
                        f"{what}: refused: {mission_result_name(nack)}",
                        operation="clear",
                        mission_type=mission_type,
                        result=nack,
                    )
                raise MissionTransferError(
                    f"{what}: no MISSION_ACK within {item_timeout_s:g} s",
                    operation="clear",
                    mission_type=mission_type,
                )
            link.send(
                link.mav.mission_clear_all_encode(
                    link.target_system, link.target_component, mission_type
                )
            )
            deadline = time.monotonic() + rto.timeout(attempt)
            attempt += 1
            while True:
                msg = q.get(max(0.0, deadline - time.monotonic()))
                if msg is None:
                    break
                if not for_us(link, msg) or not same_type(msg, mission_type):
                    continue
                if int(msg.type) == MAV.MAV_MISSION_ACCEPTED:
                    return
                nack = int(msg.type)


def set_current(link: Link, seq: int, *, timeout_s: float = 5.0) -> None:
    """Make mission item ``seq`` the current one (the next target in AUTO).

    Uses ``MAV_CMD_DO_SET_MISSION_CURRENT`` (ArduPilot 4.4+, ACKed); when it is not supported,
    sends ``MISSION_SET_CURRENT`` and waits for ``MISSION_CURRENT.seq == seq``.

    Raises:
        MissionTransferError: Refused, or the vehicle did not report ``seq`` within ``timeout_s``.
    """
    seq = int(seq)
    what = f"set current mission item {seq} on {link.url}"
    ack = link.command_long(MAV.MAV_CMD_DO_SET_MISSION_CURRENT, (seq,), timeout_s=1.0, retries=2)
    if ack is not None and ack.result == MAV.MAV_RESULT_ACCEPTED:
        return
    if ack is not None and ack.result not in (MAV.MAV_RESULT_UNSUPPORTED,):
        from groundstation.vehicle import result_name

        raise MissionTransferError(
            f"{what}: refused: {result_name(ack.result)}",
            operation="set_current",
            seq=seq,
        )
    deadline = time.monotonic() + timeout_s
    with link.queue("MISSION_CURRENT") as q:
        while time.monotonic() < deadline:
            link.send(
                link.mav.mission_set_current_encode(link.target_system, link.target_component, seq)
            )
            step = time.monotonic() + 0.5
            while True:
                msg = q.get(max(0.0, min(step, deadline) - time.monotonic()))
                if msg is None:
                    break
                if int(msg.seq) == seq:
                    return
    raise MissionTransferError(
        f"{what}: the vehicle did not report item {seq} as current within {timeout_s:g} s",
        operation="set_current",
        seq=seq,
    )
