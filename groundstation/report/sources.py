"""Recognise what the analyst gave (recording folder, tlog, DataFlash log) and read it."""

from __future__ import annotations

import os
from pathlib import Path

from groundstation.report.dataflash import load_dataflash, looks_like_dataflash
from groundstation.report.recording import ReportInput, load_recording
from groundstation.report.tlog import DEFAULT_LINK_LOST_S, load_tlog, looks_like_tlog
from missions.errors import InputError


def detect_kind(path: str | os.PathLike) -> str:
    """``recording``, ``tlog`` or ``dataflash``, from the content (not the file name).

    Raises:
        InputError: Missing path, or a file that is none of them (one line naming the path).
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or folder")
    if p.is_dir() or p.name == "manifest.json":
        return "recording"
    if p.stat().st_size == 0:
        raise InputError(f"{p}: empty file (expected a recording folder, a .tlog or a .bin log)")
    if looks_like_dataflash(p):
        return "dataflash"
    if looks_like_tlog(p):
        return "tlog"
    raise InputError(
        f"{p}: not a dronepatrol recording, a MAVLink .tlog or an ArduPilot DataFlash .bin log"
    )


def load_input(path: str | os.PathLike, *, link_lost_s: float | None = None) -> ReportInput:
    """Read a recording folder, a tlog or a DataFlash log for a report.

    Args:
        path: Recording folder (or its manifest.json), ``.tlog`` or ``.bin``.
        link_lost_s: Vehicle silence that counts as a link loss in a tlog, seconds (default:
            the recorded config's, else 5 s).

    Returns:
        The :class:`~groundstation.report.recording.ReportInput`.

    Raises:
        InputError: Not found, or not one of the three kinds.
    """
    kind = detect_kind(path)
    p = Path(path)
    if kind == "recording":
        return load_recording(p, link_lost_s=link_lost_s)
    if kind == "dataflash":
        return ReportInput(flight=load_dataflash(p))
    return ReportInput(flight=load_tlog(p, link_lost_s=link_lost_s or DEFAULT_LINK_LOST_S))
