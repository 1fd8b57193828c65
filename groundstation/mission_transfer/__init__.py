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

import time
from collections.abc import Sequence

from groundstation.link import Link
from groundstation.mission_transfer.compare import Mismatch, ardupilot_stored, compare_items
from groundstation.mission_transfer.control import clear, set_current
from groundstation.mission_transfer.download import download
from groundstation.mission_transfer.protocol import (
    DEFAULT_ITEM_TIMEOUT_S,
    DEFAULT_RETRIES,
    MissionTransferError,
    Progress,
    type_name,
)
from groundstation.mission_transfer.upload import upload
from missions.items import MAV_MISSION_TYPE_MISSION, MissionItem

READBACK_PATIENCE_S = 12.0
"""After a failed upload, keep trying to read the list back this long, seconds (ArduPilot
refuses downloads for up to 8 s while it waits for the rest of the upload)."""

__all__ = [
    "DEFAULT_ITEM_TIMEOUT_S",
    "DEFAULT_RETRIES",
    "Mismatch",
    "MissionTransferError",
    "Progress",
    "ardupilot_stored",
    "clear",
    "compare_items",
    "download",
    "onboard_summary",
    "set_current",
    "type_name",
    "upload",
    "upload_and_verify",
]


def upload_and_verify(
    link: Link,
    items: Sequence[MissionItem],
    mission_type: int = MAV_MISSION_TYPE_MISSION,
    *,
    item_timeout_s: float | None = None,
    retries: int = DEFAULT_RETRIES,
    progress: Progress | None = None,
    on_failure: str = "clear",
) -> list[MissionItem]:
    """Upload ``items``, download the list back and compare it field by field.

    A failed upload or verification can leave a partial or mixed list on the vehicle
    (ArduPilot stores items as they arrive). The list is then read back, the error says what
    the vehicle holds ("the vehicle now holds 136 of 500 items of the new mission"), and with
    ``on_failure="clear"`` the list is cleared so nothing half-written can be flown.

    Args:
        link, items, mission_type, item_timeout_s, retries: As for :func:`upload` (the read-back
            uses :data:`DEFAULT_ITEM_TIMEOUT_S` when ``item_timeout_s`` is None).
        progress: Called with ``(done, 2 * N)``: upload then read-back.
        on_failure: ``clear`` (clear the list after a failure) or ``keep``.

    Returns:
        The list as read back from the vehicle.

    Raises:
        MissionTransferError: The upload failed, or the read-back differs (``operation`` is
            ``verify``; the message names the item and field, or says the list is half-uploaded).
    """
    if on_failure not in ("clear", "keep"):
        raise ValueError(f"on_failure must be 'clear' or 'keep', not {on_failure!r}")
    n = len(items)
    up = (lambda done, total: progress(done, 2 * n)) if progress else None
    down = (lambda done, total: progress(n + done, 2 * n)) if progress else None
    try:
        upload(
            link, items, mission_type, item_timeout_s=item_timeout_s, retries=retries, progress=up
        )
        onboard = download(
            link,
            mission_type,
            item_timeout_s=item_timeout_s or DEFAULT_ITEM_TIMEOUT_S,
            retries=retries,
            progress=down,
        )
    except MissionTransferError as exc:
        raise _after_failure(link, items, mission_type, exc, on_failure) from None
    problems = compare_items(items, onboard, mission_type)
    if problems:
        first = problems[0]
        more = f" and {len(problems) - 1} more differences" if len(problems) > 1 else ""
        exc = MissionTransferError(
            f"{type_name(mission_type)} verification on {link.url} failed: {first}{more}",
            operation="verify",
            mission_type=mission_type,
            seq=first.seq,
            field=first.field,
        )
        raise _after_failure(link, items, mission_type, exc, on_failure, onboard) from None
    return onboard


def onboard_summary(
    items: Sequence[MissionItem], onboard: Sequence[MissionItem], mission_type: int
) -> str:
    """What the vehicle holds after a failed upload, relative to the new list, in words.

    ``"the vehicle now holds 136 of 500 items of the new mission"``, or a mixed list
    (``"... holds 4 items: 1 of the new mission, then 3 of an earlier one"``), or nothing.
    """
    start = 1 if int(mission_type) == MAV_MISSION_TYPE_MISSION else 0
    name = type_name(mission_type)
    total = len(items) - start
    held = len(onboard) - start
    if held <= 0:
        return f"the vehicle now holds no {name} items"
    bad = {
        m.seq
        for m in compare_items(items[: len(onboard)], onboard, mission_type)
        if m.seq is not None
    }
    same = 0
    for it in onboard[start:]:
        if it.seq in bad or it.seq >= len(items):
            break
        same += 1
    if same == held:
        return f"the vehicle now holds {same} of {total} items of the new {name}"
    return (
        f"the vehicle now holds {held} {name} items: {same} of the new {name} "
        f"(of {total}), then {held - same} that are not"
    )


def _after_failure(link, items, mission_type, exc, on_failure, onboard=None):
    """The error to raise after a failed upload: what the vehicle holds, and cleared or not."""
    name = type_name(mission_type)
    if onboard is None:
        # ArduPilot refuses downloads (MISSION_ACK DENIED) while it still waits for the failed
        # upload, for up to 8 s (MissionItemProtocol::upload_timeout_ms): retry past that
        deadline = time.monotonic() + READBACK_PATIENCE_S
        while True:
            try:
                onboard = download(link, mission_type, item_timeout_s=DEFAULT_ITEM_TIMEOUT_S)
                break
            except MissionTransferError as why:
                if time.monotonic() > deadline:
                    onboard = why
                    break
                time.sleep(0.5)
    if isinstance(onboard, MissionTransferError):
        held = f"what the vehicle now holds is unknown (reading it back failed: {onboard})"
    else:
        held = onboard_summary(items, onboard, mission_type)
    if on_failure == "clear":
        try:
            clear(link, mission_type)
            tail = f"; the {name} on the vehicle was cleared (--on-failure clear)"
        except MissionTransferError as why:
            tail = f"; clearing it failed too ({why}): do not fly it"
    else:
        tail = ": do not fly it (--on-failure keep)"
    return MissionTransferError(
        f"{exc}; {held}{tail}",
        operation=exc.operation,
        mission_type=exc.mission_type,
        seq=exc.seq,
        last_acked=exc.last_acked,
        result=exc.result,
        field=exc.field,
    )
