"""One notion of time for people: the display time zone (config ``display.timezone``).

Every file keeps UTC (UNIX seconds, ISO 8601 with ``Z``); what a person reads (the terminal, the
pages, the reports) is in the display zone, with the zone's name or offset always printed next to
the time so that nobody has to guess which clock it is.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from missions.errors import ConfigError

LOCAL = "local"
"""``display.timezone`` value meaning the machine's own zone."""


def display_zone(name: str | None = LOCAL) -> dt.tzinfo:
    """The ``tzinfo`` for a ``display.timezone`` value.

    Args:
        name: An IANA name (``Asia/Shanghai``, ``UTC``), or ``local``/None for the machine's zone
            (the ``TZ`` environment variable, else ``/etc/localtime``).

    Returns:
        A ``tzinfo``.

    Raises:
        ConfigError: Unknown zone name.
    """
    if name is None or str(name).strip().lower() == LOCAL:
        local = dt.datetime.now().astimezone().tzinfo
        return local if local is not None else dt.timezone.utc
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"display.timezone: unknown time zone {name!r} (use an IANA name such as "
            "'Asia/Shanghai' or 'UTC', or 'local')"
        ) from None


def to_local(t_s: float, tz: dt.tzinfo | None = None) -> dt.datetime:
    """UNIX seconds -> aware datetime in ``tz`` (None = UTC)."""
    return dt.datetime.fromtimestamp(float(t_s), tz or dt.timezone.utc)


def format_time(t_s: float | None, tz: dt.tzinfo | None = None, *, seconds: bool = True) -> str:
    """``2026-11-29 18:15:00 +08:00`` (the zone's offset always shown); "" for None."""
    if t_s is None:
        return ""
    d = to_local(t_s, tz)
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return d.strftime(fmt) + " " + offset_label(d)


def offset_label(d: dt.datetime) -> str:
    """``+08:00`` / ``UTC`` for an aware datetime."""
    off = d.utcoffset()
    if not off:
        return "UTC"
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def zone_label(tz: dt.tzinfo | None) -> str:
    """A name for the zone to print beside times (``Asia/Shanghai``, ``UTC``, or the offset)."""
    if tz is None:
        return "UTC"
    key = getattr(tz, "key", None)
    if key:
        return key
    now = dt.datetime.now(tz)
    return now.tzname() or offset_label(now) or time.tzname[0]


def local_zone_name() -> str | None:
    """The machine's IANA zone name (``TZ``, else the ``/etc/localtime`` link), or None."""
    import os

    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and "/" in tz or tz == "UTC":
        return tz
    try:
        target = os.path.realpath("/etc/localtime")
    except OSError:
        return None
    return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else None


def page_zone(name: str | None = LOCAL) -> dict:
    """What the overlay page needs to show times in the display zone.

    Returns:
        ``{"name": IANA name or None, "utc_offset_min": the zone's offset now}``; the page uses
        the name (with the browser's own time-zone tables) and falls back to the offset.
    """
    tz = display_zone(name)
    key = getattr(tz, "key", None)
    if key is None and (name is None or str(name).lower() == LOCAL):
        key = local_zone_name()
    off = dt.datetime.now(tz).utcoffset() or dt.timedelta(0)
    return {"name": key, "utc_offset_min": int(off.total_seconds() // 60)}
