"""Alert state in an embedded SQLite database beside the recordings (``alerts.sqlite``).

One file holds every alert the officers have seen (from finished recordings and running patrols)
and every acknowledgement with who made it and when. It is shared between processes: a running
``dronepatrol patrol`` writes its alerts there, ``dronepatrol serve`` follows it
(:class:`StoreFollower`), and acknowledgements made on either page reach the other.

Durability: WAL journal with ``synchronous=FULL``; every write is its own committed transaction,
so a SIGKILL of any process loses nothing that was acknowledged to a page (SQLite docs,
"Write-Ahead Logging" and "PRAGMA synchronous").

Tables::

    alerts(id TEXT PRIMARY KEY, t_s REAL, kind TEXT, recording TEXT, snapshot TEXT, data TEXT)
    acks(ack_id INTEGER PRIMARY KEY AUTOINCREMENT, alert_id TEXT, officer TEXT, state TEXT,
         t_s REAL, verified INTEGER)

``data`` is the alert as JSON (:class:`detection.alerts.Alert` fields); ``snapshot`` an absolute
path or NULL; ``verified`` is 1 when the officer was named by a per-officer token, 0 when the
name was typed on the page.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path

from missions.errors import DronePatrolError

log = logging.getLogger(__name__)

DB_NAME = "alerts.sqlite"
"""File name of the store inside the recordings folder."""

ACK_STATES = ("seen", "on_my_way", "resolved", "false_alarm")
"""What an officer can say about an alert."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY, t_s REAL NOT NULL, kind TEXT NOT NULL, recording TEXT,
    snapshot TEXT, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS acks (
    ack_id INTEGER PRIMARY KEY AUTOINCREMENT, alert_id TEXT NOT NULL, officer TEXT NOT NULL,
    state TEXT NOT NULL, t_s REAL NOT NULL, verified INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS acks_alert ON acks(alert_id);
"""


class AlertStore:
    """Alerts and acknowledgements in one SQLite file (thread-safe; several processes may share it).

    Args:
        path: The database file (created with its folder when missing).

    Raises:
        DronePatrolError: The file cannot be opened or is not an alert store.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            self._db.commit()
        except (OSError, sqlite3.Error) as exc:
            raise DronePatrolError(f"alert store {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def add_alert(
        self, data: dict, *, recording: str | None = None, snapshot: str | Path | None = None
    ) -> bool:
        """Store an alert (its dict, with ``id``, ``t_s``, ``kind``); True when it was new."""
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO alerts(id, t_s, kind, recording, snapshot, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    data["id"],
                    float(data["t_s"]),
                    str(data["kind"]),
                    recording,
                    str(snapshot) if snapshot else None,
                    json.dumps(data, ensure_ascii=False),
                ),
            )
            self._db.commit()
            return cur.rowcount == 1

    def add_ack(
        self,
        alert_id: str,
        officer: str,
        state: str,
        *,
        verified: bool = False,
        t_s: float | None = None,
    ) -> dict:
        """Record an acknowledgement and return it (``ack_id``, ``alert_id``, ``officer``, ...).

        Raises:
            ValueError: ``state`` is not one of :data:`ACK_STATES`.
        """
        if state not in ACK_STATES:
            raise ValueError(f"state must be one of {', '.join(ACK_STATES)}, not {state!r}")
        t = time.time() if t_s is None else float(t_s)
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO acks(alert_id, officer, state, t_s, verified) VALUES (?, ?, ?, ?, ?)",
                (alert_id, officer, state, t, int(verified)),
            )
            self._db.commit()
            ack_id = cur.lastrowid
        return _ack(ack_id, alert_id, officer, state, t, verified)

    def alerts_since(
        self, rowid: int = 0, *, day: dt.date | None = None, recording: str | None = None
    ) -> tuple[int, list[tuple[dict, Path | None, str | None]]]:
        """Alerts stored after ``rowid``: ``(last_rowid, [(data, snapshot, recording)])``.

        Args:
            rowid: The last row the caller has (0: all).
            day: Only alerts raised on this local calendar day.
            recording: Only alerts of this recording.
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT rowid, data, snapshot, recording, t_s FROM alerts WHERE rowid > ? "
                "ORDER BY rowid",
                (rowid,),
            ).fetchall()
        last = rows[-1][0] if rows else rowid
        out = []
        for _, data, snap, rec, t_s in rows:
            if day is not None and dt.date.fromtimestamp(t_s) != day:
                continue
            if recording is not None and rec != recording:
                continue
            out.append((json.loads(data), Path(snap) if snap else None, rec))
        return last, out

    def acks_since(self, ack_id: int = 0) -> list[dict]:
        """Acknowledgements after ``ack_id``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT ack_id, alert_id, officer, state, t_s, verified FROM acks "
                "WHERE ack_id > ? ORDER BY ack_id",
                (ack_id,),
            ).fetchall()
        return [_ack(*r) for r in rows]

    def import_recording(self, folder: str | Path) -> int:
        """Store the alerts of a recording folder (``alerts.jsonl``); returns how many were new."""
        from groundstation.recording import Recording

        folder = Path(folder)
        rec = Recording.open(folder)
        n = 0
        for a in rec.alerts():
            snap = None
            if a.snapshot:
                p = Path(a.snapshot)
                p = p if p.is_absolute() else folder / p
                snap = p.resolve() if p.is_file() else None
            n += self.add_alert(a.model_dump(mode="json"), recording=folder.name, snapshot=snap)
        return n


