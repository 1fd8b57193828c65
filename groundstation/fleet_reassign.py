"""A fleet vehicle that fails or lands early: what it left uncovered, and who flies it
(``fleet.reassign``, ``docs/fleet.md``).

Every vehicle flies *jobs*: its own part of the district, then any remainder handed to it. A
:class:`Job` is a plan (its sorties) and the ground it must cover. While a vehicle flies, its
:class:`groundstation.fleet_vehicle.VehiclePatrol` notes per job which sorties it completed
(flown past the last survey waypoint) and, for a sortie that ended early, the highest mission
item it reported (MISSION_CURRENT) and its last position in AUTO on the leg to that item.

When a vehicle's patrol ends with a job unfinished (an error, a low-battery RTL, a failsafe),
:meth:`Reassigner.vehicle_ended` measures the job's remainder precisely
(:func:`missions.fleet_remainder.flown_transects`, :func:`~missions.fleet_remainder.uncovered_ground`:
the job's ground minus the footprint swept along the transects flown). With ``fleet.reassign``
the transects not flown that see that ground are planned for another vehicle
(:func:`missions.fleet_remainder.plan_remainder`: from its home, in its layer, every sortie in
its battery) and queued right after its current sortie. The policy: among the healthy vehicles
(connected, not failed, not interrupted; flying or landed and waiting), the one that would reach
the remainder first: least flight time left in its queue (the sortie in flight counted whole,
sorties not started, remainders already handed to it) plus the straight transit from its home to
the remainder at survey speed. When that vehicle cannot fly it (a sortie could not reach it on
one battery...), the next one is tried. What no vehicle can fly stays reported uncovered, with
the reason.

With ``fleet.reassign`` a vehicle that has flown its queue does not end while another vehicle
is still flying: it waits, landed and connected, in case a remainder comes its way (the wait
ends when no vehicle is flying any more, or on Ctrl-C). Without it nothing waits and the
remainder is only reported.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from dataclasses import dataclass, field

from missions.errors import PlanningError

log = logging.getLogger(__name__)

__all__ = ["Job", "Reassigner"]

FLYING, IDLE, DONE, FAILING, ENDED = "flying", "idle", "done", "failing", "ended"
"""A vehicle's state for re-assignment: flying its queue, idle (waiting for work), done
(ending, takes no work), failing (its remainder being handed over), ended."""


@dataclass
class Job:
    """Ground given to one vehicle and the sorties planned for it.

    Attributes:
        id: 0 for a vehicle's own part; 1, 2... for remainders handed over (fleet-wide).
        origin: System id of the vehicle whose part the ground is.
        source: System id of the vehicle that left it (the origin for its own part).
        plan: Its :class:`missions.planner.PatrolPlan` (sorties, frame, footprint, area).
        target_local: Ground it must cover, local metres of the district's frame.
        completed: Its sortie numbers (1-based) flown past the last survey waypoint.
        progress: ``(sortie number, highest MISSION_CURRENT seq, (x, y) local metres or None)``
            of the sortie that ended early, or None.
        started: Its first sortie was begun (fence uploaded for it).
    """

    id: int
    origin: int
    source: int
    plan: object
    target_local: object
    completed: set = field(default_factory=set)
    progress: tuple | None = None
    started: bool = False

    @property
    def label(self) -> str:
        """``"its part"`` or ``"drone 2's remainder"``."""
        return "its part" if self.id == 0 else f"drone {self.origin}'s remainder"

    @property
    def done(self) -> bool:
        """Every sortie completed."""
        return len(self.completed) == len(self.plan.sorties)


def _whose(vp, job: Job) -> str:
    """``"drone 2's part"`` or ``"drone 1's remainder"`` (the ground, in words)."""
    return f"drone {vp.sysid}'s part" if job.id == 0 else job.label


class Reassigner:
    """Keeps every vehicle's state and hands unfinished ground over (see the module notes).

    Args:
        fleet: The :class:`groundstation.fleet.FleetPatrol` (``vehicles``, ``fleet_plan``,
            ``aborting``, ``recorder``, ``console``, ``cfg.fleet.reassign``).
    """

    def __init__(self, fleet) -> None:
        self.fleet = fleet
        self.enabled = bool(fleet.cfg.fleet.reassign)
        self.cond = threading.Condition()
        self.state: dict[int, str] = {}
        self.reassignments: list[dict] = []
        """One per hand-over: ``from``, ``to``, ``origin``, ``job``, ``area_m2``, ``transects``,
        ``sorties``, ``flight_time_s``, ``plan``, ``status`` (``queued``, ``flown``,
        ``not flown``)."""
        self.uncovered: list[dict] = []
        """Ground that stays uncovered: ``vehicle`` (who left it), ``origin``, ``job``,
        ``sorties`` (its sortie numbers not completed), ``area_m2``, ``pct``, ``reason``."""
        self.remainders: list[dict] = []
        """Every remainder measured (also those then flown by another vehicle)."""
        self._next_job = 1

    # -- a vehicle's side (its own thread) --------------------------------------------------------

    def register(self, vp) -> None:
        """``vp`` flies its own part (state ``flying``)."""
        with self.cond:
            self.state[vp.sysid] = FLYING

    def next_sortie(self, vp):
        """The next sortie ``vp`` flies, or None when it is done.

        With re-assignment on, a vehicle whose queue is empty waits (idle) while another vehicle
        is still flying or being handed over, since a remainder may come its way; it checks
        every half second.

        Returns:
            ``(job, k)``: job and its 1-based sortie number; None: nothing more to fly.

        Raises:
            KeyboardInterrupt: The fleet was interrupted while it waited.
        """
        said = False
        with self.cond:
            while True:
                if vp.queue:
                    self.state[vp.sysid] = FLYING
                    return vp.queue.pop(0)
                busy = [
                    s for s, st in self.state.items() if s != vp.sysid and st in (FLYING, FAILING)
                ]
                if not self.enabled or not busy:
                    self.state[vp.sysid] = DONE
                    return None
                if self.fleet.aborting.is_set():
                    self.state[vp.sysid] = DONE
                    raise KeyboardInterrupt
                self.state[vp.sysid] = IDLE
                if not said:
                    said = True
                    others = ", ".join(f"drone {s}" for s in sorted(busy))
                    vp.log(f"done; waiting on the ground while {others} flies (fleet.reassign)")
                self.cond.wait(0.5)

    # -- the fleet's side (the thread of the vehicle that ended) --------------------------------------

    def vehicle_ended(self, vp, interrupted: bool) -> None:
        """``vp``'s patrol has ended: measure what each unfinished job left and hand it over.

        Args:
            vp: The :class:`~groundstation.fleet_vehicle.VehiclePatrol`.
            interrupted: The fleet was interrupted (Ctrl-C): nothing is handed over.
        """
        with self.cond:
            self.state[vp.sysid] = FAILING
            vp.queue.clear()  # nothing more goes to it; its unstarted jobs are measured below
        try:
            for job in list(vp.jobs):
                if job.done:
                    continue
                try:
                    self._job_ended(vp, job, interrupted)
                except Exception as exc:  # never leave the others waiting on a bad geometry
                    log.exception("re-assignment of %s failed", job.label)
                    self._uncovered(vp, job, None, f"not measured: {exc}")
        finally:
            with self.cond:
                self.state[vp.sysid] = ENDED
                self.cond.notify_all()

    def _job_ended(self, vp, job: Job, interrupted: bool) -> None:
        from missions.fleet_remainder import (
            flown_transects,
            uncovered_ground,
            worth_flying,
        )

        plan = job.plan
        flown, left = [], []
        for k, s in enumerate(plan.sorties, 1):
            if k in job.completed:
                f, lft = flown_transects(s, plan.frame, -1, completed=True)
            elif job.progress is not None and job.progress[0] == k:
                f, lft = flown_transects(s, plan.frame, job.progress[1], job.progress[2])
            else:
                f, lft = [], list(s.transects)
            flown += f
            left += lft
        rem = uncovered_ground(job.target_local, plan.footprint, flown, transects_left=len(left))
        todo = worth_flying(left, rem, plan.footprint)
        not_done = [k for k in range(1, len(plan.sorties) + 1) if k not in job.completed]
        record = {
            "vehicle": vp.sysid,
            "origin": job.origin,
            "job": job.id,
            "sorties": not_done,
            "transects": len(todo),
            "area_m2": round(rem.area_m2, 1),
            "pct": round(rem.pct, 2),
            "negligible_m2": round(rem.negligible_m2, 1),
        }
        self.remainders.append(record)
        self.fleet.recorder.event("part_remainder", **record)
        what = f"drone {vp.sysid}" + ("" if job.id == 0 else f" ({job.label})")
        if rem.empty or not todo:
            self.fleet.log(
                f"{what} ended before the end of its sortie(s) {', '.join(map(str, not_done))}, "
                f"but left no ground worth a flight ({rem.negligible_m2:,.0f} m² of slivers)"
            )
            return
        self.fleet.log(
            f"{what} left {rem.area_m2:,.0f} m² uncovered ({rem.pct:.0f} % of {job.label}: "
            f"{len(todo)} transect(s) of sortie(s) {', '.join(map(str, not_done))})",
            level="warning",
        )
        if interrupted or self.fleet.aborting.is_set():
            self._uncovered(vp, job, rem, "the fleet was interrupted")
            return
        if not self.enabled:
            self._uncovered(vp, job, rem, "fleet.reassign is off")
            return
        self._hand_over(vp, job, rem, todo)

    def _hand_over(self, vp, job: Job, rem, todo) -> None:
        tried: set[int] = set()
        last_error = None
        while True:
            with self.cond:
                healthy = [
                    v
                    for v in self.fleet.vehicles
                    if v is not vp
                    and self.state.get(v.sysid) in (FLYING, IDLE)
                    and v.sysid not in tried
                ]
                target = self._choose(healthy, rem)
            if target is None:
                reason = last_error or "no healthy vehicle left to fly it"
                self._uncovered(vp, job, rem, reason)
                return
            tried.add(target.sysid)
            try:
                plan = self._plan_for(target, vp, job, rem, todo)
            except PlanningError as exc:
                why = str(exc).removeprefix(f"drone {target.sysid}: ")
                last_error = f"drone {target.sysid} cannot fly it: {why}"
                self.fleet.log(last_error, level="warning")
                continue
            with self.cond:
                if self.state.get(target.sysid) not in (FLYING, IDLE):
                    continue  # it failed meanwhile: the next one
                new = Job(
                    self._next_job, job.origin, vp.sysid, plan, rem.ground_local, started=False
                )
                self._next_job += 1
                target.accept(new)
                record = {
                    "from": vp.sysid,
                    "to": target.sysid,
                    "origin": job.origin,
                    "job": new.id,
                    "area_m2": round(rem.area_m2, 1),
                    "transects": len(todo),
                    "sorties": len(plan.sorties),
                    "flight_time_s": round(plan.stats.flight_time_s, 1),
                    "coverage_pct": round(plan.stats.coverage_pct, 2),
                    "plan": f"plan/reassigned-{new.id}",
                    "status": "queued",
                }
                self.reassignments.append(record)
                self.cond.notify_all()
            self._write_plan(new)
            self.fleet.recorder.event("part_reassigned", **record)
            self.fleet.log(
                f"{_whose(vp, job)}: {rem.area_m2:,.0f} m² re-assigned to drone {target.sysid}: "
                f"{len(plan.sorties)} extra sortie(s), about "
                f"{plan.stats.flight_time_s / 60:.1f} min of flight, after its current sortie"
            )
            self.fleet.refresh_routes()
            return

    def _choose(self, healthy: list, rem):
        """The vehicle that would reach the remainder first (module notes), or None."""
        if not healthy:
            return None
        c = rem.ground_local.centroid

        def key(v):
            """Flight time left plus transit from its home to the remainder, seconds."""
            frame = v.plan.frame
            hx, hy = frame.to_local(v.plan.home.lat_deg, v.plan.home.lon_deg)
            dist = math.hypot(float(hx) - c.x, float(hy) - c.y)
            speed = max(float(v.cfg.survey.speed_m_s), 0.1)
            return (v.remaining_flight_s() + dist / speed, v.index)

        return min(healthy, key=key)

    def _plan_for(self, target, vp, job: Job, rem, todo):
        """The remainder planned for ``target`` (its home, layer, camera, pack)."""
        import shapely

        from missions.fleet_layers import _With
        from missions.fleet_remainder import plan_remainder

        cfg = target.cfg
        sorties = cfg.sorties
        pack = getattr(target, "pack", None)
        if pack is not None and pack.endurance_min < sorties.endurance_min:
            sorties = sorties.model_copy(update={"endurance_min": round(pack.endurance_min, 2)})
        fp = self.fleet.fleet_plan
        frame = fp.area.frame
        with self.cond:
            flying = [
                v
                for v in self.fleet.vehicles
                if v is not vp and v is not target and self.state.get(v.sysid) == FLYING
            ]
        gap = max(0.5 * float(getattr(fp, "survey_gap_m", 0.0)) - 1.0, 0.0)
        avoid = None
        if flying:
            from missions.shapes import geo_to_local

            avoid = shapely.union_all(
                [geo_to_local(v.part.part_area, frame).buffer(gap) for v in flying]
            )
        return plan_remainder(
            todo,
            job.plan.area,
            target.plan.home,
            target.part.transit_alt_m,
            cfg.camera,
            cfg.survey,
            sorties,
            cfg.fence,
            _With(cfg.rally, points=[]),
            angle_deg=fp.angle_deg,
            avoid=avoid,
            who=f"drone {target.sysid}",
            ground=rem.ground_local,
        )

    def _uncovered(self, vp, job: Job, rem, reason: str) -> None:
        not_done = [k for k in range(1, len(job.plan.sorties) + 1) if k not in job.completed]
        record = {
            "vehicle": vp.sysid,
            "origin": job.origin,
            "job": job.id,
            "sorties": not_done,
            "area_m2": None if rem is None else round(rem.area_m2, 1),
            "pct": None if rem is None else round(rem.pct, 2),
            "reason": reason,
        }
        with self.cond:
            self.uncovered.append(record)
            for r in self.reassignments:
                if r["job"] == job.id and r["to"] == vp.sysid:
                    r["status"] = "not flown"
        if rem is not None and self.enabled:
            self.fleet.log(
                f"{rem.area_m2:,.0f} m² of {_whose(vp, job)} stays NOT covered: {reason}",
                level="warning",
            )

    def job_flown(self, vp, job: Job) -> None:
        """``vp`` completed every sortie of a re-assigned ``job``."""
        with self.cond:
            for r in self.reassignments:
                if r["job"] == job.id:
                    r["status"] = "flown"
        self.fleet.recorder.event(
            "reassigned_flown", vehicle=vp.sysid, job=job.id, origin=job.origin
        )

    def _write_plan(self, job: Job) -> None:
        """``plan/reassigned-<id>/`` of the fleet recording: the remainder's plan files."""
        from missions.formats import write_plan_outputs

        with contextlib.suppress(Exception):  # the plan is in memory and flies regardless
            write_plan_outputs(job.plan, self.fleet.recorder.plan_dir / f"reassigned-{job.id}")
