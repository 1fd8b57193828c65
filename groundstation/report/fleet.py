"""The report of a fleet recording (``docs/fleet.md``): every vehicle on one page.

A fleet recording holds one complete single-vehicle recording per vehicle under
``vehicles/<sysid>/`` and, at its top, the whole district (``plan/area.geojson``), the merged
alerts and the reminders. :func:`build_fleet_report` reports each vehicle as
:func:`groundstation.report.build_report` does, with the coverage measured over the whole
district, and adds the union: the district covered by all vehicles together.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path

import shapely
from shapely.geometry import Polygon

from groundstation.fleet_recording import (  # noqa: F401 (re-exported: older callers)
    fleet_vehicle_folders,
    fleet_vehicles,
    is_fleet_recording,
)
from missions.errors import InputError


@dataclass
class FleetReport:
    """A fleet recording's report.

    Attributes:
        folder: The fleet recording.
        vehicles: ``(sysid, Report)`` per vehicle, coverage measured over the whole district.
        area: The district (``missions.areas.Area``) or None.
        coverage_pct: Share of the district (minus no-fly holes) covered by all vehicles
            together, percent; None without a district.
        covered_local: The union of the vehicles' covered ground, local metres of ``area``.
        alerts: The merged alerts (one per ``id``, with ``sightings``).
        manifest: The fleet's ``manifest.json``.
    """

    folder: Path
    vehicles: list = field(default_factory=list)
    area: object | None = None
    coverage_pct: float | None = None
    covered_local: object | None = None
    alerts: list = field(default_factory=list)
    manifest: dict = field(default_factory=dict)

    @property
    def reassignments(self) -> list[dict]:
        """Remainders handed from a vehicle to another (the manifest's
        ``summary.reassignments``: ``from``, ``to``, ``origin``, ``area_m2``, ``sorties``,
        ``status``...)."""
        return list((self.manifest.get("summary") or {}).get("reassignments") or [])

    @property
    def uncovered(self) -> list[dict]:
        """Ground left uncovered, with the reason (the manifest's ``summary.uncovered``)."""
        return list((self.manifest.get("summary") or {}).get("uncovered") or [])

    def to_dict(self) -> dict:
        """JSON-ready figures: coverage, per-vehicle flight times, alerts, re-assignments."""
        out = {
            "folder": str(self.folder),
            "coverage_pct": None if self.coverage_pct is None else round(self.coverage_pct, 2),
            "vehicles": [],
            "alerts": [a.model_dump(mode="json") for a in self.alerts],
            "reassignments": self.reassignments,
            "uncovered": self.uncovered,
        }
        for sysid, rep in self.vehicles:
            s = rep.summary
            cov = rep.coverage
            out["vehicles"].append(
                {
                    "sysid": sysid,
                    "flight_time_s": s.get("flight_time_s"),
                    "vehicle_flight_time_s": s.get("vehicle_flight_time_s"),
                    "distance_m": s.get("distance_m"),
                    "coverage_pct": None if cov is None else round(cov.pct, 2),
                    "missing": list(rep.missing),
                }
            )
        return out


def build_fleet_report(folder: str | os.PathLike, *, district=None) -> FleetReport:
    """Report every vehicle of a fleet recording and the district covered by all.

    Args:
        folder: The fleet recording folder.
        district: District file for the coverage; default the recording's ``plan/area.geojson``.

    Raises:
        InputError: ``folder`` is not a fleet recording.
    """
    from groundstation.recording import Recording
    from groundstation.report import build_report
    from missions.areas import load_area

    folder = Path(folder)
    subs = fleet_vehicles(folder)
    if not subs:
        raise InputError(f"{folder}: not a fleet recording (no vehicles/<sysid>/ recordings)")
    rec = Recording.open(folder)
    dpath = Path(district) if district is not None else folder / "plan" / "area.geojson"
    area = load_area(dpath) if dpath.is_file() else None
    rep = FleetReport(folder=folder, area=area, manifest=rec.manifest, alerts=rec.alerts())
    pieces = []
    for sysid, sub in subs:
        r = build_report(sub, district=dpath if area is not None else None)
        rep.vehicles.append((sysid, r))
        if r.coverage is not None and not r.coverage.covered_local.is_empty:
            pieces.append(r.coverage.covered_local)
    if area is not None:
        covered = shapely.union_all(pieces) if pieces else Polygon()
        target = area.free_local
        rep.covered_local = covered
        rep.coverage_pct = (
            100.0 * covered.intersection(target).area / target.area if target.area else 0.0
        )
    return rep


COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
"""One colour per vehicle, in fleet order (the overlay page uses the same)."""


def _tracks_svg(rep: FleetReport) -> str:
    """Every vehicle's track over the district and the covered ground, as an inline SVG."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 6))
    if rep.area is not None:
        frame = rep.area.frame
        x, y = rep.area.polygon_local.exterior.xy
        ax.plot(x, y, color="black", lw=1)
        for h in rep.area.holes_local:
            hx, hy = h.exterior.xy
            ax.fill(hx, hy, color="#bbb", alpha=0.6)
        if rep.covered_local is not None and not rep.covered_local.is_empty:
            geoms = getattr(rep.covered_local, "geoms", [rep.covered_local])
            for g in geoms:
                if g.geom_type == "Polygon":
                    ax.fill(*g.exterior.xy, color="#8fd18f", alpha=0.35, lw=0)
        for k, (sysid, r) in enumerate(rep.vehicles):
            tr = r.input.flight.track
            if len(tr):
                tx, ty = frame.to_local(tr.lat_deg, tr.lon_deg)
                ax.plot(tx, ty, color=COLOURS[k % len(COLOURS)], lw=1.2, label=f"drone {sysid}")
        ax.set_aspect("equal")
        ax.set_xlabel("east, m")
        ax.set_ylabel("north, m")
        ax.legend(loc="best")
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def fmt_area(m2) -> str:
    """``"5,057 m²"`` (empty for None)."""
    return "" if m2 is None else f"{float(m2):,.0f} m²"


def render_fleet_html(rep: FleetReport) -> str:
    """A self-contained HTML page: coverage by all vehicles, a row per vehicle (flight time,
    distance, its coverage), the unfinished parts (re-assigned to whom, or not covered and why),
    every track on one map, and the merged alerts with their sightings."""
    from groundstation.report.html import fmt_duration, fmt_m

    esc = html.escape
    rows = []
    for sysid, r in rep.vehicles:
        s = r.summary
        cov = r.coverage
        rows.append(
            f"<tr><td>drone {esc(str(sysid))}</td><td>{fmt_duration(s.get('flight_time_s'))}</td>"
            f"<td>{fmt_duration(s.get('vehicle_flight_time_s'))}</td>"
            f"<td>{fmt_m(s.get('distance_m'))}</td>"
            f"<td>{'' if cov is None else f'{cov.pct:.1f} %'}</td>"
            f"<td>{esc('; '.join(r.missing)) or 'complete'}</td></tr>"
        )
    alerts = []
    for a in rep.alerts:
        by: dict = {}  # vehicle -> sightings, in the order first seen
        for sighting in a.sightings:
            by[sighting.get("vehicle")] = by.get(sighting.get("vehicle"), 0) + 1
        seen = ", ".join(f"drone {v}" + (f" ({n}x)" if n > 1 else "") for v, n in by.items()) or (
            f"drone {a.vehicle}" if a.vehicle is not None else ""
        )
        where = f"{a.lat_deg:.6f}, {a.lon_deg:.6f}" if a.lat_deg is not None else ""
        alerts.append(
            f"<tr><td>{esc(a.kind.value)}</td><td>{a.count}</td><td>{esc(where)}</td>"
            f"<td>{esc(seen)}</td></tr>"
        )
    handed = [
        f"<tr><td>drone {esc(str(r.get('origin')))}</td><td>drone {esc(str(r.get('from')))}</td>"
        f"<td>drone {esc(str(r.get('to')))}</td><td>{fmt_area(r.get('area_m2'))}</td>"
        f"<td>{esc(str(r.get('sorties')))}</td><td>{esc(str(r.get('status')))}</td></tr>"
        for r in rep.reassignments
    ] + [
        f"<tr><td>drone {esc(str(u.get('origin')))}</td><td>drone {esc(str(u.get('vehicle')))}"
        f"</td><td>nobody</td><td>{fmt_area(u.get('area_m2'))}</td><td></td>"
        f"<td>NOT covered: {esc(str(u.get('reason')))}</td></tr>"
        for u in rep.uncovered
    ]
    handed_html = (
        "<h2>Unfinished parts: re-assigned or not covered</h2><table><tr><th>part of</th>"
        "<th>left by</th><th>re-assigned to</th><th>ground left</th><th>extra sorties</th>"
        f"<th>status</th></tr>{''.join(handed)}</table>"
        if handed
        else ""
    )
    cov = "not computed (no district)" if rep.coverage_pct is None else f"{rep.coverage_pct:.1f} %"
    name = esc(rep.manifest.get("name") or rep.folder.name)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>fleet patrol {name}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style></head>
<body><h1>Fleet patrol {name}</h1>
<p>{len(rep.vehicles)} vehicles; district covered by all: <b>{cov}</b>;
end: {esc(str(rep.manifest.get("end_reason")))}</p>
<h2>Vehicles</h2>
<table><tr><th>vehicle</th><th>flight time (log clock)</th><th>flight time (vehicle clock)</th>
<th>distance</th><th>district covered by it</th><th>recording</th></tr>
{"".join(rows)}</table>
{handed_html}
<h2>Tracks</h2>{_tracks_svg(rep)}
<h2>Alerts</h2>
<table><tr><th>kind</th><th>people</th><th>where</th><th>seen by</th></tr>
{"".join(alerts)}</table>
<p>Each vehicle's own report: <code>dronepatrol report {esc(str(rep.folder))}/vehicles/SYSID</code>.</p>
</body></html>
"""
