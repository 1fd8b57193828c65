"""Render a :class:`~groundstation.report.build.Report` as one self-contained HTML page.

Everything is inside the file: CSS inline, figures as base64 PNG data URIs, alert snapshots as
base64 JPEG (downscaled to :data:`SNAPSHOT_MAX_PX`). No script, no external resource, so the page
opens offline, prints, and can be mailed as is. Text from the input is HTML-escaped.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
from pathlib import Path
from string import Template

import numpy as np

from groundstation.report import plots
from groundstation.report.build import Report, survey_runs
from groundstation.report.coverage import telemetry_holes
from groundstation.timezones import zone_label
from missions.geo import LocalFrame
from missions.shapes import geo_to_local

TEMPLATE = Path(__file__).with_name("template.html")
SNAPSHOT_MAX_PX = 320
"""Longest side of an embedded snapshot, pixels."""

_ALERT_COLOURS = {"gathering": "#d62728", "unmasked": "#ff7f0e", "mask_incorrect": "#9467bd"}


def esc(value) -> str:
    """HTML-escaped text of any value (None -> an en dash)."""
    if value is None:
        return "–"
    return html.escape(str(value), quote=True)


def fmt_duration(s: float | None) -> str:
    """``1 h 02 min``, ``4 min 05 s``, ``12.3 s``."""
    if s is None or not math.isfinite(s):
        return "–"
    if s < 60:
        return f"{s:.1f} s"
    m, sec = divmod(int(round(s)), 60)
    if m < 60:
        return f"{m} min {sec:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def fmt_m(m: float | None) -> str:
    """Metres, switching to km from 10 km."""
    if m is None:
        return "–"
    return f"{m / 1000:.2f} km" if m >= 10_000 else f"{m:,.0f} m"


def fmt_clock(t: float | None, tz=None) -> str:
    """Time of day ``HH:MM:SS`` in ``tz`` (the display time zone; None = UTC)."""
    if t is None:
        return "–"
    return dt.datetime.fromtimestamp(t, tz=tz or dt.timezone.utc).strftime("%H:%M:%S")


def alert_kind(alert) -> str:
    """The alert's kind as text (``gathering``, ``unmasked``...), enum or string alike."""
    k = alert.kind
    return getattr(k, "value", None) or str(k)


def alert_text(alert) -> str:
    """One human sentence about an alert (same wording as the live overlay)."""
    kind = alert_kind(alert)
    if kind == "gathering":
        r = f" within {alert.radius_m:.1f} m" if alert.radius_m is not None else ""
        return f"{alert.count} people gathered{r}"
    if kind == "unmasked":
        return "person" + (f" in {alert.colour}" if alert.colour else "") + " without a mask"
    if kind == "mask_incorrect":
        return (
            "person" + (f" in {alert.colour}" if alert.colour else "") + " with the mask worn wrong"
        )
    return alert.message or kind.replace("_", " ")


_FACES: dict = {}


def _snapshot_faces(detection):
    """The project's face detector for thumbnails (loaded once), or None when not installed."""
    from detection.errors import ModelNotFoundError
    from detection.faces import load_face_mask_detector
    from detection.pipeline import resolve_face_model_path
    from detection.settings import DetectionSettings

    settings = detection or DetectionSettings()
    key = str(settings.mask.face_model)
    if key not in _FACES:
        try:
            _FACES[key] = load_face_mask_detector(
                resolve_face_model_path(settings), conf=settings.mask.conf
            )
        except ModelNotFoundError:
            _FACES[key] = None
    return _FACES[key]


