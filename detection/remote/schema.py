"""Versioned JSON messages between a remote detector and the ground station, and their topics.

Both sides use this module: the detector encodes (:func:`encode_result`, :func:`encode_alert`,
:func:`encode_status`), the ground station decodes and validates (:func:`decode`). Every message
is one UTF-8 JSON object with ``"v"`` (:data:`SCHEMA_VERSION`) and ``"type"``; a message that is
not valid JSON, has another major version, or misses or mistypes a field raises
:class:`MessageError` with a one-line reason (the consumer logs it and skips the message).

Topics (``docs/remote-detection.md``), for a prefix (default ``dronepatrol``) and a vehicle id::

    <prefix>/v1/<vehicle>/results   one ResultMessage per analysed frame      QoS 1
    <prefix>/v1/<vehicle>/alerts    one AlertMessage per alert                QoS 1
    <prefix>/v1/<vehicle>/status    StatusMessage online/offline, retained    QoS 1 (last will: offline)

Units: times are UNIX seconds (``t_s`` the frame's capture time on the detector's clock, which
pairs the frame with the vehicle's pose), pixels for boxes (``xyxy`` = x1, y1, x2, y2 in the
frame of ``width_px`` x ``height_px``), WGS-84 degrees, metres.
"""

from __future__ import annotations

import base64
import json
import math
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from detection.alerts import Alert
from missions.errors import DronePatrolError

SCHEMA_VERSION = 1
"""Major version of the message schema; a reader rejects any other (fields may be added
within a version; readers ignore fields they do not know)."""

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
"""Largest message accepted (an alert with its JPEG snapshot is typically 10-60 kB)."""


class MessageError(DronePatrolError):
    """A message that is not a valid message of this schema (one line: what is wrong)."""


class Topics:
    """The topic names of one vehicle.

    Args:
        prefix: Topic prefix (no leading or trailing ``/``), default ``dronepatrol``.
        vehicle: Vehicle id (a topic level: no ``/``, ``+`` or ``#``).

    Raises:
        MessageError: The prefix or vehicle id cannot be used in a topic.
    """

    def __init__(self, prefix: str = "dronepatrol", vehicle: str = "1") -> None:
        prefix = prefix.strip("/")
        vehicle = str(vehicle)
        if not prefix or any(c in prefix for c in "+#"):
            raise MessageError(f"topic prefix {prefix!r}: must be non-empty, without + or #")
        if not vehicle or any(c in vehicle for c in "/+#"):
            raise MessageError(f"vehicle id {vehicle!r}: must be non-empty, without / + or #")
        self.prefix = prefix
        self.vehicle = vehicle
        base = f"{prefix}/v{SCHEMA_VERSION}/{vehicle}"
        self.results = f"{base}/results"
        self.alerts = f"{base}/alerts"
        self.status = f"{base}/status"

    def all(self) -> list[str]:
        """The three topics, results first."""
        return [self.results, self.alerts, self.status]


class _Msg(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=False)

    v: int
    vehicle: str = Field(min_length=1)
    sent_s: float = Field(default=0.0, description="publish time on the detector's clock, UNIX s")

    @field_validator("v")
    @classmethod
    def _version(cls, v: int) -> int:
        if v != SCHEMA_VERSION:
            raise ValueError(
                f"schema version {v} is not supported (this side reads {SCHEMA_VERSION})"
            )
        return v


def _finite(v: float) -> float:
    if not math.isfinite(v):
        raise ValueError("must be a finite number")
    return v


class Box(BaseModel):
    """One detected person (raw detection or tracked person).

    Attributes:
        xyxy: Box ``[x1, y1, x2, y2]``, pixels.
        confidence: Detector confidence, 0..1.
        foot_px: Ground contact pixel ``[x, y]``.
        lat_deg, lon_deg: Ground position, or None when not projected.
        track_id: Tracker id (persons only; None for raw detections and stills).
        mask: Settled mask label: ``masked``, ``unmasked``, ``incorrect`` or ``unknown``.
        face_xyxy: The face box found on this frame, pixels, or None.
    """

    model_config = ConfigDict(extra="ignore")

    xyxy: tuple[float, float, float, float]
    confidence: float = Field(ge=0, le=1)
    foot_px: tuple[float, float]
    lat_deg: float | None = Field(default=None, ge=-90, le=90)
    lon_deg: float | None = Field(default=None, ge=-180, le=180)
    track_id: int | None = None
    mask: Literal["masked", "unmasked", "incorrect", "unknown"] = "unknown"
    face_xyxy: tuple[float, float, float, float] | None = None

    @field_validator("xyxy", "foot_px")
    @classmethod
    def _finite_px(cls, v):
        for x in v:
            _finite(x)
        return v


