"""One report over many patrols: ``dronepatrol report DIR... [--since DATE] [--until DATE]``.

Built from the archive's :class:`~groundstation.archive.PatrolRecord` objects (so every figure is
the single-recording report's figure of that patrol): alerts by day and by hour of day in the
display time zone, an alert heat map over the district with the part no patrol covered hatched,
coverage per patrol and in total (union of the covered areas over the district minus holes),
reminders spoken and patrols flown. A fleet patrol (``docs/fleet.md``) is one patrol: its flight
time and distance are its vehicles' sums (each vehicle counted once), its coverage what they
covered together, its alerts the merged ones; the patrols table lists its vehicles under it.

Areas are geodesic (WGS-84, pyproj ``Geod.geometry_area_perimeter``), m².
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from string import Template

import numpy as np
import shapely
from matplotlib.figure import Figure
from pyproj import Geod
from shapely.geometry import Polygon, mapping

from groundstation.archive.patrol import PatrolRecord
from groundstation.report import plots
from groundstation.report.html import TEMPLATE, esc, fmt_duration, fmt_m
from groundstation.timezones import format_time, to_local, zone_label

_GEOD = Geod(ellps="WGS84")
MAX_DAYS = 400
"""Longest period the by-day table lists day by day."""


def geo_area_m2(geom) -> float:
    """Geodesic area of a (lon, lat) geometry, m² (0 for empty)."""
    if geom is None or geom.is_empty:
        return 0.0
    return abs(_GEOD.geometry_area_perimeter(geom)[0])


@dataclass
class MultiReport:
    """Figures over several patrols (see :meth:`to_dict` for the JSON document).

    Attributes:
        patrols: The patrols, oldest first.
        since_s, until_s: The period asked for (UNIX seconds; None = open).
        tz: Display time zone.
        by_day: ``{"YYYY-MM-DD": alerts}`` (display zone), every day of the period.
        by_hour: 24 alert counts by hour of day (display zone).
        by_kind: Alerts by kind.
        districts: Per district: ``name``, ``target_m2``, ``covered_m2``, ``covered_pct``,
            ``uncovered_m2``, ``uncovered_pct``, ``patrols``, ``uncovered`` (GeoJSON geometry
            of the part not seen in the period) and the shapely geometries under ``_geo``.
    """

    patrols: list[PatrolRecord]
    since_s: float | None
    until_s: float | None
    tz: dt.tzinfo
    by_day: dict[str, int] = field(default_factory=dict)
    by_hour: list[int] = field(default_factory=lambda: [0] * 24)
    by_kind: dict[str, int] = field(default_factory=dict)
    districts: list[dict] = field(default_factory=list)
    generated_utc: str = ""
    tile_url: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def alerts(self) -> list[tuple[PatrolRecord, dict]]:
        """Every alert with its patrol, in time order."""
        out = [(p, a) for p in self.patrols for a in p.alerts]
        return sorted(out, key=lambda pa: pa[1]["t_s"])

    def to_dict(self) -> dict:
        """The JSON document (``format: dronepatrol-multi-report``)."""
        return {
            "format": "dronepatrol-multi-report",
            "version": 1,
            "generated_utc": self.generated_utc,
            "timezone": zone_label(self.tz),
            "period": {
                "since_utc": _iso(self.since_s),
                "until_utc": _iso(self.until_s),
            },
            "totals": {
                "patrols": len(self.patrols),
                "flight_time_s": round(sum(p.flight_time_s or 0 for p in self.patrols), 1),
                "distance_m": round(sum(p.distance_m or 0 for p in self.patrols), 1),
                "alerts": sum(len(p.alerts) for p in self.patrols),
                "reminders": sum(p.reminders for p in self.patrols),
            },
            "alerts_by_kind": dict(self.by_kind),
            "alerts_by_day": dict(self.by_day),
            "alerts_by_hour": list(self.by_hour),
            "coverage": [{k: v for k, v in d.items() if k != "_geo"} for d in self.districts],
            "patrols": [p.summary() for p in self.patrols],
        }


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_multi_report(
    patrols: list[PatrolRecord],
    *,
    since_s: float | None = None,
    until_s: float | None = None,
    tz: dt.tzinfo | None = None,
    tile_url: str | None = None,
) -> MultiReport:
    """Count and measure ``patrols`` (already limited to the period by the archive query).

    Args:
        patrols: Patrols with their alerts and reminders inside the period.
        since_s, until_s: The period (for the by-day table's first and last day).
        tz: Display time zone (None = UTC).
        tile_url: XYZ tile template for a base map under the heat map (``overlay.tile_url``).

    Returns:
        The :class:`MultiReport`.
    """
    tz = tz or dt.timezone.utc
    rep = MultiReport(
        patrols=sorted(patrols, key=lambda p: (p.started_s or 0, p.name)),
        since_s=since_s,
        until_s=until_s,
        tz=tz,
        tile_url=tile_url,
        generated_utc=_iso(dt.datetime.now(dt.timezone.utc).timestamp()) or "",
    )
    times = [a["t_s"] for p in rep.patrols for a in p.alerts]
    starts = [p.started_s for p in rep.patrols if p.started_s is not None]
    first = since_s if since_s is not None else min(starts + times, default=None)
    last = (
        (until_s - 1e-3)
        if until_s is not None
        else max([p.ended_s or p.started_s or 0 for p in rep.patrols] + times, default=None)
    )
    if first is not None and last is not None:
        d0, d1 = to_local(first, tz).date(), to_local(last, tz).date()
        if 0 <= (d1 - d0).days <= MAX_DAYS:
            for k in range((d1 - d0).days + 1):
                rep.by_day[(d0 + dt.timedelta(days=k)).isoformat()] = 0
    kinds: Counter = Counter()
    for t in times:
        local = to_local(t, tz)
        key = local.date().isoformat()
        rep.by_day[key] = rep.by_day.get(key, 0) + 1
        rep.by_hour[local.hour] += 1
    for p in rep.patrols:
        kinds.update(str(a.get("kind")) for a in p.alerts)
    rep.by_day = dict(sorted(rep.by_day.items()))
    rep.by_kind = dict(sorted(kinds.items()))
    # coverage per district: union of what each patrol covered, over the district minus holes
    names = sorted({p.district for p in rep.patrols if p.district and not p.target_geo.is_empty})
    for name in names:
        group = [p for p in rep.patrols if p.district == name]
        target = shapely.union_all([p.target_geo for p in group if not p.target_geo.is_empty])
        covered_all = [p.covered_geo for p in group if not p.covered_geo.is_empty]
        covered = shapely.union_all(covered_all).intersection(target) if covered_all else Polygon()
        uncovered = target.difference(covered) if not covered.is_empty else target
        t_m2, c_m2 = geo_area_m2(target), geo_area_m2(covered)
        u_m2 = geo_area_m2(uncovered)
        rep.districts.append(
            {
                "district": name,
                "patrols": len(group),
                "target_m2": round(t_m2, 1),
                "covered_m2": round(c_m2, 1),
                "covered_pct": round(100 * c_m2 / t_m2, 2) if t_m2 else None,
                "uncovered_m2": round(u_m2, 1),
                "uncovered_pct": round(100 * u_m2 / t_m2, 2) if t_m2 else None,
                "uncovered": mapping(uncovered) if not uncovered.is_empty else None,
                "_geo": (target, covered, uncovered),
            }
        )
    return rep


def _bars(labels: list[str], values: list[int], title: str, xlabel: str) -> str:
    fig = Figure(figsize=(9.0, 2.8))
    ax = fig.add_subplot(1, 1, 1)
    ax.bar(range(len(values)), values, color="#c0392b")
    step = max(1, len(labels) // 16)
    ax.set_xticks(range(0, len(labels), step), [labels[i] for i in range(0, len(labels), step)])
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("alerts")
    ax.set_title(title, fontsize=10)
    ax.grid(True, axis="y", lw=0.3)
    fig.tight_layout()
    return plots.png_data_uri(fig)


def _heatmap(rep: MultiReport, dist: dict) -> str:
    from missions.geo import LocalFrame
    from missions.shapes import geo_to_local

    target, _covered, uncovered = dist["_geo"]
    c = target.centroid
    frame = LocalFrame(c.y, c.x)
    pts = [
        (a["lat_deg"], a["lon_deg"], max(1, int(a.get("count") or 1)))
        for p in rep.patrols
        if p.district == dist["district"]
        for a in p.alerts
        if a.get("lat_deg") is not None and a.get("source", "detection") == "detection"
    ]
    if pts:
        arr = np.array(pts, float)
        x, y = frame.to_local(arr[:, 0], arr[:, 1])
        xy, w = np.column_stack([x, y]), arr[:, 2]
    else:
        xy, w = np.zeros((0, 2)), np.zeros(0)
    fig = plots.gathering_heatmap(
        frame,
        points_xy=xy,
        weights=w,
        district_local=geo_to_local(target, frame),
        title=f"{dist['district']}: alerts weighted by people (hatched: not covered)",
    )
    if rep.tile_url:
        from groundstation.report.basemap import draw_basemap, load_basemap

        ax = fig.axes[0]
        (xa, xb), (ya, yb) = ax.get_xlim(), ax.get_ylim()
        lat0, lon0 = frame.to_geo(xa, ya)
        lat1, lon1 = frame.to_geo(xb, yb)
        try:
            base = load_basemap(rep.tile_url, (float(lon0), float(lat0), float(lon1), float(lat1)))
            draw_basemap(ax, base, frame)
        except OSError as exc:
            note = f"no base map: {exc}"
            if note not in rep.notes:
                rep.notes.append(note)
    if not uncovered.is_empty:
        plots._add_geom(
            fig.axes[0],
            geo_to_local(uncovered, frame),
            facecolor="none",
            edgecolor="#7f8c8d",
            hatch="xx",
            lw=0.5,
            zorder=3,
        )
    return plots.png_data_uri(fig)


def _vehicle_rows(p: PatrolRecord) -> str:
    """A fleet patrol's rows under its own: each vehicle's flight time, distance and share of
    the district (the patrol's row holds their sums and the union); "" for one vehicle."""
    return "".join(
        f'<tr class="vehicle" data-recording="{esc(p.name)}" data-vehicle="{esc(str(v.sysid))}">'
        f"<td>&nbsp;&nbsp;drone {esc(str(v.sysid))}</td><td></td>"
        f"<td>{esc(fmt_duration(v.flight_time_s))}</td><td>{esc(fmt_m(v.distance_m))}</td>"
        f"<td>{'' if v.coverage_pct is None else f'{v.coverage_pct:.1f} %'}</td>"
        "<td></td><td></td><td></td></tr>"
        for v in p.vehicles
    )


def render_multi_html(rep: MultiReport) -> str:
    """The multi-patrol report as one self-contained HTML page (figures embedded as PNG)."""
    from groundstation.cli import __version__

    d = rep.to_dict()
    tzl = zone_label(rep.tz)
    title = f"Patrols report: {len(rep.patrols)} patrols"
    period = (
        f"{format_time(rep.since_s, rep.tz) or 'first patrol'} → "
        f"{format_time(rep.until_s, rep.tz) or 'last patrol'}"
    )
    tot = d["totals"]
    parts = [
        f"<h1>{esc(title)}</h1>",
        f'<p class="meta"><span>period {esc(period)}</span><span>times in {esc(tzl)}</span></p>',
        '<h2>Summary</h2><table id="totals"><tbody>'
        f"<tr><th>patrols flown</th><td>{tot['patrols']}</td></tr>"
        f"<tr><th>flight time</th><td>{esc(fmt_duration(tot['flight_time_s']))}</td></tr>"
        f"<tr><th>distance</th><td>{esc(fmt_m(tot['distance_m']))}</td></tr>"
        f"<tr><th>alerts</th><td>{tot['alerts']} "
        f"({esc(', '.join(f'{k} {v}' for k, v in rep.by_kind.items()) or 'none')})</td></tr>"
        f"<tr><th>reminders spoken</th><td>{tot['reminders']}</td></tr></tbody></table>",
    ]
    parts.append("<h2>Alert heat map and uncovered area</h2>")
    for dist in rep.districts:
        parts.append(
            f'<figure class="heatmap"><img alt="alert heat map {esc(dist["district"])}" '
            f'src="{_heatmap(rep, dist)}"><figcaption>{esc(dist["district"])}: covered '
            f"{dist['covered_pct']} % by the patrols of the period; not seen: "
            f"{dist['uncovered_m2']:.0f} m² ({dist['uncovered_pct']} %), hatched.</figcaption>"
            "</figure>"
        )
    if not rep.districts:
        parts.append('<p class="empty">No district recorded with these patrols.</p>')
    days, hours = list(rep.by_day), [f"{h:02d}" for h in range(24)]
    parts.append(f"<h2>Alerts by day ({esc(tzl)})</h2>")
    if days:
        parts.append(
            f'<figure><img alt="alerts by day" src="{_bars(days, list(rep.by_day.values()), "", "day")}"></figure>'
        )
    parts.append(
        '<table id="by-day"><thead><tr><th>day</th><th>alerts</th></tr></thead><tbody>'
        + "".join(
            f'<tr data-day="{esc(k)}"><td>{esc(k)}</td><td>{v}</td></tr>'
            for k, v in rep.by_day.items()
        )
        + "</tbody></table>"
    )
    parts.append(f"<h2>Alerts by hour of day ({esc(tzl)})</h2>")
    parts.append(
        f'<figure><img alt="alerts by hour" src="{_bars(hours, rep.by_hour, "", "hour")}"></figure>'
        '<table id="by-hour"><thead><tr><th>hour</th><th>alerts</th></tr></thead><tbody>'
        + "".join(
            f'<tr data-hour="{h}"><td>{h:02d}:00</td><td>{v}</td></tr>'
            for h, v in enumerate(rep.by_hour)
        )
        + "</tbody></table>"
    )
    parts.append("<h2>Coverage</h2>")
    parts.append(
        '<table id="coverage"><thead><tr><th>district</th><th>patrols</th><th>covered</th>'
        "<th>not covered</th></tr></thead><tbody>"
        + "".join(
            f"<tr><td>{esc(x['district'])}</td><td>{x['patrols']}</td><td>{x['covered_pct']} %</td>"
            f"<td>{x['uncovered_m2']:.0f} m² ({x['uncovered_pct']} %)</td></tr>"
            for x in rep.districts
        )
        + "</tbody></table>"
    )
    parts.append(
        "<h2>Patrols</h2>"
        '<table id="patrols"><thead><tr><th>patrol</th><th>start</th><th>flight time</th>'
        "<th>distance</th><th>coverage</th><th>alerts</th><th>reminders</th><th></th></tr>"
        "</thead><tbody>"
        + "".join(
            f'<tr data-recording="{esc(p.name)}"><td>{esc(p.name)}</td>'
            f"<td>{esc(format_time(p.started_s, rep.tz))}</td>"
            f"<td>{esc(fmt_duration(p.flight_time_s))}</td><td>{esc(fmt_m(p.distance_m))}</td>"
            f"<td>{'' if p.coverage_pct is None else f'{p.coverage_pct:.1f} %'}</td>"
            f"<td>{len(p.alerts)}</td><td>{p.reminders}</td>"
            f"<td>{'' if p.complete else 'cut (partial)'}</td></tr>" + _vehicle_rows(p)
            for p in rep.patrols
        )
        + "</tbody></table>"
    )
    if rep.notes:
        parts.append(
            '<h2>Notes</h2><ul id="notes">'
            + "".join(f"<li>{esc(n)}</li>" for n in rep.notes)
            + "</ul>"
        )
    parts.append(
        f"<footer>Made by dronepatrol {esc(__version__)} on {esc(rep.generated_utc)}. Flight "
        "time: armed and more than 1 m above home, ground-station clock (as each patrol's own "
        "report; a fleet's: the sum over its vehicles). "
        f"Times in {esc(tzl)}; the JSON output keeps UTC.</footer>"
    )
    return Template(TEMPLATE.read_text(encoding="utf-8")).safe_substitute(
        title=esc(title), version=esc(__version__), body="\n".join(parts)
    )
