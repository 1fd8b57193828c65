"""The close look: fly lower and point the camera at a person whose face is too small to judge.

From a survey altitude a face is a few pixels: below ``detection.mask.min_face_px`` the mask
state stays "unknown" (never guessed). The operators of the seed scene flew lower, zoomed and
spoke; :class:`CloseLook` does the same for the patrol's ``hover_and_speak`` policy
(``policy.close_look``):

1. The detection thread sees a tracked person standing alone (no one else within
   ``1.5 * detection.gathering.eps_m``: groups get the gathering hold) whose mask is unknown
   because the face is too small, and submits a ``close_look`` request (:func:`look_wanted`).
2. The main thread (:meth:`CloseLook.run`) checks the budget (looks and seconds per sortie, the
   battery reserve), picks the look point (:func:`look_point`: ``standoff_m`` from the person on
   the side the vehicle comes from, or another of 8 bearings, inside the fence and outside the
   no-fly zones), descends there in GUIDED to ``look_alt_m`` (never below ``min_alt_m``), turns
   to the person (MAV_CMD_CONDITION_YAW) and points the gimbal at the face
   (:meth:`groundstation.vehicle.Vehicle.point_gimbal`).
3. It watches up to ``watch_s`` (and at least :data:`MIN_LOOK_FRAMES` processed frames): the detector's settled label for the person (several frames'
   votes of the real face-mask model, :class:`detection.masks.MaskVoter`) decides masked /
   unmasked / incorrect; otherwise "unknown". An unmasked or incorrect person raises the mask
   alert, whose reminder is spoken from there (within ``broadcast.range_m``); the look waits
   for the loudspeaker to finish.
4. It climbs back to the survey altitude, restores the gimbal and resumes the mission at the
   interrupted item (:meth:`groundstation.policy.AlertPolicy._resume`).

Every step is an event in the recording (``close_look``, ``close_look_result``,
``close_look_skipped``, ``close_look_abandoned``) and a line on the terminal and the overlay.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass

from missions.errors import DronePatrolError
from missions.geo import bearing_deg, distance_m, offset

FACE_HEIGHT_M = 1.6
"""Height of a standing person's face above the ground, metres (where the gimbal points)."""
MIN_LOOK_FRAMES = 15
"""A close look watches at least this many processed frames before giving up (a new track
needs two frames, the mask vote ``detection.mask.frames_to_confirm`` more), whatever the
detector's frame rate."""
MAX_LOOK_WALL_S = 60.0
"""Upper bound of a close look's watch in wall-clock seconds (a stalled detector)."""
FACE_SHARE = 0.13
"""A face (hairline to chin) is about 13 % of a standing person's height (the head is about
one eighth of the body in the classical canon; the sim's cut-outs measure 12.5 %)."""


def face_too_small(xyxy, min_face_px: int) -> bool:
    """True when a person box is too short for its face to reach ``min_face_px`` pixels:
    box height * :data:`FACE_SHARE` < ``min_face_px``."""
    return float(xyxy[3] - xyxy[1]) * FACE_SHARE < min_face_px


@dataclass(frozen=True)
class LookPoint:
    """Where to look from: ``lat_deg``, ``lon_deg``, ``alt_m`` (above home), the heading
    ``yaw_deg`` that faces the person and the gimbal pitch ``pitch_deg`` that centres the face."""

    lat_deg: float
    lon_deg: float
    alt_m: float
    yaw_deg: float
    pitch_deg: float


