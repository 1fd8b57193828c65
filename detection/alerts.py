"""The :class:`Alert`: what the patrol raises and the rest of the system reacts to.

Born in ``detection`` (gatherings, unmasked people) and also used by ``groundstation`` for safety
events (link loss, low battery, geofence) so that officers see everything in one list.
Serialised as one JSON object per line (JSON Lines) in recordings and ``--alerts`` files.
"""

from __future__ import annotations

import json
import uuid
from enum import Enum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class AlertKind(str, Enum):
    """What an alert is about."""

    GATHERING = "gathering"
    """At least ``detection.gathering.min_people`` people within DBSCAN eps, persisting."""
    UNMASKED = "unmasked"
    """A person whose face is visible enough and carries no mask."""
    MASK_INCORRECT = "mask_incorrect"
    """A mask worn incorrectly (below the nose, on the chin)."""
    LINK_LOST = "link_lost"
    LINK_RECOVERED = "link_recovered"
    BATTERY_LOW = "battery_low"
    GEOFENCE = "geofence"
    FAILSAFE = "failsafe"

    @property
    def is_safety(self) -> bool:
        """True for vehicle-safety kinds (not detections)."""
        return self not in (AlertKind.GATHERING, AlertKind.UNMASKED, AlertKind.MASK_INCORRECT)


class Alert(BaseModel):
    """One alert.

    Attributes:
        id: Unique id (12 hex characters) used by broadcasts and the overlay to refer to it.
        kind: :class:`AlertKind`.
        t_s: UNIX time in seconds when the alert was raised (the frame's timestamp for detections).
        lat_deg, lon_deg: Where (WGS-84 degrees): the gathering centroid or the person's foot
            point; the vehicle position for safety alerts; None when not geotagged.
        confidence: 0..1, the detector's (mean) confidence.
        count: Number of people involved (gathering size; 1 for a person).
        track_ids: Tracker ids of the people involved.
        radius_m: Gathering radius (max distance of a member from the centroid), metres.
        colour: Dominant torso colour, English name (``"red"``), for unmasked alerts.
        colour_zh: The same colour in Chinese (``"红色"``).
        lower_colour, lower_colour_zh: Lower-body (trousers) colour, English and Chinese, when
            it is clear (:func:`detection.colours.clear_colour`), else None.
        first_seen_s, last_seen_s: UNIX times the gathering/person was first and last seen.
        frame_index: Index of the video frame that raised the alert.
        snapshot: Path of a JPEG crop showing the subject (relative to the recording folder when
            recorded), or None.
        message: Free text for safety alerts (``"link lost for 5.0 s"``).
        source: Where the alert was raised (``"detection"``, ``"vehicle"``).
        risk: Class of the district's five-colour risk map where the alert happened (``red``,
            ``orange``, ``yellow``, ``green``, ``white``; :mod:`missions.risk`), None without a
            map, without a position, or outside every mapped household/block.
        vehicle: MAVLink system id of the vehicle that raised it (a fleet patrol), else None.
        sightings: A fleet patrol's merged alert: one entry per sighting, each ``{"vehicle",
            "alert_id", "t_s", "lat_deg", "lon_deg", "count"}`` (``docs/fleet.md``); empty for
            a single vehicle.
    """

    model_config = ConfigDict(extra="ignore", use_enum_values=False)

    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    kind: AlertKind
    t_s: float
    lat_deg: float | None = None
    lon_deg: float | None = None
    confidence: float = Field(default=1.0, ge=0, le=1)
    count: int = Field(default=1, ge=0)
    track_ids: list[int] = Field(default_factory=list)
    radius_m: float | None = None
    colour: str | None = None
    colour_zh: str | None = None
    lower_colour: str | None = None
    lower_colour_zh: str | None = None
    first_seen_s: float | None = None
    last_seen_s: float | None = None
    frame_index: int | None = None
    snapshot: str | None = None
    message: str = ""
    source: str = "detection"
    risk: str | None = None
    vehicle: int | None = None
    sightings: list[dict] = Field(default_factory=list)

    def to_json(self) -> str:
        """One-line JSON (no trailing newline), UTF-8 text kept unescaped."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> Alert:
        """Parse one JSON line written by :meth:`to_json` (unknown keys are ignored).

        Raises:
            pydantic.ValidationError / json.JSONDecodeError: The line is not an alert.
        """
        return cls.model_validate_json(line)


def read_alerts(path: str | Path) -> list[Alert]:
    """Read a JSON Lines file of alerts, tolerating a truncated last line (a killed writer).

    Args:
        path: The .jsonl file.

    Returns:
        The alerts in file order. Blank lines are skipped; an unparseable *last* line is dropped
        (partial write); an unparseable line elsewhere raises.

    Raises:
        missions.errors.InputError: A line other than the last is not a valid alert (names the line).
    """
    from missions.errors import InputError

    p = Path(path)
    lines = p.read_text(encoding="utf-8", errors="replace").splitlines()
    alerts: list[Alert] = []
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            alerts.append(Alert.from_json(line))
        except ValueError as exc:
            if i == len(lines):
                break
            raise InputError(f"{p}:{i}: not a valid alert: {str(exc).splitlines()[0]}") from None
    return alerts