def snapshot_data_uri(
    path: Path, max_px: int = SNAPSHOT_MAX_PX, privacy=None, detection=None
) -> str | None:
    """A JPEG snapshot anonymised, downscaled and encoded as a data URI (None when unreadable).

    Args:
        path: The snapshot (faces in the clear, ``private/snapshots``).
        max_px: Longest side of the thumbnail.
        privacy: The ``privacy`` section (None: the defaults, faces blurred).
        detection: The ``detection`` section, for the face detector's weights.
    """
    import cv2

    from detection.privacy import PrivacySettings, anonymise_snapshot

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        return None
    img = anonymise_snapshot(img, privacy or PrivacySettings(), _snapshot_faces(detection))
    h, w = img.shape[:2]
    scale = max_px / max(h, w)
    if scale < 1:
        img = cv2.resize(
            img, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA
        )
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 82])
    if not ok:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


# --- figures -------------------------------------------------------------------------------------


def _frame(report: Report) -> LocalFrame | None:
    if report.area is not None:
        home = report.flight.home_or_first_fix()
        if home is not None:
            return LocalFrame(home[0], home[1])
        return report.area.frame
    home = report.flight.home_or_first_fix()
    return LocalFrame(home[0], home[1]) if home else None


def _xy(frame: LocalFrame, lat, lon) -> np.ndarray:
    x, y = frame.to_local(np.asarray(lat, float), np.asarray(lon, float))
    return np.column_stack([np.atleast_1d(x), np.atleast_1d(y)]).astype(float)


def _risk_local(
    report: Report, frame: LocalFrame, track_xy: np.ndarray
) -> list[tuple[str, object]]:
    """The report's risk layer as ``(class, polygon)`` in ``frame``, clipped to 50 m around the
    district and the track (a district-wide map would shrink a small patrol to a dot); empty
    without a map."""
    from shapely.geometry import box

    rm = report.risk_map
    if rm is None:
        return []
    parts = [geo_to_local(report.area.polygon_geo, frame).bounds] if report.area is not None else []
    if len(track_xy):
        parts.append((*track_xy.min(axis=0), *track_xy.max(axis=0)))
    if not parts:
        return []
    b = np.array(parts, float)
    window = box(b[:, 0].min() - 50, b[:, 1].min() - 50, b[:, 2].max() + 50, b[:, 3].max() + 50)
    clipped = [(risk, g.intersection(window)) for risk, g in rm.local_features(frame)]
    return [(risk, g) for risk, g in clipped if not g.is_empty]


