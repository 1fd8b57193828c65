"""Retention of flight recordings: which are expired, and deleting them (``recordings prune``).

A recording is a folder with a ``manifest.json`` under ``recording.dir``. Its age is counted from
when it started (the manifest's ``started_s``; the folder's modification time when the manifest
is unreadable). It is expired when older than ``recording.retention_days``. A recording in
progress (its recorder holds the folder's lock, :func:`groundstation.recording.recording_in_progress`)
is never expired, whatever its age.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from groundstation.recording import recording_in_progress

DAY_S = 86400.0


@dataclass(frozen=True)
class RecordingAge:
    """One recording folder and its age.

    Attributes:
        folder: The recording folder.
        started_s: When it started, UNIX seconds.
        age_days: Days since it started.
        in_progress: A recorder is writing it now.
        size_bytes: Bytes of its files.
    """

    folder: Path
    started_s: float
    age_days: float
    in_progress: bool
    size_bytes: int


def _started_s(folder: Path) -> float:
    try:
        m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        return float(m["started_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return folder.stat().st_mtime


def _size(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for f in files:
            with contextlib.suppress(OSError):
                total += (Path(dirpath) / f).stat().st_size
    return total


def list_recordings(root: str | os.PathLike, now_s: float | None = None) -> list[RecordingAge]:
    """Every recording folder directly under ``root``, oldest first (empty when ``root`` is
    missing). A folder without ``manifest.json`` is not a recording and is left out."""
    now = time.time() if now_s is None else now_s
    r = Path(root)
    if not r.is_dir():
        return []
    out = []
    for folder in sorted(p for p in r.iterdir() if p.is_dir()):
        if not (folder / "manifest.json").is_file():
            continue
        started = _started_s(folder)
        out.append(
            RecordingAge(
                folder=folder,
                started_s=started,
                age_days=(now - started) / DAY_S,
                in_progress=recording_in_progress(folder),
                size_bytes=_size(folder),
            )
        )
    return sorted(out, key=lambda a: a.started_s)


def expired_recordings(
    root: str | os.PathLike, retention_days: float, now_s: float | None = None
) -> list[RecordingAge]:
    """Recordings older than ``retention_days`` that are not in progress, oldest first."""
    return [
        a for a in list_recordings(root, now_s) if a.age_days > retention_days and not a.in_progress
    ]


def delete_recording(folder: str | os.PathLike) -> None:
    """Delete one recording folder.

    Raises:
        ValueError: The folder is not a recording (no ``manifest.json``) or is in progress.
        OSError: It cannot be deleted.
    """
    p = Path(folder)
    if not (p / "manifest.json").is_file():
        raise ValueError(f"{p}: not a recording folder (no manifest.json)")
    if recording_in_progress(p):
        raise ValueError(f"{p}: recording in progress, not deleted")
    shutil.rmtree(p)


def expired_warning(root: str | os.PathLike, retention_days: float) -> str | None:
    """The warning ``patrol`` prints when expired recordings are present, or None."""
    old = expired_recordings(root, retention_days)
    if not old:
        return None
    return (
        f"warning: {len(old)} recording(s) in {root} are older than recording.retention_days "
        f"({retention_days:g} days): delete them with 'dronepatrol recordings prune --yes'"
    )
