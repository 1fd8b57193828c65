"""Altitude layers of a fleet: transit legs of vehicle k fly above the survey altitude.

A part's :class:`~missions.planner.PatrolPlan` comes from the single-vehicle planner with every
waypoint at the survey altitude; :func:`apply_layer` rewrites each sortie's mission items so the
legs between home and the survey fly at the vehicle's layer, with vertical waypoints where the
altitude changes, and re-times the sorties with the same model (:mod:`missions.flight_time`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import shapely

from missions.errors import PlanningError
from missions.flight_time import FlightModel
from missions.items import MAV_CMD_NAV_WAYPOINT, MAV_FRAME_GLOBAL_RELATIVE_ALT, MissionItem


class _With:
    """A settings object with some attributes overridden (duck-typed settings stay duck-typed)."""

    def __init__(self, base, **over):
        self._base, self._over = base, over

    def __getattr__(self, name):
        if name in self.__dict__.get("_over", {}):
            return self._over[name]
        return getattr(self._base, name)


def plan_layered(
    area, camera, survey, sorties, fence, rally, home, layer_alt: float, avoid, *, who: str,
    risk_map=None, revisit_min: float | None = None, planner=None,
) -> tuple:  # fmt: skip
    """Plan ``area`` for one fleet vehicle with its transit layer, every sortie in the battery.

    :func:`missions.planner.plan_patrol` with the endurance shortened by the layer climbs and
    descents of a sortie, then :func:`apply_layer`; when a sortie still exceeds the budget
    (endurance minus reserve: a connection lifted to the layer), planned again with less, at
    most four times.

    Args:
        area: The :class:`~missions.areas.Area` to cover (a part, or a re-assigned remainder).
        camera, survey, sorties, fence, rally: As :func:`missions.planner.plan_patrol`.
        home: The vehicle's home (``lat_deg``, ``lon_deg``, ``alt_m`` AMSL).
        layer_alt: Its transit altitude above home, metres (>= ``survey.alt_m``).
        avoid: Local-metre geometry its survey-altitude legs stay out of (None: nothing).
        who: The vehicle, for messages (``"vehicle 2"``).
        risk_map, revisit_min: Passed to :func:`~missions.planner.plan_patrol`.
        planner: Instead of :func:`~missions.planner.plan_patrol`, a callable
            ``planner(sorties) -> PatrolPlan`` given the shortened ``sorties`` settings (the
            re-assigned remainder's route, :func:`missions.fleet_remainder.plan_remainder`).

    Returns:
        ``(plan, total_s, fixed_s)``: the layered plan, its flight time and the part of it that
        does not scale with the area (see :func:`apply_layer`), seconds.

    Raises:
        PlanningError: The planner's error, or a layered sortie that never fits the battery,
            prefixed with ``who``.
    """
    from missions.planner import plan_patrol

    climb, descent = float(sorties.climb_m_s), float(sorties.descent_m_s)
    keep = 1.0 - float(sorties.reserve_pct) / 100.0
    budget = float(sorties.endurance_min) * 60.0 * keep
    dz = layer_alt - float(survey.alt_m)
    over = 2.0 * (dz / climb + dz / descent)  # layer climbs and descents per sortie
    for _attempt in range(4):
        sp = _With(sorties, endurance_min=float(sorties.endurance_min) - over / (60.0 * keep))
        try:
            if planner is not None:
                plan = planner(sp)
            else:
                plan = plan_patrol(area, camera, survey, sp, fence, rally, home, home_source=who,
                                   risk_map=risk_map, revisit_min=revisit_min, avoid=avoid)  # fmt: skip
        except PlanningError as exc:
            raise PlanningError(f"{who}: {exc}") from None
        plan.stats.sortie_budget_s = budget
        total, fx = apply_layer(plan, avoid, float(survey.alt_m), layer_alt, sorties)
        worst = max(s.flight_time_s for s in plan.sorties)
        if worst <= budget + 1e-6:
            return plan, total, fx
        over += worst - budget + 1.0  # a connection lifted to the layer: plan with less
    raise PlanningError(
        f"{who}: a sortie with its transit layer at {layer_alt:g} m does not fit the battery: "
        "lower fleet layer separation or raise sorties.endurance_min"
    )


def layer_overhead_s(model: FlightModel, layer_m: float) -> float:
    """Extra time per sortie for flying transits ``layer_m`` above the survey altitude, seconds.

    Climb at take-off and descent before landing (``layer_m`` each), plus the vertical descent
    onto the first transect and the climb off the last one.
    """
    up, down = layer_m / model.climb_m_s, layer_m / model.descent_m_s
    return 2.0 * (up + down)


def apply_layer(plan, avoid, survey_alt: float, layer_alt: float, sorties) -> tuple:
    """Rewrite each sortie's mission items with the transit layer and re-time the plan.

    Waypoints before the first transect start and after the last transect end (the home legs),
    and connections between transects that enter ``avoid`` (the neighbours' side of the cuts),
    fly at ``layer_alt``; a vertical waypoint pair is added wherever the
    altitude changes (descend onto a transect start, climb off a transect end). NAV_TAKEOFF
    climbs to ``layer_alt``; the final RTL keeps it (ArduCopter returns at the current altitude
    when above RTL_ALT). ``Sortie.waypoints_local`` keeps the horizontal route.

    Args:
        plan: A :class:`~missions.planner.PatrolPlan` (changed in place: sortie items and times,
            ``stats.flight_time_s``, ``stats.waypoints``).
        avoid: Local-metre geometry a survey-altitude leg must not enter (None: nothing).
        survey_alt: Survey altitude above home, metres.
        layer_alt: Transit altitude above home, metres (>= ``survey_alt``).
        sorties: ``SortieSettings``-like (``climb_m_s``, ``descent_m_s``, ``accel_m_s2``).

    Returns:
        ``(total_s, fixed_s)``: the plan's flight time and its part that does not scale with
        the area (take-offs, landings, layer climbs and descents), seconds.
    """
    keep = avoid.buffer(-0.01) if avoid is not None and not avoid.is_empty else None
    model = FlightModel(
        speed_m_s=plan.stats.speed_m_s, alt_m=layer_alt, takeoff_alt_m=layer_alt,
        climb_m_s=float(sorties.climb_m_s), descent_m_s=float(sorties.descent_m_s),
        accel_m_s2=float(getattr(sorties, "accel_m_s2", 2.5)),
    )  # fmt: skip
    dz = layer_alt - survey_alt
    hop = dz / model.climb_m_s + dz / model.descent_m_s
    total = fixed = 0.0
    for s in plan.sorties:
        path = np.asarray(s.path_local, float)
        alt, lifts = _altitudes(path, s.transects, keep, survey_alt, layer_alt)
        wps, zs = [], []
        for i in range(1, len(path) - 1):
            here = alt[i]
            if here == survey_alt and alt[i - 1] != survey_alt:
                wps += [path[i], path[i]]
                zs += [layer_alt, survey_alt]
            if here == survey_alt and alt[i + 1] != survey_alt:
                if not (wps and zs[-1] == survey_alt and np.array_equal(wps[-1], path[i])):
                    wps.append(path[i])
                    zs.append(survey_alt)
                wps.append(path[i])
                zs.append(layer_alt)
            elif not (here == survey_alt and alt[i - 1] != survey_alt):
                wps.append(path[i])
                zs.append(here)
        latlon = plan.frame.to_geo_array(np.asarray(wps)) if wps else np.zeros((0, 2))
        rel = MAV_FRAME_GLOBAL_RELATIVE_ALT
        items = [s.items[0], replace(s.items[1], z=float(layer_alt)), s.items[2]]
        for (lat, lon), z in zip(latlon, zs, strict=True):
            items.append(MissionItem(seq=len(items), frame=rel, command=MAV_CMD_NAV_WAYPOINT,
                                     x=float(lat), y=float(lon), z=float(z)))  # fmt: skip
        items.append(replace(s.items[-1], seq=len(items)))
        s.items = items
        s_fixed = model.fixed_s + (hop if s.transects else 0.0) + lifts * hop
        s.flight_time_s = s_fixed + model.route_s(path)
        total += s.flight_time_s
        fixed += s_fixed
    plan.stats.flight_time_s = float(total)
    plan.stats.waypoints = sum(len(s.items) - 4 for s in plan.sorties)
    return float(total), float(fixed)


def _altitudes(path, transects, keep, survey_alt: float, layer_alt: float):
    """Altitude of each path vertex, and how many connections are lifted to the layer."""
    alt = np.full(len(path), layer_alt)
    marks, j = [], 0
    for t in transects:
        ia = _find(path, t.a, j)
        ib = _find(path, t.b, ia) if ia is not None else None
        if ia is None or ib is None:
            continue
        marks.append((ia, ib))
        j = ib
    lifts = 0
    for k, (ia, ib) in enumerate(marks):
        alt[ia : ib + 1] = survey_alt
        if k + 1 < len(marks):
            conn = path[ib : marks[k + 1][0] + 1]
            if len(conn) < 2 or keep is None or not keep.intersects(shapely.LineString(conn)):
                alt[ib : marks[k + 1][0] + 1] = survey_alt
            else:
                lifts += 1
    return alt, lifts


def _find(path: np.ndarray, p, start: int) -> int | None:
    """Index of the first vertex of ``path[start:]`` within 1 mm of ``p``, or None."""
    d = np.hypot(path[start:, 0] - p[0], path[start:, 1] - p[1])
    k = int(np.argmin(d)) if len(d) else -1
    return start + k if k >= 0 and d[k] < 1e-3 else None
