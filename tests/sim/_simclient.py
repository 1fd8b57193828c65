"""A minimal ground station written with plain pymavlink, for driving the simulator in tests.

Deliberately independent of ``groundstation`` so the simulator is checked against the MAVLink
protocol itself. Every wait has a timeout expressed in simulated seconds and converted with the
vehicle's speed-up (plus a generous allowance for a loaded CI machine).
"""

from __future__ import annotations

import time

from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.items import MissionItem
from sim.mission_store import store_fence_item, store_mission_item, store_rally_item


def stored_form(item: MissionItem) -> MissionItem:
    """What ArduPilot stores for an uploaded item (to compare with a download)."""
    store = {0: store_mission_item, 1: store_fence_item, 2: store_rally_item}[item.mission_type]
    return store(item)[1] or item


MODES = {"STABILIZE": 0, "AUTO": 3, "GUIDED": 4, "LOITER": 5, "RTL": 6, "LAND": 9, "BRAKE": 17}
LOAD_ALLOWANCE_S = 20.0
"""Extra wall seconds every wait gets (the CI machine is shared)."""


class Timeout(AssertionError):
    """A wait ran out."""


class Gcs:
    """One pymavlink connection with helpers and a record of what passed by.

    Args:
        url: pymavlink connection string.
        speedup: Vehicle speed-up (to turn simulated waits into wall timeouts).
        source_system: Our system id (255 is what MAV_GCS_SYSID expects).
    """

    def __init__(self, url: str, speedup: float = 1.0, source_system: int = 255) -> None:
        self.speedup = speedup
        self.m = mavutil.mavlink_connection(
            url, source_system=source_system, source_component=190, autoreconnect=False
        )
        self.texts: list[str] = []
        self.reached: list[int] = []
        self.current: list[int] = []  # MISSION_CURRENT seqs, each change once
        self.received: list = []
        if url.startswith("udp"):
            self.heartbeat_send()  # a UDP vehicle answers whoever sent the last datagram
        hb = self.recv("HEARTBEAT", sim_s=30)
        self.heartbeat = hb
        self.sysid = hb.get_srcSystem()
        self.compid = hb.get_srcComponent()
        self.m.target_system = self.sysid
        self.m.target_component = self.compid

    def close(self) -> None:
        """Close the connection."""
        self.m.close()

    def __enter__(self) -> Gcs:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ receive
    def wall(self, sim_s: float) -> float:
        """Wall timeout for ``sim_s`` simulated seconds."""
        return sim_s / self.speedup + LOAD_ALLOWANCE_S

    def poll(self, timeout: float = 0.05):
        """Receive one message (recording STATUSTEXT, MISSION_ITEM_REACHED, MISSION_CURRENT
        changes, COMMAND_ACK), or None."""
        msg = self.m.recv_match(blocking=True, timeout=timeout)
        if msg is None:
            return None
        kind = msg.get_type()
        if kind == "BAD_DATA":
            return None
        if msg.get_srcSystem() != getattr(self, "sysid", msg.get_srcSystem()):
            return None
        if kind == "STATUSTEXT":
            self.texts.append(msg.text)
        elif kind == "MISSION_ITEM_REACHED":
            self.reached.append(msg.seq)
        elif kind == "COMMAND_ACK":
            self.received.append(msg)
        elif kind == "MISSION_CURRENT" and (not self.current or self.current[-1] != msg.seq):
            self.current.append(msg.seq)
        return msg

    def recv(self, types, sim_s: float = 10.0, cond=None, wall_s: float | None = None):
        """Wait for a message of ``types`` (str or tuple) that satisfies ``cond``.

        Raises:
            Timeout: Nothing matching within the timeout.
        """
        if isinstance(types, str):
            types = (types,)
        deadline = time.monotonic() + (wall_s if wall_s is not None else self.wall(sim_s))
        while time.monotonic() < deadline:
            msg = self.poll(0.1)
            if msg is None or msg.get_type() not in types:
                continue
            if cond is None or cond(msg):
                return msg
        raise Timeout(f"no {types} within {sim_s} simulated s")

    def drain(self, wall_s: float) -> list:
        """Collect everything for ``wall_s`` wall seconds."""
        out = []
        deadline = time.monotonic() + wall_s
        while time.monotonic() < deadline:
            msg = self.poll(0.05)
            if msg is not None:
                out.append(msg)
        return out

    # ------------------------------------------------------------------ commands
    def heartbeat_send(self) -> None:
        """Send a GCS heartbeat."""
        self.m.mav.heartbeat_send(
            mavlink.MAV_TYPE_GCS, mavlink.MAV_AUTOPILOT_INVALID, 0, 0, mavlink.MAV_STATE_ACTIVE
        )

    def request_streams(self, rate_hz: int = 4) -> None:
        """REQUEST_DATA_STREAM(ALL) as MAVProxy/Mission Planner do."""
        self.m.mav.request_data_stream_send(self.sysid, self.compid, 0, rate_hz, 1)

    def command(self, command: int, *params: float, sim_s: float = 5.0, retries: int = 3) -> int:
        """COMMAND_LONG with up to 7 params; returns COMMAND_ACK.result (retries on silence)."""
        p = list(params) + [0.0] * (7 - len(params))
        for attempt in range(retries):
            self.m.mav.command_long_send(self.sysid, self.compid, command, attempt, *p)
            try:
                ack = self.recv("COMMAND_ACK", sim_s=sim_s, cond=lambda a: a.command == command,
                                wall_s=self.wall(sim_s) if attempt == retries - 1 else 3.0)  # fmt: skip
            except Timeout:
                continue
            return ack.result
        raise Timeout(f"no COMMAND_ACK for command {command}")

    def set_mode(self, name: str) -> int:
        """MAV_CMD_DO_SET_MODE with ArduCopter custom_mode; returns the COMMAND_ACK result.

        Not the SET_MODE message: ArduCopter 4.7 does not acknowledge it (measured); the command
        is acknowledged by the simulator and by a real SITL alike.
        """
        return self.command(
            mavlink.MAV_CMD_DO_SET_MODE, mavlink.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, MODES[name]
        )

    def arm(self) -> int:
        """Arm; returns the COMMAND_ACK result."""
        return self.command(mavlink.MAV_CMD_COMPONENT_ARM_DISARM, 1)

    def wait_armable(self, sim_s: float = 120.0) -> None:
        """Wait until EKF_STATUS_REPORT reports an absolute horizontal position (flag 0x10)."""
        self.m.mav.command_long_send(
            self.sysid, self.compid, mavlink.MAV_CMD_SET_MESSAGE_INTERVAL, 0,
            mavlink.MAVLINK_MSG_ID_EKF_STATUS_REPORT, 200_000, 0, 0, 0, 0, 0,
        )  # fmt: skip
        self.recv(
            "EKF_STATUS_REPORT", sim_s=sim_s, cond=lambda m: m.flags & mavlink.EKF_POS_HORIZ_ABS
        )

    def mode_is(self, name: str, sim_s: float = 10.0):
        """Wait for a HEARTBEAT in mode ``name``."""
        return self.recv("HEARTBEAT", sim_s=sim_s, cond=lambda h: h.custom_mode == MODES[name])

    def wait_disarmed(self, sim_s: float = 60.0):
        """Wait for a HEARTBEAT without the armed flag."""
        return self.recv(
            "HEARTBEAT",
            sim_s=sim_s,
            cond=lambda h: not h.base_mode & mavlink.MAV_MODE_FLAG_SAFETY_ARMED,
        )

    def wait_alt(self, alt_m: float, above: bool = True, sim_s: float = 60.0):
        """Wait until GLOBAL_POSITION_INT.relative_alt crosses ``alt_m``."""

        def ok(m):
            alt = m.relative_alt / 1000.0
            return alt >= alt_m if above else alt <= alt_m

        return self.recv("GLOBAL_POSITION_INT", sim_s=sim_s, cond=ok)

    def param(self, name: str, sim_s: float = 5.0) -> float:
        """PARAM_REQUEST_READ by name; returns PARAM_VALUE.param_value."""
        for attempt in range(3):
            self.m.mav.param_request_read_send(self.sysid, self.compid, name.encode(), -1)
            try:
                msg = self.recv(
                    "PARAM_VALUE", sim_s=sim_s, cond=lambda m: m.param_id == name,
                    wall_s=None if attempt == 2 else 3.0,
                )  # fmt: skip
            except Timeout:
                continue
            return msg.param_value
        raise Timeout(f"no PARAM_VALUE for {name}")

    # ------------------------------------------------------------------ mission protocol
    def upload(
        self, items: list[MissionItem], mission_type: int = 0, item_wall_s: float = 2.0,
        use_int: bool = True, max_retries: int = 30,
    ) -> tuple[int, list[str]]:  # fmt: skip
        """Upload like a robust GCS: answers MISSION_REQUEST and _INT, re-sends on silence.

        Returns:
            ``(MISSION_ACK.type, kinds of requests seen)``.
        """
        seen: list[str] = []
        count = len(items)
        self.m.mav.mission_count_send(self.sysid, self.compid, count, mission_type)
        retries = 0
        last_sent: int | None = None
        deadline_item = time.monotonic() + item_wall_s
        while retries <= max_retries:
            msg = self.poll(0.05)
            if msg is None:
                if time.monotonic() > deadline_item:
                    retries += 1
                    deadline_item = time.monotonic() + item_wall_s
                    if last_sent is None:
                        self.m.mav.mission_count_send(self.sysid, self.compid, count, mission_type)
                    else:
                        self._send_item(items[last_sent], use_int)
                continue
            kind = msg.get_type()
            if (
                kind in ("MISSION_REQUEST", "MISSION_REQUEST_INT")
                and msg.mission_type == mission_type
            ):
                seen.append(kind)
                if msg.seq < count:
                    last_sent = msg.seq
                    self._send_item(items[msg.seq], use_int)
                    deadline_item = time.monotonic() + item_wall_s
            elif kind == "MISSION_ACK" and msg.mission_type == mission_type:
                if msg.type == mavlink.MAV_MISSION_INVALID_SEQUENCE:
                    continue  # ArduPilot keeps going after this NACK
                if msg.type == mavlink.MAV_MISSION_ERROR and last_sent == count - 1 and retries:
                    # The ACCEPTED ack was lost and our re-sent last item arrived after the
                    # transfer ended (ArduPilot answers MAV_MISSION_ERROR): verify by download.
                    back = self.download(mission_type, item_wall_s=item_wall_s)
                    same = len(back) == count and all(
                        MissionItem.from_wire(b).same_on_wire(stored_form(i), ignore_seq=True)
                        for b, i in list(zip(back, items, strict=True))[
                            1 if mission_type == 0 else 0 :
                        ]
                    )
                    return (mavlink.MAV_MISSION_ACCEPTED if same else msg.type), seen
                return msg.type, seen
        raise Timeout("mission upload gave up")

    def _send_item(self, item: MissionItem, use_int: bool) -> None:
        if use_int:
            w = item.to_wire()
            self.m.mav.mission_item_int_send(
                self.sysid, self.compid, w["seq"], w["frame"], w["command"], w["current"],
                w["autocontinue"], w["param1"], w["param2"], w["param3"], w["param4"],
                w["x"], w["y"], w["z"], w["mission_type"],
            )  # fmt: skip
        else:
            self.m.mav.mission_item_send(
                self.sysid, self.compid, item.seq, item.frame, item.command, item.current,
                item.autocontinue, item.param1, item.param2, item.param3, item.param4,
                item.x, item.y, item.z, item.mission_type,
            )  # fmt: skip

    def download(self, mission_type: int = 0, use_int: bool = True, item_wall_s: float = 2.0):
        """Download a list (re-requesting on silence); returns the received messages."""
        count_msg = None
        for _ in range(10):
            self.m.mav.mission_request_list_send(self.sysid, self.compid, mission_type)
            try:
                count_msg = self.recv(
                    "MISSION_COUNT", cond=lambda m: m.mission_type == mission_type,
                    wall_s=item_wall_s,
                )  # fmt: skip
                break
            except Timeout:
                continue
        if count_msg is None:
            raise Timeout("no MISSION_COUNT")
        want = "MISSION_ITEM_INT" if use_int else "MISSION_ITEM"
        out = []
        for seq in range(count_msg.count):
            for _ in range(10):
                if use_int:
                    self.m.mav.mission_request_int_send(self.sysid, self.compid, seq, mission_type)
                else:
                    self.m.mav.mission_request_send(self.sysid, self.compid, seq, mission_type)
                try:
                    out.append(
                        self.recv(want, cond=lambda m, s=seq: m.seq == s, wall_s=item_wall_s)
                    )
                    break
                except Timeout:
                    continue
            else:
                raise Timeout(f"item {seq} never came")
        self.m.mav.mission_ack_send(self.sysid, self.compid, 0, mission_type)
        return out


def waypoint(seq: int, lat: float, lon: float, alt: float, hold_s: float = 0.0) -> MissionItem:
    """NAV_WAYPOINT in GLOBAL_RELATIVE_ALT_INT."""
    return MissionItem(
        seq=seq, frame=6, command=mavlink.MAV_CMD_NAV_WAYPOINT, param1=hold_s, x=lat, y=lon, z=alt
    )


def home_placeholder() -> MissionItem:
    """Seq 0 as a GCS uploads it (replaced by the vehicle's home)."""
    return MissionItem(seq=0, frame=0, command=16, x=0.0, y=0.0, z=0.0)
