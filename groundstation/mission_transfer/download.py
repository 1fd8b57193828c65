"""Downloading a mission, fence or rally list (GCS-driven, several requests in flight)."""

from __future__ import annotations

import logging
import time

from groundstation.link import MAV, Link
from groundstation.mission_transfer.protocol import (
    DEFAULT_ITEM_TIMEOUT_S,
    DEFAULT_RETRIES,
    MissionTransferError,
    Progress,
    Rto,
    for_us,
    same_type,
    type_name,
)
from missions.items import (
    MAV_MISSION_TYPE_MISSION,
    MissionItem,
    mission_result_name,
)

log = logging.getLogger(__name__)


def download(
    link: Link,
    mission_type: int = MAV_MISSION_TYPE_MISSION,
    *,
    item_timeout_s: float = DEFAULT_ITEM_TIMEOUT_S,
    retries: int = DEFAULT_RETRIES,
    window: int = 8,
    progress: Progress | None = None,
) -> list[MissionItem]:
    """Download the vehicle's mission, fence or rally list.

    Sends ``MISSION_REQUEST_LIST`` until ``MISSION_COUNT`` arrives, then keeps up to ``window``
    ``MISSION_REQUEST_INT`` in flight, re-requesting items that do not arrive within the
    retransmission timeout (backed off at most 2.25x: on a lossy link every try has the same
    chance, and the vehicle has no download timeout to respect). Accepts ``MISSION_ITEM_INT`` and
    legacy ``MISSION_ITEM`` answers. Ends with ``MISSION_ACK`` (accepted).

    Args:
        link: Connected link.
        mission_type: 0 mission, 1 fence, 2 rally.
        item_timeout_s: Fail when the lowest missing item does not arrive for this long.
        retries: Fail after this many re-requests of one item.
        window: Requests in flight at once.
        progress: Called with ``(items received, N)``.

    Returns:
        Items in seq order 0..N-1 (for a mission, seq 0 is home as the vehicle reports it).

    Raises:
        MissionTransferError: No count, a NACK (in words), or an item that never arrived; the
            message names it and the last item received in order.
    """
    mission_type = int(mission_type)
    what = f"{type_name(mission_type)} download from {link.url}"
    rto = Rto()
    types = {"MISSION_COUNT", "MISSION_ITEM_INT", "MISSION_ITEM", "MISSION_ACK"}
    with link.queue(types) as q:
        count = _request_count(link, q, mission_type, rto, item_timeout_s, retries, what)
        if progress:
            progress(0, count)
        got: dict[int, MissionItem] = {}
        outstanding: dict[int, float] = {}  # seq -> time of the last request, not yet received
        tries: dict[int, int] = {}
        started = last_progress = time.monotonic()
        nack: tuple[int, float] | None = None

        def lowest_missing() -> int:
            """The lowest seq not received yet (items before it arrived in order)."""
            s = 0
            while s in got:
                s += 1
            return s

        def fail(message: str, seq: int | None, result: int | None = None):
            """Raise :class:`MissionTransferError` naming the last item received in order.

            Raises:
                MissionTransferError: Always.
            """
            lm = lowest_missing()
            last = lm - 1 if lm > 0 else None
            raise MissionTransferError(
                f"{what}: {message} (last item received in order: "
                f"{'none' if last is None else f'item {last}'} of 0..{count - 1})",
                operation="download",
                mission_type=mission_type,
                seq=seq,
                last_acked=last,
                result=result,
            )

        next_new = 0
        while len(got) < count:
            now = time.monotonic()
            for s in sorted(outstanding):
                if now - outstanding[s] >= rto.timeout(min(tries[s] - 1, 2)):
                    if tries[s] > retries or now - last_progress > item_timeout_s:
                        fail(
                            f"item {s} never arrived ({tries[s] - 1} re-requests, "
                            f"{now - last_progress:.1f} s without progress)",
                            s,
                        )
                    _send_request(link, s, mission_type)
                    outstanding[s] = now
                    tries[s] += 1
            while next_new < count and len(outstanding) < window:
                _send_request(link, next_new, mission_type)
                outstanding[next_new] = now
                tries[next_new] = 1
                next_new += 1
            wake = (
                min(t + rto.timeout(min(tries[s] - 1, 2)) for s, t in outstanding.items())
                if outstanding
                else now + 0.05
            )
            nack_deadline = nack[1] + max(1.0, 3 * rto.timeout()) if nack else None
            if nack_deadline is not None:
                wake = min(wake, nack_deadline)
            msg = q.get(max(0.0, wake - time.monotonic()))
            now = time.monotonic()
            if msg is None:
                if nack_deadline is not None and now >= nack_deadline:
                    s = lowest_missing()
                    fail(f"item {s} was refused: {mission_result_name(nack[0])}", s, nack[0])
                continue
            if not for_us(link, msg) or not same_type(msg, mission_type):
                continue
            mtype = msg.get_type()
            if mtype == "MISSION_ACK":
                if int(msg.type) != MAV.MAV_MISSION_ACCEPTED and nack is None:
                    nack = (int(msg.type), now)
                continue
            if mtype == "MISSION_COUNT":
                continue
            seq = int(msg.seq)
            if seq >= count or seq in got:
                continue
            if tries.get(seq) == 1 and seq in outstanding:
                rto.sample(now - outstanding[seq])
            try:
                got[seq] = MissionItem.from_wire(msg)
            except (ValueError, TypeError) as exc:
                fail(f"item {seq} cannot be decoded: {exc}", seq)
            outstanding.pop(seq, None)
            nack = None
            last_progress = now
            if progress:
                progress(len(got), count)
        link.send(
            link.mav.mission_ack_encode(
                link.target_system, link.target_component, MAV.MAV_MISSION_ACCEPTED, mission_type
            )
        )
    log.info("%s: %d items in %.2f s", what, count, time.monotonic() - started)
    return [got[s] for s in range(count)]


