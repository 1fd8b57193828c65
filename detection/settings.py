"""Settings of the detection pipeline (config section ``detection``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

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


class MaskSettings(StrictModel):
    """Face-mask classification."""

    enabled: bool = True
    min_face_px: int = Field(default=24, ge=1)
    """Faces smaller than this (pixels, box height) are labelled unknown, never guessed."""
    frames_to_confirm: int = Field(default=3, ge=1)
    """Votes needed per track before an unmasked alert (video only; stills judge alone)."""
    face_model: Path | None = None
    """Face / mask detector weights; default searched under ../shared/models."""
    conf: float = Field(default=0.5, gt=0, le=1)


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
    """Tiled inference for small people; ``auto`` switches it on from the GSD."""
    tracker: Literal["bytetrack", "botsort"] = "bytetrack"
    gathering: GatheringSettings = GatheringSettings()
    mask: MaskSettings = MaskSettings()
