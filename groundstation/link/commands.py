"""Commands to the vehicle over the link: COMMAND_LONG with its ACK, and message rates.

:class:`CommandsMixin` is one part of :class:`groundstation.link.connection.Link` (which owns
``send``, ``queue``, ``mav``, the target ids and ``_cmd_locks``). Protocols: the MAVLink command
microservice (https://mavlink.io/en/services/command.html) and MAV_CMD_SET_MESSAGE_INTERVAL with
ArduPilot's REQUEST_DATA_STREAM groups as the fallback (:data:`DATA_STREAM_OF_MESSAGE`).
Thread-safe (one command of each number in flight at a time); every wait has a timeout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from groundstation.link.dialect import MAV
from missions.errors import InputError

# ArduPilot's REQUEST_DATA_STREAM groups (GCS_Mavlink.cpp of ArduCopter, ``STREAM_*`` tables):
# used only when the vehicle does not accept MAV_CMD_SET_MESSAGE_INTERVAL.
DATA_STREAM_OF_MESSAGE = {
    "SYS_STATUS": MAV.MAV_DATA_STREAM_EXTENDED_STATUS,
    "GPS_RAW_INT": MAV.MAV_DATA_STREAM_EXTENDED_STATUS,
    "MISSION_CURRENT": MAV.MAV_DATA_STREAM_EXTENDED_STATUS,
    "NAV_CONTROLLER_OUTPUT": MAV.MAV_DATA_STREAM_EXTENDED_STATUS,
    "POSITION_TARGET_GLOBAL_INT": MAV.MAV_DATA_STREAM_EXTENDED_STATUS,
    "EXTENDED_SYS_STATE": MAV.MAV_DATA_STREAM_EXTENDED_STATUS,
    "GLOBAL_POSITION_INT": MAV.MAV_DATA_STREAM_POSITION,
    "LOCAL_POSITION_NED": MAV.MAV_DATA_STREAM_POSITION,
    "ATTITUDE": MAV.MAV_DATA_STREAM_EXTRA1,
    "VFR_HUD": MAV.MAV_DATA_STREAM_EXTRA2,
    "BATTERY_STATUS": MAV.MAV_DATA_STREAM_EXTRA3,
    "EKF_STATUS_REPORT": MAV.MAV_DATA_STREAM_EXTRA3,
    "VIBRATION": MAV.MAV_DATA_STREAM_EXTRA3,
    "MOUNT_STATUS": MAV.MAV_DATA_STREAM_EXTRA3,
    "GIMBAL_DEVICE_ATTITUDE_STATUS": MAV.MAV_DATA_STREAM_EXTRA3,
    "RC_CHANNELS": MAV.MAV_DATA_STREAM_RC_CHANNELS,
    "SERVO_OUTPUT_RAW": MAV.MAV_DATA_STREAM_RC_CHANNELS,
    "RAW_IMU": MAV.MAV_DATA_STREAM_RAW_SENSORS,
    "SCALED_PRESSURE": MAV.MAV_DATA_STREAM_RAW_SENSORS,
}


class CommandsMixin:
    """COMMAND_LONG and message-rate requests of :class:`~groundstation.link.connection.Link`."""

    def command_long(
        self,
        command: int,
        params: Iterable[float] = (),
        *,
        timeout_s: float = 1.5,
        retries: int = 3,
        target_component: int | None = None,
    ) -> Any | None:
        """Send COMMAND_LONG and wait for its COMMAND_ACK, re-sending on timeout.

        Protocol: MAVLink command microservice (https://mavlink.io/en/services/command.html):
        ``confirmation`` is incremented on each re-send; an ACK with MAV_RESULT_IN_PROGRESS is
        followed by a final one.

        Args:
            command: MAV_CMD number.
            params: Up to 7 parameters (missing ones are 0).
            timeout_s: Wait for the ACK this long per attempt, seconds.
            retries: Re-sends after the first attempt.
            target_component: Default: the autopilot's component id.

        Returns:
            The final COMMAND_ACK message, or None when no ACK arrived after all attempts.
        """
        p = [float(v) for v in params][:7]
        p += [0.0] * (7 - len(p))
        lock = self._cmd_locks.setdefault(int(command), threading.Lock())
        with lock, self.queue("COMMAND_ACK") as q:
            for attempt in range(retries + 1):
                self.send(
                    self.mav.command_long_encode(
                        self.target_system,
                        self.target_component if target_component is None else target_component,
                        int(command),
                        min(attempt, 255),
                        *p,
                    )
                )
                deadline = time.monotonic() + timeout_s
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    ack = q.get(remaining)
                    if ack is None:
                        break
                    if ack.command != int(command) or not self._ack_is_for_us(ack):
                        continue
                    if ack.result == MAV.MAV_RESULT_IN_PROGRESS:
                        deadline = time.monotonic() + max(timeout_s, 5.0)
                        continue
                    return ack
        return None

    def _ack_is_for_us(self, ack: Any) -> bool:
        ts = getattr(ack, "target_system", 0)
        return ts in (0, self.source_system)

    def request_message_interval(self, msg: int | str, hz: float, *, timeout_s: float = 1.5) -> str:
        """Ask the vehicle to stream one message at ``hz``.

        Uses MAV_CMD_SET_MESSAGE_INTERVAL (param1 message id, param2 interval in microseconds;
        -1 disables). When the vehicle does not know the command (no ACK, or
        MAV_RESULT_UNSUPPORTED), falls back to REQUEST_DATA_STREAM for ArduPilot's stream group
        holding that message (:data:`DATA_STREAM_OF_MESSAGE`), the pre-2019 way.

        Args:
            msg: Message name (``"GLOBAL_POSITION_INT"``) or id.
            hz: Rate in Hz; 0 stops the message.
            timeout_s: Wait for the COMMAND_ACK this long per attempt.

        Returns:
            ``"interval"`` when SET_MESSAGE_INTERVAL was accepted, ``"data_stream"`` when the
            fallback was sent, ``"unsupported"`` when the vehicle refused this message.

        Raises:
            InputError: Unknown message name.
        """
        if isinstance(msg, str):
            msg_id = getattr(MAV, f"MAVLINK_MSG_ID_{msg.upper()}", None)
            if msg_id is None:
                raise InputError(f"unknown MAVLink message {msg!r}")
            name = msg.upper()
        else:
            msg_id = int(msg)
            cls = MAV.mavlink_map.get(msg_id)
            name = cls.msgname if cls is not None else str(msg_id)
        interval_us = -1.0 if hz <= 0 else 1e6 / hz
        ack = self.command_long(
            MAV.MAV_CMD_SET_MESSAGE_INTERVAL, (msg_id, interval_us), timeout_s=timeout_s, retries=2
        )
        if ack is not None and ack.result == MAV.MAV_RESULT_ACCEPTED:
            return "interval"
        if ack is not None and ack.result != MAV.MAV_RESULT_UNSUPPORTED:
            # The command works but this message is not available (ArduPilot: FAILED/DENIED for
            # a message it does not have): a data-stream request would only disturb the rates
            # of the other messages of its group.
            return "unsupported"
        stream = DATA_STREAM_OF_MESSAGE.get(name)
        if stream is None:
            return "unsupported"
        rate = 0 if hz <= 0 else max(1, round(hz))
        self.send(
            self.mav.request_data_stream_encode(
                self.target_system, self.target_component, stream, rate, 1 if hz > 0 else 0
            )
        )
        return "data_stream"
