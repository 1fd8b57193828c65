"""The detection pipeline: frame -> persons -> ground positions -> tracks -> gatherings / masks -> alerts.

Every detection's foot point is projected onto the ground before tracking, so that with a pose
the tracker associates people on the ground in metres (``detection.tracker: ground``, see
:mod:`detection.tracking`): their ids then survive a camera that moves and turns. The raw
detections stay available on :attr:`FrameResult.raw_detections`.

Cost is kept close to bare model inference: tracking, projection and clustering are vectorised
and cheap; the face-mask model runs at most once per frame and only for people big enough to
show a face whose label is not settled yet; the torso colour and snapshot crops are computed
only when an alert is raised; drawing happens only when :meth:`FrameResult.annotate` is called.

Example:
    >>> from groundstation.config import load_config
    >>> cfg = load_config()
    >>> pipe = DetectionPipeline(cfg.detection, cfg.camera)
    >>> result = pipe.process(image, t_s, pose, frame_index=0)
    >>> [a.kind for a in result.alerts]
"""

from __future__ import annotations

import copy
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import supervision as sv

from detection.alerts import Alert, AlertKind
from detection.colours import ColourName, clear_colour
from detection.crowds import Crowd, CrowdCounter
from detection.envelope import Envelope, frame_envelope
from detection.errors import ModelNotFoundError
from detection.faces import FaceMaskDetector, MaskLabel, load_face_mask_detector
from detection.gatherings import Gathering, GatheringDetector
from detection.geometry import CameraIntrinsics, ground_offsets, gsd_cm_px
from detection.masks import (
    MAX_RUNS_PER_FRAME,
    MaskVoter,
    could_show_face,
    faces_in_batch,
    look_batches,
)
from detection.models import load_yolo
from detection.persons import PersonDetector
from detection.privacy import (
    FacePass,
    PrivacySettings,
    full_frame_faces,
    head_boxes,
    privacy_regions,
    touches_edge,
)
from detection.settings import DetectionSettings
from missions.geo import LocalFrame, Pose

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_RELPATHS = ("models/yolo11n-int8-openvino/yolo11n_int8_openvino_model",)
"""Person weights searched, in order, under each shared folder (see :func:`shared_dirs`)."""
DEFAULT_FACE_MODEL_RELPATHS = (
    "models/ultraface-masked-rfb640/RFB-640-masked_face-v2.onnx",
    "models/aizoo-facemask/face_mask_detection.onnx",
)
"""Face-mask weights searched, in order, under each shared folder."""


def _describe(upper: ColourName | None, lower: ColourName | None) -> str:
    """``"red top and black trousers"``, ``"red top"`` or ``"unknown colour"``."""
    if upper is None:
        return "unknown colour"
    return f"{upper.en} top" + (f" and {lower.en} trousers" if lower is not None else "")


def shared_dirs() -> list[Path]:
    """Folders searched for default weights: ``$DRONEPATROL_SHARED``, then ``<repo>/../shared``."""
    dirs = []
    env = os.environ.get("DRONEPATROL_SHARED")
    if env:
        dirs.append(Path(env).expanduser())
    dirs.append(REPO_ROOT.parent / "shared")
    return dirs


def resolve_model_path(settings: DetectionSettings) -> Path:
    """Where the person model is: ``detection.model``, else ``$DRONEPATROL_MODEL``, else a search.

    Args:
        settings: The ``detection`` config section.

    Returns:
        An existing path (file or OpenVINO folder).

    Raises:
        ModelNotFoundError: The configured path does not exist, or nothing was found; the
            message names the setting / variable to use and the places searched.
    """
    if settings.model is not None:
        p = Path(settings.model).expanduser()
        if not p.exists():
            raise ModelNotFoundError(
                f"person model {p} (detection.model) not found; give an existing .pt, .onnx or "
                "OpenVINO folder"
            )
        return p
    env = os.environ.get("DRONEPATROL_MODEL")
    if env:
        p = Path(env).expanduser()
        if not p.exists():
            raise ModelNotFoundError(f"person model {p} ($DRONEPATROL_MODEL) not found")
        return p
    tried = []
    for d in shared_dirs():
        for rel in DEFAULT_MODEL_RELPATHS:
            p = d / rel
            tried.append(str(p))
            if p.exists():
                return p
    raise ModelNotFoundError(
        "no person model: set detection.model (or --model, or $DRONEPATROL_MODEL) to Ultralytics "
        f"weights (.pt, .onnx or OpenVINO folder), or put them at {tried[-1]}; nothing is downloaded"
    )


