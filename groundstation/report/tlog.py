"""Read a MAVLink telemetry log (``.tlog``) into a :class:`~groundstation.report.model.FlightLog`.

A tlog is a sequence of records, each an 8-byte big-endian UNIX time in microseconds followed by
one MAVLink packet as it was on the wire (the format pymavlink's ``mavlogfile``, MAVProxy and
Mission Planner write and read). :func:`scan_tlog` walks that framing without decoding, to
recognise a tlog and to find where a cut or damaged file stops being readable; pymavlink
(``mavutil.mavlink_connection``) decodes the packets.

Packet framing (https://mavlink.io/en/guide/serialization.html): MAVLink 1 starts with 0xFE and
is ``6 + len + 2`` bytes; MAVLink 2 starts with 0xFD and is ``10 + len + 2`` bytes, plus a
13-byte signature when ``incompat_flags & 0x01``.

What is taken from the vehicle's messages (the system id whose HEARTBEAT names an autopilot):

* track: GLOBAL_POSITION_INT (lat/lon degE7, relative_alt mm, hdg cdeg, time_boot_ms), or
  GPS_RAW_INT when the log has no GLOBAL_POSITION_INT (altitude made relative to home);
* mode and arming: HEARTBEAT custom_mode (pymavlink's ArduPilot mode tables) and base_mode
  MAV_MODE_FLAG_SAFETY_ARMED;
* battery: SYS_STATUS (battery_remaining, voltage_battery) and BATTERY_STATUS
  (current_consumed, battery_remaining, voltages[0]); -1 / UINT16_MAX mean unknown;
* home: HOME_POSITION; texts: STATUSTEXT;
* link losses: silences longer than the link-loss timeout (``connection.link_lost_s``, 5 s)
  between two messages of the vehicle, and a silence from the vehicle's last message to the
  end of the log when the ground station kept logging its own packets.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from groundstation.report.model import (
    BatterySeries,
    FlightLog,
    LinkLoss,
    StatusMessage,
    Track,
    add_arming,
    add_mode,
)
from missions.errors import InputError

log = logging.getLogger(__name__)

MIN_PLAUSIBLE_US = 946_684_800 * 10**6
"""2000-01-01 in microseconds: an earlier record time means the bytes are not a tlog."""
MAX_PLAUSIBLE_US = 4_102_444_800 * 10**6
"""2100-01-01 in microseconds."""
DEFAULT_LINK_LOST_S = 5.0
"""No vehicle message for this long counts as a link loss (ConnectionSettings.link_lost_s)."""

_SEVERITY = {
    0: "emergency",
    1: "alert",
    2: "critical",
    3: "error",
    4: "warning",
    5: "notice",
    6: "info",
    7: "debug",
}
_NOT_VEHICLE_TYPES = {6, 26, 27, 18, 30}  # GCS, GIMBAL, ADSB, ONBOARD_CONTROLLER, CAMERA
_MAV_AUTOPILOT_INVALID = 8
_ARMED_FLAG = 128  # MAV_MODE_FLAG_SAFETY_ARMED


@dataclass(frozen=True)
class TlogScan:
    """Result of walking a tlog's framing.

    Attributes:
        records: Complete records found from the start.
        good_bytes: Bytes up to the end of the last complete record.
        size: File size.
        first_us: Time of the first record (µs), or None.
        last_us: Time of the last complete record (µs), or None.
        stop_reason: Why the walk stopped before the end (``""`` when it reached the end).
    """

    records: int
    good_bytes: int
    size: int
    first_us: int | None
    last_us: int | None
    stop_reason: str

    @property
    def complete(self) -> bool:
        """Whether the walk reached the end of the file (no cut or corrupt tail)."""
        return self.good_bytes == self.size


def _packet_len(data: bytes | memoryview, i: int) -> int | None:
    """Length of the MAVLink packet starting at ``data[i]``, or None when it is not a packet."""
    if i >= len(data):
        return None
    magic = data[i]
    if magic == 0xFD:
        if i + 3 > len(data):
            return -1
        n = 12 + data[i + 1]
        if data[i + 2] & 0x01:
            n += 13
        return n
    if magic == 0xFE:
        if i + 2 > len(data):
            return -1
        return 8 + data[i + 1]
    return None


def scan_tlog(path: str | os.PathLike, max_bytes: int | None = None) -> TlogScan:
    """Walk a tlog's record framing (no decoding).

    Args:
        path: The file.
        max_bytes: Read at most this many bytes (a quick sniff); None reads the whole file.

    Returns:
        The :class:`TlogScan`. ``records == 0`` means the file does not start like a tlog.
    """
    p = Path(path)
    size = p.stat().st_size
    with open(p, "rb") as f:
        data = f.read(max_bytes) if max_bytes else f.read()
    i = 0
    records = 0
    first = last = None
    reason = ""
    prev_us = None
    while i < len(data):
        if i + 8 > len(data):
            reason = "ends inside a record's time stamp"
            break
        (us,) = struct.unpack_from(">Q", data, i)
        if not MIN_PLAUSIBLE_US <= us <= MAX_PLAUSIBLE_US:
            reason = f"byte {i}: not a record time stamp"
            break
        if prev_us is not None and us + 3_600_000_000 < prev_us:
            reason = f"byte {i}: time stamp jumps back by more than an hour"
            break
        n = _packet_len(data, i + 8)
        if n is None:
            reason = f"byte {i + 8}: not a MAVLink packet start"
            break
        if n < 0 or i + 8 + n > len(data):
            reason = "ends inside a MAVLink packet"
            break
        i += 8 + n
        records += 1
        prev_us = us
        first = us if first is None else first
        last = us
    if max_bytes and len(data) < size and reason.startswith("ends inside"):
        reason = ""  # the sniff window cut it, not the file
    return TlogScan(records, i, size, first, last, reason)


def looks_like_tlog(path: str | os.PathLike) -> bool:
    """True when the file starts with at least one complete, plausible tlog record."""
    try:
        scan = scan_tlog(path, max_bytes=1 << 16)
    except OSError:
        return False
    return scan.records >= 1


def load_tlog(path: str | os.PathLike, *, link_lost_s: float = DEFAULT_LINK_LOST_S) -> FlightLog:
    """Read a tlog.

    Args:
        path: The ``.tlog`` file (any name; the content decides).
        link_lost_s: A silence of the vehicle longer than this is a link loss, seconds.

    Returns:
        The :class:`FlightLog` (``kind == "tlog"``). A cut or damaged file gives what comes
        before the damage, and says so in ``missing``.

    Raises:
        InputError: The file cannot be read or holds no complete tlog record.
    """
    from pymavlink import mavutil

    p = Path(path)
    try:
        scan = scan_tlog(p)
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror or exc}") from None
    if scan.records == 0:
        raise InputError(
            f"{p}: not a MAVLink telemetry log (no time-stamped MAVLink packet at the start)"
        )
    flight = FlightLog(
        source=str(p), kind="tlog", bytes_read=scan.good_bytes, bytes_total=scan.size
    )
    if not scan.complete:
        flight.missing.append(
            f"{p.name} is cut or damaged: {scan.size - scan.good_bytes} of {scan.size} bytes at the "
            f"end are unreadable ({scan.stop_reason}); the flight is reported up to "
            f"{_fmt_utc(scan.last_us / 1e6)} UTC"
        )

    per_sys: dict[int, _SysData] = {}
    last_any_t = None
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        mlog = mavutil.mavlink_connection(str(p), dialect="ardupilotmega", robust_parsing=True)
        try:
            # only decode the readable part: a damaged tail would be parsed as garbage
            limit = scan.good_bytes
            while True:
                if mlog.f.tell() >= limit and not _pending(mlog):
                    break
                msg = mlog.recv_match()
                if msg is None:
                    break
                mtype = msg.get_type()
                if mtype == "BAD_DATA":
                    continue
                t = float(getattr(msg, "_timestamp", 0.0) or 0.0)
                last_any_t = t if last_any_t is None else max(last_any_t, t)
                sysid = msg.get_srcSystem()
                d = per_sys.get(sysid)
                if d is None:
                    d = per_sys[sysid] = _SysData()
                d.handle(msg, mtype, t, mavutil)
        finally:
            with contextlib.suppress(Exception):
                mlog.close()

    vehicle = _pick_vehicle(per_sys)
    if vehicle is None:
        flight.missing.append(
            "no vehicle HEARTBEAT or position in the log: nothing flown to report"
        )
        return flight
    d = per_sys[vehicle]
    flight.vehicle_type = d.vehicle_type
    flight.modes = d.modes
    flight.arming = d.arming
    flight.messages = d.messages
    flight.home = d.home
    if d.gpi:
        flight.track = Track.from_rows(d.gpi)
        flight.track_source = "GLOBAL_POSITION_INT"
    elif d.gps:
        base = d.home[2] if d.home else d.gps[0][3]
        rows = [(t, la, lo, alt - base, yaw, vt) for (t, la, lo, alt, yaw, vt) in d.gps]
        flight.track = Track.from_rows(rows)
        flight.track_source = "GPS_RAW_INT"
        flight.notes.append(
            "positions from GPS_RAW_INT (the log has no GLOBAL_POSITION_INT); altitude is GPS "
            "altitude minus " + ("home altitude" if d.home else "the first fix's altitude")
        )
    else:
        flight.missing.append("no vehicle position (GLOBAL_POSITION_INT or GPS_RAW_INT) in the log")
    flight.battery = BatterySeries.from_rows(d.battery)
    if not len(flight.battery):
        flight.missing.append("no battery telemetry (SYS_STATUS / BATTERY_STATUS)")
    flight.link_losses = _gaps(d.times, link_lost_s, last_any_t)
    return flight


def _pending(mlog) -> bool:
    mav = getattr(mlog, "mav", None)
    try:
        return bool(mav is not None and mav.buf_len() > 0)
    except Exception:
        return False


def _fmt_utc(t_s: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t_s, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


class _SysData:
    """Everything one MAVLink system id sent."""

    def __init__(self) -> None:
        self.vehicle_heartbeats = 0
        self.vehicle_type: str | None = None
        self.modes = []
        self.arming = []
        self.messages: list[StatusMessage] = []
        self.gpi: list[tuple] = []
        self.gps: list[tuple] = []
        self.battery: list[tuple] = []
        self.home: tuple[float, float, float] | None = None
        self.times: list[float] = []
        self._boot_s = math.nan

    def handle(self, msg, mtype: str, t: float, mavutil) -> None:
        """Take one message of this system into the series it belongs to.

        Args:
            msg: The pymavlink message.
            mtype: Its type name (``HEARTBEAT``, ``GLOBAL_POSITION_INT``...).
            t: Its tlog timestamp, UNIX seconds.
            mavutil: ``pymavlink.mavutil`` (imported lazily by the caller), for mode names.
        """
        self.times.append(t)
        if mtype == "HEARTBEAT":
            if msg.type in _NOT_VEHICLE_TYPES or msg.autopilot == _MAV_AUTOPILOT_INVALID:
                return
            self.vehicle_heartbeats += 1
            if self.vehicle_type is None:
                self.vehicle_type = _vehicle_type(msg.type)
            add_mode(self.modes, t, mavutil.mode_string_v10(msg))
            add_arming(self.arming, t, bool(msg.base_mode & _ARMED_FLAG))
        elif mtype == "GLOBAL_POSITION_INT":
            if msg.lat == 0 and msg.lon == 0:
                return
            self._boot_s = msg.time_boot_ms / 1000.0
            yaw = msg.hdg / 100.0 if msg.hdg != 65535 else math.nan
            self.gpi.append(
                (t, msg.lat / 1e7, msg.lon / 1e7, msg.relative_alt / 1000.0, yaw, self._boot_s)
            )
        elif mtype == "GPS_RAW_INT":
            if msg.fix_type < 2 or (msg.lat == 0 and msg.lon == 0):
                return
            yaw = msg.cog / 100.0 if msg.cog != 65535 else math.nan
            boot = msg.time_usec / 1e6 if msg.time_usec < 10**13 else math.nan
            self.gps.append((t, msg.lat / 1e7, msg.lon / 1e7, msg.alt / 1000.0, yaw, boot))
        elif mtype == "SYS_STATUS":
            pct = msg.battery_remaining if msg.battery_remaining >= 0 else None
            volt = msg.voltage_battery / 1000.0 if msg.voltage_battery not in (0, 65535) else None
            if pct is not None or volt is not None:
                self.battery.append((t, pct, volt, None))
        elif mtype == "BATTERY_STATUS":
            if getattr(msg, "id", 0) not in (0, None):
                return  # the first battery only
            pct = msg.battery_remaining if msg.battery_remaining >= 0 else None
            mah = msg.current_consumed if msg.current_consumed >= 0 else None
            v0 = msg.voltages[0] if msg.voltages else 65535
            volt = v0 / 1000.0 if v0 not in (0, 65535) else None
            self.battery.append((t, pct, volt, mah))
        elif mtype == "HOME_POSITION":
            self.home = (msg.latitude / 1e7, msg.longitude / 1e7, msg.altitude / 1000.0)
        elif mtype == "STATUSTEXT":
            text = str(msg.text).rstrip("\x00").strip()
            if text:
                self.messages.append(StatusMessage(t, text, _SEVERITY.get(msg.severity, "info")))


def _vehicle_type(mav_type: int) -> str:
    if mav_type in (2, 3, 4, 13, 14, 15, 29):
        return "copter"
    if mav_type in (1, 16, 19, 20, 21, 22, 23, 24, 25, 28):
        return "plane"
    if mav_type in (10, 11):
        return "rover"
    if mav_type == 12:
        return "sub"
    return f"MAV_TYPE {mav_type}"


def _pick_vehicle(per_sys: dict[int, _SysData]) -> int | None:
    best, key = None, None
    for sysid, d in per_sys.items():
        k = (d.vehicle_heartbeats > 0, len(d.gpi) + len(d.gps), d.vehicle_heartbeats)
        if (d.vehicle_heartbeats or d.gpi or d.gps) and (key is None or k > key):
            best, key = sysid, k
    return best


def _gaps(times: list[float], link_lost_s: float, log_end_s: float | None) -> list[LinkLoss]:
    out = []
    ts = sorted(times)
    for a, b in zip(ts, ts[1:], strict=False):
        if b - a > link_lost_s:
            out.append(LinkLoss(a, b, "gap"))
    if ts and log_end_s is not None and log_end_s - ts[-1] > link_lost_s:
        out.append(LinkLoss(ts[-1], None, "gap"))
    return out
