"""Telemetry log (``.tlog``) writer in pymavlink's format."""

from __future__ import annotations

import os
import struct
import threading
import time
from pathlib import Path


class TlogWriter:
    """Thread-safe writer of a pymavlink telemetry log (``.tlog``).

    Each record is an 8-byte big-endian UNIX timestamp in microseconds followed by one MAVLink
    packet as it was on the wire (pymavlink ``mavfile.recv_msg`` writes the same format, with the
    two low timestamp bits cleared), so MAVProxy, MAVExplorer and ``mavutil.mavlink_connection``
    replay it.

    Args:
        path: Output file; parent folders are created. An existing file is appended to.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()
        self.records = 0

    def write(self, packet: bytes, t_s: float | None = None) -> None:
        """Append one packet stamped with ``t_s`` (UNIX seconds; default now)."""
        usec = int((time.time() if t_s is None else t_s) * 1e6) & ~3
        with self._lock:
            if self._file.closed:
                return
            self._file.write(struct.pack(">Q", usec) + bytes(packet))
            self.records += 1
            if time.monotonic() - self._last_flush >= 1.0:
                self._flush_locked()

    def flush(self) -> None:
        """Flush buffered records to the operating system."""
        with self._lock:
            if not self._file.closed:
                self._flush_locked()

    def _flush_locked(self) -> None:
        self._file.flush()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        """Flush and close the file (idempotent)."""
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                self._file.close()