class GatheringInfo(BaseModel):
    """A gathering present on the frame (alerted or not yet).

    Attributes:
        id: Candidate id, stable while the detector follows it.
        count: Members on this frame; ``people_estimate`` with crowd density.
        track_ids: Members' tracker ids.
        lat_deg, lon_deg: Centroid, or None.
        radius_m: Largest member distance from the centroid, metres.
        alerted: An alert was raised for it.
    """

    model_config = ConfigDict(extra="ignore")

    id: int
    count: int = Field(ge=0)
    people_estimate: float = Field(default=0.0, ge=0)
    track_ids: list[int] = Field(default_factory=list)
    lat_deg: float | None = Field(default=None, ge=-90, le=90)
    lon_deg: float | None = Field(default=None, ge=-180, le=180)
    radius_m: float = Field(default=0.0, ge=0)
    alerted: bool = False


class PoseInfo(BaseModel):
    """The pose the detector used for the frame (:class:`missions.geo.Pose` fields), or absent
    when the detector had none (then the ground station geotags with its own telemetry)."""

    model_config = ConfigDict(extra="ignore")

    t_s: float
    lat_deg: float = Field(ge=-90, le=90)
    lon_deg: float = Field(ge=-180, le=180)
    alt_m: float
    roll_deg: float = 0.0
    pitch_deg: float = 0.0
    yaw_deg: float = 0.0
    gimbal_pitch_deg: float = -90.0
    gimbal_yaw_deg: float = 0.0


class ResultMessage(_Msg):
    """One analysed frame (topic ``.../results``).

    Attributes:
        type: ``"result"``.
        frame_index: The frame's index in the detector's source.
        t_s: Capture time of the frame, UNIX seconds: pairs it with the vehicle's pose.
        width_px, height_px: Frame size, pixels.
        pose: The pose the detector projected with, or None.
        persons: People on confirmed tracks (:class:`Box` with ``track_id`` and ``mask``).
        detections: Every person box the detector found on the frame, before tracking.
        gatherings: Gatherings present on the frame.
        people_estimate: Boxes plus what crowd density adds.
        alert_ids: Ids of the alerts this frame raised (each sent on ``.../alerts``).
        timings_ms: Pipeline stage times on the detector, milliseconds.
    """

    type: Literal["result"] = "result"
    frame_index: int = Field(ge=0)
    t_s: float
    width_px: int = Field(gt=0)
    height_px: int = Field(gt=0)
    pose: PoseInfo | None = None
    persons: list[Box] = Field(default_factory=list)
    detections: list[Box] = Field(default_factory=list)
    gatherings: list[GatheringInfo] = Field(default_factory=list)
    people_estimate: float = Field(default=0.0, ge=0)
    alert_ids: list[str] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)


class AlertMessage(_Msg):
    """One alert (topic ``.../alerts``): the :class:`detection.alerts.Alert` fields, and the
    snapshot crop as base64 JPEG (``snapshot`` is the detector's path, meaningless here).

    Attributes:
        type: ``"alert"``.
        alert: The alert.
        snapshot_jpeg: Base64 of the JPEG crop, or None.
    """

    type: Literal["alert"] = "alert"
    alert: Alert
    snapshot_jpeg: str | None = None

    def snapshot_bytes(self) -> bytes | None:
        """The decoded JPEG, or None (also when the base64 is broken)."""
        if not self.snapshot_jpeg:
            return None
        try:
            return base64.b64decode(self.snapshot_jpeg, validate=True)
        except ValueError:
            return None


class StatusMessage(_Msg):
    """The detector's state (topic ``.../status``, retained; the last will says ``offline``).

    Attributes:
        type: ``"status"``.
        state: ``online`` or ``offline``.
        detail: Free text (source, model, why it went offline).
    """

    type: Literal["status"] = "status"
    state: Literal["online", "offline"]
    detail: str = ""


_TYPES = {"result": ResultMessage, "alert": AlertMessage, "status": StatusMessage}


