"""Settings of the planner sections of the config (``area``, ``camera``, ``survey``, ``sorties``,
``fence``, ``rally``). Validated by pydantic; the root schema is ``groundstation.config.Config``.

Every field is documented in ``configs/default.yaml`` with the same default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class StrictModel(BaseModel):
    """Base of every settings model: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value, info):
        """``alt_m: true`` is an error, not 1 m: a YAML boolean is accepted only where the field
        admits a bool (pydantic's lax mode would read true as 1)."""
        if isinstance(value, bool) and not _admits_bool(
            cls.model_fields[info.field_name].annotation
        ):
            raise ValueError(f"expected a number or text, got the boolean {value!r}")
        return value


def _admits_bool(ann) -> bool:
    """True when a field annotation accepts a bool (bool itself, Any, or a union holding one)."""
    if ann is bool or ann is Any:
        return True
    args = getattr(ann, "__args__", None)
    if args and getattr(ann, "__origin__", None) not in (list, tuple, dict, set):
        return any(_admits_bool(a) for a in args)
    return False


class GeoPoint(StrictModel):
    """A geographic point: ``lat_deg``, ``lon_deg`` (WGS-84 degrees), ``alt_m`` (metres)."""

    lat_deg: float = Field(ge=-90, le=90)
    lon_deg: float = Field(ge=-180, le=180)
    alt_m: float = 0.0


class NoFlyZone(StrictModel):
    """An extra no-fly zone given in the config: a polygon or a circle.

    Either ``polygon`` (list of ``[lat_deg, lon_deg]`` vertices, at least 3) or ``center`` plus
    ``radius_m``. ``name`` labels it in messages and on maps.
    """

    name: str = "no-fly"
    polygon: list[tuple[float, float]] | None = None
    center: GeoPoint | None = None
    radius_m: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_shape(self) -> NoFlyZone:
        has_poly = self.polygon is not None
        has_circle = self.center is not None or self.radius_m is not None
        if has_poly == has_circle:
            raise ValueError("give either 'polygon' or 'center' with 'radius_m'")
        if has_circle and (self.center is None or self.radius_m is None):
            raise ValueError("a circle needs both 'center' and 'radius_m'")
        if has_poly and len(self.polygon) < 3:
            raise ValueError("a polygon needs at least 3 [lat, lon] vertices")
        return self


class AreaSettings(StrictModel):
    """The district to patrol and where the vehicle starts."""

    district: Path | None = None
    """Area file: GeoJSON, KML, QGC .plan (geoFence) or fence .txt; relative to the config file."""
    no_fly: list[NoFlyZone] = Field(default_factory=list)
    """Extra no-fly zones on top of the holes in the district file."""
    home: GeoPoint | None = None
    """Take-off / home position. Default: a Point named ``home`` in the district file, else the
    embedded sim's home (``connection.url: sim``), else the area's first vertex."""
    max_home_distance_km: float = Field(default=50.0, gt=0)
    """An area farther than this from home is rejected (catches swapped lat/lon)."""
    risk_map: Path | None = None
    """Five-colour risk map (GeoJSON, :mod:`missions.risk`): red ground is flown first, then
    orange, then yellow; alerts carry the class of where they happened. Relative to the config."""
    risk_point_radius_m: float = Field(default=10.0, gt=0)
    """Ground a household point of the risk map stands for: a disc of this radius, metres."""
    risk_revisit_min: float | None = Field(default=None, gt=0)
    """Fly the red ground again every this many minutes of flight (null: once)."""


class CameraSettings(StrictModel):
    """Camera model. Give ``hfov_deg``, or sensor size and focal length; image size always."""

    hfov_deg: float | None = Field(default=80.0, gt=0, lt=180)
    sensor_width_mm: float | None = Field(default=None, gt=0)
    sensor_height_mm: float | None = Field(default=None, gt=0)
    focal_length_mm: float | None = Field(default=None, gt=0)
    image_width_px: int = Field(default=1280, gt=0)
    image_height_px: int = Field(default=720, gt=0)
    gimbal_pitch_deg: float = Field(default=-90.0, ge=-90, le=0)
    """Camera pitch relative to the horizon: -90 looks straight down (nadir)."""

    @model_validator(mode="after")
    def _fov_or_sensor(self) -> CameraSettings:
        # One source of the field of view for planner, simulated camera and ground projection:
        # a sensor and focal length given without hfov_deg replace the default hfov_deg.
        sensor = self.sensor_width_mm is not None and self.focal_length_mm is not None
        if sensor and self.hfov_deg is not None:
            if "hfov_deg" in self.model_fields_set:
                raise ValueError(
                    "give either hfov_deg or sensor_width_mm and focal_length_mm, not both "
                    "(set hfov_deg: null to use the sensor)"
                )
            self.__dict__["hfov_deg"] = None
        if self.hfov_deg is None and not sensor:
            raise ValueError("give hfov_deg, or sensor_width_mm and focal_length_mm")
        return self