def resolve_face_model_path(settings: DetectionSettings) -> Path:
    """Where the face-mask model is: ``detection.mask.face_model``, ``$DRONEPATROL_FACE_MODEL``,
    else a search of the shared folders.

    Raises:
        ModelNotFoundError: Not found (the message says where to put it).
    """
    if settings.mask.face_model is not None:
        p = Path(settings.mask.face_model).expanduser()
        if not p.is_file():
            raise ModelNotFoundError(f"face-mask model {p} (detection.mask.face_model) not found")
        return p
    env = os.environ.get("DRONEPATROL_FACE_MODEL")
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise ModelNotFoundError(f"face-mask model {p} ($DRONEPATROL_FACE_MODEL) not found")
        return p
    tried = []
    for d in shared_dirs():
        for rel in DEFAULT_FACE_MODEL_RELPATHS:
            p = d / rel
            tried.append(str(p))
            if p.is_file():
                return p
    raise ModelNotFoundError(
        "no face-mask model: set detection.mask.face_model (or $DRONEPATROL_FACE_MODEL) to "
        f"RFB-640-masked_face-v2.onnx, or put it at {tried[0]}; or set detection.mask.enabled: false"
    )


@dataclass
class Person:
    """One person in a frame.

    Attributes:
        xyxy: Box ``[x1, y1, x2, y2]`` in pixels, shape (4,).
        confidence: Detector confidence, 0..1.
        track_id: Tracker id (None for still photos).
        foot_px: Pixel taken as the person's ground contact point ``(x, y)``.
        lat_deg, lon_deg: Ground position (WGS-84), None when not projected.
        xy_m: Ground position ``(east_m, north_m)`` in the pipeline's local frame, or None.
        mask: Settled mask label of the person/track (``unknown`` when not judged).
        face_xyxy: The face box found on this frame, if any.
    """

    xyxy: np.ndarray
    confidence: float
    track_id: int | None
    foot_px: tuple[float, float]
    lat_deg: float | None = None
    lon_deg: float | None = None
    xy_m: tuple[float, float] | None = None
    mask: MaskLabel = MaskLabel.UNKNOWN
    face_xyxy: np.ndarray | None = None


@dataclass
class FrameResult:
    """What the pipeline found in one frame.

    Attributes:
        frame_index: The frame's index.
        t_s: Frame time (UNIX seconds).
        pose: The pose used for projection, or None.
        persons: :class:`Person` list: the detections that belong to confirmed tracks (every
            detection for stills).
        raw_detections: Every person the detector found on this frame, before tracking
            (``supervision.Detections``): ``xyxy`` (N, 4) pixels, ``confidence`` (N,),
            ``class_id`` (N,), and in ``data``: ``foot_px`` (N, 2) ground contact pixels,
            ``xy_m`` (N, 2) ground positions ``(east_m, north_m)`` in the pipeline's local
            frame and ``lat_lon`` (N, 2) degrees, both NaN where not projected (no pose, or the
            foot point at or above the horizon). A new track is confirmed on its second frame,
            so a person seen once is here but not in ``persons``.
        gatherings: Clusters present on this frame (:class:`detection.gatherings.Gathering`).
        alerts: Alerts raised on this frame.
        gsd_cm_px: Ground sample distance at the image centre, cm/px, or None.
        tiled: Whether tiled inference was used.
        people_estimate: People in the frame: the boxes, plus what crowd density counting
            (CSRNet on crowd crops, :mod:`detection.crowds`) adds where boxes saturate.
        crowds: The crowds counted (:class:`detection.crowds.Crowd`).
        envelope: Expected person size against the model's envelope
            (:class:`detection.envelope.Envelope`), or None without a pose.
        timings_ms: Milliseconds per stage: ``detect``, ``track``, ``geo``, ``gather``,
            ``mask``, ``privacy``, ``alert``, ``total`` (and ``annotate`` once :meth:`annotate`
            ran).
        privacy_xyxy: Regions hidden in every written or streamed copy of the frame
            (:func:`detection.privacy.privacy_regions`), pixels, shape (K, 4).
        privacy_style: ``blur`` or ``pixelate``.
    """

    frame_index: int
    t_s: float
    pose: Pose | None
    persons: list[Person] = field(default_factory=list)
    raw_detections: sv.Detections = field(default_factory=sv.Detections.empty)
    gatherings: list[Gathering] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    gsd_cm_px: float | None = None
    tiled: bool = False
    timings_ms: dict[str, float] = field(default_factory=dict)
    people_estimate: float = 0.0
    crowds: list[Crowd] = field(default_factory=list)
    envelope: Envelope | None = None
    privacy_xyxy: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    privacy_style: str = "blur"

    def annotate(self, image: np.ndarray) -> np.ndarray:
        """The frame anonymised (``privacy_xyxy`` blurred, :mod:`detection.privacy`), then with
        boxes, track ids, mask labels, gathering hulls and HUD drawn, on a copy."""
        from detection.annotate import annotate_frame

        t0 = time.perf_counter()
        out = annotate_frame(image, self)
        self.timings_ms["annotate"] = (time.perf_counter() - t0) * 1000
        return out


