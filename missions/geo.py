"""Geodesy shared by every package, and the vehicle :class:`Pose`.

Conventions (``../shared/DESIGN.md``):

* Angles in degrees, distances in metres, times in seconds; units in names (``lat_deg``, ``alt_m``).
* Local metric frame = ENU (x east, y north, metres) on an azimuthal equidistant projection centred
  on an origin (usually home). Within the few km of a patrol its distortion is below 1e-5 relative.
* Geodesic distance, bearing and offsets on the WGS-84 ellipsoid through :class:`pyproj.Geod`
  (Karney's algorithms, *Algorithms for geodesics*, J. Geodesy 2013).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
from pyproj import Geod, Transformer

from missions.errors import InputError

WGS84 = Geod(ellps="WGS84")
"""The WGS-84 ellipsoid used for every geodesic computation."""


def check_lat_lon(lat_deg: float, lon_deg: float, where: str = "") -> None:
    """Validate one coordinate pair.

    Args:
        lat_deg: Latitude in degrees, must lie in [-90, 90].
        lon_deg: Longitude in degrees, must lie in [-180, 180].
        where: Location prefix for the message (``"district.geojson: ring 0, vertex 3"``).

    Raises:
        InputError: A value is out of range or not finite. When only the latitude is out of range
            but the pair would be valid swapped, the message says lat/lon look swapped.
    """
    prefix = f"{where}: " if where else ""
    if not (math.isfinite(lat_deg) and math.isfinite(lon_deg)):
        raise InputError(
            f"{prefix}coordinate is not a finite number (lat {lat_deg}, lon {lon_deg})"
        )
    if abs(lat_deg) > 90.0:
        hint = (
            " — latitude and longitude look swapped"
            if abs(lon_deg) <= 90.0 and abs(lat_deg) <= 180.0
            else ""
        )
        raise InputError(f"{prefix}latitude {lat_deg} is beyond ±90{hint}")
    if abs(lon_deg) > 180.0:
        raise InputError(f"{prefix}longitude {lon_deg} is beyond ±180")


def distance_m(lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float) -> float:
    """Geodesic distance between two points on WGS-84, in metres (pyproj.Geod.inv)."""
    _, _, dist = WGS84.inv(lon1_deg, lat1_deg, lon2_deg, lat2_deg)
    return float(dist)


def bearing_deg(lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float) -> float:
    """Initial geodesic bearing from point 1 to point 2, degrees clockwise from north in [0, 360)."""
    az, _, _ = WGS84.inv(lon1_deg, lat1_deg, lon2_deg, lat2_deg)
    return float(az) % 360.0


def offset(lat_deg: float, lon_deg: float, bearing: float, dist_m: float) -> tuple[float, float]:
    """Point reached from (lat, lon) after ``dist_m`` metres on initial bearing ``bearing`` degrees.

    Returns:
        ``(lat_deg, lon_deg)`` of the destination (pyproj.Geod.fwd).
    """
    lon2, lat2, _ = WGS84.fwd(lon_deg, lat_deg, bearing, dist_m)
    return float(lat2), float(lon2)


@lru_cache(maxsize=64)
def _transformers(lat0: float, lon0: float) -> tuple[Transformer, Transformer]:
    proj = (
        f"+proj=aeqd +lat_0={lat0!r} +lon_0={lon0!r} +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
    )
    fwd = Transformer.from_crs("EPSG:4326", proj, always_xy=True)
    inv = Transformer.from_crs(proj, "EPSG:4326", always_xy=True)
    return fwd, inv


@dataclass(frozen=True)
class LocalFrame:
    """A local east-north (ENU) metric frame centred on an origin.

    Azimuthal equidistant projection (PROJ ``aeqd``) on WGS-84 centred on the origin: distances and
    bearings from the origin are exact, elsewhere within a few km the error is below 1 cm/km.

    Args:
        lat0_deg: Latitude of the origin in degrees.
        lon0_deg: Longitude of the origin in degrees.

    Example:
        >>> f = LocalFrame(41.79, 123.43)
        >>> x, y = f.to_local(41.79, 123.431)   # ~83 m east
    """

    lat0_deg: float
    lon0_deg: float

    def to_local(self, lat_deg, lon_deg):
        """Geographic -> local metres.

        Args:
            lat_deg: Latitude(s) in degrees, scalar or array of shape (N,).
            lon_deg: Longitude(s) in degrees, same shape.

        Returns:
            ``(x_east_m, y_north_m)`` with the input's shape (floats for scalars).
        """
        fwd, _ = _transformers(self.lat0_deg, self.lon0_deg)
        x, y = fwd.transform(lon_deg, lat_deg)
        return x, y

    def to_geo(self, x_m, y_m):
        """Local metres -> geographic.

        Args:
            x_m: East coordinate(s) in metres, scalar or array (N,).
            y_m: North coordinate(s) in metres, same shape.

        Returns:
            ``(lat_deg, lon_deg)`` with the input's shape.
        """
        _, inv = _transformers(self.lat0_deg, self.lon0_deg)
        lon, lat = inv.transform(x_m, y_m)
        return lat, lon

    def to_local_array(self, lat_lon_deg: np.ndarray) -> np.ndarray:
        """Array form of :meth:`to_local`: (N, 2) ``[lat, lon]`` -> (N, 2) ``[x_east_m, y_north_m]``."""
        arr = np.asarray(lat_lon_deg, dtype=float).reshape(-1, 2)
        x, y = self.to_local(arr[:, 0], arr[:, 1])
        return np.column_stack([x, y])

    def to_geo_array(self, xy_m: np.ndarray) -> np.ndarray:
        """Array form of :meth:`to_geo`: (N, 2) ``[x_east_m, y_north_m]`` -> (N, 2) ``[lat, lon]``."""
        arr = np.asarray(xy_m, dtype=float).reshape(-1, 2)
        lat, lon = self.to_geo(arr[:, 0], arr[:, 1])
        return np.column_stack([lat, lon])


@dataclass(frozen=True)
class Pose:
    """Where the vehicle and its camera were at one instant.

    Published by ``groundstation`` from telemetry (GLOBAL_POSITION_INT, ATTITUDE, gimbal state) and
    consumed by ``detection`` to geotag what a frame shows.

    Attributes:
        t_s: UNIX time in seconds (ground-station clock) at which the pose was valid.
        lat_deg: Latitude, degrees (WGS-84).
        lon_deg: Longitude, degrees (WGS-84).
        alt_m: Altitude above home in metres (GLOBAL_POSITION_INT.relative_alt); over flat ground
            this is the height above ground used for ground projection.
        roll_deg: Vehicle roll, degrees, right wing down positive (ATTITUDE.roll).
        pitch_deg: Vehicle pitch, degrees, nose up positive (ATTITUDE.pitch).
        yaw_deg: Vehicle heading, degrees clockwise from north in [0, 360) (ATTITUDE.yaw).
        gimbal_pitch_deg: Camera pitch relative to the horizon, degrees: 0 looks at the horizon,
            -90 straight down (nadir). Earth-referenced, as on a stabilised gimbal.
        gimbal_roll_deg: Camera roll relative to the horizon, degrees (0 on a stabilised gimbal).
        gimbal_yaw_deg: Camera yaw relative to the vehicle heading, degrees clockwise.
        amsl_m: Altitude above mean sea level in metres, if known (GLOBAL_POSITION_INT.alt).
    """

    t_s: float
    lat_deg: float
    lon_deg: float
    alt_m: float
    roll_deg: float = 0.0
    pitch_deg: float = 0.0
    yaw_deg: float = 0.0
    gimbal_pitch_deg: float = -90.0
    gimbal_roll_deg: float = 0.0
    gimbal_yaw_deg: float = 0.0
    amsl_m: float | None = None
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def camera_yaw_deg(self) -> float:
        """Camera heading over ground: vehicle yaw plus gimbal yaw, degrees in [0, 360)."""
        return (self.yaw_deg + self.gimbal_yaw_deg) % 360.0

    def to_dict(self) -> dict:
        """JSON-serialisable dict of the fields (``extra`` included)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Pose:
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


