"""GIS exports of patrols: GeoJSON, KML, GPX and CSV for QGIS, ArcGIS and Google Earth.

What each format holds (coordinates WGS-84; GeoJSON/KML/CSV WKT in lon,lat order, GPX lat/lon
attributes; times UTC ISO 8601 with ``Z``, the display-zone time as an extra property where the
format has properties):

| format  | alerts                    | flown track                          | coverage          |
|---------|---------------------------|--------------------------------------|-------------------|
| geojson | Point per alert           | LineString per patrol (MultiLineString when telemetry has holes) | (Multi)Polygon per patrol |
| kml     | Placemark Point, folder ``Alerts`` | Placemark LineString, folder ``Tracks`` | Placemark Polygon, folder ``Coverage`` |
| gpx     | ``wpt`` per alert         | ``trk`` per patrol, a ``trkseg`` per continuous piece, with times and elevation | (GPX has no polygons) |
| csv     | one row per alert, geometry in column ``WKT`` plus ``lat_deg``/``lon_deg`` | not exported | not exported |

A fleet patrol (``docs/fleet.md``) gives one track per vehicle, each carrying its MAVLink system
id (GeoJSON property ``vehicle``, KML data ``vehicle`` and name ``NAME drone N``, GPX ``trk``
named ``NAME drone N`` with ``<number>`` N), one coverage (all its vehicles together) and its
merged alerts, each with ``vehicle`` (who saw it first) and ``seen_by`` (every vehicle that saw
it, space-separated). For one vehicle ``vehicle`` is null (empty in KML/CSV).

Formats are written with libraries (``json`` + shapely's ``mapping`` for GeoJSON, simplekml,
gpxpy, ``csv``), never string templates. Output is written to a temporary file and renamed, so a
failed export leaves no half file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from shapely.geometry import LineString, MultiLineString, mapping
from shapely.geometry.base import BaseGeometry

from groundstation.archive.patrol import PatrolRecord
from groundstation.timezones import format_time
from missions.errors import InputError

FORMATS = ("geojson", "kml", "gpx", "csv")
"""Export formats, as ``--format`` names them."""

CSV_COLUMNS = (
    "WKT",
    "id",
    "recording",
    "kind",
    "source",
    "time_utc",
    "time_local",
    "lat_deg",
    "lon_deg",
    "count",
    "confidence",
    "message",
    "risk",
    "snapshot",
    "vehicle",
    "seen_by",
)
"""Columns of the CSV export (``WKT`` is the point geometry GDAL/QGIS read by default)."""


def _utc(t_s: float) -> str:
    return dt.datetime.fromtimestamp(float(t_s), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def track_pieces(track: np.ndarray) -> list[np.ndarray]:
    """The flown track split where telemetry has a hole (the report's rule), pieces of >= 2.

    Args:
        track: (N, 4) ``t_s, lat, lon, alt`` rows in time order.

    Returns:
        Row index arrays, one per continuous piece.
    """
    from groundstation.report.coverage import telemetry_holes

    if len(track) < 2:
        return []
    starts = [0, *telemetry_holes(track[:, 0]).tolist(), len(track)]
    out = []
    for a, b in zip(starts[:-1], starts[1:], strict=True):
        if b - a >= 2:
            out.append(np.arange(a, b))
    return out


def track_geometry(track: np.ndarray) -> BaseGeometry | None:
    """The flown track as a (lon, lat) LineString, or MultiLineString across telemetry holes."""
    pieces = [
        LineString(np.column_stack([track[idx, 2], track[idx, 1]])) for idx in track_pieces(track)
    ]
    if not pieces:
        return None
    return pieces[0] if len(pieces) == 1 else MultiLineString(pieces)


def _tracks(
    p: PatrolRecord,
) -> list[tuple[int | str | None, np.ndarray, float | None, float | None]]:
    """``(sysid, track, flight_time_s, distance_m)`` per flown track of ``p``: one per fleet
    vehicle (:meth:`PatrolRecord.tracks`), or ``(None, track, ...)`` with the patrol's figures."""
    figures = {v.sysid: (v.flight_time_s, v.distance_m) for v in p.vehicles}
    return [
        (sysid, tr, *figures.get(sysid, (p.flight_time_s, p.distance_m)))
        for sysid, tr in p.tracks()
    ]


def _track_name(p: PatrolRecord, sysid) -> str:
    return p.name if sysid is None else f"{p.name} drone {sysid}"


def _alert_props(p: PatrolRecord, a: dict, tz) -> dict:
    return {
        "layer": "alert",
        "id": a.get("id"),
        "recording": p.name,
        "kind": a.get("kind"),
        "source": a.get("source"),
        "time_utc": _utc(a["t_s"]),
        "time_local": format_time(a["t_s"], tz),
        "count": a.get("count"),
        "confidence": a.get("confidence"),
        "message": a.get("message") or "",
        "risk": a.get("risk") or "",  # the risk map's class where it happened (issue 18)
        "snapshot": a.get("snapshot") or "",
        "vehicle": a.get("vehicle"),  # a fleet's: who saw it first (docs/fleet.md)
        "seen_by": " ".join(dict.fromkeys(str(x.get("vehicle")) for x in a.get("sightings") or [])),
    }


def _located(alerts: list[dict]) -> list[dict]:
    return [a for a in alerts if a.get("lat_deg") is not None and a.get("lon_deg") is not None]


def to_geojson(patrols: Sequence[PatrolRecord], tz=None) -> str:
    """A GeoJSON FeatureCollection (RFC 7946): alert points, track lines, coverage polygons.

    Every feature has ``layer`` (``alert``, ``track``, ``coverage``) and ``recording``; tracks
    and alerts have ``vehicle`` (a fleet vehicle's system id, else null).
    """
    feats = []
    for p in patrols:
        for a in _located(p.alerts):
            feats.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [a["lon_deg"], a["lat_deg"]]},
                    "properties": _alert_props(p, a, tz),
                }
            )
        for sysid, tr, flight_time_s, distance_m in _tracks(p):
            line = track_geometry(tr)
            if line is None:
                continue
            feats.append(
                {
                    "type": "Feature",
                    "geometry": mapping(line),
                    "properties": {
                        "layer": "track",
                        "recording": p.name,
                        "vehicle": sysid,
                        "start_utc": _utc(tr[0, 0]),
                        "end_utc": _utc(tr[-1, 0]),
                        "distance_m": distance_m,
                        "flight_time_s": flight_time_s,
                    },
                }
            )
        if not p.covered_geo.is_empty:
            feats.append(
                {
                    "type": "Feature",
                    "geometry": mapping(p.covered_geo),
                    "properties": {
                        "layer": "coverage",
                        "recording": p.name,
                        "district": p.district,
                        "coverage_pct": p.coverage_pct,
                    },
                }
            )
    return json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False)