class SurveySettings(StrictModel):
    """Lawnmower (grid) survey parameters."""

    alt_m: float = Field(default=40.0, gt=0, le=500)
    """Flight altitude above home, metres."""
    angle_deg: float | Literal["auto"] = "auto"
    """Transect direction, degrees clockwise from north, or ``auto`` (shortest total route)."""
    side_overlap: float = Field(default=0.2, ge=0, lt=1)
    """Overlap of neighbouring footprints across the transects (0.2 = 20 %)."""
    spacing_m: float | None = Field(default=None, gt=0)
    """Transect spacing in metres; overrides ``side_overlap`` when given."""
    turnaround_m: float = 0.0
    """Distance flown past each transect end before turning; negative keeps the turns inside."""
    start_corner: Literal["auto", "sw", "se", "nw", "ne"] = "auto"
    """Corner where the first transect starts; ``auto`` picks the one closest to home."""
    speed_m_s: float = Field(default=8.0, gt=0, le=30)
    """Ground speed along the route (DO_CHANGE_SPEED), m/s."""
    takeoff_alt_m: float | None = Field(default=None, gt=0)
    """NAV_TAKEOFF altitude; default the survey altitude."""
    no_fly_clearance_m: float = Field(default=5.0, ge=0.5)
    """The route keeps at least this far from every no-fly zone (GPS error margin), metres."""

    @field_validator("angle_deg", mode="before")
    @classmethod
    def _angle(cls, v):
        if isinstance(v, str) and v.strip().lower() == "auto":
            return "auto"
        return v


class SortieSettings(StrictModel):
    """Battery limits used to split the route into sorties that each start and end at home."""

    endurance_min: float = Field(default=20.0, gt=0)
    """Flight time of a full battery at cruise, minutes."""
    reserve_pct: float = Field(default=25.0, ge=0, lt=100)
    """Share of the endurance kept in reserve, percent."""
    flight_current_a: float | None = Field(default=None, gt=0)
    """Mean current of the vehicle in flight, A. When set, the vehicle's ``BATT_CAPACITY`` at this
    current caps ``endurance_min`` (a patrol re-plans; ``fly`` refuses a sortie that does not fit:
    pre-flight check ``battery``). None: ``endurance_min`` as given (on SITL:
    ``sitl.flight_current_a``)."""
    climb_m_s: float = Field(default=2.5, gt=0)
    """Climb rate used to time the take-off (ArduCopter WPNAV_SPEED_UP default)."""
    descent_m_s: float = Field(default=1.5, gt=0)
    """Descent rate used to time the landing (ArduCopter WPNAV_SPEED_DN default)."""
    accel_m_s2: float = Field(default=2.5, gt=0)
    """Horizontal acceleration used to time the stop at each sharp turn (ArduCopter WPNAV_ACCEL
    default 250 cm/s/s)."""


class FenceSettings(StrictModel):
    """Geofence uploaded with the mission (mission_type FENCE)."""

    enabled: bool = True
    margin_m: float = Field(default=20.0, ge=0)
    """The inclusion fence is the area buffered outward by this margin, metres."""
    enable_on_vehicle: bool = True
    """After uploading and verifying the fence, enable it on the vehicle: FENCE_TYPE polygon +
    max altitude, FENCE_ALT_MAX, FENCE_ACTION, FENCE_ENABLE and MAV_CMD_DO_FENCE_ENABLE
    (``groundstation.geofence``). False leaves the vehicle's fence parameters untouched."""
    action: Literal["rtl", "land", "smart_rtl", "brake", "report", "keep"] = "rtl"
    """FENCE_ACTION on a breach: rtl 1 (RTL, else LAND), land 2, smart_rtl 3 (SmartRTL, else RTL,
    else LAND), brake 4 (BRAKE, else LAND), report 0 (only report), keep = the vehicle's own."""
    alt_max_margin_m: float = Field(default=10.0, ge=0)
    """FENCE_ALT_MAX is raised (never lowered) to the highest planned altitude plus this, metres."""


class RallySettings(StrictModel):
    """Rally points uploaded with the mission (mission_type RALLY)."""

    points: list[GeoPoint] = Field(default_factory=list)
