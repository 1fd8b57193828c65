"""Plan sorties from the battery the vehicle really has, and check the plan against it in flight.

The planner splits a route into sorties from ``sorties.endurance_min``: a number in the config.
On a real vehicle (or a real SITL, whose pack is 3300 mAh at about 30 A in flight, 6.6 minutes:
``../shared/notes/ardupilot.md``) that number can be far from the truth. Two sources correct it:

* Before take-off, the vehicle's ``BATT_CAPACITY`` parameter (mAh; ArduPilot ``AP_BattMonitor``,
  0 = unknown) with the mean current in flight (``sorties.flight_current_a``, or
  ``sitl.flight_current_a`` on SITL) gives the pack's endurance:
  ``capacity_mAh / 1000 / current_A * 60`` minutes. A patrol re-plans with it when it is shorter
  than the configured endurance; ``dronepatrol fly`` of ready missions refuses a sortie that does
  not fit (pre-flight check ``battery``).
* After each sortie, the drop of the remaining charge (SYS_STATUS ``battery_remaining``) over the
  flight time measures how long a full pack lasts at the rate actually flown; the next sortie is
  compared with it and the operator warned when it would eat into the reserve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from groundstation.preflight import Finding

BATT_CAPACITY = "BATT_CAPACITY"
"""ArduPilot's battery capacity parameter, mAh (``AP_BattMonitor_Params``; 0 = not set)."""


@dataclass(frozen=True)
class PackEndurance:
    """How long the vehicle's pack lasts.

    Attributes:
        capacity_mah: The vehicle's BATT_CAPACITY, mAh.
        current_a: Mean current in flight the endurance is computed with, A.
        endurance_min: ``capacity_mah / 1000 / current_a * 60``, minutes.
    """

    capacity_mah: float
    current_a: float

    @property
    def endurance_min(self) -> float:
        """Minutes of flight a full pack gives at ``current_a``."""
        return self.capacity_mah / 1000.0 / self.current_a * 60.0

    def describe(self) -> str:
        """``"BATT_CAPACITY 3300 mAh at 30 A lasts 6.6 min"``."""
        return (
            f"{BATT_CAPACITY} {self.capacity_mah:g} mAh at {self.current_a:g} A lasts "
            f"{self.endurance_min:.1f} min"
        )


def flight_current_a(cfg, on_sitl: bool) -> float | None:
    """The mean current in flight to plan with, A: ``sorties.flight_current_a`` when set, else
    ``sitl.flight_current_a`` on a real SITL (its battery model, measured), else None (unknown:
    the configured endurance stands)."""
    configured = getattr(cfg.sorties, "flight_current_a", None)
    if configured:
        return float(configured)
    if on_sitl:
        return float(cfg.sitl.flight_current_a)
    return None


def read_pack(vehicle, current_a: float | None, timeout_s: float = 2.0) -> PackEndurance | None:
    """The vehicle's pack endurance from its BATT_CAPACITY, or None when it cannot be known.

    Args:
        vehicle: A connected :class:`groundstation.vehicle.Vehicle` (``get_param``).
        current_a: Mean current in flight, A (:func:`flight_current_a`); None = unknown.
        timeout_s: Wait for each PARAM_VALUE, seconds (3 tries).

    Returns:
        None when ``current_a`` is unknown, the vehicle has no BATT_CAPACITY, does not answer,
        or reports 0 (ArduPilot's "capacity not set").
    """
    if not current_a:
        return None
    from groundstation.vehicle.params import ParameterError

    try:
        capacity = float(vehicle.get_param(BATT_CAPACITY, timeout_s=timeout_s))
    except ParameterError:
        return None
    if capacity <= 0:
        return None
    return PackEndurance(capacity_mah=capacity, current_a=float(current_a))


