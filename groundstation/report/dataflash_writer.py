"""An ArduPilot DataFlash log writer, byte for byte as ``AP_Logger`` writes them.

Format (``libraries/AP_Logger/LogStructure.h``): every message is ``0xA3 0x95 <type>`` + a packed
little-endian payload; the first message is the FMT message describing FMT itself (type 128,
length 89, format ``BBnNZ``), and every other type is described by an FMT message before its
first use. Field format characters: ``b B h H i I f d`` as in C, ``n``/``N``/``Z`` char[4/16/64],
``c``/``C`` int16/uint16 ×100, ``e``/``E`` int32/uint32 ×100, ``L`` int32 degrees ×1e7, ``M``
uint8 flight mode, ``q``/``Q`` int64/uint64. No real .bin ships with pymavlink or on this
machine, so tests use :class:`DataFlashWriter` with the message layouts of ArduCopter 4.5
(:data:`COPTER_FORMATS`); :func:`gps_week_ms` gives the GPS time columns.

A test helper (moved out of :mod:`groundstation.report.testing`, which re-exports every name).
"""

from __future__ import annotations

import struct

HEAD = b"\xa3\x95"
FMT_TYPE = 128
_STRUCT = {
    "b": "b",
    "B": "B",
    "h": "h",
    "H": "H",
    "i": "i",
    "I": "I",
    "f": "f",
    "d": "d",
    "n": "4s",
    "N": "16s",
    "Z": "64s",
    "c": "h",
    "C": "H",
    "e": "i",
    "E": "I",
    "L": "i",
    "M": "B",
    "q": "q",
    "Q": "Q",
}
_SCALE = {"c": 100.0, "C": 100.0, "e": 100.0, "E": 100.0, "L": 1e7}

COPTER_FORMATS = {
    # name: (type id, format, columns) as ArduCopter 4.5 logs them
    "MSG": (129, "QZ", "TimeUS,Message"),
    "MODE": (130, "QMBB", "TimeUS,Mode,ModeNum,Rsn"),
    "EV": (131, "QB", "TimeUS,Id"),
    "ERR": (132, "QBB", "TimeUS,Subsys,ECode"),
    "GPS": (
        133,
        "QBBIHBcLLeffffB",
        "TimeUS,I,Status,GMS,GWk,NSats,HDop,Lat,Lng,Alt,Spd,GCrs,VZ,Yaw,U",
    ),
    "POS": (134, "QLLfff", "TimeUS,Lat,Lng,Alt,RelHomeAlt,RelOriginAlt"),
    "ATT": (135, "QccccCCCCB", "TimeUS,DesRoll,Roll,DesPitch,Pitch,DesYaw,Yaw,ErrRP,ErrYaw,AEKF"),
    "BAT": (
        136,
        "QBfffffcfBBB",
        "TimeUS,Inst,Volt,VoltR,Curr,CurrTot,EnrgTot,Temp,Res,RemPct,H,SH",
    ),
    "ORGN": (137, "QBLLe", "TimeUS,Type,Lat,Lng,Alt"),
}
"""DataFlash message layouts used by
:func:`~groundstation.report.testing.write_dataflash_flight` (LogStructure.h names)."""

COPTER_MODE_NUMBERS = {"STABILIZE": 0, "AUTO": 3, "GUIDED": 4, "LOITER": 5, "RTL": 6, "LAND": 9}
GPS_EPOCH_UNIX = 315_964_800
"""1980-01-06T00:00:00Z, the GPS epoch, in UNIX seconds."""
GPS_LEAP_S = 18
"""GPS − UTC since 2017 (pymavlink's DFReader uses the same constant)."""


class DataFlashWriter:
    """Build a DataFlash log in memory.

    Example:
        >>> w = DataFlashWriter()
        >>> w.define("EV", 131, "QB", "TimeUS,Id")
        >>> w.write("EV", 1_000_000, 10)
        >>> data = w.getvalue()
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._types: dict[str, tuple[int, str, str, struct.Struct]] = {}
        self._emit_fmt(FMT_TYPE, 89, "FMT", "BBnNZ", "Type,Length,Name,Format,Columns")

    def _emit_fmt(self, type_id: int, length: int, name: str, fmt: str, cols: str) -> None:
        body = struct.pack(
            "<BB4s16s64s",
            type_id,
            length,
            name.encode("ascii"),
            fmt.encode("ascii"),
            cols.encode("ascii"),
        )
        self._buf += HEAD + bytes([FMT_TYPE]) + body

    def define(self, name: str, type_id: int, fmt: str, columns: str) -> None:
        """Describe a message type (writes its FMT message)."""
        st = struct.Struct("<" + "".join(_STRUCT[c] for c in fmt))
        self._types[name] = (type_id, fmt, columns, st)
        self._emit_fmt(type_id, 3 + st.size, name, fmt, columns)

    def write(self, name: str, *values) -> None:
        """Append one message; values in column order, in natural units (scaled here)."""
        type_id, fmt, _, st = self._types[name]
        packed = []
        for c, v in zip(fmt, values, strict=True):
            if c in _SCALE:
                v = int(round(float(v) * _SCALE[c]))
            elif c in "nNZ":
                v = str(v).encode("ascii", errors="replace")
            elif c in "bBhHiIMqQ":
                v = int(v)
            packed.append(v)
        self._buf += HEAD + bytes([type_id]) + st.pack(*packed)

    def getvalue(self) -> bytes:
        """The DataFlash log written so far (``.bin`` bytes)."""
        return bytes(self._buf)


def gps_week_ms(t_unix: float) -> tuple[int, int]:
    """UNIX seconds -> ``(GPS week, milliseconds of week)`` (GPS time = UTC + 18 s)."""
    g = t_unix - GPS_EPOCH_UNIX + GPS_LEAP_S
    week = int(g // 604800)
    return week, int(round((g - week * 604800) * 1000))