def interpolate_pose(before: Pose, after: Pose, t_s: float) -> Pose:
    """Linear interpolation between two poses at time ``t_s`` (clamped to [before, after]).

    Yaw angles are interpolated along the shorter arc. Used to pair a video frame's timestamp with
    telemetry that arrives at a different rate.

    Args:
        before: Pose at or before ``t_s``.
        after: Pose at or after ``t_s``.
        t_s: UNIX time in seconds.

    Returns:
        The interpolated :class:`Pose` with ``t_s`` set to the requested time.
    """
    span = after.t_s - before.t_s
    w = 0.0 if span <= 0 else min(1.0, max(0.0, (t_s - before.t_s) / span))

    def lerp(a: float, b: float) -> float:
        """Linear interpolation from ``a`` to ``b`` at weight ``w``."""
        return a + (b - a) * w

    def lerp_angle(a: float, b: float) -> float:
        """Angle interpolation along the shorter arc, degrees in [0, 360)."""
        d = (b - a + 180.0) % 360.0 - 180.0
        return (a + d * w) % 360.0

    amsl = None
    if before.amsl_m is not None and after.amsl_m is not None:
        amsl = lerp(before.amsl_m, after.amsl_m)
    return Pose(
        t_s=t_s,
        lat_deg=lerp(before.lat_deg, after.lat_deg),
        lon_deg=lerp(before.lon_deg, after.lon_deg),
        alt_m=lerp(before.alt_m, after.alt_m),
        roll_deg=lerp(before.roll_deg, after.roll_deg),
        pitch_deg=lerp(before.pitch_deg, after.pitch_deg),
        yaw_deg=lerp_angle(before.yaw_deg, after.yaw_deg),
        gimbal_pitch_deg=lerp(before.gimbal_pitch_deg, after.gimbal_pitch_deg),
        gimbal_roll_deg=lerp(before.gimbal_roll_deg, after.gimbal_roll_deg),
        gimbal_yaw_deg=lerp_angle(before.gimbal_yaw_deg, after.gimbal_yaw_deg),
        amsl_m=amsl,
    )