def sortie_findings(
    flight_times_s: Sequence[float], pack: PackEndurance, reserve_pct: float
) -> list[Finding]:
    """The ``battery`` pre-flight finding for the first sortie that does not fit the pack.

    Args:
        flight_times_s: Estimated flight time of each sortie, seconds (take-off to landing).
        pack: The vehicle's pack (:func:`read_pack`).
        reserve_pct: Share of the pack kept in reserve, percent (``sorties.reserve_pct``).

    Returns:
        ``[Finding("battery", ...)]`` naming the sortie, its time and the budget; empty when every
        sortie fits within ``endurance * (1 - reserve)``.
    """
    budget_s = pack.endurance_min * 60.0 * (1.0 - reserve_pct / 100.0)
    for i, t in enumerate(flight_times_s, 1):
        if t > budget_s:
            return [
                Finding(
                    "battery",
                    f"sortie {i} needs about {t / 60:.1f} min of flight but the vehicle's "
                    f"{pack.describe()}, {budget_s / 60:.1f} min after the {reserve_pct:g} % "
                    "reserve: re-plan with a shorter sorties.endurance_min",
                )
            ]
    return []


@dataclass(frozen=True)
class SortieConsumption:
    """What one sortie took from the pack (SYS_STATUS battery_remaining before and after).

    Attributes:
        start_pct: Remaining charge at take-off, percent.
        end_pct: Remaining charge at landing, percent.
        flight_s: Flight time, seconds (vehicle time).
    """

    start_pct: float
    end_pct: float
    flight_s: float

    @property
    def full_pack_min(self) -> float | None:
        """Minutes a full pack lasts at the rate flown, or None when too little was used to
        tell (under 2 % or under 30 s)."""
        used = self.start_pct - self.end_pct
        if used < 2.0 or self.flight_s < 30.0:
            return None
        return self.flight_s / 60.0 * 100.0 / used

    def advice(self, next_flight_s: float | None, reserve_pct: float) -> str:
        """One line for the operator: use, measured endurance, and whether the next sortie fits.

        ``"battery 100 -> 62 % in 4.2 min: a full pack lasts about 11.1 min at this rate"``, with
        ``"; WARNING: sortie N's 9.5 min would use the reserve"`` appended when it does not fit.
        """
        text = (
            f"battery {self.start_pct:.0f} -> {self.end_pct:.0f} % in {self.flight_s / 60:.1f} min"
        )
        full = self.full_pack_min
        if full is None:
            return text
        text += f": a full pack lasts about {full:.1f} min at this rate"
        if next_flight_s is not None:
            budget_min = full * (1.0 - reserve_pct / 100.0)
            if next_flight_s / 60.0 > budget_min:
                text += (
                    f"; WARNING: the next sortie's {next_flight_s / 60:.1f} min exceeds the "
                    f"{budget_min:.1f} min this gives after the {reserve_pct:g} % reserve"
                )
        return text


def fit_patrol_plan(patrol) -> PackEndurance | None:
    """Re-plan a connected patrol's sorties from the vehicle's pack when it is shorter than the
    configured ``sorties.endurance_min`` (called before the pre-flight checks and any upload).

    Args:
        patrol: A :class:`groundstation.patrol.Patrol` after ``_connect`` (uses its ``vehicle``,
            ``cfg``, ``plan``, ``recorder``, ``hub`` and ``console``).

    Returns:
        The pack read (None when unknown: the plan stands as configured).

    Raises:
        PreflightError: A fleet vehicle (``patrol.part`` set) whose part has a sortie the pack
            cannot fly (check ``battery``): its part is not re-planned apart from the fleet.
    """
    from groundstation.holds import Airspace
    from missions.formats import write_plan_outputs
    from missions.planner import plan_from_config

    cfg = patrol.cfg
    pack = read_pack(patrol.vehicle, flight_current_a(cfg, bool(getattr(patrol, "sitl", False))))
    if pack is None:
        return None
    patrol.recorder.event(
        "battery_pack",
        capacity_mah=pack.capacity_mah,
        current_a=pack.current_a,
        endurance_min=round(pack.endurance_min, 2),
    )
    endurance = round(pack.endurance_min, 2)
    if getattr(patrol, "part", None) is not None:
        # a fleet vehicle flies its part as the fleet split it: check it, never re-plan alone
        from groundstation.preflight import enforce

        times = [s.flight_time_s for s in patrol.plan.sorties]
        enforce(
            sortie_findings(times, pack, cfg.sorties.reserve_pct),
            patrol.force_unsafe,
            patrol.console.line,
        )
        return pack
    if endurance >= cfg.sorties.endurance_min:
        patrol.console.line(f"plan: the vehicle's {pack.describe()}: the plan fits")
        return pack
    cfg = cfg.model_copy(
        update={"sorties": cfg.sorties.model_copy(update={"endurance_min": endurance})}
    )
    before = len(patrol.plan.sorties)
    plan = plan_from_config(cfg)
    patrol.cfg, patrol.plan = cfg, plan
    patrol.summary.sorties_planned = len(plan.sorties)
    patrol.airspace = Airspace.from_plan(plan, use_fence=cfg.fence.enabled)
    write_plan_outputs(plan, patrol.recorder.plan_dir)
    patrol.refresh_map()
    patrol.console.line(
        f"plan: the vehicle's {pack.describe()}: re-planned with sorties.endurance_min "
        f"{endurance:g}: {before} -> {len(plan.sorties)} sortie(s)"
    )
    patrol.recorder.event("replanned", reason="battery", sorties=len(plan.sorties))
    return pack