def _dump(msg: _Msg) -> bytes:
    return json.dumps(
        msg.model_dump(mode="json", exclude_none=False), ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


def _box(xyxy, confidence, foot, lat, lon, **extra) -> dict:
    return {
        "xyxy": [round(float(v), 1) for v in xyxy],
        "confidence": round(float(confidence), 4),
        "foot_px": [round(float(foot[0]), 1), round(float(foot[1]), 1)],
        "lat_deg": None if lat is None or not math.isfinite(lat) else round(float(lat), 8),
        "lon_deg": None if lon is None or not math.isfinite(lon) else round(float(lon), 8),
        **extra,
    }


def encode_result(result, vehicle: str, width_px: int, height_px: int) -> bytes:
    """A :class:`detection.pipeline.FrameResult` as a ``result`` message.

    Args:
        result: The pipeline's result for one frame.
        vehicle: Vehicle id.
        width_px, height_px: The frame's size, pixels.

    Returns:
        UTF-8 JSON bytes.
    """
    raw = result.raw_detections
    dets = []
    if len(raw):
        conf = raw.confidence if raw.confidence is not None else [1.0] * len(raw)
        feet = raw.data.get("foot_px")
        lat_lon = raw.data.get("lat_lon")
        for i in range(len(raw)):
            lat, lon = (lat_lon[i][0], lat_lon[i][1]) if lat_lon is not None else (None, None)
            foot = feet[i] if feet is not None else raw.xyxy[i][[0, 3]]
            dets.append(_box(raw.xyxy[i], conf[i], foot, lat, lon))
    persons = [
        _box(
            p.xyxy,
            p.confidence,
            p.foot_px,
            p.lat_deg,
            p.lon_deg,
            track_id=p.track_id,
            mask=p.mask.value,
            face_xyxy=[round(float(v), 1) for v in p.face_xyxy]
            if p.face_xyxy is not None
            else None,
        )
        for p in result.persons
    ]
    gatherings = [
        {
            "id": int(g.id),
            "count": int(g.count),
            "people_estimate": round(float(max(g.count, g.people_estimate)), 1),
            "track_ids": [int(t) for t in g.track_ids],
            "lat_deg": g.centroid_lat_lon[0] if g.centroid_lat_lon else None,
            "lon_deg": g.centroid_lat_lon[1] if g.centroid_lat_lon else None,
            "radius_m": round(float(g.radius_m), 2),
            "alerted": bool(g.alerted),
        }
        for g in result.gatherings
    ]
    pose = result.pose.to_dict() if result.pose is not None else None
    msg = {
        "v": SCHEMA_VERSION,
        "type": "result",
        "vehicle": vehicle,
        "sent_s": time.time(),
        "frame_index": int(result.frame_index),
        "t_s": float(result.t_s),
        "width_px": int(width_px),
        "height_px": int(height_px),
        "pose": pose,
        "persons": persons,
        "detections": dets,
        "gatherings": gatherings,
        "people_estimate": round(float(result.people_estimate), 1),
        "alert_ids": [a.id for a in result.alerts],
        "timings_ms": {k: round(float(v), 2) for k, v in result.timings_ms.items()},
    }
    return json.dumps(msg, ensure_ascii=False, separators=(",", ":"), default=_plain).encode()


def _plain(o):
    """JSON fallback for numpy scalars (``float(np.float32)``)."""
    try:
        return o.item()
    except AttributeError:
        raise TypeError(f"{type(o).__name__} is not JSON serialisable") from None


def encode_alert(alert: Alert, vehicle: str, snapshot: bytes | None = None) -> bytes:
    """An :class:`detection.alerts.Alert` as an ``alert`` message.

    Args:
        alert: The alert (its ``snapshot`` path is sent as is; the image goes in ``snapshot``).
        vehicle: Vehicle id.
        snapshot: The JPEG crop's bytes, or None.
    """
    msg = AlertMessage(
        v=SCHEMA_VERSION,
        vehicle=vehicle,
        sent_s=time.time(),
        alert=alert,
        snapshot_jpeg=base64.b64encode(snapshot).decode("ascii") if snapshot else None,
    )
    return _dump(msg)


def encode_status(state: str, vehicle: str, detail: str = "") -> bytes:
    """A ``status`` message (``online`` or ``offline``)."""
    return _dump(StatusMessage(v=SCHEMA_VERSION, vehicle=vehicle, state=state, detail=detail))


def decode(payload: bytes | str) -> ResultMessage | AlertMessage | StatusMessage:
    """Parse and validate one message.

    Args:
        payload: The MQTT payload (UTF-8 JSON).

    Returns:
        The message, by its ``type``.

    Raises:
        MessageError: Not JSON, not an object, too big, unknown type, another schema version, or
            a missing / invalid field; the message names the first problem in one line.
    """
    if isinstance(payload, str):
        payload = payload.encode("utf-8", errors="replace")
    if len(payload) > MAX_MESSAGE_BYTES:
        raise MessageError(f"message of {len(payload)} bytes is over {MAX_MESSAGE_BYTES} bytes")
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MessageError(f"not JSON: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise MessageError(f"not a JSON object but {type(data).__name__}")
    kind = data.get("type")
    cls = _TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise MessageError(f"unknown message type {kind!r} (expected one of {sorted(_TYPES)})")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        raise MessageError(f"{kind} message: {where}: {first['msg']}") from None
