"""Uploading a mission, fence or rally list (vehicle-driven, tolerant of a lossy link)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from groundstation.link import MAV, Link
from groundstation.mission_transfer.compare import compare_items
from groundstation.mission_transfer.control import clear
from groundstation.mission_transfer.download import download
from groundstation.mission_transfer.protocol import (
    DEFAULT_RETRIES,
    UPLOAD_ITEM_TIMEOUT_S,
    MissionTransferError,
    Progress,
    Rto,
    describe_item,
    for_us,
    item_msg,
    prepare_wires,
    same_type,
    type_name,
)
from missions.items import (
    MAV_MISSION_TYPE_MISSION,
    MissionItem,
    mission_result_name,
)

log = logging.getLogger(__name__)


def upload(
    link: Link,
    items: Sequence[MissionItem],
    mission_type: int = MAV_MISSION_TYPE_MISSION,
    *,
    item_timeout_s: float | None = None,
    retries: int = DEFAULT_RETRIES,
    progress: Progress | None = None,
) -> None:
    """Upload ``items`` as the vehicle's mission, fence or rally list.

    Answers both ``MISSION_REQUEST`` and ``MISSION_REQUEST_INT`` with ``MISSION_ITEM_INT``.
    ``MISSION_COUNT`` is re-sent until the first request arrives; an item is re-sent when the
    next request does not come within the retransmission timeout. A NACK
    ``MAV_MISSION_INVALID_SEQUENCE`` is ignored (ArduPilot sends it for a duplicated item and
    keeps going); any other NACK fails the upload unless the vehicle requests another item soon
    after it. If the final ``MISSION_ACK`` is lost (ArduPilot cannot repeat it), the list is read
    back and compared to decide.

    Args:
        link: Connected link.
        items: Items numbered 0..N-1 (for a mission, seq 0 is the home slot). Their
            ``mission_type`` is set to ``mission_type``. An empty list clears the list.
        mission_type: 0 mission, 1 fence, 2 rally.
        item_timeout_s: Fail when one item makes no progress for this long, seconds. None
            (default): :data:`UPLOAD_ITEM_TIMEOUT_S`, longer than the vehicle's own 8 s, with no
            limit on re-sends: the upload goes on as long as the vehicle's does.
        retries: Fail after this many re-sends of one item (only with ``item_timeout_s``).
        progress: Called with ``(items acknowledged, N)``.

    Raises:
        InputError: Items are not numbered 0..N-1 or a value does not fit MISSION_ITEM_INT.
        MissionTransferError: The vehicle refused the list or an item (MAV_MISSION_RESULT in
            words), or stopped answering; names the failed item and the last acknowledged one.
    """
    mission_type = int(mission_type)
    if item_timeout_s is None:
        item_timeout_s, retries = UPLOAD_ITEM_TIMEOUT_S, 1_000_000
    wires = prepare_wires(items, mission_type)
    count = len(wires)
    what = f"{type_name(mission_type)} upload to {link.url}"
    if count == 0:
        clear(link, mission_type, item_timeout_s=item_timeout_s)
        return
    rto = Rto()
    types = {"MISSION_REQUEST", "MISSION_REQUEST_INT", "MISSION_ACK"}
    with link.queue(types) as q:

        def send_count() -> None:
            """Send MISSION_COUNT (repeated until the vehicle's first request arrives)."""
            link.send(
                link.mav.mission_count_encode(
                    link.target_system, link.target_component, count, mission_type
                )
            )

        send_count()
        started = time.monotonic()
        highest = -1  # highest seq requested so far; items < highest are acknowledged
        first_sent: dict[int, float] = {}  # seq -> time first sent (Karn: RTT only if not re-sent)
        resent: set[int] = set()
        count_sent_at, count_resent = started, False
        last_progress = started
        resends = 0
        resend_at = started + rto.timeout()
        nack: tuple[int, float, int | None] | None = None  # (result, time, seq being answered)
        last_sent: int | None = None
        final_sent = False
        if progress:
            progress(0, count)

        def fail(message: str, seq: int | None, result: int | None = None):
            """Raise the upload's :class:`MissionTransferError`, naming the last item acknowledged.

            Raises:
                MissionTransferError: Always.
            """
            last_acked = highest - 1 if highest > 0 else None
            acked_txt = "none" if last_acked is None else f"item {last_acked}"
            raise MissionTransferError(
                f"{what}: {message} (last item acknowledged: {acked_txt} of 0..{count - 1})",
                operation="upload",
                mission_type=mission_type,
                seq=seq,
                last_acked=last_acked,
                result=result,
            )

        while True:
            nack_deadline = nack[1] + max(1.0, 3 * rto.timeout()) if nack else None
            wake = resend_at if nack_deadline is None else min(resend_at, nack_deadline)
            msg = q.get(max(0.0, wake - time.monotonic()))
            now = time.monotonic()
            if msg is None:
                if nack_deadline is not None and now >= nack_deadline:
                    result, _, seq = nack
                    if final_sent and result in (MAV.MAV_MISSION_ERROR, MAV.MAV_MISSION_ACCEPTED):
                        _confirm_by_reading_back(link, items, mission_type, item_timeout_s, fail)
                        break
                    if seq is None:
                        fail(
                            f"the vehicle refused MISSION_COUNT {count}: {mission_result_name(result)}",
                            None,
                            result,
                        )
                    fail(
                        f"item {seq}{describe_item(items, seq)} was refused: "
                        f"{mission_result_name(result)}",
                        seq,
                        result,
                    )
                if now < resend_at:
                    continue
                stalled = now - last_progress
                if stalled > item_timeout_s or resends >= retries:
                    if final_sent:
                        _confirm_by_reading_back(link, items, mission_type, item_timeout_s, fail)
                        break
                    if highest < 0:
                        fail(
                            f"no MISSION_REQUEST for item 0 within {stalled:.1f} s after "
                            f"MISSION_COUNT {count} ({resends} re-sends)",
                            0,
                        )
                    last_nack = (
                        f"; the vehicle's last NACK: {mission_result_name(nack[0])}" if nack else ""
                    )
                    fail(
                        f"the vehicle stopped answering: no request after item {highest}"
                        f"{describe_item(items, highest)} for {stalled:.1f} s ({resends} "
                        f"re-sends); item {highest} failed{last_nack}",
                        highest,
                        nack[0] if nack else None,
                    )
                resends += 1
                if highest < 0:
                    send_count()
                    count_resent = True
                else:
                    link.send(item_msg(link, wires[highest]))
                    resent.add(highest)
                resend_at = now + rto.timeout(resends)
                continue
            if not for_us(link, msg) or not same_type(msg, mission_type):
                continue
            mtype = msg.get_type()
            if mtype == "MISSION_ACK":
                result = int(msg.type)
                if result == MAV.MAV_MISSION_ACCEPTED:
                    if final_sent:
                        break
                    continue  # stale ACK of an earlier transfer
                if result == MAV.MAV_MISSION_INVALID_SEQUENCE:
                    log.debug("%s: premature NACK %s ignored", what, mission_result_name(result))
                    continue
                if result == MAV.MAV_MISSION_OPERATION_CANCELLED and highest >= 0:
                    fail(
                        f"the vehicle cancelled the upload after item {highest} did not reach it "
                        f"for 8 s ({mission_result_name(result)})",
                        highest,
                        result,
                    )
                if nack is None:
                    nack = (result, now, last_sent)
                continue
            seq = int(msg.seq)
            if seq >= count or seq < highest:
                continue  # stale or duplicated request
            if nack is not None and seq == highest:
                # The vehicle is still asking after a NACK: give it more time (the NACK may be
                # stale); it stays in the error if this item never gets through.
                nack = (nack[0], now, nack[2])
            if seq > highest:
                if seq == 0 and not count_resent:
                    rto.sample(now - count_sent_at)
                elif seq - 1 in first_sent and seq - 1 not in resent:
                    rto.sample(now - first_sent[seq - 1])
                highest = seq
                last_progress = now
                resends = 0
                nack = None
                if progress:
                    progress(seq, count)
            link.send(item_msg(link, wires[seq]))
            last_sent = seq
            first_sent.setdefault(seq, now)
            if seq == count - 1:
                final_sent = True
            resend_at = now + rto.timeout(resends)
    if progress:
        progress(count, count)
    log.info(
        "%s: %d items in %.2f s (srtt %.0f ms)",
        what,
        count,
        time.monotonic() - started,
        1000 * (rto.srtt or 0),
    )


def _confirm_by_reading_back(link, items, mission_type, item_timeout_s, fail) -> None:
    """The final MISSION_ACK never came: read the list back and compare before deciding."""
    log.info("final MISSION_ACK not received: reading the %s back", type_name(mission_type))
    try:
        onboard = download(link, mission_type, item_timeout_s=item_timeout_s)
    except MissionTransferError as exc:
        fail(f"the final MISSION_ACK never came and reading the list back failed: {exc}", None)
    problems = compare_items(items, onboard, mission_type)
    if problems:
        fail(
            f"the final MISSION_ACK never came and the vehicle holds a different list: {problems[0]}",
            None,
        )
