"""One vehicle of a fleet (``docs/fleet.md``): the single-vehicle patrol flying its part.

:class:`VehiclePatrol` is :class:`groundstation.patrol.Patrol` given its part of the fleet's plan
and the fleet's shared services (:class:`groundstation.fleet.FleetPatrol`): the console and the
overlay hub through per-vehicle views (:class:`VehicleConsole`, :class:`VehicleHubView`), one
recording folder (its own ``vehicles/<sysid>/`` inside the fleet's), the fleet's loudspeaker
queue, and the fleet's alert merger.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from groundstation.fleet_reassign import Job
from groundstation.patrol import Console, Patrol
from missions.errors import DronePatrolError, InputError

# --- console and overlay views of one vehicle ------------------------------------------------------------


class VehicleConsole:
    """The fleet console as one vehicle sees it: lines prefixed ``[drone N]``, status lines
    combined into one (every vehicle's status side by side)."""

    def __init__(self, console: Console, label: str, statuses: dict, lock: threading.Lock):
        self.console = console
        self.label = label
        self._statuses = statuses
        self._lock = lock

    def line(self, text: str) -> None:
        """One line, prefixed with the vehicle."""
        self.console.line(f"[{self.label}] {text}")

    def status(self, text: str) -> None:
        """This vehicle's part of the status line."""
        with self._lock:
            self._statuses[self.label] = text
            joined = " | ".join(f"{k}: {v}" for k, v in sorted(self._statuses.items()))
        self.console.status(joined)

    def done(self) -> None:
        """End the status line."""
        self.console.done()


class VehicleHubView:
    """The fleet's :class:`groundstation.overlay.OverlayHub` as one vehicle's patrol sees it.

    State goes to the hub's per-vehicle state (:meth:`OverlayHub.push_vehicle`); video frames
    reach the hub only from the vehicle selected for video (the page's switch), so the others cost
    no JPEG encoding; log lines are prefixed with the vehicle.
    """

    def __init__(self, hub, vehicle: int, label: str) -> None:
        self.hub = hub
        self.vehicle = vehicle
        self.label = label

    def push_state(self, **state) -> None:
        """This vehicle's state (position, mode, battery, phase...)."""
        self.hub.push_vehicle(self.vehicle, **state)

    def push_frame(self, image, t_s: float, frame_index: int = 0):
        """This vehicle's annotated frame (shown when it is the selected vehicle)."""
        if self.hub.video_vehicle == self.vehicle:
            return self.hub.push_frame(image, t_s, frame_index)
        return None

    def watched(self, *args, **kwargs) -> bool:
        """True while a page watches the video and this vehicle is the one selected for it
        (:meth:`OverlayHub.watched`): the live video draws and encodes only then."""
        return self.hub.video_vehicle == self.vehicle and self.hub.watched(*args, **kwargs)

    def push_log(self, text: str, *, level: str = "info", t_s: float | None = None) -> None:
        """A log line for the page, prefixed with the vehicle."""
        self.hub.push_log(f"{self.label}: {text}", level=level, t_s=t_s)

    def push_alert(self, alert, snapshot=None, *, store: bool = True) -> None:
        """Alerts reach the hub through the fleet's merger (:meth:`FleetPatrol.publish_alert`)."""
        self.hub.push_alert(alert, snapshot=snapshot, store=store)


# --- one vehicle -------------------------------------------------------------------------------------------


class FleetStopped(DronePatrolError):
    """The fleet was interrupted: this vehicle returns to launch."""


class VehiclePatrol(Patrol):
    """One vehicle of a fleet: the single-vehicle patrol flying its part of the plan.

    Args:
        cfg: This vehicle's config (``sim.home``, ``sim.sysid``, ``sitl.instance``,
            ``connection.url``, ``detection.source`` and ``camera`` already set for it).
        fleet: The :class:`FleetPatrol`.
        index: 0-based position in the fleet (take-off order).
        sysid: MAVLink system id (its label ``drone <sysid>``).
        part: Its :class:`missions.fleet.FleetPart` (``plan``, ``home``, ``transit_alt_m``...).
    """

    def __init__(self, cfg, fleet, index: int, sysid: int, part) -> None:
        label = f"drone {sysid}"
        super().__init__(
            cfg,
            record_dir=fleet.record_dir,
            console=VehicleConsole(fleet.console, label, fleet._statuses, fleet._status_lock),
            force_unsafe=fleet.force_unsafe,
        )
        self.fleet = fleet
        self.index = index
        self.sysid = sysid
        self.label = label
        self.part = part
        self.shared_services = True
        own = Job(0, sysid, sysid, part.plan, part.plan.area.free_local)
        self.jobs: list[Job] = [own]
        """What it flies: its own part (job 0), then remainders handed to it."""
        self.queue: list[tuple[Job, int]] = [(own, k) for k in range(1, len(part.plan.sorties) + 1)]
        """Sorties not begun, in flight order: ``(job, 1-based sortie number in the job)``;
        changed only under the fleet's :class:`~groundstation.fleet_reassign.Reassigner` lock."""
        self.current: tuple[Job, int] | None = None
        self._flown_order: list = []
        self._max_seq = -1
        self._leg_xy: tuple[float, float] | None = None
        self._prepared = False
        self.error: BaseException | None = None

    @property
    def completed_sorties(self) -> list[int]:
        """Sortie numbers of its own part it completed (flown past the last survey waypoint)."""
        return sorted(self.jobs[0].completed)

    # -- setup (on the fleet's main thread, before anything flies) -------------------------------------

    def _prepare(self) -> None:
        if self._prepared:
            return
        from groundstation.fleet_recording import vehicle_folder
        from groundstation.holds import Airspace
        from groundstation.recording import FlightRecorder
        from missions.formats import write_plan_outputs

        cfg, fleet = self.cfg, self.fleet
        plan = self.part.plan
        # its own copy: the sorties list is its flight order (extra sorties join it), the fence
        # grows when a remainder is handed to it; the part's plan stays as planned
        self.plan = replace(plan, sorties=list(plan.sorties))
        self.summary.sorties_planned = len(plan.sorties)
        self.airspace = Airspace.from_plan(plan, use_fence=cfg.fence.enabled)
        self.hub = VehicleHubView(fleet.hub, self.sysid, self.label)
        spec = cfg.detection.source
        if spec is None and (self.embedded or self.sitl):
            spec = "sim"
        if spec is not None and spec.strip().lower() == "none":
            spec = None
        if spec == "sim":
            if not (self.embedded or self.sitl):
                raise InputError(
                    f"fleet vehicle {self.sysid}: video 'sim' (the simulated camera) needs "
                    "connection.url: sim or sitl"
                )
            self.source_spec = "sim"
            self._open_sim_camera(scene=fleet.scene_for(self))
        else:
            self._open_source()
        home = {
            "lat_deg": plan.home.lat_deg,
            "lon_deg": plan.home.lon_deg,
            "alt_m": plan.home.alt_m,
        }
        self.recorder = FlightRecorder(
            fleet.recorder.folder,
            folder=vehicle_folder(fleet.recorder.folder, self.sysid),
            config=cfg,
            connection=cfg.connection.url,
            home=home,
            segment_s=cfg.recording.segment_s,
            video_fps=cfg.sim.scene.fps,
            video=cfg.recording.video,
        )
        write_plan_outputs(plan, self.recorder.plan_dir)
        self.recorder.update(
            speedup=self.scale,
            policy=self.policy.alert_policy,
            fleet={
                "recording": fleet.recorder.folder.name,
                "index": self.index,
                "sysid": self.sysid,
                "transit_alt_m": getattr(self.part, "transit_alt_m", None),
            },
        )
        self._load_detection()
        self.announcer = fleet.announcer
        self._prepared = True

    def _connect(self) -> None:
        super()._connect()
        self.fleet.recorder.event(
            "vehicle_connected", vehicle=self.sysid, url=self.link.url if self.link else None
        )

    # -- flying --------------------------------------------------------------------------------------

    def _fly(self) -> None:
        # staggered take-offs: the first sortie's take-off waits for the vehicle before it
        start = self.vehicle.start_mission
        turn = {"waited": False}

        def staggered(*args, **kwargs):
            """``Vehicle.start_mission`` after this vehicle's turn (its first take-off only)."""
            if not turn["waited"]:
                turn["waited"] = True
                self._wait_turn()
            try:
                return start(*args, **kwargs)
            finally:
                self.fleet.took_off(self.index)

        self.vehicle.start_mission = staggered
        self._preflight_checks()
        reassigner = self.fleet.reassigner
        i = 0
        while True:
            nxt = reassigner.next_sortie(self)
            if nxt is None:
                return
            job, k = nxt
            i += 1
            n = i + len(self.queue)
            if i > 1:
                self._between_sorties(i, n)
            if job.id and not job.started:
                self._start_job(job)
            self.current = (job, k)
            self._flown_order.append(job.plan.sorties[k - 1])
            if job.id:
                self.log(f"sortie {i}/{n}: {job.label}, its sortie {k} of {len(job.plan.sorties)}")
            self._fly_sortie(i, n, job.plan.sorties[k - 1])

    def accept(self, job: Job) -> None:
        """Take a remainder handed over (called under the re-assigner's lock, any thread): its
        sorties join the queue after the sortie in flight and any remainder taken before, and
        its plan gets the fence this vehicle flies it under: one inclusion polygon holding its
        own part's fence and the remainder's, with the district's no-fly zones
        (:func:`missions.fleet_remainder.joint_fence`)."""
        from missions.fleet_remainder import joint_fence

        if self.cfg.fence.enabled:
            local, items = joint_fence([self.part.plan, job.plan], self.fleet.fleet_plan.area)
            job.plan = replace(job.plan, fence_local=local, fence_items=items)
        else:
            job.plan = replace(job.plan, fence_items=[])
        self.jobs.append(job)
        at = 0
        while at < len(self.queue) and self.queue[at][0].id != 0:
            at += 1
        self.queue[at:at] = [(job, k) for k in range(1, len(job.plan.sorties) + 1)]
        self.plan.sorties[:] = self._flown_order + [j.plan.sorties[k - 1] for j, k in self.queue]

    def remaining_flight_s(self) -> float:
        """Estimated flight time left in its queue (the sortie in flight counted whole, as it
        is not known how far it is), seconds; read under the re-assigner's lock."""
        left = sum(j.plan.sorties[k - 1].flight_time_s for j, k in self.queue)
        if self.current is not None:
            job, k = self.current
            if k not in job.completed and job.progress is None:
                left += job.plan.sorties[k - 1].flight_time_s
        return float(left)

    def _start_job(self, job: Job) -> None:
        """Before the first sortie of a remainder: check its sorties against the new fence,
        upload the fence (and rally) with verification and enable it, record its plan.

        Raises:
            PreflightError, MissionTransferError, GeofenceError: As for its own first sortie.
        """
        from groundstation.holds import Airspace
        from missions.formats import write_plan_outputs

        job.started = True
        self.plan = replace(
            self.plan, fence_items=job.plan.fence_items, fence_local=job.plan.fence_local
        )
        self.airspace = Airspace.from_plan(self.plan, use_fence=self.cfg.fence.enabled)
        self._check_sorties(job.plan.sorties, f"{job.label}, sortie")
        self.log(
            f"{job.label}: {len(job.plan.sorties)} extra sortie(s); the fence now holds its part "
            "and the remainder"
        )
        self.recorder.event(
            "reassigned_job",
            job=job.id,
            origin=job.origin,
            source=job.source,
            sorties=len(job.plan.sorties),
            fence_items=len(job.plan.fence_items),
        )
        write_plan_outputs(job.plan, self.recorder.plan_dir / f"reassigned-{job.id}")
        self._upload_fence_rally()

    def _wait_turn(self) -> None:
        """Wait until the vehicle before this one has taken off (or given up) and then
        ``fleet.stagger_s`` (vehicle clock) more; a vehicle that never takes off holds the
        next one at most 10 minutes (vehicle clock) plus a minute.

        Raises:
            KeyboardInterrupt: The fleet was interrupted while waiting.
        """
        if self.index == 0:
            return
        before = self.fleet.takeoff_events[self.index - 1]
        deadline = time.monotonic() + self.wall(600.0) + 60.0
        while not before.wait(0.2):
            if self.fleet.aborting.is_set():
                raise KeyboardInterrupt
            if time.monotonic() > deadline:
                self.log("the vehicle before this one has not taken off: taking off now")
                break
        delay = self.wall(self.fleet.cfg.fleet.stagger_s)
        if delay > 0:
            self.log(f"take-off in {delay:.1f} s (staggered after the vehicle before)")
            if self.fleet.aborting.wait(delay):
                raise KeyboardInterrupt

    def _fly_sortie(self, i: int, n: int, sortie) -> None:
        job, k = self.current
        self._max_seq = -1
        self._leg_xy = None
        try:
            super()._fly_sortie(i, n, sortie)
        except BaseException:
            job.progress = (k, self._max_seq, self._leg_xy)  # what it reached before the end
            raise
        last_survey = self.alert_policy.survey_seqs[1]
        if self._max_seq > last_survey >= 0:  # past the last survey waypoint: RTL item
            job.completed.add(k)
            if job.id and job.done:
                self.fleet.reassigner.job_flown(self, job)
        else:
            job.progress = (k, self._max_seq, self._leg_xy)
            self.log(
                f"sortie {i}/{n} ended before its last survey waypoint (reached item "
                f"{self._max_seq} of {last_survey}): its part is not covered",
                level="warning",
            )
            raise FleetStopped(f"sortie {i} ended early (item {self._max_seq} of {last_survey})")

    def _between_sorties(self, i: int, n: int) -> None:
        if self.fleet.aborting.is_set():
            raise KeyboardInterrupt
        super()._between_sorties(i, n)

    def _update_phase(self, s) -> None:
        if self.fleet.aborting.is_set():
            raise KeyboardInterrupt
        if s.mission_seq is not None:
            self._max_seq = max(self._max_seq, int(s.mission_seq))
            if s.mode == "AUTO" and s.mission_seq == self._max_seq and s.pose is not None:
                # its last position on the leg to the highest item reported: how far a
                # transect it was flying was flown (missions.fleet_remainder.flown_transects)
                x, y = self.plan.frame.to_local(s.pose.lat_deg, s.pose.lon_deg)
                self._leg_xy = (float(x), float(y))
        super()._update_phase(s)

    # -- alerts ------------------------------------------------------------------------------------------

    def _publish_alert(self, alert) -> bool:
        """Record the alert in this vehicle's recording and pass it to the fleet's merger.

        Returns:
            True when it is a new alert, False when it is another sighting of one raised before.
        """
        risk_map = getattr(self.plan, "risk_map", None)
        if risk_map is not None and alert.risk is None and alert.lat_deg is not None:
            alert.risk = risk_map.classify(alert.lat_deg, alert.lon_deg, self.plan.frame)
        alert.vehicle = self.sysid
        self.recorder.alert(alert)
        with self._lock:
            self._alerts[alert.kind.value] += 1
        return self.fleet.publish_alert(alert, self)

    def _on_alert(self, alert) -> None:
        if self._publish_alert(alert):
            self._act_on_alert(alert)
        else:
            self.log(f"{alert.kind.value} seen again: a sighting of an alert raised before")
