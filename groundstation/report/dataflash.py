"""Read an ArduPilot DataFlash log (``.bin``) into a :class:`~groundstation.report.model.FlightLog`.

DataFlash format (ArduPilot ``libraries/AP_Logger/LogStructure.h``): a stream of messages, each
``0xA3 0x95 <type>`` followed by a fixed-size payload; FMT messages (type 128) describe every other
type (name, length, struct format characters, column names). pymavlink's ``DFReader_binary``
parses it and converts ``TimeUS`` to UNIX time through the GPS week and milliseconds of the GPS
messages; that is the time used here (without GPS time, seconds since boot).

Messages used (current ArduCopter names and fields):

* ``POS`` (Lat, Lng, RelHomeAlt) for the track, else ``GPS`` (Status >= 3, Lat, Lng, Alt minus
  home altitude); ``ATT.Yaw`` for the heading;
* ``MODE`` (the reader's mode name), ``EV`` (Id 10 ARMED, 11 DISARMED) or ``ARM.ArmState``;
* ``BAT`` (Volt, CurrTot mAh, RemPct) or the older ``CURR``;
* ``MSG`` texts; ``ORGN`` Type 1 (home);
* ``ERR`` Subsys 8 (FAILSAFE_GCS): ECode 1 starts a ground-station link loss, 0 ends it
  (``LogErrorSubsystem`` / ``LogErrorCode`` in AP_Logger.h).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
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

HEAD = b"\xa3\x95"
FMT_TYPE = 0x80
EV_ARMED = 10
EV_DISARMED = 11
ERR_SUBSYS_FAILSAFE_GCS = 8
ORGN_TYPE_HOME = 1

_TYPES = ["POS", "GPS", "ATT", "MODE", "EV", "ARM", "BAT", "CURR", "MSG", "ORGN", "ERR"]


def looks_like_dataflash(path: str | os.PathLike) -> bool:
    """True when the file starts with a DataFlash FMT message (``A3 95 80``, FMT describing itself
    or another type)."""
    try:
        with open(path, "rb") as f:
            head = f.read(3 + 89)
    except OSError:
        return False
    return len(head) >= 3 + 5 and head[:2] == HEAD and head[2] == FMT_TYPE


def load_dataflash(path: str | os.PathLike) -> FlightLog:
    """Read a DataFlash ``.bin`` log.

    Args:
        path: The log file.

    Returns:
        The :class:`FlightLog` (``kind == "dataflash"``). A log cut mid-message gives what comes
        before the cut and says so in ``missing``.

    Raises:
        InputError: The file is not a DataFlash log or cannot be read.
    """
    from pymavlink import DFReader

    p = Path(path)
    if not looks_like_dataflash(p):
        raise InputError(f"{p}: not an ArduPilot DataFlash log (no FMT message at the start)")
    size = p.stat().st_size
    flight = FlightLog(source=str(p), kind="dataflash", bytes_total=size)
    if size == 0:
        raise InputError(f"{p}: empty file")
    stderr = io.StringIO()
    pos_rows: list[tuple] = []
    gps_rows: list[tuple] = []
    battery: list[tuple] = []
    yaw = math.nan
    gcs_loss_start: float | None = None
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
            reader = DFReader.DFReader_binary(str(p), zero_time_base=False)
            while True:
                m = reader.recv_match(type=_TYPES)
                if m is None:
                    break
                mtype = m.get_type()
                t = float(m._timestamp)
                boot = getattr(m, "TimeUS", None)
                boot_s = boot / 1e6 if boot is not None else math.nan
                if mtype == "POS":
                    if m.Lat == 0 and m.Lng == 0:
                        continue
                    pos_rows.append((t, m.Lat, m.Lng, m.RelHomeAlt, yaw, boot_s))
                elif mtype == "GPS":
                    if getattr(m, "I", 0) not in (0, None) or m.Status < 3:
                        continue
                    gps_rows.append((t, m.Lat, m.Lng, m.Alt, getattr(m, "GCrs", math.nan), boot_s))
                elif mtype == "ATT":
                    yaw = float(m.Yaw) % 360.0
                elif mtype == "MODE":
                    add_mode(flight.modes, t, str(reader.flightmode))
                elif mtype == "EV":
                    if m.Id == EV_ARMED:
                        add_arming(flight.arming, t, True)
                    elif m.Id == EV_DISARMED:
                        add_arming(flight.arming, t, False)
                elif mtype == "ARM":
                    add_arming(flight.arming, t, bool(m.ArmState))
                elif mtype in ("BAT", "CURR"):
                    if getattr(m, "Inst", 0) not in (0, None):
                        continue
                    pct = getattr(m, "RemPct", None)
                    battery.append((t, pct, getattr(m, "Volt", None), getattr(m, "CurrTot", None)))
                elif mtype == "MSG":
                    text = str(m.Message).rstrip("\x00").strip()
                    if text:
                        flight.messages.append(StatusMessage(t, text))
                        if flight.vehicle_type is None:
                            flight.vehicle_type = _vehicle_from_banner(text)
                elif mtype == "ORGN":
                    if m.Type == ORGN_TYPE_HOME:
                        flight.home = (float(m.Lat), float(m.Lng), float(m.Alt))
                elif mtype == "ERR" and m.Subsys == ERR_SUBSYS_FAILSAFE_GCS:
                    if m.ECode and gcs_loss_start is None:
                        gcs_loss_start = t
                    elif not m.ECode and gcs_loss_start is not None:
                        flight.link_losses.append(LinkLoss(gcs_loss_start, t, "failsafe"))
                        gcs_loss_start = None
            end_offset = int(getattr(reader, "offset", size) or size)
    except (OSError, ValueError, IndexError, KeyError, TypeError) as exc:  # pymavlink on junk
        raise InputError(f"{p}: cannot parse as a DataFlash log: {exc}") from None
    if gcs_loss_start is not None:
        flight.link_losses.append(LinkLoss(gcs_loss_start, None, "failsafe"))
    flight.bytes_read = min(end_offset, size)
    damaged = [ln for ln in stderr.getvalue().splitlines() if ln.strip()]
    tail = size - flight.bytes_read
    if tail > 0 or damaged:
        what = f"{tail} bytes at the end are unreadable" if tail > 0 else damaged[0]
        flight.missing.append(f"{p.name} is cut or damaged: {what}")
    if pos_rows:
        flight.track = Track.from_rows(pos_rows)
        flight.track_source = "POS"
    elif gps_rows:
        base = flight.home[2] if flight.home else gps_rows[0][3]
        flight.track = Track.from_rows(
            [(r[0], r[1], r[2], r[3] - base, r[4], r[5]) for r in gps_rows]
        )
        flight.track_source = "GPS"
    else:
        flight.missing.append("no position (POS or GPS with a 3D fix) in the log")
    flight.battery = BatterySeries.from_rows(battery)
    if not len(flight.battery):
        flight.missing.append("no battery messages (BAT / CURR)")
    if not flight.modes:
        flight.missing.append("no MODE messages: flight modes unknown")
    if not _has_gps_time(gps_rows):
        flight.notes.append(
            "the log has no GPS time: times are seconds since the autopilot booted, not UTC"
        )
    return flight


def _has_gps_time(gps_rows: list[tuple]) -> bool:
    # DFReader maps TimeUS to UNIX time only through GPS week/ms; without it times stay small
    return bool(gps_rows) and gps_rows[0][0] > 1e8


def _vehicle_from_banner(text: str) -> str | None:
    for key, kind in (
        ("ArduCopter", "copter"),
        ("ArduPlane", "plane"),
        ("ArduRover", "rover"),
        ("ArduSub", "sub"),
    ):
        if key in text:
            return kind
    return None
