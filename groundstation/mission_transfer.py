"""Mission, fence and rally transfer with the MAVLink mission protocol, over a lossy link.

Protocol: MAVLink mission microservice, https://mavlink.io/en/services/mission.html, as
ArduPilot implements it (``libraries/GCS_MAVLink/MissionItemProtocol.cpp``):

* Upload: GCS ``MISSION_COUNT`` -> vehicle ``MISSION_REQUEST_INT`` or ``MISSION_REQUEST`` (ArduPilot
  sends the latter) for each seq -> GCS ``MISSION_ITEM_INT`` -> ... -> vehicle ``MISSION_ACK``.
  ArduPilot re-requests an item every second, answers an item with the wrong seq with
  ``MAV_MISSION_INVALID_SEQUENCE`` and keeps going (a *premature NACK*), answers an item it can't
  store with a final NACK, and cancels the upload after 8 s of silence.
* Download: GCS ``MISSION_REQUEST_LIST`` -> vehicle ``MISSION_COUNT`` -> GCS ``MISSION_REQUEST_INT``
  per seq -> vehicle ``MISSION_ITEM_INT`` -> GCS ``MISSION_ACK``. Requests are independent, so this
  module keeps a small window of them in flight.
* Clear: ``MISSION_CLEAR_ALL`` -> ``MISSION_ACK``. Set current: ``MAV_CMD_DO_SET_MISSION_CURRENT``
  (falls back to ``MISSION_SET_CURRENT``).

Every wait is bounded: packets are re-sent after an adaptive retransmission timeout (RFC 6298
smoothed RTT, Karn's rule), and a transfer fails when one item makes no progress for
``item_timeout_s`` seconds. Duplicated, reordered and lost packets are tolerated; stale answers of
an earlier transfer are ignored. Items are always sent as ``MISSION_ITEM_INT``, converted by
:meth:`missions.items.MissionItem.to_wire` only.

On ArduPilot missions seq 0 is home: it must be sent (it counts in ``MISSION_COUNT``), the vehicle
replaces it with its home, and it is excluded when a mission is verified. :func:`download` returns
seq 0 too, so downloading and re-uploading a mission gives the same mission (dronekit loses the
first item here because it re-adds home).
"""

from __future__ import annotations

import logging
import statistics
import struct
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from groundstation.link import MAV, Link
from missions.errors import DronePatrolError, InputError
from missions.items import (
    MAV_MISSION_TYPE_MISSION,
    MISSION_TYPE_NAMES,
    MissionItem,
    command_name,
    mission_result_name,
)

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""Progress callback ``progress(done, total)``: items transferred so far and the item count."""

DEFAULT_ITEM_TIMEOUT_S = 6.0
"""A transfer fails when one item makes no progress for this long (ArduPilot cancels after 8 s)."""

DEFAULT_RETRIES = 40
"""Re-sends allowed for one item (or request) before the transfer fails."""

_MIN_RTO_S = 0.12
_MAX_RTO_S = 1.5
_INITIAL_RTO_S = 0.5

_FRAME_ALIASES = {
    MAV.MAV_FRAME_GLOBAL_INT: MAV.MAV_FRAME_GLOBAL,
    MAV.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT: MAV.MAV_FRAME_GLOBAL_RELATIVE_ALT,
    MAV.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT: MAV.MAV_FRAME_GLOBAL_TERRAIN_ALT,
}
"""``*_INT`` frames are the same frame in MISSION_ITEM_INT; ArduPilot reads them back without
``_INT`` (AP_Mission stores only "relative"/"terrain" flags)."""


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


class _Rto:
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
        self.samples.append(max(0.0, rtt))

    def timeout(self, attempt: int = 0) -> float:
        if not self.samples:
            base = _INITIAL_RTO_S
        else:
            ordered = sorted(self.samples)
            p75 = ordered[min(len(ordered) - 1, (3 * len(ordered)) // 4)]
            base = min(_MAX_RTO_S, max(_MIN_RTO_S, 2 * p75 + 0.02))
        return min(2 * _MAX_RTO_S, base * min(8.0, 1.5 ** max(0, attempt)))


def _for_us(link: Link, msg) -> bool:
    ts = getattr(msg, "target_system", 0)
    return ts in (0, link.source_system)


def _same_type(msg, mission_type: int) -> bool:
    return int(getattr(msg, "mission_type", 0)) == int(mission_type)


def _prepare(items: Sequence[MissionItem], mission_type: int) -> list[dict]:
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


def _item_msg(link: Link, wire: dict):
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


def _describe_item(items: Sequence[MissionItem], seq: int | None) -> str:
    if seq is None or not 0 <= seq < len(items):
        return ""
    return f" ({command_name(items[seq].command)})"


# --- upload ------------------------------------------------------------------------------------------


def upload(
    link: Link,
    items: Sequence[MissionItem],
    mission_type: int = MAV_MISSION_TYPE_MISSION,
    *,
    item_timeout_s: float = DEFAULT_ITEM_TIMEOUT_S,
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
        item_timeout_s: Fail when one item makes no progress for this long, seconds.
        retries: Fail after this many re-sends of one item.
        progress: Called with ``(items acknowledged, N)``.

    Raises:
        InputError: Items are not numbered 0..N-1 or a value does not fit MISSION_ITEM_INT.
        MissionTransferError: The vehicle refused the list or an item (MAV_MISSION_RESULT in
            words), or stopped answering; names the failed item and the last acknowledged one.
    """
    mission_type = int(mission_type)
    wires = _prepare(items, mission_type)
    count = len(wires)
    what = f"{type_name(mission_type)} upload to {link.url}"
    if count == 0:
        clear(link, mission_type, item_timeout_s=item_timeout_s)
        return
    rto = _Rto()
    types = {"MISSION_REQUEST", "MISSION_REQUEST_INT", "MISSION_ACK"}
    with link.queue(types) as q:

        def send_count() -> None:
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
                        f"item {seq}{_describe_item(items, seq)} was refused: "
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
                        f"{_describe_item(items, highest)} for {stalled:.1f} s ({resends} "
                        f"re-sends); item {highest} failed{last_nack}",
                        highest,
                        nack[0] if nack else None,
                    )
                resends += 1
                if highest < 0:
                    send_count()
                    count_resent = True
                else:
                    link.send(_item_msg(link, wires[highest]))
                    resent.add(highest)
                resend_at = now + rto.timeout(resends)
                continue
            if not _for_us(link, msg) or not _same_type(msg, mission_type):
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
            link.send(_item_msg(link, wires[seq]))
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


