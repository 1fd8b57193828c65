"""Summary figures of a flight: time, distance, range from home, battery, link, alerts.

Definitions (also printed in the report so that an analyst knows what a figure means):

* flight time: time the vehicle was armed and more than :data:`AIRBORNE_ALT_M` above home,
  summed over consecutive track samples that both meet it (log clock). When the autopilot's own
  clock (``time_boot_ms`` / ``TimeUS``) ran at a different rate than the log clock (a sped-up
  simulator), the same time on the vehicle clock is given too;
* distance: horizontal length of the airborne track (local east-north metres around home,
  :class:`missions.geo.LocalFrame`);
* maximum distance from home: largest geodesic distance of a track sample from home
  (:func:`missions.geo.distance_m`, WGS-84);
* battery used: first minus last remaining charge reported (percent points), and the charge drawn
  (last minus first ``current_consumed``/``CurrTot``, mAh) when the log has it. A battery swap
  between sorties (the charge rising by more than :data:`SWAP_RISE_PCT` points, or the drawn
  charge going back) starts a new pack: the used amounts of the packs are added;
* link losses: times without telemetry (see :class:`~groundstation.report.model.LinkLoss`).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from groundstation.report.model import FlightLog
from missions.geo import WGS84, LocalFrame

AIRBORNE_ALT_M = 1.0
"""Above this height over home (and armed) the vehicle counts as flying, metres."""
CLOCK_RATIO_NOTE = 0.05
SWAP_RISE_PCT = 10.0
"""A remaining charge rising by more than this many points is a battery swap."""
"""A vehicle-to-log clock rate differing from 1 by more than this is reported."""


def _first_last(values: np.ndarray) -> tuple[float | None, float | None]:
    ok = np.flatnonzero(np.isfinite(values))
    if not len(ok):
        return None, None
    return float(values[ok[0]]), float(values[ok[-1]])


def used_per_pack(
    values: np.ndarray, *, falling: bool, swap_step: float
) -> tuple[float | None, int]:
    """Amount used summed over battery packs, and the number of swaps seen.

    Args:
        values: Samples in time order (NaN skipped): remaining percent (``falling=True``) or
            charge drawn in mAh (``falling=False``).
        falling: True when use makes the value go down.
        swap_step: A step against the direction of use larger than this starts a new pack.

    Returns:
        ``(used, swaps)``; ``(None, 0)`` without samples.
    """
    v = values[np.isfinite(values)]
    if not len(v):
        return None, 0
    sign = 1.0 if falling else -1.0
    steps = np.diff(v) * sign  # > 0: recharged / reset
    cuts = np.flatnonzero(steps > swap_step) + 1
    used = 0.0
    for part in np.split(v, cuts):
        used += (part[0] - part[-1]) * sign
    return float(used), len(cuts)


def clock_ratio(flight: FlightLog) -> float | None:
    """Vehicle-clock seconds per log-clock second over the track (None when unknown).

    Runs where the vehicle clock goes backwards (a reboot) are measured separately and summed.
    """
    tr = flight.track
    vt = tr.vehicle_time_s
    ok = np.isfinite(vt)
    if ok.sum() < 10:
        return None
    t, v = tr.t_s[ok], vt[ok]
    dv, dt = np.diff(v), np.diff(t)
    good = (dv >= 0) & (dt >= 0)
    total_t = float(dt[good].sum())
    if total_t <= 0:
        return None
    return float(dv[good].sum()) / total_t


def airborne_mask(flight: FlightLog) -> np.ndarray:
    """Track samples where the vehicle was armed and above :data:`AIRBORNE_ALT_M`."""
    tr = flight.track
    alt = np.nan_to_num(tr.alt_m, nan=0.0)
    return flight.armed_at(tr.t_s) & (alt > AIRBORNE_ALT_M)


def summarize(flight: FlightLog, alerts=(), broadcasts=(), coverage=None, plan_stats=None) -> dict:
    """The summary figures (JSON-ready; None where the log does not tell).

    Args:
        flight: The flight.
        alerts: ``detection.alerts.Alert`` objects.
        broadcasts: ``broadcasts.jsonl`` dicts.
        coverage: :class:`~groundstation.report.coverage.Coverage` or None.
        plan_stats: The planner's figures (``plan.json`` stats) or None.

    Returns:
        A dict; keys are listed in ``docs/analysts.md``.
    """
    tr = flight.track
    start, end = flight.start_s, flight.end_s
    out: dict = {
        "start_utc": _utc(start),
        "end_utc": _utc(end),
        "log_duration_s": _r(end - start) if start is not None else None,
        "track_samples": len(tr),
        "track_source": flight.track_source,
    }
    home = flight.home_or_first_fix()
    out["home"] = (
        {"lat_deg": round(home[0], 7), "lon_deg": round(home[1], 7)} if home is not None else None
    )
    air = airborne_mask(flight) if len(tr) else np.zeros(0, bool)
    pair = air[:-1] & air[1:] if len(tr) > 1 else np.zeros(0, bool)
    dt = np.diff(tr.t_s) if len(tr) > 1 else np.zeros(0)
    out["flight_time_s"] = _r(float(dt[pair].sum())) if len(tr) > 1 else None
    ratio = clock_ratio(flight)
    out["vehicle_clock_ratio"] = _r(ratio, 3) if ratio is not None else None
    if ratio is not None and abs(ratio - 1.0) > CLOCK_RATIO_NOTE and len(tr) > 1:
        dv = np.diff(tr.vehicle_time_s)
        okv = pair & np.isfinite(dv) & (dv >= 0)
        out["vehicle_flight_time_s"] = _r(float(dv[okv].sum()))
    else:
        out["vehicle_flight_time_s"] = None
    if len(tr) > 1 and home is not None:
        frame = LocalFrame(home[0], home[1])
        x, y = frame.to_local(tr.lat_deg, tr.lon_deg)
        seg = np.hypot(np.diff(x), np.diff(y))
        out["distance_m"] = _r(float(seg[pair].sum()))
        n = len(tr)
        _, _, dist = WGS84.inv(np.full(n, home[1]), np.full(n, home[0]), tr.lon_deg, tr.lat_deg)
        out["max_distance_from_home_m"] = _r(float(np.max(dist)))
    else:
        out["distance_m"] = None
        out["max_distance_from_home_m"] = None
    out["max_alt_m"] = (
        _r(float(np.nanmax(tr.alt_m))) if len(tr) and np.isfinite(tr.alt_m).any() else None
    )

    b = flight.battery
    p0, p1 = _first_last(b.remaining_pct)
    v0, v1 = _first_last(b.voltage_v)
    used_pct, swaps_pct = used_per_pack(b.remaining_pct, falling=True, swap_step=SWAP_RISE_PCT)
    used_mah, swaps_mah = used_per_pack(b.consumed_mah, falling=False, swap_step=0.0)
    out["battery"] = {
        "start_pct": p0,
        "end_pct": p1,
        "used_pct": _r(used_pct),
        "swaps": max(swaps_pct, swaps_mah),
        "start_v": _r(v0, 2) if v0 is not None else None,
        "end_v": _r(v1, 2) if v1 is not None else None,
        "min_v": _r(float(np.nanmin(b.voltage_v)), 2) if v0 is not None else None,
        "used_mah": _r(used_mah),
    }
    losses = flight.link_losses
    known = [ll.duration_s for ll in losses if ll.duration_s is not None]
    out["link_losses"] = {
        "count": len(losses),
        "total_s": _r(sum(known)) if losses else 0.0,
        "longest_s": _r(max(known)) if known else None,
        "unrecovered": sum(1 for ll in losses if ll.end_s is None),
        "source": sorted({ll.source for ll in losses}),
    }
    out["modes"] = _mode_times(flight)
    out["ended_armed"] = bool(flight.arming and flight.arming[-1].armed)
    kinds = Counter(_kind(a) for a in alerts)
    out["alerts"] = {"count": sum(kinds.values()), "by_kind": dict(sorted(kinds.items()))}
    played = sum(1 for x in broadcasts if x.get("played"))
    out["broadcasts"] = {"count": len(list(broadcasts)), "played": played}
    out["coverage"] = coverage.as_dict() if coverage is not None else None
    out["planned_coverage_pct"] = (
        _r(float(plan_stats["coverage_pct"]), 2)
        if plan_stats and plan_stats.get("coverage_pct") is not None
        else None
    )
    return out


def _kind(alert) -> str:
    k = getattr(alert, "kind", None)
    return getattr(k, "value", None) or str(k)


def _mode_times(flight: FlightLog) -> dict[str, float]:
    end = flight.end_s
    out: dict[str, float] = {}
    for i, m in enumerate(flight.modes):
        stop = flight.modes[i + 1].t_s if i + 1 < len(flight.modes) else end
        if stop is None:
            continue
        out[m.mode] = _r(out.get(m.mode, 0.0) + max(0.0, stop - m.t_s))
    return out


def _r(v, nd: int = 1):
    if v is None or not math.isfinite(v):
        return None
    return round(float(v), nd)


def _utc(t: float | None) -> str | None:
    if t is None:
        return None
    import datetime as dt

    d = dt.datetime.fromtimestamp(t, tz=dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"
