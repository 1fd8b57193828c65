"""Flying the patrol's sorties, its exit (command on exit, shutdown) and its telemetry:
:class:`PatrolFlightMixin`, a part of :class:`groundstation.patrol.Patrol`.

The methods use the state :class:`~groundstation.patrol.Patrol` sets up (``vehicle``, ``plan``,
``recorder``, ``hub``, ``stopping``, ``summary``...); they run on the main thread, except the
telemetry loop (a worker thread) and ``_pose_for`` (the detection thread).
Split out of :mod:`groundstation.patrol` with no change of behaviour.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import time

from missions.errors import DronePatrolError

log = logging.getLogger("groundstation.patrol")  # the name the patrol always logged under

TELEMETRY_PERIOD_S = 0.1
"""Telemetry sampling period for the recording and the overlay (wall clock), seconds."""


class PatrolFlightMixin:
    """Sorties (upload, take off, survey, land), the exit and telemetry of a :class:`Patrol`."""

    # -- flying -----------------------------------------------------------------------------------------

    def _fly(self) -> None:
        n = len(self.plan.sorties)
        self._preflight_checks()
        for i, sortie in enumerate(self.plan.sorties, 1):
            if i > 1:
                self._between_sorties(i, n)
            self._fly_sortie(i, n, sortie)

    def _preflight_checks(self) -> None:
        """Fit the plan to the vehicle's pack, check every sortie before anything is uploaded
        (:class:`groundstation.preflight.Preflight`), then the GCS failsafe.

        Raises:
            PreflightError: A check failed (and was not forced).
        """
        from groundstation.battery_budget import fit_patrol_plan
        from groundstation.preflight import Preflight

        self.pack = fit_patrol_plan(self)  # the vehicle's BATT_CAPACITY, before any check
        self.preflight = Preflight(self.cfg.safety, self.force_unsafe, self.log)
        self._check_sorties(self.plan.sorties, "sortie")
        self.preflight.gcs_failsafe(self.vehicle, embedded=self.embedded)

    def _check_sorties(self, sorties, where: str) -> None:
        """Pre-flight mission checks of ``sorties`` against the plan's fence and the vehicle's
        home (``where``: ``"sortie"`` -> ``"sortie 2"`` in messages).

        Raises:
            PreflightError: A check failed (and was not forced).
        """
        from groundstation.preflight import vehicle_home

        for i, sortie in enumerate(sorties, 1):
            self.preflight.mission(
                sortie.items,
                fence=self.plan.fence_items,
                home=vehicle_home(self.vehicle),
                where=f"{where} {i}",
            )

    def _between_sorties(self, i: int, n: int) -> None:
        swap = getattr(self.sim, "swap_battery", None) if self.sim is not None else None
        if callable(swap):
            swap()
            self.console.line(f"sortie {i}/{n}: simulator battery swapped")
        elif self.sitl and self.vehicle.reset_battery():
            self.console.line(
                f"sortie {i}/{n}: SITL battery reset to 100 % (MAV_CMD_BATTERY_RESET)"
            )
        elif sys.stdin.isatty() and sys.stdout.isatty():
            input(f"swap the battery, then press Enter to fly sortie {i}/{n} (Ctrl-C to stop) ")
        self.alert_policy.low_battery = False

    def _configure_geofence(self) -> None:
        """Enable the uploaded fence on the vehicle (FENCE_TYPE, FENCE_ALT_MAX over every sortie's
        highest item, FENCE_ACTION, FENCE_ENABLE) as ``dronepatrol fly`` does; see
        :func:`groundstation.geofence.configure_geofence`.

        Raises:
            GeofenceError: A parameter or MAV_CMD_DO_FENCE_ENABLE was refused.
        """
        from groundstation.geofence import configure_geofence, planned_ceiling_m

        plan, cfg = self.plan, self.cfg
        home = self.vehicle.state().home
        ceiling = planned_ceiling_m(
            [s.items for s in plan.sorties] + [plan.rally_items],
            takeoff_alt_m=cfg.survey.takeoff_alt_m or cfg.survey.alt_m,
            home_amsl_m=home.alt_m if home is not None else None,
        )
        report = configure_geofence(self.vehicle, cfg.fence, ceiling, say=self.log)
        self.recorder.event(
            "geofence",
            enabled=report.enabled,
            fence_type=report.fence_type,
            alt_max_m=report.alt_max_m,
            action=report.action,
            changes=[str(c) for c in report.changes],
        )

    def _fly_sortie(self, i: int, n: int, sortie) -> None:
        from groundstation import mission_transfer as mt
        from groundstation.vehicle import VehicleTimeoutError
        from missions.items import (
            MAV_CMD_DO_CHANGE_SPEED,
            MAV_CMD_NAV_TAKEOFF,
            MAV_CMD_NAV_WAYPOINT,
        )

        plan = self.plan
        self.sortie = i
        self.sortie_items = sortie.items
        self.hub.push_state(sortie=i, sorties=n)
        self.set_phase("upload")
        link = self.link
        if i == 1:
            self._upload_fence_rally()
        onboard = mt.upload_and_verify(link, sortie.items, 0)
        if self.preflight is not None:
            from groundstation.preflight import vehicle_home

            self.preflight.mission(
                onboard,
                fence=plan.fence_items,
                home=vehicle_home(self.vehicle),
                where=f"sortie {i} (on the vehicle)",
            )
        self.recorder.event(
            "mission_uploaded", mission_type="mission", count=len(sortie.items) - 1, sortie=i
        )
        self.log(f"sortie {i}/{n}: mission of {len(sortie.items) - 1} items uploaded and verified")
        wps = [it.seq for it in sortie.items if it.command == MAV_CMD_NAV_WAYPOINT]
        self.alert_policy.survey_seqs = (min(wps), max(wps)) if wps else (0, -1)
        speeds = [it.param2 for it in sortie.items if it.command == MAV_CMD_DO_CHANGE_SPEED]
        self.alert_policy.survey_speed_m_s = (
            float(speeds[0]) if speeds and speeds[0] > 0 else self.cfg.survey.speed_m_s
        )
        takeoff = next(
            (it.z for it in sortie.items[1:] if it.command == MAV_CMD_NAV_TAKEOFF and it.z > 0),
            self.cfg.survey.takeoff_alt_m or self.cfg.survey.alt_m,
        )
        self.set_phase("takeoff")
        self.recorder.event("sortie_start", sortie=i, sorties=n, takeoff_alt_m=takeoff)
        self.alert_policy.close_look.new_sortie()
        self.log(f"sortie {i}/{n}: GUIDED, arm, take off to {takeoff:g} m, then AUTO")
        self.summary.sorties_flown = i
        start_pct, t_start = self.vehicle.state().battery.remaining_pct, time.monotonic()
        self.vehicle.start_mission(float(takeoff), arm_timeout_s=max(60.0, 60.0 / self.scale))
        self.set_phase("survey")
        timeout = self.wall(3.0 * sortie.flight_time_s + 600.0) + 60.0
        deadline = time.monotonic() + timeout
        while True:
            s = self.vehicle.state()
            if not s.armed and s.on_ground:
                break
            self._update_phase(s)
            if time.monotonic() > deadline:
                raise VehicleTimeoutError(
                    f"sortie {i}: still flying after {timeout:.0f} s ({s.summary().strip()})"
                )
            req = self.alert_policy.next_request(0.2)
            if req is not None:
                self.alert_policy.handle(req)
        self.console.done()
        self.recorder.event("sortie_end", sortie=i)
        self.set_phase("landed")
        self.log(f"sortie {i}/{n}: landed and disarmed")
        self._battery_advice(i, start_pct, t_start)

    def _upload_fence_rally(self) -> None:
        """Upload the plan's fence and rally points with verification (download and compare),
        then enable the fence on the vehicle (:meth:`_configure_geofence`).

        Raises:
            MissionTransferError: An upload failed or the vehicle holds something else.
            GeofenceError: A fence parameter was refused.
        """
        from groundstation import mission_transfer as mt

        plan = self.plan
        for what, items, mtype in (("fence", plan.fence_items, 1), ("rally", plan.rally_items, 2)):
            if items:
                mt.upload_and_verify(self.link, items, mtype)
                self.recorder.event("mission_uploaded", mission_type=what, count=len(items))
                self.log(f"{what}: {len(items)} items uploaded and verified")
        if plan.fence_items:
            self._configure_geofence()

    def _battery_advice(self, i: int, start_pct: float | None, t_start: float) -> None:
        """Say what sortie ``i`` took from the pack and whether the next one fits at that rate
        (:class:`groundstation.battery_budget.SortieConsumption`)."""
        from groundstation.battery_budget import SortieConsumption

        end_pct = self.vehicle.state().battery.remaining_pct
        if start_pct is None or end_pct is None:
            return
        used = SortieConsumption(start_pct, end_pct, (time.monotonic() - t_start) * self.scale)
        nxt = self.plan.sorties[i].flight_time_s if i < len(self.plan.sorties) else None
        self.log(f"sortie {i}: {used.advice(nxt, self.cfg.sorties.reserve_pct)}")
        self.recorder.event(
            "battery_used",
            sortie=i,
            start_pct=start_pct,
            end_pct=end_pct,
            full_pack_min=used.full_pack_min,
        )

    def _update_phase(self, s) -> None:
        if self.phase in ("survey", "rtl"):
            returning = s.mode in ("RTL", "LAND") or (
                s.mode == "AUTO"
                and s.mission_seq is not None
                and s.mission_seq > self.alert_policy.survey_seqs[1] > 0
            )
            want = "rtl" if returning else "survey"
            if want != self.phase:
                self.set_phase(want)

    # -- exit --------------------------------------------------------------------------------------------

    def _command_on_exit(self, why: str) -> None:
        """Never leave the vehicle without a command: RTL when flying (LAND if RTL is refused),
        disarm when armed on the ground."""
        v = self.vehicle
        if v is None:
            return
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            if self.recorder is not None:
                self.recorder.event("interrupted" if why == "interrupted" else "error")
            s = v.state()
            if not s.armed:
                return
            if s.on_ground or (s.pose is not None and s.pose.alt_m < 0.5):
                with contextlib.suppress(DronePatrolError):
                    v.disarm()
                    self.console.line("the vehicle was armed on the ground: disarmed")
                return
            for what in ("rtl", "land"):
                try:
                    getattr(v, what)()
                    self.console.line(
                        f"{what.upper()} commanded: the vehicle is in {v.state().mode}"
                    )
                    if self.recorder is not None:
                        self.recorder.event(what, reason=why)
                    return
                except DronePatrolError as exc:
                    self.console.line(f"could not command {what.upper()}: {exc}")
            self.console.line("no command accepted: the vehicle's own failsafes apply")
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _shutdown(self, reason: str) -> None:
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self.stopping.set()
            if self.source is not None:
                with contextlib.suppress(Exception):
                    self.source.close()
            for t in self._threads:
                t.join(15.0)
                if t.is_alive():
                    log.warning("%s did not stop within 15 s", t.name)
            if self.pipeline is not None:
                self.pipeline.close()  # the crowd density worker
            if self.announcer is not None and not self.shared_services:
                self.announcer.stop(timeout_s=10.0)
            if self.synth is not None and not self.shared_services:
                with contextlib.suppress(Exception):
                    self.synth.close()
            if self.vehicle is not None and self.recorder is not None:
                # the last word: the state at the end (landed and disarmed, or RTL commanded)
                with contextlib.suppress(Exception):
                    self._sample_telemetry()
            for unsub in self._unsub:
                unsub()
            if self.vehicle is not None:
                self.vehicle.close()
            if self.link is not None:
                self.link.close()
            if self.sim is not None:
                self.sim.stop()
            with self._lock:
                self.summary.end_reason = reason
                self.summary.frames = self.frames_processed
                self.summary.distance_m = self._distance_m
                armed = self._armed_s + (
                    time.monotonic() - self._armed_since if self._armed_since else 0.0
                )
                self.summary.flight_time_s = armed * self.scale
                self.summary.airborne_s = round(self._airborne_s, 1)
                self.summary.alerts_by_kind = dict(self._alerts)
            if self.recorder is not None:
                self.recorder.close(reason, self.summary.to_dict())
            if self.server is not None and not self.shared_services:
                self.server.stop()
            if self._store_follower is not None:
                self._store_follower.stop()
            if self.alert_store is not None:
                self.alert_store.close()
            self.console.done()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    # -- workers ------------------------------------------------------------------------------------------

    def _telemetry_loop(self) -> None:
        last_status = 0.0
        while not self.stopping.wait(TELEMETRY_PERIOD_S):
            try:
                s = self._sample_telemetry()
                now = time.monotonic()
                if now - last_status >= 0.5:
                    last_status = now
                    self.console.status(f"{s.summary()}  {self.phase}  det {self._fps:.1f} fps")
            except Exception:
                log.exception("telemetry sample failed")

    def _sample_telemetry(self):
        """Record one vehicle-state sample, push it to the overlay, sum distance and time
        armed. Returns the :class:`groundstation.vehicle.VehicleState`."""
        from missions.geo import distance_m

        s = self.vehicle.state()
        pose = s.pose
        now = time.monotonic()
        with self._lock:
            if s.armed and self._armed_since is None:
                self._armed_since = now
            elif not s.armed and self._armed_since is not None:
                self._armed_s += now - self._armed_since
                self._armed_since = None
            # the report's flight time: armed and above 1 m, summed between consecutive samples
            airborne = bool(s.armed) and pose is not None and (pose.alt_m or 0.0) > 1.0
            if airborne and self._airborne_prev_t is not None and s.t_s is not None:
                self._airborne_s += max(0.0, float(s.t_s) - self._airborne_prev_t)
            self._airborne_prev_t = float(s.t_s) if airborne and s.t_s is not None else None
            if pose is not None:
                xy = (pose.lat_deg, pose.lon_deg)
                if s.armed and self._last_xy is not None:
                    self._distance_m += distance_m(*self._last_xy, *xy)
                self._last_xy = xy if s.armed else None
        b = s.battery
        self.recorder.telemetry(
            {
                "t_s": s.t_s,
                "pose": pose.to_dict() if pose is not None else None,
                "mode": s.mode,
                "armed": s.armed,
                "groundspeed_m_s": round(s.groundspeed_m_s, 2),
                "battery_pct": b.remaining_pct,
                "battery_v": b.voltage_v,
                "mission_seq": s.mission_seq,
                "mission_count": s.mission_count,
                "link_ok": s.link_ok,
                "sortie": self.sortie,
                "phase": self.phase,
            }
        )
        state = {
            "t_s": s.t_s,
            "mode": s.mode,
            "armed": s.armed,
            "groundspeed_m_s": s.groundspeed_m_s,
            "battery_pct": b.remaining_pct,
            "battery_v": b.voltage_v,
            "link_ok": s.link_ok,
            "mission_seq": s.mission_seq,
            "mission_count": s.mission_count or (len(self.sortie_items) - 1 or None),
            "detection_fps": round(self._fps, 1),
        }
        if pose is not None:
            state.update(
                lat_deg=pose.lat_deg, lon_deg=pose.lon_deg, alt_m=pose.alt_m, yaw_deg=pose.yaw_deg
            )
        self.hub.push_state(**state)
        return s

    def _pose_for(self, t_s: float):
        """The pose at ``t_s`` from telemetry, waiting briefly for telemetry to cover it so
        that the pose is interpolated rather than extrapolated."""
        deadline = time.monotonic() + 0.25
        while not self.stopping.is_set():
            latest = self.vehicle.pose
            if latest is not None and latest.t_s >= t_s:
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        return self.vehicle.pose_at(t_s, max_age_s=1.0)
