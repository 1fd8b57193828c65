"""Build a :class:`Report` from a recording folder, a tlog or a DataFlash log."""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from groundstation.report.coverage import (
    Coverage,
    altitude_tolerance_m,
    flown_coverage,
    infer_survey_alt,
    split_runs,
    survey_mask,
)
from groundstation.report.recording import ReportInput
from groundstation.report.sources import load_input
from groundstation.report.summary import CLOCK_RATIO_NOTE, summarize
from missions.errors import AreaError, PlanningError

log = logging.getLogger(__name__)

REPORT_FORMAT = "dronepatrol-report"
REPORT_VERSION = 1


@dataclass
class Report:
    """A flight report: its input, the district, coverage and summary figures.

    Attributes:
        input: What was read (:class:`~groundstation.report.recording.ReportInput`).
        area: The district (``missions.areas.Area``) or None when none is known.
        coverage: Coverage of the flown survey, or None (no district, no survey flown).
        summary: Figures of :func:`~groundstation.report.summary.summarize`.
        missing: What the input lacks or where it was cut (one sentence each).
        notes: Other remarks (where the survey altitude came from, clock rates...).
        config_source: ``recorded config``, ``--config`` or ``defaults``.
        generated_utc: When the report was made.
        risk_map: The five-colour risk map recorded with the plan (``missions.risk.RiskMap``),
            or None; alerts recorded without a class get the class of where they happened.
        privacy: The ``privacy`` section that applies (snapshot thumbnails are anonymised
            with it, ``docs/privacy.md``).
        detection: The ``detection`` section (where the face detector is).
    """

    input: ReportInput
    area: object | None
    coverage: Coverage | None
    summary: dict
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    config_source: str = "defaults"
    generated_utc: str = ""
    tz: Any = None
    """Display time zone of the page's times (``tzinfo``; None = UTC). JSON keeps UTC."""
    risk_map: object | None = None
    privacy: object | None = None
    detection: object | None = None

    @property
    def flight(self):
        """The flight log (:class:`~groundstation.report.model.FlightLog`) of the input."""
        return self.input.flight

    @property
    def title(self) -> str:
        """``Flight report: <recording name or file name>``."""
        name = self.input.manifest.get("name") if self.input.manifest else None
        return f"Flight report: {name or Path(self.flight.source).name}"

    def to_dict(self) -> dict:
        """The machine-readable report (``--format json``)."""
        f = self.flight
        return {
            "format": REPORT_FORMAT,
            "version": REPORT_VERSION,
            "generated_utc": self.generated_utc,
            "source": {
                "path": f.source,
                "kind": f.kind,
                "vehicle_type": f.vehicle_type,
                "recording": self.input.manifest.get("name") if self.input.manifest else None,
                "complete": (
                    bool(self.input.manifest.get("complete")) if self.input.manifest else None
                ),
                "bytes_read": f.bytes_read,
                "bytes_total": f.bytes_total,
            },
            "partial": bool(self.missing),
            "missing": list(self.missing),
            "notes": list(self.notes),
            "district": (
                {"name": self.area.name, "source": self.area.source, "holes": len(self.area.holes)}
                if self.area is not None
                else None
            ),
            "summary": self.summary,
            "video": self.input.video,
            "link_losses": [
                {
                    "start_s": ll.start_s,
                    "end_s": ll.end_s,
                    "duration_s": ll.duration_s,
                    "source": ll.source,
                }
                for ll in f.link_losses
            ],
            "alerts": [a.model_dump(mode="json") for a in self.input.alerts],
            "broadcasts": list(self.input.broadcasts),
        }


