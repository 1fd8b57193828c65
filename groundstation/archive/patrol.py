"""One patrol as the archive keeps it: the :class:`PatrolRecord`.

A recording folder (``docs/recording.md``) is read once with the report's reader
(:func:`groundstation.report.build_report`), so the archive, the exports and the single-recording
report agree on every figure (flight time, distance, coverage). What the archive keeps of it is
small: the summary figures, the alerts and reminders, the flown track and two geometries (the
district to cover and the part the camera covered), all in WGS-84 (lon, lat) degrees.

A fleet recording (``docs/fleet.md``, found by :mod:`groundstation.fleet_recording`) is one
patrol read with the fleet report's reader (:func:`groundstation.report.fleet.build_fleet_report`):
each vehicle's track, flight time, distance and coverage once (:class:`VehicleTrack`), the patrol's
flight time and distance their sums, its coverage the union, its alerts the merged top-level
stream (one per id) and its reminders the top-level ones.

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
class VehicleTrack:
    """One vehicle of a fleet patrol.

    Attributes:
        sysid: Its MAVLink system id (the name of its ``vehicles/<sysid>/`` folder).
        flight_time_s: Time armed and more than 1 m above home (log clock), seconds.
        distance_m: Horizontal length of its airborne track, metres.
        coverage_pct: Share of the whole district it covered, percent (None without one).
        track: (N, 4) array of ``t_s, lat_deg, lon_deg, alt_m``, time order.
        covered_geo: The ground its camera covered, (lon, lat); empty when not computed.
    """

    sysid: int | str
    flight_time_s: float | None = None
    distance_m: float | None = None
    coverage_pct: float | None = None
    track: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    covered_geo: BaseGeometry = field(default_factory=Polygon)

    def summary(self) -> dict:
        """JSON-ready figures (no track, no geometry)."""
        return {
            "sysid": self.sysid,
            "flight_time_s": self.flight_time_s,
            "distance_m": self.distance_m,
            "coverage_pct": self.coverage_pct,
        }


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
        flight_time_s: Time armed and more than 1 m above home (log clock), as the report says;
            a fleet's: the sum over its vehicles.
        distance_m: Horizontal length of the airborne track, metres (a fleet's: the sum).
        coverage_pct: Covered share of the district, percent (None without a district); a
            fleet's: covered by all its vehicles together.
        reminders: Reminders spoken (``broadcasts.jsonl`` lines).
        alerts: One dict per alert (``Alert.model_dump(mode="json")``), in time order.
        broadcasts: The ``broadcasts.jsonl`` records, in time order.
        track: (N, 4) array of ``t_s, lat_deg, lon_deg, alt_m`` (alt above home), time order;
            empty for a fleet (its tracks are in ``vehicles``: use :meth:`tracks`).
        target_geo: District minus no-fly holes, (lon, lat); empty without a district.
        covered_geo: The part of it the camera covered, (lon, lat); empty when not computed.
        missing: What the recording lacks (``Report.missing``).
        vehicles: A fleet's vehicles by system id (:class:`VehicleTrack`); [] for one vehicle.
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
    vehicles: list[VehicleTrack] = field(default_factory=list)

    def tracks(self) -> list[tuple[int | str | None, np.ndarray]]:
        """Every flown track as ``(sysid, (N, 4) array)``: one per fleet vehicle, or
        ``(None, track)`` for a single vehicle; tracks without a sample are left out."""
        if self.vehicles:
            return [(v.sysid, v.track) for v in self.vehicles if len(v.track)]
        return [(None, self.track)] if len(self.track) else []

    def summary(self) -> dict:
        """JSON-ready figures of this patrol (no geometry, no track); a fleet's has
        ``vehicles``: ``[{"sysid", "flight_time_s", "distance_m", "coverage_pct"}]``."""
        out = {
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
        if self.vehicles:
            out["vehicles"] = [v.summary() for v in self.vehicles]
        return out


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
    """A cheap change stamp of a recording: size and mtime (ns) of its main files (stat only);
    a fleet's also of each vehicle's (``vehicles/<sysid>/...``), which its vehicles write."""
    from groundstation.fleet_recording import fleet_vehicles

    folder = Path(folder)
    names = list(FINGERPRINT_FILES)
    for _, sub in fleet_vehicles(folder):
        rel = sub.relative_to(folder).as_posix()
        names += [f"{rel}/{n}" for n in FINGERPRINT_FILES if not n.startswith("plan/")]
    parts = []
    for name in names:
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
    from groundstation.fleet_recording import is_fleet_recording
    from groundstation.report import build_report

    p = Path(folder).resolve()
    if is_fleet_recording(p):
        return _read_fleet(p)
    report = build_report(p)
    inp, s = report.input, report.summary
    if not len(report.flight.track) and not inp.alerts and not report.flight.modes:
        raise InputError(f"{p}: nothing readable (no position, mode or alert)")
    track = _track_array(report.flight.track)
    started = finite_number(inp.manifest.get("started_s"))
    start, end = report.flight.start_s, report.flight.end_s
    alert_t = [a.t_s for a in inp.alerts]
    if start is None:
        start = min(alert_t) if alert_t else started
    if end is None:
        end = max(alert_t) if alert_t else start
    district, target = _district(report.area)
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


def _track_array(tr) -> np.ndarray:
    """A report's :class:`~groundstation.report.model.Track` as (N, 4) ``t_s, lat, lon, alt``."""
    if not len(tr):
        return np.zeros((0, 4))
    return np.column_stack([tr.t_s, tr.lat_deg, tr.lon_deg, tr.alt_m])


