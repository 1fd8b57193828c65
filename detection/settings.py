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
    cooldown_s: float = Field(default=120.0, ge=0)
    """The same gathering is not alerted again within this time."""
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


class DetectionSettings(StrictModel):
    """Person detection, tracking and alerting."""

    model: Path | None = None
    """Ultralytics weights (.pt, .onnx or OpenVINO folder). Default: $DRONEPATROL_MODEL, then
    ../shared/models/yolo11n-int8-openvino/yolo11n_int8_openvino_model."""
    source: str | None = None
    """Video source: file, image folder, camera index, rtsp://, udp://, http://, or ``sim``."""
    conf: float = Field(default=0.25, gt=0, le=1)
    iou: float = Field(default=0.5, gt=0, le=1)
    imgsz: int = Field(default=640, ge=32)
    tiling: Literal["auto", "on", "off"] = "auto"
    """Tiled inference for small people; ``auto`` switches it on from the GSD. YAML booleans
    are accepted (``on``/``off`` unquoted are booleans in YAML 1.1: true -> on, false -> off)."""
    tile_overlap: float = Field(default=0.15, ge=0, lt=0.5)
    """Overlap of neighbouring tiles, fraction of the tile size."""
    tile_below_px: float = Field(default=32.0, gt=0)
    """``auto`` tiles when a person's expected size at model input scale is below this (pixels)."""
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
    gathering: GatheringSettings = GatheringSettings()
    mask: MaskSettings = MaskSettings()

    @field_validator("tiling", mode="before")
    @classmethod
    def _tiling_from_yaml_bool(cls, value):
        """``tiling: off`` unquoted is YAML 1.1's boolean false: read it as ``off`` (true: ``on``)."""
        if isinstance(value, bool):
            return "on" if value else "off"
        return value