def crowd_estimate_for(crowd, xy: np.ndarray, members: np.ndarray) -> float:
    """People in a gathering cluster: its members, or the fused estimate of the crowd it
    belongs to (a crowd whose centroid lies within the cluster's radius + 2 m).

    Args:
        crowd: The frame's :class:`detection.crowds.CrowdEstimate`.
        xy: (N, 2) ground positions the cluster's ``members`` index.
        members: Indices of the cluster's members.
    """
    pts = xy[members]
    c = pts.mean(axis=0)
    radius = float(np.max(np.hypot(*(pts - c).T))) if len(pts) else 0.0
    best = float(len(members))
    for cr in crowd.crowds:
        d = math.hypot(cr.centroid_xy[0] - c[0], cr.centroid_xy[1] - c[1])
        if d <= radius + 2.0:
            best = max(best, cr.people_estimate)
    return best


def foot_point(xyxy: np.ndarray, gimbal_pitch_deg: float) -> np.ndarray:
    """Ground contact pixel of person boxes.

    Seen from the side the feet are at the bottom centre of the box; seen from straight above
    the person is foreshortened to head and shoulders around the box centre. The point moves
    between the two with ``sin^2`` of the camera's depression angle.

    Args:
        xyxy: (N, 4) boxes.
        gimbal_pitch_deg: Camera pitch, degrees (-90 nadir).

    Returns:
        (N, 2) pixel coordinates.
    """
    xyxy = np.asarray(xyxy, dtype=float).reshape(-1, 4)
    k = 0.5 * math.sin(math.radians(min(90.0, abs(gimbal_pitch_deg)))) ** 2
    x = (xyxy[:, 0] + xyxy[:, 2]) / 2
    y = xyxy[:, 3] - k * (xyxy[:, 3] - xyxy[:, 1])
    return np.column_stack([x, y])


def foot_jitter_m(
    intr: CameraIntrinsics,
    pose: Pose,
    xyxy: np.ndarray,
    feet_px: np.ndarray,
    feet_en: np.ndarray,
    **kw,
) -> np.ndarray:
    """How far a person's ground position moves when the detector's box bottom jitters.

    The foot pixel is moved down by :data:`detection.tracking.FOOT_JITTER_FRACTION` of the box
    height (at least ``FOOT_JITTER_MIN_PX``) and projected again: a few centimetres for a
    person seen steeply from above, metres near the horizon. The ground tracker widens its gate
    by this much (:func:`detection.tracking.ground_gate_m`).

    Args:
        intr: Intrinsics of the frame.
        pose: The frame's pose.
        xyxy: (N, 4) person boxes, pixels.
        feet_px: (N, 2) their foot pixels (:func:`foot_point`).
        feet_en: (N, 2) the foot pixels projected (``ground_offsets``), NaN where not.
        **kw: ``stabilised`` and ``max_range_m`` of :func:`detection.geometry.ground_offsets`.

    Returns:
        (N,) metres; NaN where the foot point does not reach the ground.
    """
    from detection.tracking import FOOT_JITTER_FRACTION, FOOT_JITTER_MIN_PX

    h = np.asarray(xyxy, dtype=float).reshape(-1, 4)
    dy = np.maximum(FOOT_JITTER_MIN_PX, FOOT_JITTER_FRACTION * (h[:, 3] - h[:, 1]))
    moved = ground_offsets(intr, pose, feet_px + np.column_stack([np.zeros_like(dy), dy]), **kw)
    return np.hypot(*(moved - feet_en).T)


