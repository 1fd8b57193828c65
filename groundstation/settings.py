"""Settings owned by the ground station (config sections ``connection``, ``policy``,
``overlay``, ``recording``, ``safety``)."""

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
    """What the patrol does when an alert is raised (``docs/patrol.md``).

    Durations are vehicle time: with the embedded simulator at speed-up N they pass N times faster
    than wall-clock time, like everything else the vehicle does.
    """

    alert_policy: Literal["hover_and_speak", "speak_only", "log_only"] = "hover_and_speak"
    """``hover_and_speak``: hold over a gathering (inside the fence), speak the reminder, wait
    ``hover_s``, resume the mission at the same item; reminders for people without masks are
    spoken in flight. ``speak_only``: speak and keep flying. ``log_only``: record only."""
    hover_s: float = Field(default=15.0, ge=0)
    """After the reminder, wait this long over the gathering before resuming the mission, s."""
    confirm_s: float = Field(default=10.0, ge=0)
    """hover_and_speak: when several people close together are seen in flight, hold and watch
    them this long for the detector to confirm a gathering (tracking and persistence need a
    steady view), seconds; then resume if none is confirmed."""
    revisit_s: float = Field(default=300.0, ge=0)
    """No second hold within ``revisit_m`` of a place held over less than this long ago, s."""
    revisit_m: float = Field(default=30.0, ge=0)
    """Radius of a place for ``revisit_s``, metres."""
    low_battery_pct: float = Field(default=20.0, ge=0, le=100)
    """A battery_low alert is raised when the remaining charge drops to this, percent. Below the
    planner's ``sorties.reserve_pct`` (25): a sortie flown as planned lands without it."""
    low_battery_action: Literal["rtl", "warn"] = "rtl"
    """On battery_low while flying the survey: ``rtl`` ends the sortie (return to launch),
    ``warn`` only alerts (the autopilot's own battery failsafe still applies)."""


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
    """Flight recordings for analysts (``docs/recording.md``)."""

    dir: Path = Field(default=Path("recordings"), json_schema_extra={"cwd_relative": True})
    """Output folder; relative to the working directory (not to the config file)."""
    segment_s: float = Field(default=60.0, gt=0)
    """Length of each annotated video segment, seconds."""
    video: bool = True
    """Record the annotated video (ffmpeg MPEG-TS segments; JPEG segments without ffmpeg)."""


class SafetySettings(StrictModel):
    """Pre-flight checks of ``fly`` and ``patrol`` (:mod:`groundstation.preflight`, ``docs/safety.md``).

    Each refusal names its check; ``--force-unsafe CHECK`` overrides one check for one flight.
    """

    max_range_m: float = Field(default=10_000.0, gt=0)
    """No mission item may be farther than this from home, metres."""
    min_alt_m: float = Field(default=5.0, ge=0)
    """No waypoint, loiter or take-off may be lower than this above home (terrain frames: above
    terrain), metres."""
    gcs_failsafe: Literal["set", "require"] = "set"
    """The vehicle's GCS failsafe (FS_GCS_ENABLE) when it is off: ``set`` enables it (1 = RTL,
    FS_GCS_TIMEOUT = ``gcs_timeout_s``) and says so; ``require`` refuses to take off."""
    gcs_timeout_s: float = Field(default=5.0, ge=2, le=60)
    """FS_GCS_TIMEOUT written by ``gcs_failsafe: set``, seconds without this ground station's
    heartbeat before the vehicle returns."""