def look_point(
    person_lat: float,
    person_lon: float,
    from_lat: float | None,
    from_lon: float | None,
    *,
    alt_m: float,
    min_alt_m: float,
    standoff_m: float,
    allowed=None,
) -> LookPoint | None:
    """The point ``standoff_m`` from the person, at ``max(alt_m, min_alt_m)``.

    Bearings tried: from the person towards ``from_lat/lon`` (the vehicle now) first, then the
    other seven multiples of 45 degrees from it; the first that ``allowed(lat, lon)`` accepts
    wins (and the midpoint of the way there, so the descent does not cut a no-fly corner).

    Returns:
        :class:`LookPoint`, or None when no bearing is allowed.
    """
    alt = max(alt_m, min_alt_m)
    if from_lat is not None and distance_m(person_lat, person_lon, from_lat, from_lon) > 1.0:
        back = bearing_deg(person_lat, person_lon, from_lat, from_lon)
    else:
        back = 180.0
    pitch = -math.degrees(math.atan2(alt - FACE_HEIGHT_M, standoff_m))
    for k in (0, 1, -1, 2, -2, 3, -3, 4):
        b = (back + 45.0 * k) % 360.0
        lat, lon = offset(person_lat, person_lon, b, standoff_m)
        if allowed is not None:
            mid = offset(person_lat, person_lon, b, standoff_m * 1.5)
            if not (allowed(lat, lon) and allowed(*mid)):
                continue
        return LookPoint(float(lat), float(lon), alt, (b + 180.0) % 360.0, pitch)
    return None


@dataclass(frozen=True)
class Sighting:
    """A person seen alone whose face is too small: ``lat_deg``, ``lon_deg``, the tracker's
    ``track_id`` (None when the person was seen in one frame only, before tracking)."""

    lat_deg: float
    lon_deg: float
    track_id: int | None


def look_wanted(result, *, min_face_px: int, eps_m: float) -> list[Sighting]:
    """People of one frame that need a close look.

    Every detection of the frame (raw, before tracking: at survey speed and a high simulator
    speed-up a person may be in view for a single processed frame, too few to confirm a track)
    that is geotagged, too short for a face of ``min_face_px`` (:func:`face_too_small`), with
    nobody else within ``1.5 * eps_m``, and not a tracked person whose mask label is already
    settled.

    Args:
        result: :class:`detection.pipeline.FrameResult` (``raw_detections`` with ``xy_m`` and
            ``lat_lon`` data, ``persons``).
        min_face_px: ``detection.mask.min_face_px``.
        eps_m: ``detection.gathering.eps_m``.
    """
    import numpy as np

    from detection.faces import MaskLabel

    dets = result.raw_detections
    if not len(dets):
        return []
    xy = np.asarray(dets.data["xy_m"], float)
    ll = np.asarray(dets.data["lat_lon"], float)
    ok = ~np.isnan(xy).any(axis=1)
    out = []
    for i in np.nonzero(ok)[0]:
        if not face_too_small(dets.xyxy[i], min_face_px):
            continue
        d = np.hypot(*(xy[ok] - xy[i]).T)
        if int((d <= 1.5 * eps_m).sum()) > 1:  # itself, and somebody else
            continue
        track, settled = None, False
        for p in result.persons:
            if p.xy_m is not None and math.dist(p.xy_m, xy[i]) < 0.5:
                track, settled = p.track_id, p.mask is not MaskLabel.UNKNOWN
        if not settled:
            out.append(Sighting(float(ll[i, 0]), float(ll[i, 1]), track))
    return out