def _district(area) -> tuple[str, BaseGeometry]:
    """``(name, district minus no-fly holes in (lon, lat))`` of a report's area; ``("", empty)``
    without one."""
    if area is None:
        return "", Polygon()
    target = area.polygon_geo
    if area.holes:
        target = target.difference(shapely.union_all(area.holes_geo))
    return area.name or Path(area.source).stem, target


def _read_fleet(p: Path) -> PatrolRecord:
    """A fleet recording as one :class:`PatrolRecord` (see the module docstring).

    Raises:
        InputError: Nothing readable in any vehicle (no position, mode or alert).
    """
    from groundstation.recording import Recording
    from groundstation.report.fleet import build_fleet_report

    rep = build_fleet_report(p)
    vehicles, starts, ends, missing = [], [], [], []
    for sysid, r in rep.vehicles:
        cov = r.summary.get("coverage") or {}
        vehicles.append(
            VehicleTrack(
                sysid=sysid,
                flight_time_s=r.summary.get("flight_time_s"),
                distance_m=r.summary.get("distance_m"),
                coverage_pct=cov.get("coverage_pct"),
                track=_track_array(r.flight.track),
                covered_geo=r.coverage.covered_geo if r.coverage is not None else Polygon(),
            )
        )
        starts += [r.flight.start_s] if r.flight.start_s is not None else []
        ends += [r.flight.end_s] if r.flight.end_s is not None else []
        missing += [f"drone {sysid}: {m}" for m in r.missing]
    alerts = [a.model_dump(mode="json") for a in rep.alerts]
    modes = any(r.flight.modes for _, r in rep.vehicles)
    if not any(len(v.track) for v in vehicles) and not alerts and not modes:
        raise InputError(f"{p}: nothing readable (no position, mode or alert)")
    alert_t = [a["t_s"] for a in alerts]
    started = min(starts + alert_t, default=finite_number(rep.manifest.get("started_s")))
    ended = max(ends + alert_t, default=started)
    district, target = _district(rep.area)
    pieces = [v.covered_geo for v in vehicles if not v.covered_geo.is_empty]
    broadcasts = Recording.open(p).broadcasts()

    def total(key: str) -> float | None:
        """Sum of a per-vehicle figure (seconds or metres) over the vehicles that have it;
        None when none has."""
        values = [getattr(v, key) for v in vehicles if getattr(v, key) is not None]
        return float(sum(values)) if values else None

    return PatrolRecord(
        path=p,
        name=p.name,
        started_s=started,
        ended_s=ended,
        complete=bool(rep.manifest.get("complete")),
        district=district,
        flight_time_s=total("flight_time_s"),
        distance_m=total("distance_m"),
        coverage_pct=None if rep.coverage_pct is None else round(rep.coverage_pct, 2),
        reminders=len(broadcasts),
        alerts=sorted(alerts, key=lambda a: a["t_s"]),
        broadcasts=[json.loads(json.dumps(b, default=str)) for b in broadcasts],
        track=np.zeros((0, 4)),
        target_geo=target,
        covered_geo=shapely.union_all(pieces) if pieces else Polygon(),
        missing=missing,
        vehicles=vehicles,
    )