def build_report(
    path: str | os.PathLike,
    *,
    district: str | os.PathLike | None = None,
    config=None,
    link_lost_s: float | None = None,
) -> Report:
    """Read ``path`` and compute everything the report shows.

    Args:
        path: Recording folder, ``.tlog`` or DataFlash ``.bin``.
        district: District file (GeoJSON, KML, .plan...) for the coverage; default the one
            recorded with the plan (``plan/area.geojson``), else the recorded config's
            ``area.district``.
        config: A ``groundstation.config.Config`` given by the analyst (``--config`` /
            ``--set``); its camera and survey altitude then win over the recorded ones. None:
            the recorded config, else the defaults with the survey altitude read from the log.
        link_lost_s: Vehicle silence counted as a link loss in a tlog, seconds.

    Returns:
        The :class:`Report`. A partial input gives a report of what is there (see
        ``Report.missing``).

    Raises:
        InputError: ``path`` is not a recording, tlog or DataFlash log; ``district`` is given and
            unreadable.
    """
    from groundstation.config import Config
    from missions.areas import load_area

    inp = load_input(path, link_lost_s=link_lost_s)
    flight = inp.flight
    missing = list(inp.missing)
    notes = list(flight.notes)

    if config is not None:
        cfg, cfg_source = config, "--config"
    elif inp.config is not None:
        cfg, cfg_source = inp.config, "recorded config"
    else:
        cfg, cfg_source = Config(), "defaults"

    # -- district ----------------------------------------------------------------------------------------
    area = None
    if district is not None:
        area = load_area(district)  # the analyst's own file: errors are theirs to fix
    else:
        candidates = []
        if inp.district_path is not None:
            candidates.append(inp.district_path)
        recorded = getattr(getattr(cfg, "area", None), "district", None)
        if recorded is not None and (cfg_source != "defaults"):
            candidates.append(Path(recorded))
        for cand in candidates:
            if not Path(cand).is_file():
                continue
            try:
                area = load_area(cand)
                break
            except AreaError as exc:
                missing.append(f"the recorded district cannot be read: {exc}")
    if area is None:
        notes.append("no district: coverage not computed (give one with --district FILE)")

    # -- coverage ----------------------------------------------------------------------------------------
    coverage = None
    if area is not None and len(flight.track):
        if cfg_source == "defaults":
            alt = infer_survey_alt(flight)
            alt_source = "inferred from the log (the altitude flown longest in AUTO)"
        else:
            alt = float(cfg.survey.alt_m)
            alt_source = cfg_source
        if alt is None:
            notes.append("no AUTO flight in the log: coverage not computed")
        else:
            try:
                coverage = flown_coverage(flight, area, cfg.camera, alt, alt_source=alt_source)
            except PlanningError as exc:
                notes.append(f"coverage not computed: {exc}")
            if coverage is not None and coverage.samples_used == 0:
                notes.append(
                    f"no track sample in AUTO within {altitude_tolerance_m(alt):.0f} m of the "
                    f"survey altitude {alt:g} m: nothing counted as covered"
                )

    risk_map = _risk_map(inp, missing)
    summary = summarize(
        flight, inp.alerts, inp.broadcasts, coverage=coverage, plan_stats=inp.plan_stats
    )
    if risk_map is not None:
        summary["alerts"]["by_risk"] = alerts_by_risk(inp.alerts)
    ratio = summary.get("vehicle_clock_ratio")
    if ratio is not None and abs(ratio - 1.0) > CLOCK_RATIO_NOTE:
        notes.append(
            f"the vehicle's clock ran {ratio:.1f}× the log clock (a sped-up simulator): times are "
            "log (ground-station) times; the vehicle-clock flight time is given too"
        )
    if summary.get("ended_armed"):
        missing.append(
            "the log ends while the vehicle was armed: the end of the flight (landing, disarm) "
            "is not in it"
        )
    return Report(
        input=inp,
        area=area,
        coverage=coverage,
        summary=summary,
        missing=missing,
        notes=notes,
        config_source=cfg_source,
        privacy=getattr(cfg, "privacy", None),
        detection=getattr(cfg, "detection", None),
        generated_utc=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        risk_map=risk_map,
    )


def _risk_map(inp: ReportInput, missing: list[str]):
    """The recorded risk map (None without one); tags alerts recorded without a class."""
    if inp.risk_path is None:
        return None
    from missions.risk import RiskMapError, load_risk_map

    try:
        risk_map = load_risk_map(inp.risk_path)
    except RiskMapError as exc:
        missing.append(f"the recorded risk map cannot be read: {exc}")
        return None
    for a in inp.alerts:
        if getattr(a, "risk", None) is None and a.lat_deg is not None and a.lon_deg is not None:
            a.risk = risk_map.classify(a.lat_deg, a.lon_deg)
    return risk_map


def alerts_by_risk(alerts) -> dict[str, int]:
    """Alerts per risk class, every class listed (most urgent first), plus ``unmapped`` for
    alerts outside every mapped feature or without a position."""
    from missions.risk import RISK_CLASSES

    out = dict.fromkeys((*RISK_CLASSES, "unmapped"), 0)
    for a in alerts:
        out[getattr(a, "risk", None) or "unmapped"] += 1
    return out


def survey_runs(report: Report) -> list[np.ndarray]:
    """Index arrays of the track pieces counted for coverage (empty without coverage)."""
    if report.coverage is None:
        return []
    tr = report.flight.track
    mask = survey_mask(report.flight, report.coverage.alt_m, report.coverage.tolerance_m)
    return split_runs(mask, tr.t_s)
