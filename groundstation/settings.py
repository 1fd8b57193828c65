"""Settings owned by the ground station (config sections ``connection``, ``policy``,
``overlay``, ``recording``, ``display``, ``safety``, ``fleet``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from missions.settings import StrictModel


class ConnectionSettings(StrictModel):
    """How to reach the vehicle."""

    url: str = "sim"
    """``sim`` (start the embedded simulator), ``sitl`` (start ArduPilot SITL: section ``sitl``),
    tcp:HOST:PORT, udpin:HOST:PORT, udpout:HOST:PORT, or a serial device ``/dev/ttyUSB0:57600``."""
    heartbeat_timeout_s: float = Field(default=10.0, gt=0)
    """How long to wait for the first vehicle HEARTBEAT."""
    link_lost_s: float = Field(default=5.0, gt=0)
    """No HEARTBEAT for this long = link lost."""
    signing_key: Path | None = None
    """MAVLink 2 signing key file (32 bytes, or a passphrase hashed with SHA-256)."""


class CloseLookSettings(StrictModel):
    """The close look (``docs/patrol.md``): a person whose face is too small to judge is seen
    from closer, lower and with the gimbal pointed at them (``hover_and_speak`` only)."""

    enabled: bool = True
    """Interrupt the survey for a close look at a person standing alone whose mask state is
    unknown because the face is too small."""
    look_alt_m: float = Field(default=5.0, gt=0)
    """Altitude above home of the look, metres (never below ``min_alt_m``). With
    ``standoff_m`` 4.5 the face is 5.6 m away: about 49 px with the demo camera, where the
    face-mask model is right on 62 of 81 real masked faces and calls 3 unmasked (at 37 px, 6 m
    up and 6 m away: 50 right, 9 called unmasked; benchmarks/close_look.py)."""
    min_alt_m: float = Field(default=5.0, gt=0)
    """Floor: the close look never brings the vehicle lower than this, metres above home."""
    standoff_m: float = Field(default=4.5, ge=2)
    """Horizontal distance kept from the person, metres."""
    watch_s: float = Field(default=20.0, gt=0)
    """Longest watch at the look point before giving up with "unknown", seconds."""
    max_per_sortie: int = Field(default=3, ge=0)
    """Close looks per sortie at most."""
    max_s_per_sortie: float = Field(default=240.0, ge=0)
    """Time per sortie spent on close looks at most (descent, watch, climb), seconds."""
    reserve_pct: float = Field(default=35.0, ge=0, le=100)
    """No close look (and an ongoing one ends) at or below this remaining battery, percent."""
    match_m: float = Field(default=4.0, gt=0)
    """A person seen within this distance of the place looked at is the person looked at, m."""
    once_m: float = Field(default=10.0, gt=0)
    """One close look per place: no new look at a person geotagged within this distance of a
    place looked at (or refused) before, metres. Larger than ``match_m`` because a person seen
    from far ahead by the oblique camera is geotagged metres off (a CI run of the demo put one
    person 7.8 m from where the look had found them, and spent the sortie's budget on it)."""


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
    close_look: CloseLookSettings = Field(default_factory=CloseLookSettings)
    """The close look at a person whose mask state is unknown (``hover_and_speak`` only)."""


class OverlaySettings(StrictModel):
    """Live overlay web app for street officers."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    token: str | None = None
    """Required when host is not a loopback address."""
    tile_url: str | None = None
    """Optional XYZ tile URL template for the map; without it the map draws vectors only."""
    officers: dict[str, str] = Field(default_factory=dict)
    """One token per officer, ``{name: token}`` (at least 8 characters each): an officer opens
    the page with ``?token=`` and every acknowledgement is recorded under that name."""
    basemap: Path | None = None
    """Offline base map: an MBTiles file of raster tiles (png/jpg/webp) drawn under the layers;
    relative to the config file's folder (to the working directory with ``--set``)."""
    tls_cert: str | None = None
    """HTTPS: a PEM certificate file, or ``self-signed`` to make one (kept beside the
    recordings, reused); browsers give a page the phone's location only over HTTPS."""
    tls_key: str | None = None
    """The certificate's PEM private key (not with ``tls_cert: self-signed``)."""


class RecordingSettings(StrictModel):
    """Flight recordings for analysts (``docs/recording.md``)."""

    dir: Path = Field(default=Path("recordings"), json_schema_extra={"cwd_relative": True})
    """Output folder; relative to the working directory (not to the config file)."""
    segment_s: float = Field(default=60.0, gt=0)
    """Length of each annotated video segment, seconds."""
    video: bool = True
    """Record the annotated video (ffmpeg MPEG-TS segments; JPEG segments without ffmpeg)."""
    retention_days: float = Field(default=30.0, gt=0)
    """Recordings older than this are expired: ``dronepatrol recordings prune`` deletes them and
    ``dronepatrol patrol`` warns while any are present (``docs/privacy.md``)."""


class DisplaySettings(StrictModel):
    """How times are shown to people (the terminal, the pages, the reports)."""

    timezone: str = "local"
    """Display time zone: an IANA name (``Asia/Shanghai``, ``UTC``) or ``local`` (the machine's).
    Files always keep UTC; every time shown carries its zone's offset."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from groundstation.timezones import display_zone

        try:
            display_zone(v)
        except Exception as exc:  # ConfigError: pydantic wants a ValueError
            raise ValueError(str(exc).removeprefix("display.timezone: ")) from None
        return v


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


class FleetVehicleSettings(StrictModel):
    """One vehicle of a fleet (``fleet.vehicles``, ``docs/fleet.md``). Every key is optional:
    with ``connection.url: sim`` or ``sitl`` the ground station starts the vehicle itself."""

    url: str | None = None
    """Connection of this vehicle (as ``connection.url``); default ``connection.url``."""
    sysid: int | None = Field(default=None, ge=1, le=255)
    """MAVLink system id; default 1, 2, 3... in list order (simulated vehicles get these)."""
    video: str | None = None
    """Its video source (as ``detection.source``); default ``detection.source``."""
    camera: dict | None = None
    """Keys of the ``camera`` section that differ on this vehicle (e.g. ``{hfov_deg: 60}``)."""
    home: tuple[float, float] | None = None
    """Take-off point ``[lat_deg, lon_deg]``; default: the planner's home of its part."""


class FleetSettings(StrictModel):
    """Several vehicles patrolling one district from this ground station (``docs/fleet.md``).

    ``count: 1`` (the default) without ``vehicles`` is the single-vehicle patrol.
    """

    count: int = Field(default=1, ge=1, le=16)
    """How many vehicles; with ``vehicles`` given, at most its length is used (0 = all listed)."""
    vehicles: list[FleetVehicleSettings] = Field(default_factory=list)
    """Per-vehicle settings, in order; vehicles beyond the list take the defaults."""
    layer_separation_m: float = Field(default=10.0, ge=0)
    """Vertical distance between the vehicles' transit altitude layers, metres."""
    stagger_s: float = Field(default=20.0, ge=0)
    """Take-off of vehicle k waits k times this long after vehicle 1's (vehicle clock), seconds."""
    reassign: bool = False
    """A vehicle that fails or lands early leaves its remainder uncovered (reported); with
    ``reassign`` the transects it did not fly go to the healthy vehicle that would reach them
    first, as extra sorties after its current one (:mod:`groundstation.fleet_reassign`)."""
    merge_radius_m: float = Field(default=15.0, gt=0)
    """Alerts of the same kind from different vehicles within this distance are one alert."""
    merge_window_s: float = Field(default=120.0, gt=0)
    """... when seen within this long of each other (vehicle clock), seconds."""

    @property
    def size(self) -> int:
        """The number of vehicles flown: ``count``, or the length of ``vehicles`` when longer."""
        return max(self.count, len(self.vehicles))
