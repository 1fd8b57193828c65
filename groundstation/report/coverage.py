"""Ground the camera covered on the flown track, measured like the planner measures its plan.

The covered area is the camera footprint (:func:`missions.camera.footprint`, the planner's camera
model at the survey altitude) swept along the flown track (:func:`missions.coverage.swept_area`:
per straight piece, the convex hull of the footprint placed at both ends and turned to the
piece's heading) while the vehicle flew the survey: in AUTO, armed, within ``tolerance_m`` of the
survey altitude. Coverage % = area(covered ∩ (district − no-fly holes)) / area(district − holes),
the same measure as the planner's ``coverage_pct`` (:mod:`missions.coverage`).

The track is cut into separate pieces where the survey condition stops holding and where
telemetry has a hole (a gap much longer than the usual sample spacing), so that a link loss is
not counted as a straight covered line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from groundstation.report.model import FlightLog
from missions.camera import Footprint, footprint
from missions.coverage import coverage_fraction, swept_area
from missions.shapes import local_to_geo

SURVEY_MODES = ("AUTO",)
"""Flight modes in which the patrol flies its survey (ArduCopter mission mode)."""
GAP_FACTOR = 10.0
"""A time step longer than this many median steps (and than MIN_GAP_S) splits the track."""
MIN_GAP_S = 2.0


def altitude_tolerance_m(alt_m: float) -> float:
    """Band around the survey altitude that counts as "at survey altitude": max(2 m, 10 %)."""
    return max(2.0, 0.1 * float(alt_m))


@dataclass
class Coverage:
    """Coverage of a flown track.

    Attributes:
        pct: Covered share of district minus holes, percent.
        covered_local: Covered ground ∩ target, local metres of the area's frame.
        covered_geo: The same in (lon, lat) degrees.
        target_m2: Area of district minus holes, m².
        covered_m2: Covered part of it, m².
        alt_m: Survey altitude used, metres above home.
        tolerance_m: Altitude band used, metres.
        alt_source: Where the survey altitude came from (``recorded config``, ``--config``,
            ``inferred from the log``).
        footprint: Camera footprint at ``alt_m``.
        samples_used: Track samples that met the survey condition.
        pieces: Continuous pieces of track swept.
    """

    pct: float
    covered_local: BaseGeometry
    covered_geo: BaseGeometry
    target_m2: float
    covered_m2: float
    alt_m: float
    tolerance_m: float
    alt_source: str
    footprint: Footprint
    samples_used: int
    pieces: int

    def as_dict(self) -> dict:
        """JSON-ready figures (no geometry)."""
        return {
            "coverage_pct": round(self.pct, 2),
            "target_area_m2": round(self.target_m2, 1),
            "covered_area_m2": round(self.covered_m2, 1),
            "survey_alt_m": self.alt_m,
            "alt_tolerance_m": self.tolerance_m,
            "alt_source": self.alt_source,
            "footprint_w_m": round(self.footprint.width_m, 2),
            "footprint_h_m": round(self.footprint.height_m, 2),
            "samples_used": self.samples_used,
            "pieces": self.pieces,
        }


def infer_survey_alt(flight: FlightLog) -> float | None:
    """The altitude flown longest in AUTO (1 m bins), metres above home; None without AUTO."""
    tr = flight.track
    if len(tr) < 2:
        return None
    modes = flight.mode_at(tr.t_s)
    ok = np.isin(modes, SURVEY_MODES) & np.isfinite(tr.alt_m) & (tr.alt_m > 2.0)
    if ok.sum() < 2:
        return None
    dt = np.diff(tr.t_s, append=tr.t_s[-1])
    bins = np.round(tr.alt_m[ok]).astype(int)
    weights = np.bincount(bins - bins.min(), weights=dt[ok])
    return float(bins.min() + int(np.argmax(weights)))


def survey_mask(flight: FlightLog, alt_m: float, tolerance_m: float) -> np.ndarray:
    """Track samples flown as survey: AUTO, armed, altitude within the band."""
    tr = flight.track
    modes = flight.mode_at(tr.t_s)
    return (
        np.isin(modes, SURVEY_MODES)
        & flight.armed_at(tr.t_s)
        & np.isfinite(tr.alt_m)
        & (np.abs(tr.alt_m - alt_m) <= tolerance_m)
    )


def hole_threshold_s(t_s: np.ndarray) -> float:
    """A time step longer than this is a telemetry hole: max(MIN_GAP_S, GAP_FACTOR × median)."""
    steps = np.diff(np.asarray(t_s, float))
    med = float(np.median(steps[steps > 0])) if (steps > 0).any() else 0.0
    return max(MIN_GAP_S, GAP_FACTOR * med)


def telemetry_holes(t_s: np.ndarray) -> np.ndarray:
    """Indices ``i`` where the step from sample ``i - 1`` to ``i`` is a telemetry hole."""
    t = np.asarray(t_s, float)
    if len(t) < 2:
        return np.zeros(0, int)
    return np.flatnonzero(np.diff(t) > hole_threshold_s(t)) + 1


def split_runs(mask: np.ndarray, t_s: np.ndarray) -> list[np.ndarray]:
    """Index arrays of consecutive true samples, also split at telemetry holes."""
    idx = np.flatnonzero(mask)
    if not len(idx):
        return []
    gap = hole_threshold_s(t_s)
    breaks = np.flatnonzero((np.diff(idx) != 1) | (np.diff(t_s[idx]) > gap)) + 1
    return [r for r in np.split(idx, breaks) if len(r)]


def flown_coverage(
    flight: FlightLog,
    area,
    camera,
    alt_m: float,
    *,
    tolerance_m: float | None = None,
    alt_source: str = "",
) -> Coverage:
    """Coverage of ``area`` by the camera along the flown survey track.

    Args:
        flight: The flight (track, modes, arming).
        area: ``missions.areas.Area`` (district with holes and its local frame).
        camera: ``CameraSettings``-like (the planner's camera model).
        alt_m: Survey altitude above home, metres.
        tolerance_m: Altitude band; default :func:`altitude_tolerance_m`.
        alt_source: Where ``alt_m`` came from (shown in the report).

    Returns:
        The :class:`Coverage`.

    Raises:
        PlanningError: The camera settings give no usable footprint.
    """
    fp = footprint(camera, alt_m)
    tol = altitude_tolerance_m(alt_m) if tolerance_m is None else float(tolerance_m)
    tr = flight.track
    target = area.free_local
    mask = survey_mask(flight, alt_m, tol) if len(tr) else np.zeros(0, bool)
    runs = split_runs(mask, tr.t_s) if len(tr) else []
    pieces = []
    if runs:
        x, y = area.frame.to_local(tr.lat_deg, tr.lon_deg)
        xy = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
        pieces = [swept_area(xy[r], fp) for r in runs]
    covered = shapely.union_all(pieces) if pieces else Polygon()
    inside = covered.intersection(target) if not covered.is_empty else Polygon()
    frac = coverage_fraction(covered, target) if not covered.is_empty else 0.0
    return Coverage(
        pct=100.0 * frac,
        covered_local=inside,
        covered_geo=local_to_geo(inside, area.frame),
        target_m2=float(target.area),
        covered_m2=float(inside.area),
        alt_m=float(alt_m),
        tolerance_m=tol,
        alt_source=alt_source,
        footprint=fp,
        samples_used=int(mask.sum()),
        pieces=len(runs),
    )
