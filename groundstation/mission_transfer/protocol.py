"""Shared pieces of the mission transfers: errors, timeouts, message filters, item encoding."""

from __future__ import annotations

import logging
import statistics
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace

from groundstation.link import Link
from missions.errors import DronePatrolError, InputError
from missions.items import (
    MAV_MISSION_TYPE_MISSION,
    MISSION_TYPE_NAMES,
    MissionItem,
    command_name,
)

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""Progress callback ``progress(done, total)``: items transferred so far and the item count."""

DEFAULT_ITEM_TIMEOUT_S = 10.0
"""A transfer fails when it makes no progress for this long, seconds: longer than ArduPilot's own
8 s upload timeout, so the ground station never gives up first (a 6 s limit failed 3 of 31
500-item uploads at 30 % loss, and read-backs on a loaded machine)."""

UPLOAD_ITEM_TIMEOUT_S = 10.0
"""An upload (without an explicit ``item_timeout_s``) fails when one item makes no progress for
this long. ArduPilot cancels an upload when the expected item has not reached it for 8 s
(``MissionItemProtocol::upload_timeout_ms``, answered with MISSION_ACK OPERATION_CANCELLED), and
keeps going as long as items arrive: the ground station keeps re-sending 2 s longer than that, so
it never gives up while the vehicle still waits (on a 30 % lossy link a 6 s limit did)."""

DEFAULT_RETRIES = 40
"""Re-sends allowed for one item (or request) before the transfer fails."""

MIN_RTO_S = 0.12
MAX_RTO_S = 1.5
INITIAL_RTO_S = 0.5


class MissionTransferError(DronePatrolError):
    """A mission, fence or rally transfer failed.

    The message names the operation, the endpoint, the item that failed, the last item the
    vehicle acknowledged and the MAV_MISSION_RESULT in words.

    Attributes:
        operation: ``upload``, ``download``, ``clear``, ``set_current`` or ``verify``.
        mission_type: MAV_MISSION_TYPE.
        seq: The item that failed, or None (whole transfer / count).
        last_acked: Last item the vehicle acknowledged (upload: requested the next one;
            download: received in order), or None when none was.
        result: MAV_MISSION_RESULT of a NACK, or None.
        field: For a verification mismatch, the differing field.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        mission_type: int = MAV_MISSION_TYPE_MISSION,
        seq: int | None = None,
        last_acked: int | None = None,
        result: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.mission_type = mission_type
        self.seq = seq
        self.last_acked = last_acked
        self.result = result
        self.field = field


def type_name(mission_type: int) -> str:
    """``mission``, ``fence`` or ``rally`` (or the number)."""
    return MISSION_TYPE_NAMES.get(int(mission_type), f"mission_type {int(mission_type)}")


class Rto:
    """Retransmission timeout from recent round-trip samples (Karn's rule applied by the caller).

    ``2 * p75 + 20 ms`` of the last 32 samples, clamped to [0.12, 1.5] s, times ``1.5**attempt``
    for the n-th re-send of the same packet (exponential backoff, capped at 8x). A percentile
    rather than RFC 6298's mean keeps samples that include one of the vehicle's own periodic
    re-requests (ArduPilot: every 1 s) from inflating the timeout.
    """

    def __init__(self) -> None:
        self.samples: deque[float] = deque(maxlen=32)

    @property
    def srtt(self) -> float | None:
        """Median of the recent samples, seconds (None before the first)."""
        return statistics.median(self.samples) if self.samples else None

    def sample(self, rtt: float) -> None:
        """Add one round-trip time, seconds (negative values count as 0)."""
        self.samples.append(max(0.0, rtt))

    def timeout(self, attempt: int = 0) -> float:
        """The retransmission timeout for a packet, seconds.

        Args:
            attempt: How many times this packet was already re-sent (0 for the first wait).

        Returns:
            ``clamp(2 * p75 + 0.02, 0.12, 1.5) * min(8, 1.5**attempt)``, at most 3 s; 0.5 s
            (times the backoff) before the first sample.
        """
        if not self.samples:
            base = INITIAL_RTO_S
        else:
            ordered = sorted(self.samples)
            p75 = ordered[min(len(ordered) - 1, (3 * len(ordered)) // 4)]
            base = min(MAX_RTO_S, max(MIN_RTO_S, 2 * p75 + 0.02))
        return min(2 * MAX_RTO_S, base * min(8.0, 1.5 ** max(0, attempt)))


def for_us(link: Link, msg) -> bool:
    """Whether ``msg`` is addressed to this ground station (target_system 0 = broadcast)."""
    ts = getattr(msg, "target_system", 0)
    return ts in (0, link.source_system)


def same_type(msg, mission_type: int) -> bool:
    """Whether ``msg`` is of ``mission_type`` (no such field: 0, the mission list)."""
    return int(getattr(msg, "mission_type", 0)) == int(mission_type)


def prepare_wires(items: Sequence[MissionItem], mission_type: int) -> list[dict]:
    """Check numbering and encode ``items`` as MISSION_ITEM_INT fields.

    Args:
        items: Items numbered 0..N-1 in order; their ``mission_type`` is set to ``mission_type``.
        mission_type: MAV_MISSION_TYPE of the transfer.

    Returns:
        One :meth:`MissionItem.to_wire` dict per item.

    Raises:
        InputError: An item is out of sequence or a value does not fit MISSION_ITEM_INT.
    """
    from missions.items import check_item_count

    check_item_count(items, "upload", type_name(mission_type))
    wires = []
    for i, item in enumerate(items):
        if item.seq != i:
            raise InputError(
                f"{type_name(mission_type)} item at position {i} has seq {item.seq}: items must be "
                f"numbered 0..{len(items) - 1} in order"
                + (" (seq 0 is the home slot)" if mission_type == MAV_MISSION_TYPE_MISSION else "")
            )
        if item.mission_type != mission_type:
            item = replace(item, mission_type=mission_type)
        try:
            wires.append(item.to_wire())
        except ValueError as exc:
            raise InputError(f"{type_name(mission_type)} item {i}: {exc}") from None
    return wires


def item_msg(link: Link, wire: dict):
    """The MISSION_ITEM_INT message for one :func:`prepare_wires` dict, addressed to the vehicle."""
    return link.mav.mission_item_int_encode(
        link.target_system,
        link.target_component,
        wire["seq"],
        wire["frame"],
        wire["command"],
        wire["current"],
        wire["autocontinue"],
        wire["param1"],
        wire["param2"],
        wire["param3"],
        wire["param4"],
        wire["x"],
        wire["y"],
        wire["z"],
        wire["mission_type"],
    )


def describe_item(items: Sequence[MissionItem], seq: int | None) -> str:
    """`` (NAV_WAYPOINT)``: the command of item ``seq`` for an error message, or ``""``."""
    if seq is None or not 0 <= seq < len(items):
        return ""
    return f" ({command_name(items[seq].command)})"
