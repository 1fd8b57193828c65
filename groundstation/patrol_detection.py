"""The patrol's detection loop, faces and masks, candidates and live video start:
:class:`PatrolDetectionMixin`, a part of :class:`groundstation.patrol.Patrol`.

The detection loop runs on its own thread and only queues requests for the main thread (the
alert policy). Split out of :mod:`groundstation.patrol` with no change of behaviour.
"""

from __future__ import annotations

import logging
import time

from groundstation.patrol_frames import FramePrefetcher
from groundstation.policy import PolicyRequest

GROUP_CLEAR_M = 10.0
"""No close look at a person within this of a candidate gathering (metres on the ground): at the
edge of a group the detector half sees, a person looks alone in one frame."""

log = logging.getLogger("groundstation.patrol")  # the name the patrol always logged under


class PatrolDetectionMixin:
    """Detection on the video source, faces/masks and candidate places of a :class:`Patrol`."""

    # -- detection ------------------------------------------------------------------------------------------

    def _detection_loop(self) -> None:
        from detection.errors import SourceError
        from detection.sources import FrameTimeout

        failures = 0
        window: list[float] = []
        frames = self.source
        live = self._start_live_video()
        if self.source_spec == "sim" or getattr(self.source, "is_live", False):
            # the sim camera renders only what is asked for unless watched; a real camera runs
            frames = FramePrefetcher(
                self.source, self.stopping, live=live, latest=self.source_spec != "sim"
            ).start()
            self._threads.append(frames.thread)
        while not self.stopping.is_set():
            try:
                frame = frames.read(timeout_s=1.0)
            except FrameTimeout:
                continue
            except SourceError as exc:
                self.log(f"video source: {exc}", level="warning")
                self.stopping.wait(1.0)
                continue
            if frame is None:
                if self.stopping.is_set():
                    break
                if getattr(self.source, "is_live", False):
                    self.stopping.wait(0.1)
                    continue
                self.log("the video source ended: detection stops", level="warning")
                break
            pose = self._pose_for(frame.t_s)
            try:
                result = self.pipeline.process(frame.image, frame.t_s, pose, frame.index)
                annotated = result.annotate(frame.image)
            except Exception as exc:
                failures += 1
                log.exception("detection failed on frame %d", frame.index)
                if failures >= 20:
                    self.log(f"detection stopped after repeated failures: {exc}", level="error")
                    break
                continue
            failures = 0
            now = time.monotonic()
            window = [t for t in window if now - t < 5.0] + [now]
            with self._lock:
                self.frames_processed += 1
                self._fps = (
                    (len(window) - 1) / max(1e-3, now - window[0]) if len(window) > 1 else 0.0
                )
            live.update(result, frame.image)
            if frames is self.source:  # no camera thread: the video shows the analysed frames
                live.offer(frame)
            self.recorder.video_frame(
                annotated, frame.t_s, frame.index, pose.to_dict() if pose is not None else None
            )
            for g in result.gatherings:
                if g.centroid_lat_lon is not None and not g.alerted:
                    self.following = (now, *g.centroid_lat_lon)
            for alert in result.alerts:
                self._on_alert(alert)
            if pose is not None and self.policy.alert_policy == "hover_and_speak":
                self._look_for_candidates(result)
                self._note_faces(result, now)

    def _start_live_video(self):
        """The officers' video: camera frames with the latest detections drawn, drawn and
        encoded only while a client watches (:mod:`groundstation.overlay.live_video`)."""
        from groundstation.overlay.live_video import LiveVideo

        self.live_video = LiveVideo(self.hub, self.cfg.privacy, self.stopping).start()
        self._threads.append(self.live_video.thread)
        return self.live_video

    def _note_faces(self, result, now: float) -> None:
        """Remember the people of this frame with their mask labels (for the close look) and
        ask for a close look at a person alone whose face is too small."""
        from groundstation.closelook import look_wanted

        seen = [
            (now, p.lat_deg, p.lon_deg, p.mask.value)
            for p in result.persons
            if p.lat_deg is not None
        ]
        with self._lock:
            self._seen = [x for x in self._seen if now - x[0] < 1.0] + seen
        cl = self.policy.close_look
        if not cl.enabled or not self.faces_known or self.pipeline.face_detector is None:
            return
        det = self.cfg.detection
        for p in look_wanted(result, min_face_px=det.mask.min_face_px, eps_m=det.gathering.eps_m):
            if self.alert_policy.close_look.seen_before(p.lat_deg, p.lon_deg):
                continue
            if self._near_group(p.lat_deg, p.lon_deg):
                continue  # the edge of a group the detector half sees: the gathering hold's
            last = self._last_look_wish
            if last is not None and now - last[2] < 5.0:
                from missions.geo import distance_m

                if distance_m(p.lat_deg, p.lon_deg, last[0], last[1]) < cl.once_m:
                    continue
            self._last_look_wish = (p.lat_deg, p.lon_deg, now)
            self.recorder.event(
                "close_look_wanted",
                lat_deg=p.lat_deg,
                lon_deg=p.lon_deg,
                track_id=p.track_id,
                frame_index=result.frame_index,
            )
            self.alert_policy.submit(
                PolicyRequest("close_look", now, p.lat_deg, p.lon_deg, track_id=p.track_id)
            )

    def _near_group(self, lat: float, lon: float) -> bool:
        """True within :data:`GROUP_CLEAR_M` of a candidate gathering seen this patrol: a person
        there is one of the group (its neighbours missed in this frame), not a person alone, and
        a close look would spend the sortie's budget on the group the gathering hold handles."""
        from missions.geo import distance_m

        return any(distance_m(lat, lon, a, b) < GROUP_CLEAR_M for a, b in self._group_places)

    def mask_label_near(self, lat: float, lon: float, radius_m: float) -> str | None:
        """The settled mask label of a person seen in the last second within ``radius_m`` of a
        place (``masked``/``unmasked``/``incorrect`` first), ``unknown``, or None (nobody)."""
        from missions.geo import distance_m

        now = time.monotonic()
        with self._lock:
            near = [
                m
                for t, a, b, m in self._seen
                if now - t < 1.0 and distance_m(a, b, lat, lon) <= radius_m
            ]
        if not near:
            return None
        settled = [m for m in near if m != "unknown"]
        return settled[-1] if settled else "unknown"

    def _look_for_candidates(self, result) -> None:
        """People seen close together (raw detections, before tracking) -> a candidate place."""
        from groundstation.holds import candidate_place
        from missions.geo import distance_m

        dets = result.raw_detections
        if not len(dets) or self.pipeline.local_frame is None:
            return
        g = self.cfg.detection.gathering
        found = candidate_place(
            dets.data["xy_m"], self.pipeline.local_frame, eps_m=g.eps_m, min_people=g.min_people
        )
        if found is None:
            return
        lat, lon, count = found
        if not any(distance_m(lat, lon, a, b) < 1.0 for a, b in self._group_places[-50:]):
            self._group_places = [*self._group_places[-49:], (lat, lon)]
        now = time.monotonic()
        last = self._last_candidate
        if last is not None and now - last[2] < 2.0 and distance_m(lat, lon, last[0], last[1]) < 15:
            return
        self._last_candidate = (lat, lon, now)
        self.recorder.event(
            "candidate", lat_deg=lat, lon_deg=lon, count=count, frame_index=result.frame_index
        )
        self.alert_policy.submit(PolicyRequest("candidate", now, lat, lon, count=count))