def mission_flight_time_s(items, home, sorties, default_speed_m_s: float) -> float:
    """Estimated flight time of a ready mission (``dronepatrol fly`` of mission files), seconds.

    Home -> every positional NAV item in order -> home, timed as the planner times its sorties
    (:class:`missions.flight_time.FlightModel`: cruise at the first DO_CHANGE_SPEED's param2 or
    ``default_speed_m_s``, a stop at each sharp turn, climb to the highest item, RTL descent).

    Args:
        items: Mission items, seq 0 = home (skipped).
        home: Take-off point (``lat_deg``, ``lon_deg``); None = the mission's seq 0.
        sorties: ``sorties:`` settings (``climb_m_s``, ``descent_m_s``, ``accel_m_s2``).
        default_speed_m_s: Cruise speed when the mission sets none, m/s.
    """
    import numpy as np

    from missions.flight_time import FlightModel
    from missions.geo import LocalFrame

    body = [it for it in items[1:] if it.has_position and it.xy_is_location]
    if home is None:
        if not items:
            return 0.0
        lat0, lon0 = items[0].x, items[0].y
    else:
        lat0, lon0 = home.lat_deg, home.lon_deg
    if not body:
        return 0.0
    frame = LocalFrame(lat0, lon0)
    xs, ys = frame.to_local(np.array([it.x for it in body]), np.array([it.y for it in body]))
    path = np.vstack([[0.0, 0.0], np.column_stack([xs, ys]), [0.0, 0.0]])
    speeds = [it.param2 for it in items if it.command == 178 and it.param2 > 0]  # DO_CHANGE_SPEED
    alt = max((float(it.z) for it in body), default=0.0)
    model = FlightModel(
        speed_m_s=float(speeds[0]) if speeds else float(default_speed_m_s),
        alt_m=max(alt, 0.0),
        takeoff_alt_m=max(alt, 0.0),
        climb_m_s=sorties.climb_m_s,
        descent_m_s=sorties.descent_m_s,
        accel_m_s2=sorties.accel_m_s2,
    )
    return model.sortie_s(path)


def check_ready_missions(vehicle, missions, cfg, preflight, *, on_sitl: bool, home=None) -> None:
    """``dronepatrol fly``'s ``battery`` pre-flight check on ready missions (no re-planning).

    Args:
        vehicle: The connected vehicle (BATT_CAPACITY is read from it).
        missions: One mission item list per sortie, seq 0 = home.
        cfg: The config (``sorties``, ``survey.speed_m_s``, ``sitl``).
        preflight: The run's :class:`groundstation.preflight.Preflight` (overrides, output).
        on_sitl: Flying a real SITL (its battery model's current applies when none is set).
        home: The vehicle's home (``lat_deg``, ``lon_deg``), or None for each mission's seq 0.

    Raises:
        PreflightError: A sortie does not fit the pack and ``battery`` is not overridden.
    """
    from groundstation.preflight import enforce

    pack = read_pack(vehicle, flight_current_a(cfg, on_sitl))
    if pack is None:
        return
    times = [mission_flight_time_s(m, home, cfg.sorties, cfg.survey.speed_m_s) for m in missions]
    preflight.say(f"battery: the vehicle's {pack.describe()}")
    enforce(sortie_findings(times, pack, cfg.sorties.reserve_pct), preflight.force, preflight.say)
