"""Settings owned by the ground station (config sections ``connection``, ``policy``,
``overlay``, ``recording``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from missions.settings import StrictModel


class ConnectionSettings(StrictModel):
    """How to reach the vehicle."""

    url: str = "sim"
    """``sim`` (start the embedded simulator), tcp:HOST:PORT, udpin:HOST:PORT, udpout:HOST:PORT,
    or a serial device ``/dev/ttyUSB0:57600``."""
    heartbeat_timeout_s: float = Field(default=10.0, gt=0)
    """How long to wait for the first vehicle HEARTBEAT."""
    link_lost_s: float = Field(default=5.0, gt=0)
    """No HEARTBEAT for this long = link lost."""
    signing_key: Path | None = None
    """MAVLink 2 signing key file (32 bytes, or a passphrase hashed with SHA-256)."""


class PolicySettings(StrictModel):
    """What the patrol does when an alert is raised."""

    alert_policy: Literal["hover_and_speak", "speak_only", "log_only"] = "hover_and_speak"
    hover_s: float = Field(default=15.0, ge=0)
    """After the reminder, wait this long over the gathering before resuming the mission."""


class OverlaySettings(StrictModel):
    """Live overlay web app for street officers."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    token: str | None = None
    """Required when host is not a loopback address."""
    tile_url: str | None = None
    """Optional XYZ tile URL template for the map; without it the map draws vectors only."""


class RecordingSettings(StrictModel):
    """Flight recordings for analysts."""

    dir: Path = Field(default=Path("recordings"), json_schema_extra={"cwd_relative": True})
    """Output folder; relative to the working directory (not to the config file)."""
    segment_s: float = Field(default=60.0, gt=0)
    """Length of each annotated video segment, seconds."""