def _risk_table(report: Report) -> str:
    """Alerts per risk class (a table), or nothing without a risk map."""
    by_risk = (report.summary.get("alerts") or {}).get("by_risk")
    if not by_risk:
        return ""
    from missions.risk import RISK_ZH

    zh = {**RISK_ZH, "unmapped": ""}
    rows = "".join(
        f'<tr data-risk="{esc(k)}"><td>{esc(k)} {esc(zh.get(k, ""))}</td>'
        f'<td class="num">{esc(v)}</td></tr>'
        for k, v in by_risk.items()
    )
    return (
        '<table id="alerts-by-risk"><thead><tr><th>risk class (where it happened)</th>'
        f"<th>alerts</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def figures(report: Report) -> dict[str, str]:
    """The report's figures as PNG data URIs: ``track_map``, ``heatmap`` (only with gatherings),
    ``timeline``."""
    out: dict[str, str] = {}
    flight = report.flight
    frame = _frame(report)
    alerts = report.input.alerts
    numbered = list(enumerate(alerts, start=1))
    if frame is not None:
        tr = flight.track
        track_xy = _xy(frame, tr.lat_deg, tr.lon_deg) if len(tr) else np.zeros((0, 2))
        district = holes = covered = None
        if report.area is not None:
            district = geo_to_local(report.area.polygon_geo, frame)
            holes = [geo_to_local(h, frame) for h in report.area.holes_geo]
        if report.coverage is not None:
            covered = geo_to_local(report.coverage.covered_geo, frame)
        route = [
            _xy(frame, [p[0] for p in r], [p[1] for p in r]) for r in report.input.route_geo if r
        ]
        home = flight.home_or_first_fix()
        home_xy = tuple(_xy(frame, home[0], home[1])[0]) if home else None
        markers = []
        for n, a in numbered:
            if a.lat_deg is not None and a.lon_deg is not None:
                x, y = _xy(frame, a.lat_deg, a.lon_deg)[0]
                markers.append((n, alert_kind(a), float(x), float(y)))
        cov = report.summary.get("coverage") or {}
        title = "Flight track"
        if cov:
            title += f" — {cov['coverage_pct']:.1f} % of the district (minus no-fly) covered"
            if report.summary.get("planned_coverage_pct") is not None:
                title += f" (plan: {report.summary['planned_coverage_pct']:.1f} %)"
        fig = plots.track_map(
            frame,
            track_xy=track_xy,
            survey_runs=survey_runs(report),
            district_local=district,
            holes_local=holes or [],
            covered_local=covered,
            route_xy=route,
            home_xy=home_xy,
            alerts=markers,
            title=title,
            track_breaks=telemetry_holes(tr.t_s),
            risk_local=_risk_local(report, frame, track_xy),
        )
        out["track_map"] = plots.png_data_uri(fig)
        gatherings = [
            a
            for a in alerts
            if alert_kind(a) == "gathering" and a.lat_deg is not None and a.lon_deg is not None
        ]
        if gatherings:
            pts = _xy(frame, [a.lat_deg for a in gatherings], [a.lon_deg for a in gatherings])
            w = np.array([max(1, a.count) for a in gatherings], float)
            fig = plots.gathering_heatmap(
                frame,
                points_xy=pts,
                weights=w,
                district_local=district,
                holes_local=holes or [],
                track_xy=track_xy,
                title=f"Gatherings: {len(gatherings)} alerts, {int(w.sum())} people in total",
            )
            out["heatmap"] = plots.png_data_uri(fig)
    t0 = flight.start_s
    if t0 is not None:
        end = flight.end_s
        spans = [
            (m.t_s, flight.modes[i + 1].t_s if i + 1 < len(flight.modes) else end, m.mode)
            for i, m in enumerate(flight.modes)
        ]
        fig = plots.timeline(
            t0,
            mode_spans=spans,
            track_t=flight.track.t_s,
            alt_m=flight.track.alt_m,
            battery_t=flight.battery.t_s,
            battery_pct=flight.battery.remaining_pct,
            battery_v=flight.battery.voltage_v,
            alerts=[(n, a.t_s, alert_kind(a)) for n, a in numbered],
            broadcasts=[float(b["t_s"]) for b in report.input.broadcasts],
            link_losses=[
                (ll.start_s, ll.end_s if ll.end_s is not None else end) for ll in flight.link_losses
            ],
            title="Mode, altitude and battery",
        )
        out["timeline"] = plots.png_data_uri(fig)
    return out


# --- page ----------------------------------------------------------------------------------------


def _figure_cards(report: Report) -> str:
    s = report.summary
    b = s.get("battery") or {}
    ll = s.get("link_losses") or {}
    cov = s.get("coverage")
    cards = []

    def card(key, label, value, small=""):
        """Append one figure card (``<dt>label</dt><dd>value</dd>``); ``value`` is HTML already."""
        extra = f"<small>{small}</small>" if small else ""
        cards.append(
            f'<div data-key="{esc(key)}"><dt>{esc(label)}</dt><dd>{value}{extra}</dd></div>'
        )

    vehicle = s.get("vehicle_flight_time_s")
    card(
        "flight_time_s",
        "Flight time",
        esc(fmt_duration(s.get("flight_time_s"))),
        f"airborne, ground-station clock; vehicle clock: {esc(fmt_duration(vehicle))}"
        if vehicle is not None
        else "airborne, ground-station clock",
    )
    card("distance_m", "Distance flown", esc(fmt_m(s.get("distance_m"))), "horizontal, airborne")
    card(
        "max_distance_from_home_m",
        "Max. distance from home",
        esc(fmt_m(s.get("max_distance_from_home_m"))),
    )
    card(
        "max_alt_m",
        "Max. altitude",
        esc(f"{s['max_alt_m']:.0f} m" if s.get("max_alt_m") is not None else "–"),
        "above home",
    )
    used = b.get("used_pct")
    small = []
    if b.get("start_pct") is not None:
        small.append(f"{b['start_pct']:.0f} % → {b['end_pct']:.0f} %")
    if b.get("used_mah") is not None:
        small.append(f"{b['used_mah']:.0f} mAh")
    if b.get("swaps"):
        small.append(f"{b['swaps'] + 1} packs (swapped between sorties)")
    if b.get("start_v") is not None:
        small.append(f"{b['start_v']:.1f} → {b['end_v']:.1f} V")
    card(
        "battery_used_pct",
        "Battery used",
        esc(f"{used:.0f} %" if used is not None else "–"),
        esc(", ".join(small)),
    )
    card(
        "link_losses",
        "Link losses",
        esc(ll.get("count", 0)),
        esc(
            f"{fmt_duration(ll.get('total_s'))} in total"
            + (f", {ll['unrecovered']} not recovered" if ll.get("unrecovered") else "")
        )
        if ll.get("count")
        else "",
    )
    al = s.get("alerts") or {}
    by_kind = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in (al.get("by_kind") or {}).items())
    card("alerts", "Alerts", esc(al.get("count", 0)), esc(by_kind))
    br = s.get("broadcasts") or {}
    card(
        "broadcasts",
        "Reminders broadcast",
        esc(br.get("count", 0)),
        esc(f"{br.get('played', 0)} played to the end") if br.get("count") else "",
    )
    if cov:
        plan = s.get("planned_coverage_pct")
        card(
            "coverage_pct",
            "Coverage",
            esc(f"{cov['coverage_pct']:.1f} %"),
            esc(
                f"of the district minus no-fly; plan {plan:.1f} %"
                if plan is not None
                else "of the district minus no-fly"
            ),
        )
    else:
        card(
            "coverage_pct",
            "Coverage",
            "–",
            "no district" if report.area is None else "no survey flown",
        )
    return '<dl class="figures" id="summary">' + "".join(cards) + "</dl>"