def to_kml(patrols: Sequence[PatrolRecord], tz=None) -> str:
    """A KML 2.2 document (simplekml) with folders ``Alerts``, ``Tracks`` (a placemark per
    continuous piece of each patrol's or fleet vehicle's track) and ``Coverage``."""
    import simplekml

    kml = simplekml.Kml(name="dronepatrol export")
    f_alerts = kml.newfolder(name="Alerts")
    f_tracks = kml.newfolder(name="Tracks")
    f_cov = kml.newfolder(name="Coverage")
    for p in patrols:
        for a in _located(p.alerts):
            props = _alert_props(p, a, tz)
            pt = f_alerts.newpoint(
                name=f"{a.get('kind')} {a.get('id')}", coords=[(a["lon_deg"], a["lat_deg"])]
            )
            pt.timestamp.when = props["time_utc"]
            pt.description = f"{props['time_local']}: {a.get('kind')}, {a.get('count')} people"
            for k, v in props.items():
                if k != "layer" and v is not None:
                    pt.extendeddata.newdata(name=k, value=str(v))
        for sysid, track, _, _ in _tracks(p):
            for idx in track_pieces(track):
                tr = track[idx]
                ls = f_tracks.newlinestring(
                    name=_track_name(p, sysid), coords=[(float(r[2]), float(r[1])) for r in tr]
                )
                ls.timespan.begin, ls.timespan.end = _utc(tr[0, 0]), _utc(tr[-1, 0])
                ls.style.linestyle.width = 3
                ls.style.linestyle.color = simplekml.Color.red
                if sysid is not None:
                    ls.extendeddata.newdata(name="vehicle", value=str(sysid))
        for poly in _polygons(p.covered_geo):
            pg = f_cov.newpolygon(
                name=p.name,
                outerboundaryis=list(poly.exterior.coords),
                innerboundaryis=[list(r.coords) for r in poly.interiors],
            )
            pg.style.polystyle.color = simplekml.Color.changealphaint(90, simplekml.Color.green)
            pg.extendeddata.newdata(name="coverage_pct", value=str(p.coverage_pct))
    return kml.kml()