class CloseLook:
    """Close looks of one patrol (see the module docstring).

    Args:
        policy: The :class:`groundstation.policy.AlertPolicy` (vehicle, link, recorder, clock).
        settings: ``policy.close_look``.
    """

    def __init__(self, policy, settings) -> None:
        self.policy = policy
        self.p = policy.p
        self.settings = settings
        self.done = 0
        self.used_s = 0.0
        self.places: list[tuple[float, float]] = []

    def new_sortie(self) -> None:
        """Reset the per-sortie budget."""
        self.done = 0
        self.used_s = 0.0

    def refusal(self, s) -> str | None:
        """Why no close look may start now (budget, battery), or None."""
        cl = self.settings
        if self.done >= cl.max_per_sortie:
            return f"budget: {self.done} close look(s) this sortie"
        if self.used_s >= cl.max_s_per_sortie:
            return f"budget: {self.used_s:.0f} s of close looks this sortie"
        pct = s.battery.remaining_pct if s.battery is not None else None
        if pct is not None and pct <= cl.reserve_pct:
            return f"battery {pct:.0f} % at or below the reserve {cl.reserve_pct:g} %"
        return None

    def seen_before(self, lat: float, lon: float) -> bool:
        """True when a close look was already made (or refused) within ``once_m`` of here."""
        return any(distance_m(a, b, lat, lon) <= self.settings.once_m for a, b in self.places)

    def run(self, req, s) -> str | None:
        """Fly one close look for ``req`` (a ``close_look`` request); returns the label decided
        (``masked``, ``unmasked``, ``incorrect``, ``unknown``) or None when none was flown."""
        p, pol, cl = self.p, self.policy, self.settings
        if self.seen_before(req.lat_deg, req.lon_deg):
            return None
        self.places.append((req.lat_deg, req.lon_deg))
        where = f"{req.lat_deg:.6f}, {req.lon_deg:.6f}"
        why = self.refusal(s)
        if why is None and not getattr(p, "faces_known", True):
            why = "the simulated people have no real faces (no face-mask photos found)"
        pose = s.pose
        target = None
        if why is None:
            target = look_point(
                req.lat_deg,
                req.lon_deg,
                pose.lat_deg if pose is not None else None,
                pose.lon_deg if pose is not None else None,
                alt_m=cl.look_alt_m,
                min_alt_m=cl.min_alt_m,
                standoff_m=cl.standoff_m,
                allowed=p.airspace.allows if p.airspace is not None else None,
            )
            if target is None:
                why = "no look point inside the fence and outside the no-fly zones"
        if why is not None:
            p.log(f"no close look at the person at {where}: {why}")
            p.recorder.event(
                "close_look_skipped", lat_deg=req.lat_deg, lon_deg=req.lon_deg, reason=why
            )
            return None
        seq = s.mission_seq
        survey_alt = pose.alt_m if pose is not None else p.cfg.survey.alt_m
        start_lat, start_lon = (
            (pose.lat_deg, pose.lon_deg) if pose is not None else (target.lat_deg, target.lon_deg)
        )
        self.done += 1
        t0 = time.monotonic()
        track = f" (track {req.track_id})" if req.track_id is not None else ""
        p.log(
            f"close look at the person at {where}{track}: down to "
            f"{target.alt_m:g} m, {cl.standoff_m:g} m away, gimbal {target.pitch_deg:.0f} deg "
            f"(mission item {seq})"
        )
        p.recorder.event(
            "close_look",
            lat_deg=req.lat_deg,
            lon_deg=req.lon_deg,
            look_lat_deg=target.lat_deg,
            look_lon_deg=target.lon_deg,
            alt_m=target.alt_m,
            gimbal_pitch_deg=round(target.pitch_deg, 1),
            track_id=req.track_id,
            mission_seq=seq,
        )
        p.set_phase("close look")
        label = "unknown"
        try:
            p.vehicle.goto(target.lat_deg, target.lon_deg, target.alt_m)
            if not self._arrive(target):
                p.log("close look abandoned: the vehicle left GUIDED", level="warning")
                p.recorder.event("close_look_abandoned", mode=p.vehicle.state().mode)
                return None
            with contextlib.suppress(DronePatrolError):
                p.link.command_long(
                    _MAV().MAV_CMD_CONDITION_YAW, (target.yaw_deg, 60.0, 0, 0), timeout_s=1.0
                )
            self._gimbal(target.pitch_deg)
            if p.pipeline is not None:  # faces seen too small on the way down: look again now
                p.pipeline.masks.look_again()
            label, reason = self._watch(req)
            p.log(f"close look: the person at {where} is {label} ({reason})")
            p.recorder.event(
                "close_look_result",
                lat_deg=req.lat_deg,
                lon_deg=req.lon_deg,
                mask=label,
                reason=reason,
                track_id=req.track_id,
            )
            if label in ("unmasked", "incorrect") and p.announcer is not None:
                p.set_phase("speaking")
                if not p.announcer.wait_idle(pol.speech_timeout_s):
                    p.log("the reminder did not finish in time", level="warning")
        finally:
            self._climb_back(start_lat, start_lon, survey_alt)
            self.used_s += (time.monotonic() - t0) * p.scale
        pol._resume(seq)
        return label

    # -- steps ---------------------------------------------------------------------------------

    def _arrive(self, target: LookPoint) -> bool:
        """Wait until at the look point (2.5 m horizontally, 1 m vertically) or a bounded time;
        False when the vehicle left GUIDED."""
        p = self.p
        deadline = time.monotonic() + max(10.0, p.wall(90.0))
        while time.monotonic() < deadline and not p.stopping.is_set():
            s = p.vehicle.state()
            if s.mode != "GUIDED" or not s.armed:
                return False
            if s.pose is not None:
                d = distance_m(s.pose.lat_deg, s.pose.lon_deg, target.lat_deg, target.lon_deg)
                if d <= 2.5 and abs(s.pose.alt_m - target.alt_m) <= 1.0:
                    return True
            self.policy._collect_during_hold(0.05)
        return p.vehicle.state().mode == "GUIDED"

    def _gimbal(self, pitch_deg: float) -> None:
        p = self.p
        try:
            how = p.vehicle.point_gimbal(pitch_deg)
            p.recorder.event("gimbal", pitch_deg=round(pitch_deg, 1), command=how)
        except DronePatrolError as exc:
            p.log(f"gimbal not pointed ({exc})", level="warning")
            p.recorder.event("gimbal_refused", pitch_deg=round(pitch_deg, 1), error=str(exc))

    def _watch(self, req) -> tuple[str, str]:
        """Watch until the person's label settles, the time is up, or the battery reaches the
        reserve: ``(label, reason)``."""
        p, cl = self.p, self.settings
        start = time.monotonic()
        end = start + p.wall(cl.watch_s)
        start_frames = p.frames_processed
        while True:
            label = p.mask_label_near(req.lat_deg, req.lon_deg, cl.match_m)
            if label is not None and label != "unknown":
                return label, f"{p.frames_processed - start_frames} frames"
            s = p.vehicle.state()
            pct = s.battery.remaining_pct if s.battery is not None else None
            if pct is not None and pct <= cl.reserve_pct:
                p.recorder.event("close_look_abandoned", reason="battery reserve")
                return "unknown", f"battery {pct:.0f} % reached the reserve"
            if any(r.kind == "low_battery" for r in self.policy.deferred):
                return "unknown", "battery low"
            if s.mode != "GUIDED" or p.stopping.is_set():
                return "unknown", f"mode {s.mode}"
            now = time.monotonic()
            frames = p.frames_processed - start_frames
            if (now >= end and frames >= MIN_LOOK_FRAMES) or now - start > MAX_LOOK_WALL_S:
                return "unknown", (
                    f"face still too small or unseen after {cl.watch_s:g} s, {frames} frames"
                )
            self.policy._collect_during_hold(0.1)

    def _climb_back(self, lat: float, lon: float, alt_m: float) -> None:
        """Climb straight up to the survey altitude, then restore the gimbal."""
        p = self.p
        s = p.vehicle.state()
        if s.mode == "GUIDED" and s.armed and s.pose is not None:
            with contextlib.suppress(DronePatrolError):
                p.vehicle.goto(s.pose.lat_deg, s.pose.lon_deg, alt_m)
                deadline = time.monotonic() + max(10.0, p.wall(60.0))
                while time.monotonic() < deadline and not p.stopping.is_set():
                    s = p.vehicle.state()
                    if s.mode != "GUIDED" or (s.pose and abs(s.pose.alt_m - alt_m) <= 1.0):
                        break
                    self.policy._collect_during_hold(0.05)
        self._gimbal(p.cfg.camera.gimbal_pitch_deg)
        p.recorder.event("close_look_end", alt_m=alt_m)


def _MAV():
    from groundstation.link import MAV

    return MAV
