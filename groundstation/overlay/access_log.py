"""Access log of alert snapshots: who looked at which alert's unblurred snapshot, and when.

Alert snapshots are the one place dronepatrol keeps a face in the clear (``docs/privacy.md``).
Every request for one, granted or refused, is appended to a JSON Lines file, one object per
line::

    {"t": "2026-12-07T13:20:01.123+00:00", "t_s": 1796649601.123, "who": "token 3f2a9c1e",
     "client": "127.0.0.1", "alert_id": "a1b2...", "granted": true, "source": "20261207-131210"}

``who`` comes from :func:`requester`: the officer named by their own token
(``overlay.officers``, through :func:`groundstation.overlay.app.officer_for`), else the holder
of the shared token (named by a fingerprint of it, never the token itself), or ``anonymous`` on
a loopback page without a token.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import threading
import time
from pathlib import Path

ACCESS_LOG_NAME = "access_log.jsonl"
"""File name of the access log in the recordings folder (``recording.dir``)."""


def token_fingerprint(token: str) -> str:
    """First 8 hex digits of the SHA-256 of a token: names its holder without revealing it."""
    return hashlib.sha256(token.encode()).hexdigest()[:8]


def requester(request, token: str | None) -> str:
    """Who made a request, for the access log.

    Args:
        request: The ``fastapi.Request`` (its app's officer access names the officer,
            :func:`groundstation.overlay.app.officer_for`).
        token: The configured shared overlay token (None: none).

    Returns:
        ``officer <name>`` for an officer's own token (``overlay.officers``), ``token
        <fingerprint>`` for another token presented while one is configured, ``anonymous``
        otherwise.
    """
    from groundstation.overlay.app import _presented_token, officer_for

    officer = officer_for(request)
    if officer is not None and officer.verified and officer.name:
        return f"officer {officer.name}"
    given = _presented_token(request)
    if request.app.state.access.required and given:  # the shared token counts there too
        return f"token {token_fingerprint(given)}"
    return "anonymous"


class AccessLog:
    """Appends snapshot views to a JSON Lines file (thread-safe, flushed per line).

    Args:
        path: The log file; its folder is made when missing. The file is created with mode
            0600 (owner only).
        source: What is being served (the recording's name), written in each entry.
    """

    def __init__(self, path: str | os.PathLike, source: str | None = None) -> None:
        self.path = Path(path)
        self.source = source
        self._lock = threading.Lock()

    def record(self, who: str, alert_id: str, granted: bool, client: str | None = None) -> dict:
        """Append one view (or refusal) and return the entry written."""
        now = time.time()
        entry = {
            "t": _dt.datetime.fromtimestamp(now, tz=_dt.timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "t_s": round(now, 3),
            "who": who,
            "client": client,
            "alert_id": alert_id,
            "granted": granted,
            "source": self.source,
        }
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(line)
        return entry


def read_access_log(path: str | os.PathLike) -> list[dict]:
    """Every entry of an access log (an empty list when the file does not exist).

    Raises:
        ValueError: A line is not JSON (the message names the file and line).
    """
    p = Path(path)
    if not p.is_file():
        return []
    out = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{p}:{n}: not a JSON line ({exc.msg})") from None
    return out
