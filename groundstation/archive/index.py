"""The archive: an index of every recording under some folders, in one SQLite database.

Built and updated incrementally: :meth:`Archive.scan` stats each recording's main files
(:func:`~groundstation.archive.patrol.fingerprint`) and reads only the recordings that are new or
changed since they were indexed (a recording still being written changes, a finished one is read
once). A folder that is gone is dropped from the index; the recording files themselves are never
written to.

Schema (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`; WAL mode so that a reader, e.g. the
officers' service, can query while a scan writes; all times UNIX seconds UTC, positions WGS-84
degrees, geometries WKB in (lon, lat)):

* ``recordings``: one row per recording folder: ``path`` (unique, absolute), ``name``,
  ``fingerprint``, ``indexed_s``, ``started_s``, ``ended_s``, ``complete``, ``district``,
  ``flight_time_s``, ``distance_m``, ``coverage_pct``, ``alerts``, ``reminders``,
  ``target_wkb`` (district minus holes), ``covered_wkb`` (covered part), ``missing`` (JSON list),
  ``error`` (why it could not be read; the other fields are then null).
* ``alerts``: ``recording_id``, ``seq``, ``id``, ``kind``, ``source``, ``t_s``, ``lat_deg``,
  ``lon_deg``, ``count``, ``confidence``, ``data`` (the whole alert as JSON).
* ``reminders``: ``recording_id``, ``seq``, ``t_s``, ``alert_id``, ``text``, ``language``,
  ``played``, ``data`` (the ``broadcasts.jsonl`` record as JSON).
* ``track``: ``recording_id``, ``t_s``, ``lat_deg``, ``lon_deg``, ``alt_m`` (every sample the
  report's reader took), ``vehicle`` (a fleet vehicle's system id; null for one vehicle).
* ``vehicles`` (a fleet recording, ``docs/fleet.md``): ``recording_id``, ``sysid``,
  ``flight_time_s``, ``distance_m``, ``coverage_pct``, ``covered_wkb``: each vehicle once; the
  recording's row holds their sums (flight time, distance) and union (coverage).

Version 1 indexes are upgraded in place (``track.vehicle`` added, ``vehicles`` created); a
fleet recording indexed by version 1 (its top level only) has another fingerprint now and is
read again by the next scan.

Example:
    >>> from groundstation.archive import Archive
    >>> with Archive("recordings/archive.sqlite") as arc:             # doctest: +SKIP
    ...     arc.scan(["recordings"])
    ...     patrols = arc.patrols(since=t0, until=t1, kinds=["gathering"])
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import Polygon

from groundstation.archive.patrol import (
    PatrolRecord,
    VehicleTrack,
    fingerprint,
    is_recording,
    read_patrol,
)
from missions.errors import DronePatrolError, InputError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
"""``PRAGMA user_version`` of the schema this module writes."""

DEFAULT_DB_NAME = "archive.sqlite"
"""File name of the index inside a record directory when none is given."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS recordings (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    indexed_s REAL NOT NULL,
    started_s REAL,
    ended_s REAL,
    complete INTEGER NOT NULL DEFAULT 0,
    district TEXT NOT NULL DEFAULT '',
    flight_time_s REAL,
    distance_m REAL,
    coverage_pct REAL,
    alerts INTEGER NOT NULL DEFAULT 0,
    reminders INTEGER NOT NULL DEFAULT 0,
    target_wkb BLOB,
    covered_wkb BLOB,
    missing TEXT NOT NULL DEFAULT '[]',
    error TEXT
);
CREATE INDEX IF NOT EXISTS recordings_started ON recordings(started_s);
CREATE INDEX IF NOT EXISTS recordings_district ON recordings(district);
CREATE TABLE IF NOT EXISTS alerts (
    recording_id INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'detection',
    t_s REAL NOT NULL,
    lat_deg REAL,
    lon_deg REAL,
    count INTEGER,
    confidence REAL,
    data TEXT NOT NULL,
    PRIMARY KEY (recording_id, seq)
);
CREATE INDEX IF NOT EXISTS alerts_time ON alerts(t_s);
CREATE INDEX IF NOT EXISTS alerts_kind ON alerts(kind, t_s);
CREATE TABLE IF NOT EXISTS reminders (
    recording_id INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    t_s REAL NOT NULL,
    alert_id TEXT,
    text TEXT,
    language TEXT,
    played INTEGER,
    data TEXT NOT NULL,
    PRIMARY KEY (recording_id, seq)
);
CREATE TABLE IF NOT EXISTS track (
    recording_id INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    t_s REAL NOT NULL,
    lat_deg REAL NOT NULL,
    lon_deg REAL NOT NULL,
    alt_m REAL,
    vehicle
);
CREATE INDEX IF NOT EXISTS track_recording ON track(recording_id, t_s);
CREATE TABLE IF NOT EXISTS vehicles (
    recording_id INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    sysid NOT NULL,
    flight_time_s REAL,
    distance_m REAL,
    coverage_pct REAL,
    covered_wkb BLOB,
    PRIMARY KEY (recording_id, sysid)
);
"""


@dataclass
class ScanResult:
    """What one :meth:`Archive.scan` did.

    Attributes:
        added: Recordings read for the first time (paths).
        updated: Recordings read again because their files changed.
        unchanged: Recordings left as indexed (not read).
        removed: Index entries dropped because the folder is gone.
        failed: ``(path, message)`` of folders that could not be read (kept with the error, and
            read again only when they change).
    """

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def read(self) -> int:
        """Recordings read in this scan."""
        return len(self.added) + len(self.updated)


def find_recordings(roots: Iterable[str | os.PathLike], depth: int = 2) -> list[Path]:
    """Recording folders named by ``roots``: a root that is a recording, else those below it.

    Args:
        roots: Recording folders or folders holding them (looked into ``depth`` levels).
        depth: How deep to look below a root that is not a recording itself.

    Returns:
        Absolute paths, sorted, without duplicates.

    Raises:
        InputError: A root does not exist or is not a folder.
    """
    found: set[Path] = set()

    def walk(p: Path, level: int) -> None:
        """Add the recordings at or under ``p`` (``level`` folders below the root) to ``found``."""
        if is_recording(p):
            found.add(p.resolve())
            return
        if level >= depth:
            return
        try:
            children = sorted(e.path for e in os.scandir(p) if e.is_dir(follow_symlinks=True))
        except OSError:
            return
        for c in children:
            walk(Path(c), level + 1)

    for r in roots:
        rp = Path(r)
        if not rp.is_dir():
            raise InputError(f"{rp}: no such folder (expected a recording or a folder of them)")
        walk(rp, 0)
    return sorted(found)


class Archive:
    """An index of recordings in an SQLite database (see the module docstring for the schema).

    Args:
        db_path: The database file (created with its folder when missing); ``":memory:"`` for a
            throw-away index.
        busy_timeout_s: How long a write waits for another writer (the service, another scan).

    Raises:
        InputError: The file is not an SQLite database or was written by a newer schema.
    """

    def __init__(self, db_path: str | os.PathLike, *, busy_timeout_s: float = 10.0) -> None:
        self.db_path = str(db_path)
        if self.db_path != ":memory:":
            Path(self.db_path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.db_path, timeout=busy_timeout_s)
            self.db.execute("PRAGMA foreign_keys = ON")
            if self.db_path != ":memory:":
                self.db.execute("PRAGMA journal_mode = WAL")
                # WAL + NORMAL: no fsync per recording; a power cut may lose the last few index
                # rows (never a recording, never a corrupt index): the next scan reads them again
                self.db.execute("PRAGMA synchronous = NORMAL")
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise InputError(
                    f"{self.db_path}: archive schema {version} is newer than this dronepatrol "
                    f"reads ({SCHEMA_VERSION})"
                )
            self.db.executescript(_SCHEMA)
            cols = [r[1] for r in self.db.execute("PRAGMA table_info(track)")]
            if "vehicle" not in cols:  # a version 1 index
                self.db.execute("ALTER TABLE track ADD COLUMN vehicle")
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self.db.commit()
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.db_path}: not an archive database: {exc}") from None

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- building ---------------------------------------------------------------------------------

    def scan(self, roots: Sequence[str | os.PathLike], *, prune: bool = True) -> ScanResult:
        """Index the recordings under ``roots``, reading only new or changed ones.

        Args:
            roots: Recording folders or folders holding them (:func:`find_recordings`).
            prune: Drop index entries under ``roots`` whose folder is gone.

        Returns:
            The :class:`ScanResult`.

        Raises:
            InputError: A root does not exist.
        """
        result = ScanResult()
        folders = find_recordings(roots)
        known = {
            row[0]: (row[1], row[2])
            for row in self.db.execute("SELECT path, fingerprint, error FROM recordings")
        }
        for folder in folders:
            key = str(folder)
            stamp = fingerprint(folder)
            old = known.get(key)
            if old is not None and old[0] == stamp:
                result.unchanged.append(key)
                if old[1]:
                    result.failed.append((key, old[1]))
                continue
            try:
                rec = read_patrol(folder)
                error = None
            except DronePatrolError as exc:
                rec, error = None, str(exc)
                result.failed.append((key, error))
            self._store(key, stamp, rec, error)
            (result.updated if old is not None else result.added).append(key)
        if prune:
            bases = [str(Path(r).resolve()) for r in roots]
            present = {str(f) for f in folders}
            for path in list(known):
                under = any(path == b or path.startswith(b.rstrip(os.sep) + os.sep) for b in bases)
                if under and path not in present and not Path(path).is_dir():
                    self.db.execute("DELETE FROM recordings WHERE path = ?", (path,))
                    result.removed.append(path)
            self.db.commit()
        return result

    def _store(self, path: str, stamp: str, rec: PatrolRecord | None, error: str | None) -> None:
        db = self.db
        with db:  # one transaction per recording: a crash leaves the index consistent
            db.execute("DELETE FROM recordings WHERE path = ?", (path,))
            if rec is None:
                db.execute(
                    "INSERT INTO recordings (path, name, fingerprint, indexed_s, error) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (path, Path(path).name, stamp, time.time(), error),
                )
                return
            cur = db.execute(
                "INSERT INTO recordings (path, name, fingerprint, indexed_s, started_s, ended_s, "
                "complete, district, flight_time_s, distance_m, coverage_pct, alerts, reminders, "
                "target_wkb, covered_wkb, missing) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    path,
                    rec.name,
                    stamp,
                    time.time(),
                    rec.started_s,
                    rec.ended_s,
                    int(rec.complete),
                    rec.district,
                    rec.flight_time_s,
                    rec.distance_m,
                    rec.coverage_pct,
                    len(rec.alerts),
                    rec.reminders,
                    shapely.to_wkb(rec.target_geo),
                    shapely.to_wkb(rec.covered_geo),
                    json.dumps(rec.missing, ensure_ascii=False),
                ),
            )
            rid = cur.lastrowid
            db.executemany(
                "INSERT INTO alerts VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        rid,
                        i,
                        str(a.get("id")),
                        str(a.get("kind")),
                        str(a.get("source") or "detection"),
                        float(a["t_s"]),
                        a.get("lat_deg"),
                        a.get("lon_deg"),
                        a.get("count"),
                        a.get("confidence"),
                        json.dumps(a, ensure_ascii=False),
                    )
                    for i, a in enumerate(rec.alerts)
                ],
            )
            db.executemany(
                "INSERT INTO reminders VALUES (?,?,?,?,?,?,?,?)",
                [
                    (
                        rid,
                        i,
                        float(b["t_s"]),
                        b.get("alert_id"),
                        b.get("text"),
                        b.get("language"),
                        None if b.get("played") is None else int(bool(b.get("played"))),
                        json.dumps(b, ensure_ascii=False, default=str),
                    )
                    for i, b in enumerate(rec.broadcasts)
                ],
            )
            for sysid, tr in rec.tracks():
                alt = np.where(np.isfinite(tr[:, 3]), tr[:, 3], np.nan)
                rows = [
                    (rid, float(t), float(la), float(lo), None if np.isnan(a) else float(a), sysid)
                    for t, la, lo, a in zip(tr[:, 0], tr[:, 1], tr[:, 2], alt, strict=True)
                ]
                db.executemany(
                    "INSERT INTO track (recording_id, t_s, lat_deg, lon_deg, alt_m, vehicle) "
                    "VALUES (?,?,?,?,?,?)",
                    rows,
                )
            db.executemany(
                "INSERT INTO vehicles VALUES (?,?,?,?,?,?)",
                [
                    (
                        rid,
                        v.sysid,
                        v.flight_time_s,
                        v.distance_m,
                        v.coverage_pct,
                        shapely.to_wkb(v.covered_geo),
                    )
                    for v in rec.vehicles
                ],
            )

    # -- querying ---------------------------------------------------------------------------------

    def patrols(
        self,
        *,
        since: float | None = None,
        until: float | None = None,
        district: str | None = None,
        kinds: Sequence[str] | None = None,
        paths: Sequence[str | os.PathLike] | None = None,
        with_track: bool = True,
    ) -> list[PatrolRecord]:
        """The indexed patrols that overlap ``[since, until)``, oldest first.

        Args:
            since: UNIX seconds; patrols that ended before are left out, and so are alerts and
                reminders before it.
            until: UNIX seconds; patrols that started at or after are left out, and so are alerts
                and reminders at or after it.
            district: Only patrols over this district (its name as recorded).
            kinds: Only alerts of these kinds (``gathering``, ``unmasked``...); patrols without
                such an alert are still listed (they count for coverage).
            paths: Only recordings under these folders.
            with_track: Load the flown track (False leaves it empty: faster).

        Returns:
            :class:`PatrolRecord` objects rebuilt from the index (readable ones only).
        """
        sql = "SELECT * FROM recordings WHERE error IS NULL"
        args: list = []
        if since is not None:
            sql += " AND coalesce(ended_s, started_s) >= ?"
            args.append(float(since))
        if until is not None:
            sql += " AND started_s < ?"
            args.append(float(until))
        if district is not None:
            sql += " AND district = ?"
            args.append(district)
        sql += " ORDER BY started_s, path"
        cur = self.db.execute(sql, args)
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
        if paths is not None:
            bases = [str(Path(p).resolve()) for p in paths]
            rows = [
                r
                for r in rows
                if any(
                    r["path"] == b or r["path"].startswith(b.rstrip(os.sep) + os.sep) for b in bases
                )
            ]
        out = []
        for r in rows:
            rid = r["id"]
            tcond, targs = "", []
            if since is not None:
                tcond, targs = tcond + " AND t_s >= ?", [*targs, float(since)]
            if until is not None:
                tcond, targs = tcond + " AND t_s < ?", [*targs, float(until)]
            a_sql = "SELECT data FROM alerts WHERE recording_id = ?" + tcond
            a_args = [rid, *targs]
            b_sql = "SELECT data FROM reminders WHERE recording_id = ?" + tcond
            b_args = [rid, *targs]
            if kinds:
                a_sql += f" AND kind IN ({','.join('?' * len(kinds))})"
                a_args += list(kinds)
            alerts = [
                json.loads(x[0]) for x in self.db.execute(a_sql + " ORDER BY t_s, seq", a_args)
            ]
            broadcasts = [
                json.loads(x[0]) for x in self.db.execute(b_sql + " ORDER BY t_s, seq", b_args)
            ]
            track, vehicles = self._tracks(rid, with_track)
            out.append(
                PatrolRecord(
                    path=Path(r["path"]),
                    name=r["name"],
                    started_s=r["started_s"],
                    ended_s=r["ended_s"],
                    complete=bool(r["complete"]),
                    district=r["district"],
                    flight_time_s=r["flight_time_s"],
                    distance_m=r["distance_m"],
                    coverage_pct=r["coverage_pct"],
                    reminders=len(broadcasts),
                    alerts=alerts,
                    broadcasts=broadcasts,
                    track=track,
                    target_geo=_geom(r["target_wkb"]),
                    covered_geo=_geom(r["covered_wkb"]),
                    missing=json.loads(r["missing"] or "[]"),
                    vehicles=vehicles,
                )
            )
        return out

    def _tracks(self, rid: int, with_track: bool) -> tuple[np.ndarray, list[VehicleTrack]]:
        """Recording ``rid``'s track (one vehicle) or its fleet vehicles with theirs (empty
        tracks when not ``with_track``)."""
        vehicles = [
            VehicleTrack(sysid, ft, d, c, covered_geo=_geom(w))
            for sysid, ft, d, c, w in self.db.execute(
                "SELECT sysid, flight_time_s, distance_m, coverage_pct, covered_wkb FROM vehicles "
                "WHERE recording_id = ? ORDER BY sysid",
                (rid,),
            )
        ]
        track = np.zeros((0, 4))
        if not with_track:
            return track, vehicles
        pts: dict = {}
        for t, la, lo, a, v in self.db.execute(
            "SELECT t_s, lat_deg, lon_deg, coalesce(alt_m, 'nan'), vehicle FROM track "
            "WHERE recording_id = ? ORDER BY t_s",
            (rid,),
        ):
            pts.setdefault(v, []).append((t, la, lo, a))
        for v in vehicles:
            if pts.get(v.sysid):
                v.track = np.array(pts[v.sysid], dtype=float)
        if not vehicles and pts.get(None):
            track = np.array(pts[None], dtype=float)
        return track, vehicles

    def failures(self) -> list[tuple[str, str]]:
        """``(path, message)`` of indexed folders that could not be read."""
        return list(
            self.db.execute(
                "SELECT path, error FROM recordings WHERE error IS NOT NULL ORDER BY path"
            )
        )

    def count(self) -> int:
        """Readable recordings in the index."""
        return self.db.execute("SELECT count(*) FROM recordings WHERE error IS NULL").fetchone()[0]


def _geom(blob: bytes | None):
    if not blob:
        return Polygon()
    return shapely.from_wkb(blob)


def default_db_path(roots: Sequence[str | os.PathLike]) -> Path:
    """Where the index of ``roots`` lives by default: ``archive.sqlite`` in the first root that is
    a folder of recordings (for a recording folder, in its parent)."""
    first = Path(roots[0])
    base = first.parent if is_recording(first) else first
    return base / DEFAULT_DB_NAME
