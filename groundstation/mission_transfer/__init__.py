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
