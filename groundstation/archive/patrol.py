"""One patrol as the archive keeps it: the :class:`PatrolRecord`.

A recording folder (``docs/recording.md``) is read once with the report's reader
(:func:`groundstation.report.build_report`), so the archive, the exports and the single-recording
report agree on every figure (flight time, distance, coverage). What the archive keeps of it is
small: the summary figures, the alerts and reminders, the flown track and two geometries (the
district to cover and the part the camera covered), all in WGS-84 (lon, lat) degrees.

Times are UNIX seconds (UTC); nothing here depends on the display time zone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from groundstation.recording import finite_number
from missions.errors import InputError


@dataclass
class PatrolRecord:
    """What the archive and the exports know of one recorded patrol.

    Attributes:
        path: The recording folder (absolute).
        name: Folder name (``20261129-101500[-NAME]``).
        started_s: UNIX seconds of the first thing logged (manifest ``started_s`` when the log is
            empty); None when unknown.
        ended_s: UNIX seconds of the last thing logged.
        complete: The manifest says the recorder closed cleanly.
        district: District name (the plan's ``area.geojson`` name, else the file stem); "" when
            the recording has none.
        flight_time_s: Time armed and more than 1 m above home (log clock), as the report says.
        distance_m: Horizontal length of the airborne track, metres.
        coverage_pct: Covered share of the district, percent (None without a district).
        reminders: Reminders spoken (``broadcasts.jsonl`` lines).
        alerts: One dict per alert (``Alert.model_dump(mode="json")``), in time order.
        broadcasts: The ``broadcasts.jsonl`` records, in time order.
        track: (N, 4) array of ``t_s, lat_deg, lon_deg, alt_m`` (alt above home), time order.
        target_geo: District minus no-fly holes, (lon, lat); empty without a district.
        covered_geo: The part of it the camera covered, (lon, lat); empty when not computed.
        missing: What the recording lacks (``Report.missing``).
    """

    path: Path
    name: str
    started_s: float | None = None
    ended_s: float | None = None
    complete: bool = False
    district: str = ""
    flight_time_s: float | None = None
    distance_m: float | None = None
    coverage_pct: float | None = None
    reminders: int = 0
    alerts: list[dict] = field(default_factory=list)
    broadcasts: list[dict] = field(default_factory=list)
    track: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    target_geo: BaseGeometry = field(default_factory=Polygon)
    covered_geo: BaseGeometry = field(default_factory=Polygon)
    missing: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """JSON-ready figures of this patrol (no geometry, no track)."""
        return {
            "name": self.name,
            "path": str(self.path),
            "started_s": self.started_s,
            "ended_s": self.ended_s,
            "complete": self.complete,
            "district": self.district,
            "flight_time_s": self.flight_time_s,
            "distance_m": self.distance_m,
            "coverage_pct": self.coverage_pct,
            "alerts": len(self.alerts),
            "reminders": self.reminders,
        }


def is_recording(folder: Path) -> bool:
    """True when ``folder`` looks like a recording (a manifest, or recorder files without one)."""
    if not folder.is_dir():
        return False
    return any(
        (folder / n).is_file()
        for n in ("manifest.json", "telemetry.jsonl", "alerts.jsonl", "flight.tlog")
    )


FINGERPRINT_FILES = (
    "manifest.json",
    "flight.tlog",
    "telemetry.jsonl",
    "alerts.jsonl",
    "events.jsonl",
    "broadcasts.jsonl",
    "plan/area.geojson",
)
"""Files whose size and modification time tell whether a recording changed since indexed."""


def fingerprint(folder: Path) -> str:
    """A cheap change stamp of a recording: size and mtime (ns) of its main files (stat only)."""
    parts = []
    for name in FINGERPRINT_FILES:
        try:
            st = os.stat(folder / name)
            parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{name}:-")
    return "|".join(parts)


def read_patrol(folder: str | os.PathLike) -> PatrolRecord:
    """Read one recording folder into a :class:`PatrolRecord`.

    Args:
        folder: A recording folder written by ``dronepatrol patrol`` (complete or cut).

    Returns:
        The record. A cut recording gives what is readable (see ``missing``).

    Raises:
        InputError: ``folder`` is not a recording, or nothing in it is readable (no position,
            mode or alert: the rule of ``dronepatrol report``).
    """
    from groundstation.report import build_report

    p = Path(folder).resolve()
    report = build_report(p)
    inp, s = report.input, report.summary
    if not len(report.flight.track) and not inp.alerts and not report.flight.modes:
        raise InputError(f"{p}: nothing readable (no position, mode or alert)")
    tr = report.flight.track
    track = (
        np.column_stack([tr.t_s, tr.lat_deg, tr.lon_deg, tr.alt_m]) if len(tr) else np.zeros((0, 4))
    )
    started = finite_number(inp.manifest.get("started_s"))
    start, end = report.flight.start_s, report.flight.end_s
    alert_t = [a.t_s for a in inp.alerts]
    if start is None:
        start = min(alert_t) if alert_t else started
    if end is None:
        end = max(alert_t) if alert_t else start
    target = Polygon()
    district = ""
    if report.area is not None:
        area = report.area
        target = area.polygon_geo
        if area.holes:
            target = target.difference(shapely.union_all(area.holes_geo))
        district = area.name or Path(area.source).stem
    covered = report.coverage.covered_geo if report.coverage is not None else Polygon()
    cov = s.get("coverage") or {}
    return PatrolRecord(
        path=p,
        name=p.name,
        started_s=start,
        ended_s=end,
        complete=bool(inp.manifest.get("complete")),
        district=district,
        flight_time_s=s.get("flight_time_s"),
        distance_m=s.get("distance_m"),
        coverage_pct=cov.get("coverage_pct"),
        reminders=len(inp.broadcasts),
        alerts=[a.model_dump(mode="json") for a in inp.alerts],
        broadcasts=[json.loads(json.dumps(b, default=str)) for b in inp.broadcasts],
        track=track,
        target_geo=target,
        covered_geo=covered,
        missing=list(report.missing),
    )