def _alerts_table(report: Report) -> str:
    alerts = report.input.alerts
    if not alerts:
        return '<p class="empty" id="alerts-empty">No alerts in this input.</p>'
    t0 = report.flight.start_s or alerts[0].t_s
    rows = []
    for n, a in enumerate(alerts, start=1):
        kind = alert_kind(a)
        colour = _ALERT_COLOURS.get(kind, "#555555")
        where = (
            f"{a.lat_deg:.6f}, {a.lon_deg:.6f}"
            if a.lat_deg is not None and a.lon_deg is not None
            else "–"
        )
        snap = report.input.snapshot_path(a)
        img = ""
        if snap is not None:
            uri = snapshot_data_uri(snap, privacy=report.privacy, detection=report.detection)
            if uri:
                img = f'<img alt="snapshot of alert {esc(a.id)}" src="{uri}">'
        elif a.snapshot:
            img = f'<span class="warning">snapshot {esc(a.snapshot)} missing</span>'
        conf = f"{a.confidence:.2f}" if kind in ("gathering", "unmasked", "mask_incorrect") else "–"
        rows.append(
            f'<tr id="alert-{esc(a.id)}" data-alert-id="{esc(a.id)}" data-kind="{esc(kind)}">'
            f'<td class="num">{n}</td>'
            f"<td>{esc(fmt_clock(a.t_s, report.tz))}<br><small>+{esc(fmt_duration(a.t_s - t0))}</small></td>"
            f'<td><span class="kind" style="background:{colour}">{esc(kind.replace("_", " "))}</span></td>'
            f"<td>{esc(alert_text(a))}<br><small><code>{esc(a.id)}</code></small></td>"
            f'<td class="num">{esc(a.count)}</td><td class="num">{esc(conf)}</td>'
            f"<td>{esc(where)}</td><td>{img}</td></tr>"
        )
    return (
        f'<table id="alerts"><thead><tr><th>#</th><th>time ({esc(zone_label(report.tz))})</th><th>kind</th><th>what</th>'
        "<th>people</th><th>confidence</th><th>where (lat, lon)</th><th>snapshot</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _broadcasts_table(report: Report) -> str:
    items = report.input.broadcasts
    if not items:
        return '<p class="empty" id="broadcasts-empty">No reminders were broadcast.</p>'
    numbers = {a.id: n for n, a in enumerate(report.input.alerts, start=1)}
    rows = []
    for b in items:
        aid = str(b.get("alert_id") or "")
        ref = (
            f'<a href="#alert-{esc(aid)}">#{numbers[aid]}</a>'
            if aid in numbers
            else esc(aid or "–")
        )
        dur = b.get("duration_s")
        rows.append(
            f'<tr data-alert-id="{esc(aid)}"><td>{esc(fmt_clock(b.get("t_s"), report.tz))}</td><td>{ref}</td>'
            f"<td>{esc(b.get('language'))}</td><td>{esc(b.get('text'))}</td>"
            f'<td class="num">{esc(f"{dur:.1f} s" if isinstance(dur, int | float) else None)}</td>'
            f"<td>{'yes' if b.get('played') else '<span class=warning>no</span>'}</td>"
            f"<td>{esc(b.get('device') or 'no device')}</td><td><small>{esc(b.get('wav'))}</small></td></tr>"
        )
    return (
        f'<table id="broadcasts"><thead><tr><th>time ({esc(zone_label(report.tz))})</th><th>alert</th><th>language</th>'
        "<th>text spoken</th><th>length</th><th>played</th><th>device</th><th>audio file</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _link_table(report: Report) -> str:
    losses = report.flight.link_losses
    if not losses:
        return '<p class="empty">No link loss.</p>'
    rows = "".join(
        f"<tr><td>{esc(fmt_clock(x.start_s, report.tz))}</td><td>{esc(fmt_clock(x.end_s, report.tz) if x.end_s else 'not recovered')}</td>"
        f'<td class="num">{esc(fmt_duration(x.duration_s))}</td><td>{esc(x.source)}</td></tr>'
        for x in losses
    )
    return (
        f'<table id="link-losses"><thead><tr><th>lost ({esc(zone_label(report.tz))})</th><th>back</th><th>duration</th>'
        f"<th>found from</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _modes_table(report: Report) -> str:
    modes = report.summary.get("modes") or {}
    if not modes:
        return '<p class="empty">No flight mode in the log.</p>'
    rows = "".join(
        f'<tr><td>{esc(k)}</td><td class="num">{esc(fmt_duration(v))}</td></tr>'
        for k, v in modes.items()
    )
    return f'<table id="modes" style="width:auto"><thead><tr><th>mode</th><th>time</th></tr></thead><tbody>{rows}</tbody></table>'


def _messages(report: Report) -> str:
    msgs = report.flight.messages
    if not msgs:
        return '<p class="empty">No messages.</p>'
    rows = "".join(
        f"<tr><td>{esc(fmt_clock(m.t_s, report.tz))}</td><td>{esc(m.severity)}</td><td>{esc(m.text)}</td></tr>"
        for m in msgs
    )
    return (
        f"<details><summary>{len(msgs)} messages from the vehicle and the recorder</summary>"
        f'<table id="messages"><thead><tr><th>time ({esc(zone_label(report.tz))})</th><th>severity</th><th>text</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></details>"
    )


def render_html(report: Report) -> str:
    """The whole page as a string (UTF-8 text, self-contained)."""
    from groundstation.cli import __version__

    flight = report.flight
    figs = figures(report)
    s = report.summary
    parts = [f"<h1>{esc(report.title)}</h1>"]
    meta = [
        f"<span>source <code>{esc(flight.source)}</code> ({esc(flight.kind)})</span>",
        f"<span>{esc(s.get('start_utc'))} → {esc(s.get('end_utc'))}</span>",
    ]
    if flight.vehicle_type:
        meta.append(f"<span>vehicle {esc(flight.vehicle_type)}</span>")
    if report.area is not None:
        meta.append(f"<span>district {esc(report.area.name)}</span>")
    video = report.input.video
    if video:
        meta.append(
            f"<span>video {esc(video['frames'])} frames in {esc(video['segments'])} segments</span>"
        )
    parts.append(f'<p class="meta">{"".join(meta)}</p>')
    if report.missing:
        items = "".join(f"<li>{esc(m)}</li>" for m in report.missing)
        parts.append(
            '<section class="partial" id="missing"><h2>Partial input: this report covers what was '
            f"readable</h2><ul>{items}</ul></section>"
        )
    parts.append("<h2>Summary</h2>" + _figure_cards(report))

    parts.append("<h2>Flight track and coverage</h2>")
    if "track_map" in figs:
        cov = report.coverage
        cap = (
            f"Covered area: the camera footprint ({cov.footprint.width_m:.0f} × "
            f"{cov.footprint.height_m:.0f} m at {cov.alt_m:g} m, survey altitude from "
            f"{esc(cov.alt_source)}) swept along the track while in AUTO within "
            f"±{cov.tolerance_m:.0f} m of that altitude. Numbers are the alerts of the table below."
            if cov is not None
            else "Numbers are the alerts of the table below."
        )
        parts.append(
            f'<figure id="track-map"><img alt="flight track map" src="{figs["track_map"]}">'
            f"<figcaption>{cap}</figcaption></figure>"
        )
    else:
        parts.append('<p class="empty">No position in the log: no map.</p>')
    parts.append("<h2>Gatherings</h2>")
    if "heatmap" in figs:
        parts.append(
            f'<figure id="heatmap"><img alt="gathering heat map" src="{figs["heatmap"]}">'
            f"<figcaption>Kernel density of gathering alerts weighted by head count (Gaussian, "
            f"σ = {plots.HEAT_BANDWIDTH_M:.0f} m).</figcaption></figure>"
        )
    else:
        parts.append('<p class="empty">No geotagged gathering alert.</p>')
    parts.append("<h2>Timeline</h2>")
    if "timeline" in figs:
        parts.append(
            f'<figure id="timeline"><img alt="timeline of mode, altitude and battery" '
            f'src="{figs["timeline"]}"><figcaption>Triangles: alerts (numbered as in the table); '
            "dashed lines: reminders broadcast; grey: link lost.</figcaption></figure>"
        )
    parts.append(
        f"<h2>Alerts ({len(report.input.alerts)})</h2>"
        + _risk_table(report)
        + _alerts_table(report)
    )
    parts.append(
        f"<h2>Reminders broadcast ({len(report.input.broadcasts)})</h2>" + _broadcasts_table(report)
    )
    parts.append("<h2>Link losses</h2>" + _link_table(report))
    parts.append("<h2>Time in each flight mode</h2>" + _modes_table(report))
    parts.append("<h2>Messages</h2>" + _messages(report))
    notes = list(report.notes)
    notes.append(
        "Flight time: armed and more than 1 m above home. Distance: horizontal, while airborne. "
        "Battery used: first minus last remaining charge the vehicle reported."
    )
    parts.append(
        '<h2>Notes</h2><ul id="notes">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>"
    )
    parts.append(
        f"<footer>Made by dronepatrol {esc(__version__)} on {esc(report.generated_utc)} from "
        f"{esc(flight.track_source or flight.kind)}; config: {esc(report.config_source)}.</footer>"
    )
    return Template(TEMPLATE.read_text(encoding="utf-8")).safe_substitute(
        title=esc(report.title), version=esc(__version__), body="\n".join(parts)
    )
