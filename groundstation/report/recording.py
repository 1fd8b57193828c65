"""Read a dronepatrol flight recording (``docs/recording.md``) for a report.

The recording folder holds two views of the flight: the link's tlog (every MAVLink packet) and the
recorder's ``telemetry.jsonl`` (~5 Hz vehicle state). The one with more position samples gives
the track, modes and battery (normally the tlog); link losses come from the recorder's
``events.jsonl`` (``link_lost`` / ``link_recovered``) when it has them. Alerts, broadcasts, the
plan files and the config the patrol ran with come from the folder.

A folder cut by SIGKILL (manifest ``complete: false``, a cut last JSONL line, a cut tlog or last
video segment) is read as far as it goes; every gap is listed in :attr:`ReportInput.missing`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from groundstation.recording import finite_number
from groundstation.report.model import (
    BatterySeries,
    FlightLog,
    LinkLoss,
    StatusMessage,
    Track,
    add_arming,
    add_mode,
)
from groundstation.report.tlog import DEFAULT_LINK_LOST_S, load_tlog
from missions.errors import InputError

log = logging.getLogger(__name__)


@dataclass
class ReportInput:
    """Everything a report is built from.

    Attributes:
        flight: The flight part (track, modes, battery, link losses, texts).
        alerts: ``detection.alerts.Alert`` objects, in time order.
        broadcasts: ``broadcasts.jsonl`` records (dicts), in time order.
        folder: The recording folder (None for a plain tlog / DataFlash log).
        manifest: The recording's manifest (empty for plain logs).
        config: The config the patrol ran with (``groundstation.config.Config``), when recorded.
        plan_stats: ``plan/plan.json`` ``stats`` (the planner's figures), when recorded.
        district_path: The district file recorded with the plan (``plan/area.geojson``).
        route_geo: The planned route per sortie, lists of ``(lat, lon)``.
        video: ``{"segments", "frames", "readable_frames"}`` when the recording has video.
        risk_path: The five-colour risk layer recorded with the plan (``plan/risk.geojson``).
    """

    flight: FlightLog
    alerts: list = field(default_factory=list)
    broadcasts: list[dict] = field(default_factory=list)
    folder: Path | None = None
    manifest: dict = field(default_factory=dict)
    config: Any = None
    plan_stats: dict | None = None
    district_path: Path | None = None
    route_geo: list[list[tuple[float, float]]] = field(default_factory=list)
    video: dict | None = None
    risk_path: Path | None = None

    @property
    def missing(self) -> list[str]:
        """What the input lacks or where it was cut (:attr:`FlightLog.missing`)."""
        return self.flight.missing

    def snapshot_path(self, alert) -> Path | None:
        """Absolute path of an alert's snapshot when the file exists."""
        if not alert.snapshot:
            return None
        p = Path(alert.snapshot)
        if not p.is_absolute() and self.folder is not None:
            p = self.folder / p
        return p if p.is_file() else None


def cut_last_line(path: Path) -> bool:
    """True when a JSON Lines file's last line is incomplete (no newline and not valid JSON)."""
    try:
        size = path.stat().st_size
        if size == 0:
            return False
        with open(path, "rb") as f:
            f.seek(max(0, size - 65536))
            tail = f.read()
    except OSError:
        return False
    if tail.endswith(b"\n"):
        return False
    last = tail.rsplit(b"\n", 1)[-1].strip()
    if not last:
        return False
    try:
        json.loads(last.decode("utf-8", errors="strict"))
        return False
    except (ValueError, UnicodeDecodeError):
        return True


def load_recording(
    folder: str | os.PathLike, *, link_lost_s: float | None = None, check_video: bool = True
) -> ReportInput:
    """Read a recording folder.

    Args:
        folder: The recording folder (or its ``manifest.json``).
        link_lost_s: Silence that counts as a link loss in the tlog; default the recorded
            config's ``connection.link_lost_s``.
        check_video: Count the readable frames of the last video segment (ffprobe) to say
            whether it was cut.

    Returns:
        The :class:`ReportInput`.

    Raises:
        InputError: Not a recording folder.
    """
    from groundstation.recording import Recording, iter_jsonl

    p = Path(folder)
    if p.is_file() and p.name == "manifest.json":
        p = p.parent
    rec = Recording.open(p)
    manifest = rec.manifest
    missing: list[str] = []
    if not manifest:
        missing.append("manifest.json is missing or unreadable: the files are read as they are")
    elif not rec.complete:
        missing.append(
            "the recording was not closed cleanly (manifest complete: false): the patrol was cut "
            "(killed or power lost); everything up to the cut is reported"
        )
    config = _config(manifest, missing)
    if link_lost_s is None:
        link_lost_s = (
            float(config.connection.link_lost_s) if config is not None else DEFAULT_LINK_LOST_S
        )

    # -- the flight: tlog and telemetry.jsonl ----------------------------------------------------------
    tlog_path = rec.path("tlog")
    from_tlog: FlightLog | None = None
    if tlog_path.is_file() and tlog_path.stat().st_size > 0:
        try:
            from_tlog = load_tlog(tlog_path, link_lost_s=link_lost_s)
        except InputError as exc:
            missing.append(f"{tlog_path.name} is unreadable: {exc}")
    else:
        missing.append(f"{tlog_path.name} is missing or empty")
    tele_path = rec.path("telemetry")
    from_tele = _flight_from_telemetry(list(iter_jsonl(tele_path)), str(p))
    if not tele_path.is_file():
        missing.append(f"{tele_path.name} is missing")
    if (
        from_tlog is not None
        and len(from_tlog.track) >= len(from_tele.track)
        and len(from_tlog.track)
    ):
        flight = from_tlog
        flight.track_source = f"{tlog_path.name} ({flight.track_source})"
    elif len(from_tele.track):
        flight = from_tele
        if from_tlog is not None:
            missing.extend(m for m in from_tlog.missing if m not in missing)
    else:
        flight = from_tlog or from_tele
    flight.source = str(p)
    flight.kind = "recording"

    # home from the manifest when the log had none
    home = rec.home()  # a damaged home is an error, not silently accepted
    if flight.home is None and home is not None:
        flight.home = home

    # -- events: link losses and log texts ------------------------------------------------------------------
    events = list(iter_jsonl(rec.path("events")))
    losses = _losses_from_events(events)
    if losses or any(e.get("kind") in ("link_lost", "link_recovered") for e in events):
        flight.link_losses = losses
    elif not rec.path("events").is_file():
        missing.append(f"{rec.path('events').name} is missing: link losses taken from tlog gaps")
    have_tlog_texts = flight is from_tlog
    for e in events:
        kind = str(e.get("kind", ""))
        if kind == "statustext" and have_tlog_texts:
            continue
        t = finite_number(e.get("t_s"))
        if t is None:
            continue
        flight.messages.append(StatusMessage(t, event_text(e), event_severity(e)))
    flight.messages.sort(key=lambda m: m.t_s)

    # -- alerts and broadcasts ----------------------------------------------------------------------------
    alerts = sorted(rec.alerts(), key=lambda a: a.t_s)
    lines = _count_lines(rec.path("alerts")) - (1 if cut_last_line(rec.path("alerts")) else 0)
    if lines > len(alerts):
        missing.append(
            f"alerts.jsonl: {lines - len(alerts)} of {lines} lines are not valid alerts (skipped)"
        )
    broadcasts = sorted(
        (b for b in iter_jsonl(rec.path("broadcasts")) if finite_number(b.get("t_s")) is not None),
        key=lambda b: b["t_s"],
    )
    for key in ("telemetry", "alerts", "events", "broadcasts", "frames"):
        fp = rec.path(key)
        if cut_last_line(fp):
            missing.append(
                f"{fp.relative_to(p).as_posix()}: the last line was cut mid-write (dropped)"
            )
    if not rec.path("alerts").is_file():
        missing.append(f"{rec.path('alerts').name} is missing: no alerts can be reported")

    # -- plan -------------------------------------------------------------------------------------------------
    plan_dir = rec.path("plan")
    plan_stats = None
    pj = plan_dir / "plan.json"
    if pj.is_file():
        try:
            plan_stats = json.loads(pj.read_text(encoding="utf-8-sig")).get("stats")
        except (OSError, ValueError, AttributeError):
            missing.append("plan/plan.json is unreadable: the planned coverage is unknown")
    district = plan_dir / "area.geojson"
    route = read_route(plan_dir / "route.geojson")

    # -- video ------------------------------------------------------------------------------------------------
    video = _video_info(rec, missing, check_video)

    for m in flight.missing:
        if m not in missing:
            missing.append(m)
    flight.missing = missing
    return ReportInput(
        flight=flight,
        alerts=alerts,
        broadcasts=broadcasts,
        folder=p,
        manifest=manifest,
        config=config,
        plan_stats=plan_stats if isinstance(plan_stats, dict) else None,
        district_path=district if district.is_file() else None,
        route_geo=route,
        video=video,
        risk_path=plan_dir / "risk.geojson" if (plan_dir / "risk.geojson").is_file() else None,
    )


def _count_lines(path: Path) -> int:
    """Non-blank lines of a text file (0 when missing)."""
    try:
        with open(path, "rb") as f:
            return sum(1 for line in f if line.strip())
    except OSError:
        return 0


def _config(manifest: dict, missing: list[str]):
    raw = manifest.get("config")
    if not isinstance(raw, dict):
        return None
    from groundstation.config import Config

    try:
        return Config.model_validate(raw)
    except ValueError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        missing.append(
            f"the recorded config does not validate with this version ({first}); defaults used"
        )
        return None


def _flight_from_telemetry(rows: list[dict], source: str) -> FlightLog:
    flight = FlightLog(source=source, kind="recording", track_source="telemetry.jsonl")
    track, battery = [], []
    for r in rows:
        t = finite_number(r.get("t_s"))
        if t is None:
            continue
        pose = r.get("pose") if isinstance(r.get("pose"), dict) else None
        if pose:
            lat, lon = finite_number(pose.get("lat_deg")), finite_number(pose.get("lon_deg"))
            if lat is not None and lon is not None:
                alt = finite_number(pose.get("alt_m"))
                yaw = finite_number(pose.get("yaw_deg"))
                track.append(
                    (
                        t,
                        lat,
                        lon,
                        alt if alt is not None else math.nan,
                        yaw if yaw is not None else math.nan,
                        math.nan,
                    )
                )
        if r.get("mode"):
            add_mode(flight.modes, t, str(r["mode"]))
        if r.get("armed") is not None:
            add_arming(flight.arming, t, bool(r["armed"]))
        pct, volt = finite_number(r.get("battery_pct")), finite_number(r.get("battery_v"))
        if pct is not None or volt is not None:
            battery.append((t, pct, volt, None))
    flight.track = Track.from_rows(track)
    flight.battery = BatterySeries.from_rows(battery)
    return flight


def _losses_from_events(events: list[dict]) -> list[LinkLoss]:
    out: list[LinkLoss] = []
    start = None
    for e in sorted(events, key=lambda e: finite_number(e.get("t_s")) or 0.0):
        t = finite_number(e.get("t_s"))
        if t is None:
            continue
        if e.get("kind") == "link_lost" and start is None:
            start = t
        elif e.get("kind") == "link_recovered" and start is not None:
            out.append(LinkLoss(start, t, "events"))
            start = None
    if start is not None:
        out.append(LinkLoss(start, None, "events"))
    return out


_EVENT_WORDS = {
    "start": "recording started",
    "stop": "recording stopped",
    "connected": "connected",
    "mission_uploaded": "uploaded",
    "sortie_start": "sortie started",
    "sortie_end": "sortie ended",
    "mode": "mode",
    "armed": "armed",
    "disarmed": "disarmed",
    "statustext": "vehicle",
    "link_lost": "link LOST",
    "link_recovered": "link recovered",
    "hold": "holding over an alert",
    "resume": "mission resumed",
    "interrupted": "patrol interrupted",
    "low_battery": "battery low",
    "mission_item_reached": "reached mission item",
    "home": "home set",
    "rtl": "return to launch",
}

_SEVERITY_NAMES = ("emergency", "alert", "critical", "error", "warning", "notice", "info", "debug")


def event_text(e: dict) -> str:
    """One line describing an ``events.jsonl`` record (``kind`` and its other fields)."""
    kind = str(e.get("kind", "event"))
    words = _EVENT_WORDS.get(kind, kind.replace("_", " "))
    rest = {k: v for k, v in e.items() if k not in ("t_s", "kind")}
    if kind == "statustext" and isinstance(rest.get("text"), str):
        return f"vehicle: {rest['text']}"
    if kind == "mode" and rest.get("mode"):
        was = f" (was {rest['previous']})" if rest.get("previous") else ""
        return f"mode {rest['mode']}{was}"
    if kind in ("armed", "disarmed") and set(rest) <= {"mode"}:
        return f"{words} in {rest['mode']}" if rest.get("mode") else words
    if kind == "mission_item_reached" and "seq" in rest:
        return f"{words} {rest['seq']}"
    if kind == "low_battery" and isinstance(rest.get("remaining_pct"), int | float):
        return f"{words}: {rest['remaining_pct']:.0f} %"
    if kind == "mission_uploaded" and "count" in rest:
        what = rest.get("mission_type", "mission")
        sortie = f" for sortie {rest['sortie']}" if rest.get("sortie") else ""
        return f"{what} uploaded: {rest['count']} items{sortie}"
    for key in ("text", "reason", "message"):
        if isinstance(rest.get(key), str) and len(rest) == 1:
            return f"{words}: {rest[key]}"
    if not rest:
        return words
    parts = []
    for k, v in rest.items():
        if isinstance(v, float):
            v = f"{v:.6g}"
        elif isinstance(v, dict | list):
            v = json.dumps(v, ensure_ascii=False, separators=(",", ":"))
            v = v if len(v) <= 80 else v[:77] + "..."
        parts.append(f"{k}={v}")
    return f"{words} ({', '.join(parts)})"


def event_severity(e: dict) -> str:
    """``info``, ``warning`` or ``error`` for an ``events.jsonl`` record."""
    kind = str(e.get("kind", ""))
    if kind == "statustext":
        sev = e.get("severity")
        if isinstance(sev, int) and 0 <= sev < len(_SEVERITY_NAMES):
            return "error" if sev <= 3 else "warning" if sev == 4 else "info"
    return _event_severity(kind)


def _event_severity(kind: str) -> str:
    if kind in ("link_lost", "interrupted", "low_battery", "error"):
        return "warning"
    return "info"


def read_route(path: Path) -> list[list[tuple[float, float]]]:
    """Planned route per sortie from ``route.geojson`` (LineStrings, lon/lat) as ``(lat, lon)``
    lists; empty when the file is missing or unreadable."""
    if not path.is_file():
        return []
    try:
        obj = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return []
    out = []
    feats = obj.get("features", []) if isinstance(obj, dict) else []
    for f in feats:
        g = (f or {}).get("geometry") or {}
        if g.get("type") == "LineString":
            out.append([(float(c[1]), float(c[0])) for c in g.get("coordinates", [])])
        elif g.get("type") == "MultiLineString":
            for line in g.get("coordinates", []):
                out.append([(float(c[1]), float(c[0])) for c in line])
    return out


def count_video_packets(path: Path, timeout_s: float = 30.0) -> int | None:
    """Readable video frames in a segment file, counted by ffprobe without decoding.

    Returns:
        The packet count of the first video stream, or None when ffprobe is unavailable or fails.
    """
    if path.suffix == ".mjpeg":
        data = path.read_bytes()
        n, i = 0, 0
        while True:
            a = data.find(b"\xff\xd8", i)
            if a < 0:
                return n
            b = data.find(b"\xff\xd9", a + 2)
            if b < 0:
                return n
            n += 1
            i = b + 2
    ffprobe = shutil.which("ffprobe")
    if not ffprobe:
        return None
    try:
        out = subprocess.run(
            [
                ffprobe,
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-count_packets",
                "-show_entries",
                "stream=nb_read_packets",
                "-of",
                "csv=p=0",
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.stdout.splitlines():
        field = line.strip().split(",")[0]
        if field.isdigit():
            return int(field)
    return 0 if path.stat().st_size == 0 else None


def _video_info(rec, missing: list[str], check: bool) -> dict | None:
    segments = rec.segments()
    frames = rec.frames()
    if not segments and not frames:
        missing.append("no video (no segments under video/)")
        return None
    info: dict = {"segments": len(segments), "frames": len(frames), "last_segment_cut": None}
    if not segments:
        missing.append("video/frames.jsonl lists frames but no segment file exists")
        return info
    if check:
        last = segments[-1]
        indexed = sum(1 for f in frames if f.get("segment") == last.name)
        readable = count_video_packets(last)
        if readable is not None and indexed and readable < indexed:
            info["last_segment_cut"] = {
                "segment": last.name,
                "indexed": indexed,
                "readable": readable,
            }
            missing.append(
                f"video/{last.name} was cut: {readable} of its {indexed} indexed frames are readable"
            )
    return info
