"""The MAVLink mission microservice on the vehicle side, as ArduPilot implements it.

Behaviour from libraries/GCS_MAVLink/MissionItemProtocol*.cpp:

* Upload: MISSION_COUNT starts it; the vehicle asks for each item with **MISSION_REQUEST (#40)**
  (not MISSION_REQUEST_INT) and accepts MISSION_ITEM or MISSION_ITEM_INT in reply. It re-asks
  for the expected item every second without an answer and gives up after 8 s
  (MISSION_ACK OPERATION_CANCELLED + "Mission upload timeout"). An item with an unexpected seq is
  answered with MISSION_ACK INVALID_SEQUENCE and the upload *continues*. A bad item ends the
  upload with its error code. The last item is answered with MISSION_ACK ACCEPTED (STATUSTEXT
  "Flight plan received" for missions, "Fence Indexed OK" for fences, none for rally).
* Missions: seq 0 is home: whatever is uploaded there is dropped and a download returns the current
  home in frame 0 (AMSL). The stored mission is truncated at MISSION_COUNT and items are written as
  they arrive. Fence lists are staged and replaced only when complete and valid.
* Download: MISSION_REQUEST_LIST -> MISSION_COUNT; MISSION_REQUEST_INT -> MISSION_ITEM_INT,
  MISSION_REQUEST -> MISSION_ITEM plus STATUSTEXT "got MISSION_REQUEST; use MISSION_REQUEST_INT!".
  During an upload, downloads are refused (MISSION_ACK DENIED).
* MISSION_CLEAR_ALL -> MISSION_ACK (ERROR while the mission is running in AUTO); afterwards the
  mission count is 0 (home is not counted until the next upload).

Timers of this protocol use wall-clock time (see docs/simulator.md): the re-request interval is
scaled by the speed-up as on SITL (with a wall-time floor), the give-up timeout is not.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.items import MissionItem
from sim.mission_store import (
    FENCE_MAX_ITEMS,
    MISSION_MAX_ITEMS,
    RALLY_MAX_ITEMS,
    home_item,
    store_fence_item,
    store_mission_item,
    store_rally_item,
    validate_fence,
)

if TYPE_CHECKING:  # pragma: no cover
    from sim.link import Channel
    from sim.vehicle import Vehicle

MISSION, FENCE, RALLY = (
    mavlink.MAV_MISSION_TYPE_MISSION,
    mavlink.MAV_MISSION_TYPE_FENCE,
    mavlink.MAV_MISSION_TYPE_RALLY,
)
UPLOAD_TIMEOUT_S = 8.0
"""MissionItemProtocol::upload_timeout_ms."""
RESEND_S = 1.0
"""MissionItemProtocol::update re-request interval (1000 ms plus stream slowdown), simulated time."""
MIN_RESEND_WALL_S = 0.2
"""Lower bound of the re-request interval in wall time, so that a loaded ground station that
answers late is not flooded with duplicate requests at high speed-up."""


class MissionProtocol:
    """Upload/download state of one mission type on one vehicle.

    Args:
        mission_type: MAV_MISSION_TYPE (0 mission, 1 fence, 2 rally).
        vehicle: The vehicle whose lists are transferred.
    """

    def __init__(self, mission_type: int, vehicle: Vehicle, speedup: float = 1.0) -> None:
        self.mission_type = mission_type
        self.resend_wall_s = max(RESEND_S / max(speedup, 1e-9), MIN_RESEND_WALL_S)
        self.v = vehicle
        self.receiving = False
        self.request_i = 0
        self.request_last = 0
        self.dest = (0, 0)
        self.channel: Channel | None = None
        self.t_receive = 0.0
        self.t_request = 0.0
        self._staged: list[MissionItem | None] = []

    # ------------------------------------------------------------------ stored list access
    def _list(self) -> list[MissionItem]:
        lists = self.v.lists
        return {MISSION: lists.mission, FENCE: lists.fence, RALLY: lists.rally}[self.mission_type]

    def item_count(self) -> int:
        """Items as counted in MISSION_COUNT (home included for missions)."""
        if self.mission_type == FENCE and self.receiving:
            return len(self._staged)
        if self.mission_type == MISSION:
            return self.v.lists.mission_count
        return len(self._list())

    def _max_items(self) -> int:
        return {MISSION: MISSION_MAX_ITEMS, FENCE: FENCE_MAX_ITEMS, RALLY: RALLY_MAX_ITEMS}[
            self.mission_type
        ]

    def _ack(self, ch: Channel, sysid: int, compid: int, result: int) -> None:
        ch.mav.mission_ack_send(sysid, compid, result, self.mission_type)

    def _text(self, ch: Channel, severity: int, text: str) -> None:
        ch.mav.statustext_send(severity, text.encode()[:50])

    # ------------------------------------------------------------------ upload
    def handle_count(self, ch: Channel, msg) -> None:
        """MISSION_COUNT: truncate and start requesting items."""
        sysid, compid = msg.get_srcSystem(), msg.get_srcComponent()
        if self.receiving and (sysid, compid) != self.dest:
            self._ack(ch, sysid, compid, mavlink.MAV_MISSION_DENIED)
            return
        count = int(msg.count)
        if count > self._max_items():
            self._ack(ch, sysid, compid, mavlink.MAV_MISSION_NO_SPACE)
            self._text(ch, 4, f"Only {self._max_items()} items are supported")
            self.receiving = False
            return
        self.receiving = False
        if self.mission_type == FENCE:
            self._staged = [None] * count
        elif self.mission_type == MISSION:
            del self.v.lists.mission[max(1, count) :]
            self.v.lists.home_counted = count > 0
            self.v.lists.mission_version += 1
        else:
            del self.v.lists.rally[count:]
        self.dest = (sysid, compid)
        self.channel = ch
        if count == 0:
            self._complete(ch, sysid, compid)
            return
        self.receiving = True
        self.request_i = 0
        self.request_last = count - 1
        now = time.monotonic()
        self.t_receive = now
        self._send_request(now)

    def _send_request(self, now: float) -> None:
        if self.channel is None:
            return
        self.channel.mav.mission_request_send(
            self.dest[0], self.dest[1], self.request_i, self.mission_type
        )
        self.t_request = now

    def handle_item(self, ch: Channel, msg) -> None:
        """MISSION_ITEM or MISSION_ITEM_INT during an upload."""
        sysid, compid = msg.get_srcSystem(), msg.get_srcComponent()
        if not self.receiving:
            # ArduPilot: an item outside an upload is answered only when it is a guided-mode
            # waypoint (current == 2); otherwise it is an error for this transfer.
            self._ack(ch, sysid, compid, mavlink.MAV_MISSION_ERROR)
            return
        if int(msg.seq) != self.request_i:
            self._ack(ch, sysid, compid, mavlink.MAV_MISSION_INVALID_SEQUENCE)
            return
        if (sysid, compid) != self.dest:
            self._ack(ch, sysid, compid, mavlink.MAV_MISSION_DENIED)
            return
        item = MissionItem.from_wire(msg)
        result = self._store(item)
        if result != mavlink.MAV_MISSION_ACCEPTED:
            self._ack(ch, sysid, compid, result)
            self.receiving = False
            self.channel = None
            self._staged = []
            return
        now = time.monotonic()
        self.t_receive = now
        self.request_i += 1
        if self.request_i > self.request_last:
            self._complete(ch, sysid, compid)
            return
        self._send_request(now)

    def _store(self, item: MissionItem) -> int:
        seq = item.seq
        if self.mission_type == MISSION:
            result, stored = store_mission_item(item)
            if stored is None:
                return result
            lst = self.v.lists.mission
            if stored.command == mavlink.MAV_CMD_DO_JUMP:
                target = int(stored.param1)
                if (target >= len(lst) and target > self.request_last) or target == 0:
                    return mavlink.MAV_MISSION_ERROR
            if seq == 0:
                pass  # home: accepted, replaced by the vehicle's home on download
            elif seq < len(lst):
                lst[seq] = stored
            elif seq == len(lst):
                lst.append(stored)
            else:
                return mavlink.MAV_MISSION_ERROR
            self.v.lists.mission_version += 1
            return result
        if self.mission_type == FENCE:
            result, stored = store_fence_item(item)
            if stored is None:
                return result
            if seq >= len(self._staged):
                return mavlink.MAV_MISSION_INVALID_SEQUENCE
            self._staged[seq] = stored
            return result
        result, stored = store_rally_item(item)
        if stored is None:
            return result
        lst = self.v.lists.rally
        if seq < len(lst):
            lst[seq] = stored
        elif seq == len(lst):
            lst.append(stored)
        else:
            return mavlink.MAV_MISSION_ERROR
        return result

    def _complete(self, ch: Channel, sysid: int, compid: int) -> None:
        result = mavlink.MAV_MISSION_ACCEPTED
        v = self.v
        if self.mission_type == MISSION:
            self._text(ch, 6, "Flight plan received")
            v.params.set("MIS_TOTAL", self.item_count(), force=True)
        elif self.mission_type == FENCE:
            staged = [it for it in self._staged if it is not None]
            reason = validate_fence(staged) if len(staged) == len(self._staged) else "incomplete"
            if reason:
                self._text(ch, 4, f"Fence: {reason}"[:50])
                result = mavlink.MAV_MISSION_ERROR
            else:
                v.lists.fence = staged
                v.fence_changed()
                self._text(ch, 6, "Fence Indexed OK")
            self._staged = []
        else:  # ArduPilot 4.7 sends no text for a rally upload
            v.params.set("RALLY_TOTAL", len(v.lists.rally))
        self._ack(ch, sysid, compid, result)
        self.receiving = False
        self.channel = None

    def update(self, now: float) -> None:
        """Re-request the expected item after RESEND_S; cancel after UPLOAD_TIMEOUT_S.

        ArduPilot's 1 s re-request timer runs on AP_HAL::millis(), which is simulated time under
        SITL's --speedup; here it is RESEND_S / speedup of wall time, but never below
        MIN_RESEND_WALL_S. The 8 s give-up timer stays in wall time so that transfers survive a
        loaded machine.
        """
        if not self.receiving or self.channel is None:
            return
        if now - self.t_receive > UPLOAD_TIMEOUT_S:
            self.receiving = False
            name = {MISSION: "Mission", FENCE: "Fence", RALLY: "Rally"}[self.mission_type]
            self._text(self.channel, 4, f"{name} upload timeout")
            self._ack(
                self.channel, self.dest[0], self.dest[1], mavlink.MAV_MISSION_OPERATION_CANCELLED
            )
            self.channel = None
            self._staged = []
            return
        if now - self.t_request > self.resend_wall_s:
            self._send_request(now)

    # ------------------------------------------------------------------ download, clear
    def handle_request_list(self, ch: Channel, msg) -> None:
        """MISSION_REQUEST_LIST -> MISSION_COUNT."""
        sysid, compid = msg.get_srcSystem(), msg.get_srcComponent()
        if self.receiving:
            self._ack(ch, sysid, compid, mavlink.MAV_MISSION_DENIED)
            return
        ch.mav.mission_count_send(sysid, compid, self.item_count(), self.mission_type)

    def handle_request(self, ch: Channel, msg, want_int: bool) -> None:
        """MISSION_REQUEST_INT -> MISSION_ITEM_INT; MISSION_REQUEST -> MISSION_ITEM."""
        sysid, compid = msg.get_srcSystem(), msg.get_srcComponent()
        if self.receiving:
            self._ack(ch, sysid, compid, mavlink.MAV_MISSION_DENIED)
            return
        if not want_int:
            # GCS_MAVLINK::handle_mission_request (4.7): answered, but with a nag once per request.
            self._text(ch, 6, "got MISSION_REQUEST; use MISSION_REQUEST_INT!")
        seq = int(msg.seq)
        lst = self._list()
        if self.mission_type == MISSION:
            if seq != 0 and seq >= len(lst):
                ch.mav.mission_count_send(sysid, compid, self.item_count(), MISSION)
                self._ack(ch, sysid, compid, mavlink.MAV_MISSION_ERROR)
                return
            if seq == 0:
                home = self.v.home
                item = home_item(*home) if home else MissionItem(seq=0, frame=0, command=16)
            else:
                item = lst[seq]
        else:
            if seq >= len(lst):
                self._ack(ch, sysid, compid, mavlink.MAV_MISSION_INVALID_SEQUENCE)
                return
            item = lst[seq]
        current = (
            1
            if (self.mission_type == MISSION and seq != 0 and seq == self.v.mission.nav_index)
            else 0
        )
        if want_int:
            w = item.to_wire()
            ch.mav.mission_item_int_send(
                sysid, compid, seq, w["frame"], w["command"], current, w["autocontinue"],
                w["param1"], w["param2"], w["param3"], w["param4"], w["x"], w["y"], w["z"],
                self.mission_type,
            )  # fmt: skip
        else:
            ch.mav.mission_item_send(
                sysid, compid, seq, item.frame, item.command, current, item.autocontinue,
                item.param1, item.param2, item.param3, item.param4, item.x, item.y, item.z,
                self.mission_type,
            )  # fmt: skip

    def handle_clear_all(self, ch: Channel, msg) -> None:
        """MISSION_CLEAR_ALL -> MISSION_ACK."""
        sysid, compid = msg.get_srcSystem(), msg.get_srcComponent()
        ok = not self.receiving
        v = self.v
        if ok and self.mission_type == MISSION:
            if v.mission.state == v.mission.RUNNING:
                ok = False
            else:
                del v.lists.mission[1:]
                v.lists.home_counted = False  # AP_Mission::clear(): _cmd_total = 0
                v.lists.mission_version += 1
                v.mission.reset()
                v.params.set("MIS_TOTAL", 0, force=True)
        elif ok and self.mission_type == FENCE:
            v.lists.fence = []
            v.fence_changed()
        elif ok:
            v.lists.rally = []
            v.params.set("RALLY_TOTAL", 0)
        self._ack(
            ch, sysid, compid, mavlink.MAV_MISSION_ACCEPTED if ok else mavlink.MAV_MISSION_ERROR
        )
