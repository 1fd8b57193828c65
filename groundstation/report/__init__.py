"""Flight reports for analysts: ``dronepatrol report``.

Reads a dronepatrol recording folder (``docs/recording.md``), a MAVLink ``.tlog`` or an ArduPilot
DataFlash ``.bin`` log and makes a self-contained HTML page (or JSON) with the flight track over
the district and the area the camera covered, the gatherings heat map, a timeline of mode,
altitude and battery with alerts and reminders marked, the alert and reminder tables with their
snapshots, and summary figures. A cut or damaged input is reported as far as it goes, saying what
is missing.

Example:
    >>> from groundstation.report import build_report, render_html
    >>> report = build_report("recordings/20261129-101500")          # doctest: +SKIP
    >>> report.summary["coverage"]["coverage_pct"], report.missing     # doctest: +SKIP
    >>> Path("report.html").write_text(render_html(report))            # doctest: +SKIP

See ``docs/analysts.md``.
"""

from groundstation.report.build import Report, build_report
from groundstation.report.coverage import Coverage, flown_coverage
from groundstation.report.dataflash import load_dataflash
from groundstation.report.html import render_html
from groundstation.report.model import FlightLog, LinkLoss, Track
from groundstation.report.recording import ReportInput, load_recording
from groundstation.report.sources import detect_kind, load_input
from groundstation.report.summary import summarize
from groundstation.report.tlog import load_tlog, scan_tlog

__all__ = [
    "Coverage",
    "FlightLog",
    "LinkLoss",
    "Report",
    "ReportInput",
    "Track",
    "build_report",
    "detect_kind",
    "flown_coverage",
    "load_dataflash",
    "load_input",
    "load_recording",
    "load_tlog",
    "render_html",
    "scan_tlog",
    "summarize",
]
