"""The archive of recorded patrols: an SQLite index over many recordings (``docs/analysts.md``).

:class:`Archive` indexes every recording under some folders (incrementally: a recording is read
once, again only when its files change) with its alerts, reminders, flown track and coverage, and
answers queries by time range, district and alert kind. :class:`PatrolRecord` is what it keeps of
one patrol; the multi-patrol report and the GIS exports are built from these.
"""

from groundstation.archive.index import (
    DEFAULT_DB_NAME,
    SCHEMA_VERSION,
    Archive,
    ScanResult,
    default_db_path,
    find_recordings,
)
from groundstation.archive.patrol import (
    PatrolRecord,
    VehicleTrack,
    fingerprint,
    is_recording,
    read_patrol,
)

__all__ = [
    "DEFAULT_DB_NAME",
    "SCHEMA_VERSION",
    "Archive",
    "PatrolRecord",
    "ScanResult",
    "VehicleTrack",
    "default_db_path",
    "find_recordings",
    "fingerprint",
    "is_recording",
    "read_patrol",
]