def _polygons(geom: BaseGeometry) -> list:
    if geom.is_empty:
        return []
    if geom.geom_type == "Polygon":
        return [geom]
    return [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon" and not g.is_empty]


def to_gpx(patrols: Sequence[PatrolRecord], tz=None) -> str:
    """GPX 1.1 (gpxpy): a waypoint per alert, a track per patrol or fleet vehicle (a segment
    per piece)."""
    import gpxpy.gpx

    gpx = gpxpy.gpx.GPX()
    gpx.creator = "dronepatrol"
    for p in patrols:
        for a in _located(p.alerts):
            props = _alert_props(p, a, tz)
            gpx.waypoints.append(
                gpxpy.gpx.GPXWaypoint(
                    latitude=float(a["lat_deg"]),
                    longitude=float(a["lon_deg"]),
                    time=dt.datetime.fromtimestamp(float(a["t_s"]), dt.timezone.utc),
                    name=f"{a.get('kind')} {a.get('id')}",
                    description=f"{props['time_local']}: {a.get('count')} people, {p.name}",
                    type=str(a.get("kind")),
                )
            )
        for sysid, track, _, _ in _tracks(p):
            trk = _gpx_track(p, sysid, track)
            if trk is not None:
                gpx.tracks.append(trk)
    return gpx.to_xml(version="1.1")


def _gpx_track(p: PatrolRecord, sysid, track: np.ndarray):
    """One GPX ``trk`` (a segment per continuous piece), or None for a track without one."""
    import gpxpy.gpx

    pieces = track_pieces(track)
    if not pieces:
        return None
    trk = gpxpy.gpx.GPXTrack(name=_track_name(p, sysid))
    if isinstance(sysid, int):
        trk.number = sysid
    for idx in pieces:
        seg = gpxpy.gpx.GPXTrackSegment()
        for t, lat, lon, alt in track[idx]:
            seg.points.append(
                gpxpy.gpx.GPXTrackPoint(
                    float(lat),
                    float(lon),
                    elevation=None if not np.isfinite(alt) else round(float(alt), 2),
                    time=dt.datetime.fromtimestamp(float(t), dt.timezone.utc),
                )
            )
        trk.segments.append(seg)
    return trk


def to_csv(patrols: Sequence[PatrolRecord], tz=None) -> str:
    """One CSV row per located alert (``CSV_COLUMNS``; ``WKT`` is ``POINT (lon lat)``)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for p in patrols:
        for a in _located(p.alerts):
            row = _alert_props(p, a, tz)
            row.pop("layer")
            row["WKT"] = f"POINT ({float(a['lon_deg'])!r} {float(a['lat_deg'])!r})"
            row["lat_deg"], row["lon_deg"] = a["lat_deg"], a["lon_deg"]
            w.writerow(row)
    return buf.getvalue()


_WRITERS = {"geojson": to_geojson, "kml": to_kml, "gpx": to_gpx, "csv": to_csv}


def export_patrols(
    patrols: Sequence[PatrolRecord], fmt: str, out: str | os.PathLike | None, tz=None
) -> str:
    """Render ``patrols`` in ``fmt`` and write them to ``out`` (atomically; None: only return).

    Args:
        patrols: What to export.
        fmt: One of :data:`FORMATS`.
        out: Output file, or None.
        tz: Display time zone for the ``time_local`` properties (``tzinfo``; None = UTC).

    Returns:
        The text written.

    Raises:
        InputError: Unknown format or the file cannot be written.
    """
    if fmt not in _WRITERS:
        raise InputError(f"unknown export format {fmt!r} (use one of {', '.join(FORMATS)})")
    text = _WRITERS[fmt](patrols, tz)
    if out is not None:
        path = Path(out)
        tmp = path.with_name(path.name + ".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            raise InputError(f"{path}: cannot write the export: {exc.strerror or exc}") from None
    return text
