"""Small synthetic recordings for archive, multi-patrol report and export tests.

Each recording is written straight to files in the recorder's format (``docs/recording.md``):
manifest, ``telemetry.jsonl`` (a lawnmower survey at 5 Hz, :func:`synthetic_survey`), alerts,
reminders, events and the plan's district. No video and no tlog, so a hundred of them are made in
a few seconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from detection.alerts import Alert, AlertKind
from groundstation.report.testing import DEFAULT_BLOCK, block_polygon_geo, synthetic_survey
from groundstation.report.testing import DEFAULT_HOME as HOME

DISTRICT_NAME = "synthetic district"
# The district is DEFAULT_BLOCK; each patrol may fly only part of it.
WEST_HALF = (60.0, 40.0, 160.0, 160.0)
EAST_HALF = (160.0, 40.0, 260.0, 160.0)


def utc(text: str) -> float:
    """``"2026-11-29T10:15:00"`` (UTC) -> UNIX seconds."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()


def write_recording(
    root: Path,
    t0: float,
    *,
    name: str = "",
    block=DEFAULT_BLOCK,
    alerts: tuple = ((AlertKind.GATHERING, 0.4, 5), (AlertKind.UNMASKED, 0.6, 1)),
    reminders_per_alert: int = 1,
    complete: bool = True,
    cut_last_line: bool = False,
    spacing_m: float = 50.0,
) -> Path:
    """Write one recording folder flown over ``block`` of the synthetic district.

    Args:
        root: Record directory.
        t0: UNIX time the flight starts.
        name: Folder name suffix.
        block: ``(x0, y0, x1, y1)`` metres east/north of home flown by the survey.
        alerts: ``(kind, fraction of the AUTO part, count)`` per alert.
        reminders_per_alert: Reminder lines per alert.
        complete: Manifest ``complete`` (False: a cut patrol).
        cut_last_line: Leave half a JSON line at the end of ``telemetry.jsonl`` and
            ``alerts.jsonl`` (a patrol killed mid-write).
        spacing_m: Transect spacing (50 m = the default camera's footprint at 40 m, with overlap).

    Returns:
        The folder.
    """
    stamp = dt.datetime.fromtimestamp(t0, dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    folder = root / (f"{stamp}-{name}" if name else stamp)
    (folder / "plan").mkdir(parents=True)
    samples = synthetic_survey(t0, block=block, spacing_m=spacing_m)
    auto = [s for s in samples if s.mode == "AUTO"]
    manifest = {
        "format": "dronepatrol-recording",
        "version": 1,
        "name": folder.name,
        "started_utc": dt.datetime.fromtimestamp(t0, dt.timezone.utc).isoformat(),
        "started_s": t0,
        "complete": complete,
        "end_reason": "landed" if complete else None,
        "connection": "synthetic",
        "speedup": 1.0,
        "home": {"lat_deg": HOME[0], "lon_deg": HOME[1], "alt_m": HOME[2]},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (folder / "plan" / "area.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": DISTRICT_NAME},
                        "geometry": {"type": "Polygon", "coordinates": [block_polygon_geo()]},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    tele = [
        json.dumps(
            {
                "t_s": s.t_s,
                "pose": {
                    "t_s": s.t_s,
                    "lat_deg": s.lat_deg,
                    "lon_deg": s.lon_deg,
                    "alt_m": s.alt_m,
                    "yaw_deg": s.yaw_deg,
                },
                "mode": s.mode,
                "armed": s.armed,
                "battery_pct": s.battery_pct,
                "battery_v": s.battery_v,
            }
        )
        for s in samples
    ]
    alert_lines, reminder_lines = [], []
    for i, (kind, frac, count) in enumerate(alerts):
        s = auto[min(len(auto) - 1, int(frac * len(auto)))]
        a = Alert(
            id=hashlib.sha1(f"{folder.name}/{i}".encode()).hexdigest()[:12],
            kind=kind,
            t_s=s.t_s,
            lat_deg=s.lat_deg,
            lon_deg=s.lon_deg,
            count=count,
            confidence=0.8,
            risk="red" if i == 0 else None,  # the first alert inside a red area of the risk map
        )
        alert_lines.append(a.to_json())
        for k in range(reminders_per_alert):
            reminder_lines.append(
                json.dumps(
                    {
                        "t_s": s.t_s + 0.5 + k,
                        "alert_id": a.id,
                        "text": "请佩戴好口罩 Please wear your mask",
                        "language": "zh",
                        "duration_s": 2.0,
                        "device": None,
                        "wav": None,
                        "played": True,
                    },
                    ensure_ascii=False,
                )
            )
    events = [json.dumps({"t_s": t0, "kind": "start", "folder": folder.name})]
    tail = '{"t_s": 1' if cut_last_line else ""
    for fname, lines in (
        ("telemetry.jsonl", tele),
        ("alerts.jsonl", alert_lines),
        ("broadcasts.jsonl", reminder_lines),
        ("events.jsonl", events),
    ):
        cut = tail if fname in ("telemetry.jsonl", "alerts.jsonl") else ""
        (folder / fname).write_text("".join(line + "\n" for line in lines) + cut, encoding="utf-8")
    return folder
