"""Options shared by the commands that read many recordings (``report DIR...``, ``export``).

``--since`` / ``--until`` take a date (``2026-11-29``: the whole day) or a date and time
(``2026-11-29T18:00``), in the display time zone (``display.timezone``) unless they carry their
own offset (``2026-11-29T10:00Z``, ``...+08:00``). ``--index FILE`` names the archive database
(default ``archive.sqlite`` in the first folder of recordings).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from missions.errors import InputError


def add_period_args(p: argparse.ArgumentParser) -> None:
    """Add ``--since``, ``--until``, ``--index``, ``--district`` filters to ``p``."""
    p.add_argument(
        "--since",
        metavar="DATE",
        default=None,
        help="only patrols and alerts from this date or time on (display time zone unless an "
        "offset is given: 2026-11-29, 2026-11-29T18:00, 2026-11-29T10:00Z)",
    )
    p.add_argument(
        "--until",
        metavar="DATE",
        default=None,
        help="only patrols and alerts before this time; a date alone includes that whole day",
    )
    p.add_argument(
        "--index",
        metavar="FILE",
        default=None,
        help="archive database (SQLite) to build or update; default: archive.sqlite in the "
        "folder of recordings (an in-memory index when that folder is read-only)",
    )


def parse_when(text: str | None, tz: dt.tzinfo, *, end: bool, flag: str) -> float | None:
    """``--since`` / ``--until`` text -> UNIX seconds (None when not given).

    Raises:
        InputError: Not a date or date-time.
    """
    if text is None:
        return None
    raw = text.strip()
    try:
        if len(raw) == 10:
            day = dt.date.fromisoformat(raw)
            if end:
                day += dt.timedelta(days=1)
            return dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
        when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{flag} {text!r}: not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM, optionally with "
            "Z or +HH:MM)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return when.timestamp()


def open_archive(roots: list[Path], index: str | None):
    """Open the archive for ``roots`` (``--index`` or the default file) and bring it up to date.

    Returns:
        ``(archive, scan_result)``.

    Raises:
        InputError: A root is missing, or the index file is not an archive.
    """
    import os

    from groundstation.archive import Archive, default_db_path

    db = Path(index) if index else default_db_path(roots)
    if index is None and not os.access(db.parent, os.W_OK):
        db = ":memory:"  # a read-only folder of recordings: index for this run only
    arc = Archive(db)
    return arc, arc.scan(roots)
