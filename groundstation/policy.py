"""The alert policy: what the patrol does with the vehicle when something is seen.

:class:`AlertPolicy` runs on the patrol's main thread, the only thread that commands the vehicle
(besides take-off and the command on exit). Detection and vehicle events *submit*
:class:`PolicyRequest` objects from their threads; the main thread takes them with
:meth:`AlertPolicy.next_request` and :meth:`AlertPolicy.handle` acts:

* ``hover_and_speak`` (``policy.alert_policy``): a gathering alert, or a *candidate* (people seen
  close together before tracking, :func:`groundstation.holds.candidate_place`), while the vehicle
  flies the survey in AUTO, makes it hold: GUIDED to the point from which the camera watches the
  place (:func:`groundstation.holds.hold_point`, inside the fence, outside no-fly zones), turned to
  face it (MAV_CMD_CONDITION_YAW). A candidate is watched until the detector confirms a gathering
  there or ``confirm_s`` passes (and at least :data:`MIN_CONFIRM_FRAMES` frames, longer while the
  detector follows a group there). Then the reminder is spoken (the announcer's ticket is
  awaited), the vehicle waits ``hover_s`` and the mission resumes at the interrupted item
  (MISSION_SET_CURRENT + AUTO, then DO_CHANGE_SPEED with the survey speed, which ArduCopter
  forgets when AUTO is re-entered). Reminders about people without masks are spoken in flight.
  A place held over is not held over again within ``revisit_m`` for ``revisit_s``.
* ``speak_only``: every alert's reminder is spoken; the vehicle keeps flying.
* ``log_only``: nothing is spoken.
* battery low (any policy): with ``low_battery_action: rtl`` the sortie ends (RTL).

If the vehicle leaves GUIDED during a hold (a failsafe, the pilot), the hold is abandoned and the
mission is not resumed: whoever took over keeps control.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import queue
import time
from dataclasses import dataclass
from typing import Any

from missions.errors import DronePatrolError

log = logging.getLogger(__name__)

MIN_CONFIRM_FRAMES = 15
"""A hold to confirm a gathering lasts at least this many processed frames (tracking needs two
frames to confirm a track, the gathering detector a few more to see it persist), and longer while
the detector follows a group there that has not become an alert yet."""
MAX_CONFIRM_WALL_S = 60.0
"""Upper bound of a confirmation hold in wall-clock seconds (a stalled detector)."""
SPEECH_TIMEOUT_S = 120.0
"""Longest wait for a reminder to be spoken while holding, wall-clock seconds."""
ARRIVAL_TOLERANCE_M = 2.5
"""A hold point is reached within this horizontal distance."""
CANDIDATE_MAX_AGE_S = 10.0
"""A candidate older than this (wall clock) when the main thread gets to it is ignored."""


@dataclass
class PolicyRequest:
    """Work for the main thread.

    Attributes:
        kind: ``alert`` (a detection alert), ``candidate`` (people seen close together),
            ``close_look`` (a person whose face is too small, :mod:`groundstation.closelook`)
            or ``low_battery``.
        t_mono: ``time.monotonic()`` when it was submitted.
        lat_deg, lon_deg: The place, when there is one.
        alert: The :class:`detection.alerts.Alert` of an ``alert`` request.
        count: People seen.
        track_id: The person's track of a ``close_look`` request.
    """

    kind: str
    t_mono: float
    lat_deg: float | None = None
    lon_deg: float | None = None
    alert: Any = None
    count: int = 0
    track_id: int | None = None


class AlertPolicy:
    """The policy of one patrol (see the module docstring).

    Args:
        patrol: The :class:`groundstation.patrol.Patrol` it acts for (vehicle, link, recorder,
            announcer, airspace, clock scale, log).
        settings: The ``policy`` config section.
    """

    def __init__(self, patrol, settings) -> None:
        self.p = patrol
        self.settings = settings
        self.requests: queue.Queue[PolicyRequest] = queue.Queue()
        self.deferred: list[PolicyRequest] = []
        self.held: list[tuple[float, float, float]] = []  # lat, lon, monotonic
        self.low_battery = False
        self.survey_seqs: tuple[int, int] = (0, -1)
        """First and last NAV_WAYPOINT seq of the sortie being flown (holds only between)."""
        self.survey_speed_m_s: float | None = None
        """Speed of the sortie's DO_CHANGE_SPEED, restored after a hold (None: leave it)."""
        from groundstation.closelook import CloseLook

        self.close_look = CloseLook(self, settings.close_look)
        self.speech_timeout_s = SPEECH_TIMEOUT_S

    def submit(self, request: PolicyRequest) -> None:
        """Queue a request (any thread, never blocks)."""
        self.requests.put(request)

    def next_request(self, timeout_s: float) -> PolicyRequest | None:
        """The next request (deferred ones first), waiting up to ``timeout_s``."""
        if self.deferred:
            return self.deferred.pop(0)
        try:
            return self.requests.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def handle(self, req: PolicyRequest) -> None:
        """Act on one request (main thread)."""
        s = self.p.vehicle.state()
        if req.kind == "low_battery":
            self.low_battery = True
            if (
                self.settings.low_battery_action == "rtl"
                and s.armed
                and not s.on_ground
                and s.mode not in ("RTL", "LAND")
            ):
                self.p.log("battery low: returning to launch", level="warning")
                self.p.vehicle.rtl()
                self.p.recorder.event("rtl", reason="battery_low")
                self.p.set_phase("rtl")
            return
        holdable = (
            self.settings.alert_policy == "hover_and_speak"
            and s.mode == "AUTO"
            and s.armed
            and not s.on_ground
            and not self.low_battery
            and s.mission_seq is not None
            and self.survey_seqs[0] <= s.mission_seq <= self.survey_seqs[1]
        )
        if req.kind == "alert":
            if holdable and req.lat_deg is not None and not self._recently_held(req):
                self._hold(req, s)
                self._restamp_deferred_looks()
            else:
                self.speak(req.alert)
        elif req.kind == "close_look":
            fresh = time.monotonic() - req.t_mono < CANDIDATE_MAX_AGE_S
            if holdable and fresh and self.settings.close_look.enabled:
                self.close_look.run(req, s)
                self._restamp_deferred_looks()
        elif req.kind == "candidate":
            fresh = time.monotonic() - req.t_mono < CANDIDATE_MAX_AGE_S
            if holdable and fresh and not self._recently_held(req):
                self._hold(req, s)
                self._restamp_deferred_looks()

    def _recently_held(self, req: PolicyRequest) -> bool:
        from missions.geo import distance_m

        now = time.monotonic()
        window = self.p.wall(self.settings.revisit_s)
        return any(
            now - t < window
            and distance_m(lat, lon, req.lat_deg, req.lon_deg) <= self.settings.revisit_m
            for lat, lon, t in self.held
        )

    def _hold(self, req: PolicyRequest, s) -> None:
        """Hold over a place: confirm a gathering there if needed, speak, wait, resume."""
        from groundstation.holds import hold_point
        from groundstation.link import MAV
        from missions.geo import distance_m

        seq = s.mission_seq
        self.held.append((req.lat_deg, req.lon_deg, time.monotonic()))
        target = hold_point(
            req.lat_deg,
            req.lon_deg,
            self.p.vehicle.pose,
            alt_m=s.pose.alt_m if s.pose is not None else self.p.cfg.survey.alt_m,
            gimbal_pitch_deg=self.p.cfg.camera.gimbal_pitch_deg,
            allowed=self.p.airspace.allows,
        )
        where = f"{req.lat_deg:.6f}, {req.lon_deg:.6f}"
        if target is None:
            self.p.log(
                f"no hold at {where}: outside the fence or in a no-fly zone", level="warning"
            )
            if req.alert is not None:
                self.speak(req.alert)
            return
        tlat, tlon, yaw = target.lat_deg, target.lon_deg, target.yaw_deg
        alt = s.pose.alt_m if s.pose is not None else self.p.cfg.survey.alt_m
        self.p.summary.holds += 1
        what = "to confirm a possible gathering" if req.alert is None else "over the gathering"
        self.p.log(f"hold {what} at {where} (mission item {seq})")
        self.p.recorder.event(
            "hold",
            lat_deg=req.lat_deg,
            lon_deg=req.lon_deg,
            hold_lat_deg=tlat,
            hold_lon_deg=tlon,
            mission_seq=seq,
            alert_id=req.alert.id if req.alert is not None else None,
            reason="confirm" if req.alert is None else "gathering",
        )
        self.p.set_phase("checking" if req.alert is None else "hold")
        self.p.vehicle.goto(tlat, tlon, alt)
        if not self._wait_arrival(tlat, tlon):
            self.p.log("hold abandoned: the vehicle left GUIDED", level="warning")
            self.p.recorder.event("hold_abandoned", mode=self.p.vehicle.state().mode)
            return
        with contextlib.suppress(DronePatrolError):
            self.p.link.command_long(
                MAV.MAV_CMD_CONDITION_YAW, (yaw, 60.0, 0, 0), timeout_s=1.0, retries=1
            )
        alert = req.alert
        if alert is None:
            alert = self._wait_for_gathering(req.lat_deg, req.lon_deg)
            self.p.recorder.event("check_end", confirmed=alert is not None)
            if alert is None:
                self.p.log("no gathering confirmed: resuming the patrol")
                self._resume(seq)
                return
            d = distance_m(alert.lat_deg, alert.lon_deg, req.lat_deg, req.lon_deg)
            self.p.log(f"gathering of {alert.count} confirmed ({d:.0f} m from the first sighting)")
        self.p.set_phase("speaking")
        ticket = self.speak(alert)
        if ticket and not ticket.wait(SPEECH_TIMEOUT_S):
            self.p.log("the reminder did not finish in time", level="warning")
        self.p.set_phase("hold")
        self._wait_world(self.settings.hover_s)
        self._resume(seq)

    def _wait_arrival(self, lat: float, lon: float) -> bool:
        from missions.geo import distance_m

        deadline = time.monotonic() + max(10.0, self.p.wall(90.0))
        while time.monotonic() < deadline:
            s = self.p.vehicle.state()
            if s.mode != "GUIDED" or not s.armed:
                return False
            if s.pose is not None:
                d = distance_m(s.pose.lat_deg, s.pose.lon_deg, lat, lon)
                if d <= ARRIVAL_TOLERANCE_M and s.groundspeed_m_s < 1.0:
                    return True
            self._collect_during_hold(0.05)
        return True  # not there yet, but close enough to watch

    def _collect_during_hold(self, timeout_s: float) -> PolicyRequest | None:
        """Wait for a request during a hold; keep what is for later."""
        try:
            req = self.requests.get(timeout=timeout_s)
        except queue.Empty:
            return None
        if req.kind in ("low_battery", "alert", "close_look"):
            # a person alone seen from the hold or from another close look: looked at after it
            # (dropped before: in a CI run of the demo the person in red, seen during the look
            # at another, was never looked at)
            self.deferred.append(req)
        return req

    def _restamp_deferred_looks(self) -> None:
        """Close-look wishes kept during a hold or a look count their age from its end: the
        freshness limit (:data:`CANDIDATE_MAX_AGE_S`) is about the time the patrol flies on
        after seeing somebody, and while it held it did not fly on. Requests still queued join
        the deferred ones, in order."""
        while True:  # and those still queued (a look may end before it collects them)
            try:
                self.deferred.append(self.requests.get_nowait())
            except queue.Empty:
                break
        now = time.monotonic()
        self.deferred = [
            dataclasses.replace(r, t_mono=now) if r.kind == "close_look" else r
            for r in self.deferred
        ]

    def _wait_for_gathering(self, lat: float, lon: float):
        """Watch the place until a gathering alert near it arrives (returned) or the
        confirmation time is over (None)."""
        from detection.alerts import AlertKind
        from missions.geo import distance_m

        start = time.monotonic()
        frames0 = self.p.frames_processed
        need = self.p.wall(self.settings.confirm_s)
        while True:
            # an alert raised on the way may already be waiting
            for req in list(self.deferred):
                a = req.alert
                if (
                    req.kind == "alert"
                    and a is not None
                    and a.kind == AlertKind.GATHERING
                    and a.lat_deg is not None
                    and distance_m(a.lat_deg, a.lon_deg, lat, lon)
                    <= max(25.0, self.settings.revisit_m)
                ):
                    self.deferred.remove(req)
                    return a
            if any(r.kind == "low_battery" for r in self.deferred):
                return None
            now = time.monotonic()
            elapsed = now - start
            following = self.p.following
            watching = (
                following is not None
                and now - following[0] < 1.0
                and distance_m(following[1], following[2], lat, lon) <= 25.0
            )
            done = elapsed >= need and self.p.frames_processed - frames0 >= MIN_CONFIRM_FRAMES
            if (done and not watching) or elapsed > MAX_CONFIRM_WALL_S:
                return None
            if self.p.stopping.is_set() or self.p.vehicle.state().mode != "GUIDED":
                return None
            self._collect_during_hold(0.1)

    def _wait_world(self, vehicle_s: float) -> None:
        end = time.monotonic() + self.p.wall(vehicle_s)
        while time.monotonic() < end:
            if self.p.vehicle.state().mode != "GUIDED":
                return
            self._collect_during_hold(min(0.2, max(0.01, end - time.monotonic())))

    def _resume(self, seq: int | None) -> None:
        """Continue the mission at the item that was interrupted (RTL if that fails)."""
        s = self.p.vehicle.state()
        if s.mode != "GUIDED" or not s.armed:
            return  # somebody (a failsafe, the pilot) took over: leave it
        for attempt in range(2):
            try:
                if seq is not None:
                    self.p.vehicle.resume_mission(seq)
                else:
                    self.p.vehicle.set_mode("AUTO")
                if self.survey_speed_m_s:
                    # ArduCopter forgets a mission's DO_CHANGE_SPEED when AUTO is re-entered
                    # (the speed falls back to WPNAV_SPEED): give it the survey speed again.
                    try:
                        self.p.vehicle.set_speed(self.survey_speed_m_s)
                    except DronePatrolError as exc:
                        self.p.log(f"survey speed not restored ({exc})", level="warning")
                self.p.recorder.event("resume", mission_seq=seq)
                self.p.log(f"resume the mission at item {seq}")
                self.p.set_phase("survey")
                return
            except DronePatrolError as exc:
                self.p.log(f"resume failed ({exc})", level="warning")
                time.sleep(0.5 * (attempt + 1))
        self.p.log("cannot resume the mission: returning to launch", level="error")
        self.p.vehicle.rtl()
        self.p.recorder.event("rtl", reason="resume failed")

    def _out_of_range(self, alert) -> float | None:
        """The vehicle's 3D distance to the alert's place when beyond ``broadcast.range_m``,
        else None (also None when either position is unknown)."""
        from missions.geo import distance_m

        if alert.lat_deg is None or alert.lon_deg is None or self.p.vehicle is None:
            return None
        pose = self.p.vehicle.state().pose
        if pose is None:
            return None
        d = distance_m(pose.lat_deg, pose.lon_deg, alert.lat_deg, alert.lon_deg)
        d3 = (d * d + max(0.0, pose.alt_m) ** 2) ** 0.5
        return d3 if d3 > self.p.cfg.broadcast.range_m else None

    def speak(self, alert):
        """Queue the alert's reminder (None when reminders are off or it is not spoken)."""
        if self.p.announcer is None or self.settings.alert_policy == "log_only":
            return None
        far = self._out_of_range(alert)
        if far is not None:
            self.p.log(
                f"reminder for alert {alert.id} not spoken: {far:.0f} m away, beyond the "
                f"loudspeaker's {self.p.cfg.broadcast.range_m:g} m"
            )
            self.p.recorder.event(
                "reminder_suppressed", alert_id=alert.id, reason="out_of_range", distance_m=far
            )
            return None
        ticket = self.p.announcer.submit(alert)
        if not ticket:
            log.info("reminder for alert %s not spoken: %s", alert.id, ticket.reason)
            self.p.recorder.event("reminder_suppressed", alert_id=alert.id, reason=ticket.reason)
        return ticket
