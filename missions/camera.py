"""Camera model: field of view, ground footprint and ground sampling distance (GSD).

Pinhole camera over flat ground (the survey standard, e.g. Pix4D "GSD calculator",
https://support.pix4d.com/hc/en-us/articles/202560249):

* Field of view from the sensor: ``hfov = 2·atan(sensor_width / (2·focal_length))`` (and the same
  with the sensor height for ``vfov``). Without a sensor height, square pixels are assumed:
  ``vfov = 2·atan(tan(hfov/2) · image_height_px / image_width_px)``.
* Nadir footprint at height ``h``: ``width = 2·h·tan(hfov/2)`` across the track (image width),
  ``height = 2·h·tan(vfov/2)`` along it (the camera looks forward, ArduCopter yaws to face the next
  waypoint, WP_YAW_BEHAVIOR = 2).
* Nadir GSD: ``GSD = h · sensor_width / (focal_length · image_width_px)``, identical to
  ``width / image_width_px``.
* Oblique gimbal (``gimbal_pitch_deg`` above -90): the four image-corner rays are intersected
  with the ground, giving a trapezoid ahead of the vehicle; the GSD is reported at the image
  centre (slant range ``h / sin(depression)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from shapely.geometry import Polygon

from missions.errors import PlanningError

MIN_DEPRESSION_DEG = 10.0
"""The top image edge must look at least this far below the horizon (else the footprint is
unbounded or useless for coverage)."""


@dataclass(frozen=True)
class Footprint:
    """The ground seen by the camera at one altitude.

    Attributes:
        alt_m: Height above ground (above home over flat ground), metres.
        polygon: Footprint corners in the vehicle heading frame: ``x`` metres to the right,
            ``y`` metres forward of the vehicle's ground position.
        width_m: Across-track width used for transect spacing: the narrower of the near and far
            image edges on the ground (both equal at nadir), metres.
        height_m: Along-track extent, metres.
        gsd_cm_px: Ground sampling distance at the image centre, centimetres per pixel.
        hfov_deg: Horizontal field of view, degrees.
        vfov_deg: Vertical field of view, degrees.
    """

    alt_m: float
    polygon: Polygon
    width_m: float
    height_m: float
    gsd_cm_px: float
    hfov_deg: float
    vfov_deg: float

    @property
    def corners(self) -> np.ndarray:
        """(4, 2) footprint corners ``[x_right_m, y_forward_m]``."""
        return np.asarray(self.polygon.exterior.coords)[:-1]


def fields_of_view(camera) -> tuple[float, float]:
    """Horizontal and vertical field of view of a camera, degrees.

    Args:
        camera: ``missions.settings.CameraSettings``-like: ``hfov_deg`` or ``sensor_width_mm`` +
            ``focal_length_mm`` (optional ``sensor_height_mm``), ``image_width_px``,
            ``image_height_px``.

    Returns:
        ``(hfov_deg, vfov_deg)``.

    Raises:
        PlanningError: Neither a field of view nor a sensor and focal length is given.
    """
    w_px, h_px = float(camera.image_width_px), float(camera.image_height_px)
    f = camera.focal_length_mm
    if camera.hfov_deg is not None:
        hfov = math.radians(float(camera.hfov_deg))
    elif camera.sensor_width_mm is not None and f:
        hfov = 2.0 * math.atan(float(camera.sensor_width_mm) / (2.0 * float(f)))
    else:
        raise PlanningError("camera: give hfov_deg, or sensor_width_mm and focal_length_mm")
    if camera.sensor_height_mm is not None and f and camera.hfov_deg is None:
        vfov = 2.0 * math.atan(float(camera.sensor_height_mm) / (2.0 * float(f)))
    else:
        vfov = 2.0 * math.atan(math.tan(hfov / 2.0) * h_px / w_px)
    return math.degrees(hfov), math.degrees(vfov)


def footprint(camera, alt_m: float) -> Footprint:
    """Ground footprint and GSD of ``camera`` at ``alt_m`` metres above flat ground.

    Args:
        camera: ``CameraSettings``-like (see :func:`fields_of_view`), with ``gimbal_pitch_deg``
            (-90 = nadir).
        alt_m: Height above ground, metres (> 0).

    Returns:
        The :class:`Footprint`.

    Raises:
        PlanningError: The gimbal pitch lets the image reach the horizon (top edge less than
            10 degrees below it): the footprint would be unbounded.
    """
    if not alt_m > 0:
        raise PlanningError(f"altitude must be positive, got {alt_m}")
    hfov, vfov = fields_of_view(camera)
    th, tv = math.tan(math.radians(hfov) / 2.0), math.tan(math.radians(vfov) / 2.0)
    pitch = float(getattr(camera, "gimbal_pitch_deg", -90.0))
    dep = math.radians(-pitch)  # depression of the optical axis below the horizon
    top_edge_dep = math.degrees(dep - math.atan(tv))
    if top_edge_dep < MIN_DEPRESSION_DEG and pitch > -90.0 + 1e-9:
        raise PlanningError(
            f"camera: at gimbal_pitch_deg {pitch:g} the top of the image looks {top_edge_dep:.1f} "
            f"degrees below the horizon (vfov {vfov:.1f}); the ground footprint is unbounded. Use "
            f"a pitch of {-(math.degrees(math.atan(tv)) + MIN_DEPRESSION_DEG):.0f} or steeper"
        )
    fwd = np.array([0.0, math.cos(dep), -math.sin(dep)])
    up = np.array([0.0, math.sin(dep), math.cos(dep)])
    right = np.array([1.0, 0.0, 0.0])
    corners = []
    for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        d = fwd + sx * th * right + sy * tv * up
        t = alt_m / -d[2]
        corners.append((t * d[0], t * d[1]))
    poly = Polygon(corners)
    c = np.asarray(corners)
    near_w = abs(c[1, 0] - c[0, 0])
    far_w = abs(c[2, 0] - c[3, 0])
    slant = alt_m / math.sin(dep)
    gsd_m = slant * 2.0 * th / float(camera.image_width_px)
    return Footprint(
        alt_m=float(alt_m),
        polygon=poly,
        width_m=float(min(near_w, far_w)),
        height_m=float(c[:, 1].max() - c[:, 1].min()),
        gsd_cm_px=float(gsd_m * 100.0),
        hfov_deg=hfov,
        vfov_deg=vfov,
    )


def transect_spacing(fp: Footprint, side_overlap: float, spacing_m: float | None = None) -> float:
    """Distance between neighbouring transects, metres.

    ``spacing = width · (1 − side_overlap)`` unless ``spacing_m`` is given (it wins).
    """
    if spacing_m is not None:
        return float(spacing_m)
    return float(fp.width_m * (1.0 - float(side_overlap)))