class DetectionPipeline:
    """Runs every detection stage on frames and raises alerts.

    Args:
        settings: The ``detection`` config section.
        camera: The ``camera`` config section (``missions.settings.CameraSettings``): field of
            view or sensor + focal length, configured image size, default gimbal pitch.
        stills: Judge each frame alone (folder of photos): no tracking, no persistence, one
            face vote settles a mask label.
        snapshot_dir: Where alert crops (JPEG) are written; None: no snapshots.
        frame: Local ENU frame for ground metres (e.g. centred on home); default: centred on
            the first pose seen.
        geotag: Put lat/lon in alerts (False when the pose's lat/lon are placeholders).
        fps: Source frame rate (tracker memory); default 10.
        model: An already loaded ``ultralytics.YOLO`` to share (default: load
            :func:`resolve_model_path`).
        face_detector: An already loaded face-mask detector (default: load
            :func:`resolve_face_model_path` when masks are enabled).
        privacy: The ``privacy`` config section (default: faces blurred,
            :class:`detection.privacy.PrivacySettings`).

    Raises:
        ModelNotFoundError: Weights are missing or cannot be loaded.
    """

    def __init__(
        self,
        settings: DetectionSettings,
        camera,
        *,
        stills: bool = False,
        snapshot_dir: Path | None = None,
        frame: LocalFrame | None = None,
        geotag: bool = True,
        fps: float | None = None,
        model=None,
        face_detector: FaceMaskDetector | None = None,
        privacy: PrivacySettings | None = None,
    ) -> None:
        self.settings = settings
        self.privacy = privacy or PrivacySettings()
        self.camera = camera
        self.stills = stills
        self.snapshot_dir = Path(snapshot_dir) if snapshot_dir is not None else None
        self.local_frame = frame
        self.geotag = geotag
        self.fps = fps
        if model is None:
            model = load_yolo(resolve_model_path(settings))
        self.detector = PersonDetector(
            model,
            conf=settings.conf,
            iou=settings.iou,
            imgsz=settings.imgsz,
            tile_overlap=settings.tile_overlap,
            classes=settings.classes,
            min_person_px=settings.min_person_px,
            tile_below_px=settings.tile_below_px,
        )
        self.profile = self.detector.profile
        self.crowds = CrowdCounter(
            settings, stills=stills, on_error=self._density_failed, origin=self._camera_xy
        )
        self.face_detector: FaceMaskDetector | None = None
        if settings.mask.enabled:
            self.face_detector = face_detector or load_face_mask_detector(
                resolve_face_model_path(settings), conf=settings.mask.conf
            )
            self.face_detector.judge_incorrect = settings.mask.judge_incorrect
        self.privacy_faces = self._privacy_face_detector(face_detector)
        self._face_pass: FacePass | None = None
        self.tracker = None
        if not stills:
            from detection.tracking import Tracker

            self.tracker = Tracker(
                settings.tracker,
                fps=fps,
                lost_s=settings.track_lost_s,
                high_thresh=self.detector.conf,
            )
        self.gatherings = GatheringDetector(settings.gathering, stills=stills)
        self.masks = MaskVoter(settings.mask, stills=stills)
        self._intrinsics: dict[tuple[int, int], CameraIntrinsics] = {}
        self._track_last_seen: dict[int, int] = {}
        if self.snapshot_dir is not None:
            self.snapshot_dir.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ helpers

    def _privacy_face_detector(self, given: FaceMaskDetector | None) -> FaceMaskDetector | None:
        """The face detector of the full-frame privacy pass (the mask check's when loaded)."""
        p = self.privacy
        if (
            p.blur == "off"
            or p.face_pass == "never"
            or (p.face_pass == "stills" and not self.stills)
        ):
            return None
        if self.face_detector is not None:
            return self.face_detector
        try:
            return given or load_face_mask_detector(
                resolve_face_model_path(self.settings), conf=self.settings.mask.conf
            )
        except ModelNotFoundError as exc:
            log.warning(
                "privacy: no face detector (%s): only heads of detected persons are blurred", exc
            )
            return None

    def intrinsics(self, width_px: int, height_px: int) -> CameraIntrinsics:
        """Camera intrinsics for a frame size (cached)."""
        key = (width_px, height_px)
        intr = self._intrinsics.get(key)
        if intr is None:
            intr = CameraIntrinsics.from_settings(self.camera, width_px, height_px)
            self._intrinsics[key] = intr
        return intr

    def want_tiles(self, env: Envelope | None) -> bool:
        """Tiling decision: ``on``/``off`` as configured; ``auto`` from the expected person size.

        ``auto`` slices when the model's profile says slicing helps it (measured per model,
        :mod:`detection.models`) and a person at full-frame scale would be smaller than the
        profile's ``tile_below_px`` at model input (:func:`detection.envelope.frame_envelope`).
        """
        mode = self.settings.tiling
        if mode != "auto":
            return mode == "on"
        if env is None or not self.profile.tiling:
            return False
        return env.person_px_full < self.profile.tile_below_px

    def _camera_xy(self, pose: Pose) -> tuple[float, float]:
        """The camera's ground position in the pipeline's local frame, metres."""
        if self.local_frame is None:
            return 0.0, 0.0
        return self.local_frame.to_local(pose.lat_deg, pose.lon_deg)

    def _density_failed(self, exc: Exception) -> None:
        log.warning("crowd density counting is off: %s", exc)

    def warm_up(self) -> None:
        """Load now what the first crowd would otherwise load mid-flight.

        scikit-learn's DBSCAN import takes about a second (more on a loaded machine): long
        enough to fly past a group at a high speed-up. Call it before the frames start.
        """
        from detection.gatherings import cluster_positions

        cluster_positions(np.array([[0.0, 0.0], [0.5, 0.0], [0.0, 0.5]]), 1.0, 2)

    def close(self) -> None:
        """Stop the density worker thread (the pipeline can still process frames without it)."""
        self.crowds.close()

    def reset(self) -> None:
        """Forget tracks, gatherings and mask votes (a new flight or a jump in the video)."""
        self._face_pass = None
        if self.tracker is not None:
            self.tracker.reset()
        self.gatherings.reset()
        self.masks.reset()
        self.crowds.reset()
        self._track_last_seen.clear()

    # ------------------------------------------------------------------ main entry

    def process(
        self, image: np.ndarray, t_s: float, pose: Pose | None, frame_index: int
    ) -> FrameResult:
        """Run the pipeline on one frame.

        Args:
            image: BGR uint8 frame, shape (H, W, 3).
            t_s: Capture time, UNIX seconds.
            pose: Vehicle/camera pose at capture time (height above ground in ``alt_m``); None
                disables ground projection and with it gatherings and geotags.
            frame_index: The frame's index in its source.

        Returns:
            :class:`FrameResult`.
        """
        timings: dict[str, float] = {}
        t_start = time.perf_counter()
        h, w = image.shape[:2]
        intr = self.intrinsics(w, h)
        kw = {
            "stabilised": self.settings.gimbal_stabilised,
            "max_range_m": self.settings.max_range_m,
        }
        gsd = gsd_cm_px(intr, pose, **kw) if pose is not None and pose.alt_m > 0 else None
        env = (
            frame_envelope(intr, pose, gsd, self.settings.imgsz, self.profile.min_person_px)
            if gsd is not None
            else None
        )
        tiled = self.want_tiles(env)
        if env is not None and tiled:
            env = env.sliced_at(min(w, h), self.settings.imgsz)

        t0 = time.perf_counter()
        raw = self.detector.detect(image, tiled=tiled)
        t1 = time.perf_counter()
        timings["detect"] = (t1 - t0) * 1000

        # ground positions of every detection (the ground tracker associates on them)
        n_raw = len(raw)
        raw_xyxy = raw.xyxy.astype(float) if n_raw else np.zeros((0, 4))
        pitch = pose.gimbal_pitch_deg if pose is not None else -90.0
        raw_feet = foot_point(raw_xyxy, pitch)
        raw_xy = np.full((n_raw, 2), np.nan)
        raw_lat_lon = np.full((n_raw, 2), np.nan)
        jitter = np.zeros(n_raw)
        projected = pose is not None and pose.alt_m > 0
        if pose is not None and self.local_frame is None:
            self.local_frame = LocalFrame(pose.lat_deg, pose.lon_deg)
        if projected and n_raw:
            en = ground_offsets(intr, pose, raw_feet, **kw)
            cam_x, cam_y = self.local_frame.to_local(pose.lat_deg, pose.lon_deg)
            raw_xy = en + np.array([cam_x, cam_y])
            ok = ~np.isnan(raw_xy).any(axis=1)
            if ok.any():
                raw_lat_lon[ok] = self.local_frame.to_geo_array(raw_xy[ok])
            if self.tracker is not None and self.tracker.kind == "ground":
                jitter = foot_jitter_m(intr, pose, raw_xyxy, raw_feet, en, **kw)
        raw.data["foot_px"] = raw_feet
        raw.data["xy_m"] = raw_xy
        raw.data["lat_lon"] = raw_lat_lon
        crowd = (
            self.crowds.estimate(image, raw_xyxy, raw_xy, frame_index, t_s, intr, pose, kw)
            if projected
            else None
        )
        t2 = time.perf_counter()
        timings["geo"] = (t2 - t1) * 1000 - (crowd.density_ms if crowd else 0.0)
        timings["density"] = crowd.density_ms if crowd else 0.0

        if self.tracker is not None:
            dets = self.tracker.update(
                raw,
                image,
                ground_xy=raw_xy if projected else None,
                jitter_m=jitter,
                t_s=t_s,
            )
            track_ids = dets.tracker_id
        else:
            dets = raw
            track_ids = None
        t3 = time.perf_counter()
        timings["track"] = (t3 - t2) * 1000

        n = len(dets)
        xyxy = dets.xyxy.astype(float) if n else np.zeros((0, 4))
        conf = dets.confidence if n and dets.confidence is not None else np.ones(n)
        feet = dets.data["foot_px"] if n else np.zeros((0, 2))
        xy = dets.data["xy_m"] if n else np.zeros((0, 2))
        lat_lon = dets.data["lat_lon"] if n else np.zeros((0, 2))

        current, to_alert = self.gatherings.update(
            t_s,
            xy,
            track_ids,
            conf,
            min_samples=self.settings.density.min_boxes if self.crowds.enabled else None,
            estimate=(lambda m: crowd_estimate_for(crowd, xy, m)) if crowd else None,
            packed=[c for c in crowd.crowds if len(c.members) == 0] if crowd else None,
        )
        for g in current:
            if self.local_frame is not None:
                lat, lon = self.local_frame.to_geo(*g.centroid_xy)
                g.centroid_lat_lon = (float(lat), float(lon))
        # the detector goes on updating its candidates (member_index is into *this* frame's
        # arrays): the result keeps copies, read later by other threads (live video, recorder)
        current = [copy.copy(g) for g in current]
        t4 = time.perf_counter()
        timings["gather"] = (t4 - t3) * 1000

        keys = (
            [int(t) for t in track_ids] if track_ids is not None else [-(i + 1) for i in range(n)]
        )
        if self.stills:
            self.masks.reset()
        faces_by_index: dict[int, np.ndarray] = {}
        if self.face_detector is not None and n:
            min_px = self.settings.mask.min_face_px
            look = [
                i
                for i in range(n)
                if could_show_face(xyxy[i], min_px)
                and self.masks.needs_look(keys[i], frame_index, xyxy[i, 3] - xyxy[i, 1])
            ]
            for idx in self._look_order(look, xyxy, image.shape):
                faces = faces_in_batch(self.face_detector, image, xyxy[idx])
                for i, face in zip(idx, faces, strict=True):
                    self.masks.add(keys[i], face, frame_index, xyxy[i, 3] - xyxy[i, 1])
                    if face is not None:
                        faces_by_index[i] = face.xyxy
        t5 = time.perf_counter()
        timings["mask"] = (t5 - t4) * 1000
        privacy_xyxy = self._privacy_regions(image, raw, faces_by_index, frame_index)
        t5b = time.perf_counter()
        timings["privacy"] = (t5b - t5) * 1000
        t5 = t5b

        persons = []
        for i in range(n):
            ok = not np.isnan(xy[i]).any()
            persons.append(
                Person(
                    xyxy=xyxy[i],
                    confidence=float(conf[i]),
                    track_id=int(track_ids[i]) if track_ids is not None else None,
                    foot_px=(float(feet[i, 0]), float(feet[i, 1])),
                    lat_deg=float(lat_lon[i, 0]) if ok else None,
                    lon_deg=float(lat_lon[i, 1]) if ok else None,
                    xy_m=(float(xy[i, 0]), float(xy[i, 1])) if ok else None,
                    mask=self.masks.label(keys[i]),
                    face_xyxy=faces_by_index.get(i),
                )
            )

        alerts: list[Alert] = []
        for g in to_alert:
            alerts.append(self._gathering_alert(g, image, xyxy, t_s, frame_index))
        for i in range(n):
            if self.masks.take_alert(keys[i]):
                alerts.append(self._mask_alert(persons[i], keys[i], image, t_s, frame_index))
        if track_ids is not None:
            for tid in keys:
                self._track_last_seen[tid] = frame_index
            horizon = max(30, int((self.fps or 10.0) * self.settings.track_lost_s * 5))
            if frame_index % 50 == 0:
                alive = {k for k, f in self._track_last_seen.items() if frame_index - f <= horizon}
                self._track_last_seen = {k: self._track_last_seen[k] for k in alive}
                self.masks.keep_only(alive)
        t6 = time.perf_counter()
        timings["alert"] = (t6 - t5) * 1000
        timings["total"] = (t6 - t_start) * 1000
        return FrameResult(
            frame_index=frame_index,
            t_s=t_s,
            pose=pose,
            persons=persons,
            raw_detections=raw,
            gatherings=current,
            alerts=alerts,
            gsd_cm_px=gsd,
            tiled=tiled,
            timings_ms=timings,
            people_estimate=crowd.people_estimate if crowd else float(n_raw),
            crowds=crowd.crowds if crowd else [],
            envelope=env,
            privacy_xyxy=privacy_xyxy,
            privacy_style=self.privacy.style,
        )

    def _look_order(self, look: list[int], xyxy: np.ndarray, shape) -> list[list[int]]:
        """The persons the face-mask model looks at on this frame, one list per model run
        (:func:`detection.masks.look_batches`): every batch for a photo, else the
        :data:`~detection.masks.MAX_RUNS_PER_FRAME` batches of the tallest people."""
        if not look:
            return []
        sub = xyxy[look]
        batches = look_batches(sub, shape, self.face_detector.input_wh)
        if not self.stills:
            h = sub[:, 3] - sub[:, 1]
            batches = sorted(batches, key=lambda b: -float(h[b].max()))[:MAX_RUNS_PER_FRAME]
        return [[look[j] for j in b] for b in batches]

    def _privacy_regions(
        self,
        image: np.ndarray,
        raw: sv.Detections,
        faces_by_index: dict[int, np.ndarray],
        frame_index: int = 0,
    ) -> np.ndarray:
        """Regions to hide on this frame: heads (or whole boxes) of every raw person, faces the
        mask check found (after the check) and faces of the full-frame pass."""
        if self.privacy.blur == "off":
            return np.zeros((0, 4))
        faces = [np.asarray(f, dtype=float).reshape(4) for f in faces_by_index.values()]
        persons = raw.xyxy if len(raw) else np.zeros((0, 4))
        if self.privacy_faces is not None and self.stills:
            faces += list(full_frame_faces(self.privacy_faces, image, self.privacy.face_pass_px))
        elif self.privacy_faces is not None:
            if self._face_pass is None:
                lost = round((self.fps or 10.0) * self.settings.track_lost_s)
                self._face_pass = FacePass(self.privacy_faces, self.privacy, lost_frames=lost)
            heads = head_boxes(persons, shape=image.shape)
            cut = touches_edge(persons, image.shape)
            faces += list(self._face_pass.faces(image, frame_index, heads, cut))
        return privacy_regions(
            self.privacy.blur,
            persons,
            np.array(faces).reshape(-1, 4) if faces else None,
            stills=self.stills,
            shape=image.shape,
        )

    # ------------------------------------------------------------------ alerts

    def _geo(self, lat_lon: tuple[float, float] | None) -> tuple[float | None, float | None]:
        if not self.geotag or lat_lon is None:
            return None, None
        return lat_lon

    def _gathering_alert(
        self, g: Gathering, image: np.ndarray, xyxy: np.ndarray, t_s: float, frame_index: int
    ) -> Alert:
        lat, lon = self._geo(g.centroid_lat_lon)
        alert = Alert(
            kind=AlertKind.GATHERING,
            t_s=t_s,
            lat_deg=lat,
            lon_deg=lon,
            confidence=float(min(1.0, max(0.0, g.confidence))),
            count=max(g.count, int(round(g.people_estimate))),
            track_ids=sorted(g.track_ids),
            radius_m=round(g.radius_m, 2),
            first_seen_s=g.first_seen_s,
            last_seen_s=g.last_seen_s,
            frame_index=frame_index,
            message=(
                f"{max(g.count, round(g.people_estimate))} people within {g.radius_m:.1f} m "
                f"for {g.duration_s:.0f} s"
            ),
        )
        if len(g.member_index):
            boxes = xyxy[g.member_index]
            region = np.array([*boxes[:, :2].min(axis=0), *boxes[:, 2:].max(axis=0)])
        else:  # a packed crowd found by density alone
            region = np.array(g.crop_xyxy or (0, 0, image.shape[1], image.shape[0]), float)
        alert.snapshot = self._snapshot(image, region, alert)
        return alert

    def _mask_alert(
        self, person: Person, key: int, image: np.ndarray, t_s: float, frame_index: int
    ) -> Alert:
        kind = AlertKind.UNMASKED if person.mask is MaskLabel.UNMASKED else AlertKind.MASK_INCORRECT
        colour = clear_colour(image, person.xyxy, "upper")
        lower = clear_colour(image, person.xyxy, "lower") if colour is not None else None
        lat, lon = self._geo(
            (person.lat_deg, person.lon_deg) if person.lat_deg is not None else None
        )
        alert = Alert(
            kind=kind,
            t_s=t_s,
            lat_deg=lat,
            lon_deg=lon,
            confidence=float(min(1.0, person.confidence * self.masks.vote_share(key))),
            count=1,
            track_ids=[person.track_id] if person.track_id is not None else [],
            colour=colour.en if colour else None,
            colour_zh=colour.zh if colour else None,
            lower_colour=lower.en if lower else None,
            lower_colour_zh=lower.zh if lower else None,
            first_seen_s=t_s,
            last_seen_s=t_s,
            frame_index=frame_index,
            message=(
                f"person in {_describe(colour, lower)} "
                f"{'without a mask' if kind is AlertKind.UNMASKED else 'with the mask below the nose'}"
            ),
        )
        alert.snapshot = self._snapshot(image, person.xyxy, alert)
        return alert

    def _snapshot(self, image: np.ndarray, xyxy: np.ndarray, alert: Alert) -> str | None:
        if self.snapshot_dir is None:
            return None
        h, w = image.shape[:2]
        x1, y1, x2, y2 = (float(v) for v in xyxy)
        pad_x = max(8.0, 0.2 * (x2 - x1))
        pad_y = max(8.0, 0.2 * (y2 - y1))
        c = sv.clip_boxes(np.array([[x1 - pad_x, y1 - pad_y, x2 + pad_x, y2 + pad_y]]), (w, h))[
            0
        ].astype(int)
        crop = image[c[1] : c[3], c[0] : c[2]]
        if crop.size == 0:
            return None
        path = self.snapshot_dir / f"{alert.kind.value}_{alert.frame_index:06d}_{alert.id}.jpg"
        if not cv2.imwrite(str(path), crop, [cv2.IMWRITE_JPEG_QUALITY, 90]):
            log.warning("cannot write snapshot %s", path)
            return None
        return str(path)