def _send_request(link: Link, seq: int, mission_type: int) -> None:
    link.send(
        link.mav.mission_request_int_encode(
            link.target_system, link.target_component, seq, mission_type
        )
    )


def _request_count(link, q, mission_type, rto, item_timeout_s, retries, what) -> int:
    started = time.monotonic()
    tries = 0
    nack: tuple[int, float] | None = None
    while True:
        now = time.monotonic()
        if now - started > item_timeout_s or tries > retries:
            if nack is not None:
                raise MissionTransferError(
                    f"{what}: the vehicle refused MISSION_REQUEST_LIST: "
                    f"{mission_result_name(nack[0])}",
                    operation="download",
                    mission_type=mission_type,
                    result=nack[0],
                )
            raise MissionTransferError(
                f"{what}: no MISSION_COUNT within {now - started:.1f} s ({tries} requests)",
                operation="download",
                mission_type=mission_type,
            )
        link.send(
            link.mav.mission_request_list_encode(
                link.target_system, link.target_component, mission_type
            )
        )
        sent = now
        tries += 1
        # no exponential backoff for this one small request: on a 30 % lossy link half the
        # round trips fail, and five backed-off tries in 6 s all failed 3 % of the time
        deadline = now + rto.timeout(min(tries - 1, 1))
        while True:
            msg = q.get(max(0.0, deadline - time.monotonic()))
            if msg is None:
                break
            if not for_us(link, msg) or not same_type(msg, mission_type):
                continue
            if msg.get_type() == "MISSION_COUNT":
                if tries == 1:
                    rto.sample(time.monotonic() - sent)
                return int(msg.count)
            if msg.get_type() == "MISSION_ACK" and int(msg.type) != MAV.MAV_MISSION_ACCEPTED:
                nack = (int(msg.type), time.monotonic())