def _ack(ack_id, alert_id, officer, state, t_s, verified) -> dict:
    return {
        "ack_id": int(ack_id),
        "alert_id": alert_id,
        "officer": officer,
        "state": state,
        "t_s": float(t_s),
        "verified": bool(verified),
    }


class StoreFollower:
    """Carries what other processes write to an :class:`AlertStore` into an overlay hub.

    Polls the store every ``period_s`` (a thread with a stop path) and pushes new alerts
    (:meth:`~groundstation.overlay.OverlayHub.push_alert`) and acknowledgements
    (:meth:`~groundstation.overlay.OverlayHub.apply_ack`); both are idempotent in the hub, so the
    hub's own writes coming back are harmless.

    Args:
        store: The store.
        hub: The hub to feed.
        day: Only alerts raised on this local day (None: all).
        recording: Only alerts of this recording (a patrol following its own alerts' acks).
        alerts: Push new alerts (False: acknowledgements only).
        period_s: Poll period, seconds.
    """

    def __init__(
        self,
        store: AlertStore,
        hub,
        *,
        day: dt.date | None = None,
        recording: str | None = None,
        alerts: bool = True,
        period_s: float = 0.2,
    ) -> None:
        self.store = store
        self.hub = hub
        self.day = day
        self.recording = recording
        self.alerts = alerts
        self.period_s = period_s
        self._rowid = 0
        self._ack_id = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> None:
        """Push what is new in the store once (also called by the thread)."""
        if self.alerts:
            self._rowid, rows = self.store.alerts_since(
                self._rowid, day=self.day, recording=self.recording
            )
            for data, snap, _rec in rows:
                if not self.hub.has_alert(data["id"]):
                    self.hub.push_alert(data, snapshot=snap or "", store=False)
        acks = self.store.acks_since(self._ack_id)
        for a in acks:
            self.hub.apply_ack(a)
        if acks:
            self._ack_id = acks[-1]["ack_id"]

    def start(self) -> StoreFollower:
        """Poll once now, then every ``period_s`` on a thread until :meth:`stop`."""
        self.poll()
        self._thread = threading.Thread(target=self._run, name="alert-store-follower")
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self.poll()
            except sqlite3.Error as exc:  # a busy or locked file: try again next period
                log.warning("alert store: %s", exc)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop polling and join the thread (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