# --- download ----------------------------------------------------------------------------------------


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
    retransmission timeout. Accepts ``MISSION_ITEM_INT`` and legacy ``MISSION_ITEM`` answers.
    Ends with ``MISSION_ACK`` (accepted).

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
    rto = _Rto()
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
            s = 0
            while s in got:
                s += 1
            return s

        def fail(message: str, seq: int | None, result: int | None = None):
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
                if now - outstanding[s] >= rto.timeout(tries[s] - 1):
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
                min(t + rto.timeout(tries[s] - 1) for s, t in outstanding.items())
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
            if not _for_us(link, msg) or not _same_type(msg, mission_type):
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
        deadline = now + rto.timeout(tries - 1)
        while True:
            msg = q.get(max(0.0, deadline - time.monotonic()))
            if msg is None:
                break
            if not _for_us(link, msg) or not _same_type(msg, mission_type):
                continue
            if msg.get_type() == "MISSION_COUNT":
                if tries == 1:
                    rto.sample(time.monotonic() - sent)
                return int(msg.count)
            if msg.get_type() == "MISSION_ACK" and int(msg.type) != MAV.MAV_MISSION_ACCEPTED:
                nack = (int(msg.type), time.monotonic())


# --- clear, set current ------------------------------------------------------------------------------


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
    rto = _Rto()
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
                if not _for_us(link, msg) or not _same_type(msg, mission_type):
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


# --- verification ------------------------------------------------------------------------------------


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
    read back in frame 0 with x/y/z zero; fence and rally points have their own formats). The model
    is the embedded simulator's (:mod:`sim.mission_store`), which reproduces those rules.
    """
    try:
        from sim import mission_store
    except ImportError:  # pragma: no cover - sim is part of the distribution
        return None
    store = {
        0: mission_store.store_mission_item,
        1: mission_store.store_fence_item,
        2: mission_store.store_rally_item,
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


def upload_and_verify(
    link: Link,
    items: Sequence[MissionItem],
    mission_type: int = MAV_MISSION_TYPE_MISSION,
    *,
    item_timeout_s: float = DEFAULT_ITEM_TIMEOUT_S,
    retries: int = DEFAULT_RETRIES,
    progress: Progress | None = None,
) -> list[MissionItem]:
    """Upload ``items``, download the list back and compare it field by field.

    Args:
        link, items, mission_type, item_timeout_s, retries: As for :func:`upload`.
        progress: Called with ``(done, 2 * N)``: upload then read-back.

    Returns:
        The list as read back from the vehicle.

    Raises:
        MissionTransferError: The upload failed, or the read-back differs (``operation`` is
            ``verify``; the message names the item and field, or says the list is half-uploaded).
    """
    n = len(items)
    up = (lambda done, total: progress(done, 2 * n)) if progress else None
    down = (lambda done, total: progress(n + done, 2 * n)) if progress else None
    upload(link, items, mission_type, item_timeout_s=item_timeout_s, retries=retries, progress=up)
    onboard = download(
        link, mission_type, item_timeout_s=item_timeout_s, retries=retries, progress=down
    )
    problems = compare_items(items, onboard, mission_type)
    if problems:
        first = problems[0]
        more = f" and {len(problems) - 1} more differences" if len(problems) > 1 else ""
        raise MissionTransferError(
            f"{type_name(mission_type)} verification on {link.url} failed: {first}{more}",
            operation="verify",
            mission_type=mission_type,
            seq=first.seq,
            field=first.field,
        )
    return onboard
