"""Where the patrol holds to watch a place, and which sightings are worth a look.

Pure geometry used by the ``hover_and_speak`` policy of :mod:`groundstation.patrol`:

* :func:`hold_point`: to watch a place with an oblique camera the vehicle hovers back from it,
  toward where it came from, by the distance at which the optical axis meets the ground
  (``alt / tan(-pitch)``: 0 at nadir, ``alt`` at -45 deg), heading at it, so the place is in the
  middle of the picture. With a nadir camera this is the point over the place.
* :class:`Airspace`: a hold point must lie inside the inclusion fence and outside every no-fly
  zone, with margins (ArduPilot FENCE_MARGIN is 2 m by default).
* :func:`candidate_place`: people seen close together in one frame (the raw detections, before
  tracking) are worth a closer look. A gathering must persist ``detection.gathering.persist_s``
  before it is alerted, while at survey speed an oblique camera keeps a place in view for only
  a few seconds (the demo: about 20 m of ground along the track at 3 m/s, under 7 s); the
  patrol therefore holds to look (``policy.confirm_s``) instead of flying on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from missions.geo import LocalFrame, Pose, bearing_deg, distance_m, offset

MAX_STANDOFF_M = 80.0
"""A hold point is never farther than this from the place it watches."""
CANDIDATE_EPS_FACTOR = 1.5
"""People seen within this many times ``detection.gathering.eps_m`` of each other (at least
``min_people - 1`` of them, in one frame, before tracking) are worth a closer look."""


def standoff_m(alt_m: float, gimbal_pitch_deg: float) -> float:
    """Horizontal distance at which the camera's optical axis meets flat ground, metres.

    ``alt / tan(-pitch)`` for a camera looking down (pitch < 0); 0 at or near nadir (-89 deg and
    below); capped at :data:`MAX_STANDOFF_M` (a camera near the horizon).
    """
    if gimbal_pitch_deg <= -89.0:
        return 0.0
    if gimbal_pitch_deg >= -1.0:
        return MAX_STANDOFF_M
    return min(MAX_STANDOFF_M, max(0.0, alt_m) / math.tan(math.radians(-gimbal_pitch_deg)))


@dataclass(frozen=True)
class HoldPoint:
    """Where to hover: ``lat_deg``, ``lon_deg`` and the heading ``yaw_deg`` that faces the place."""

    lat_deg: float
    lon_deg: float
    yaw_deg: float


def hold_point(
    place_lat: float,
    place_lon: float,
    vehicle: Pose | None,
    *,
    alt_m: float,
    gimbal_pitch_deg: float,
    allowed=None,
) -> HoldPoint | None:
    """The hover point from which the camera watches a place.

    Args:
        place_lat, place_lon: The place (WGS-84 degrees).
        vehicle: The vehicle's pose now (the approach direction); None: approach from the south.
        alt_m: Hover altitude above ground, metres.
        gimbal_pitch_deg: Camera pitch, -90 nadir.
        allowed: ``allowed(lat, lon) -> bool`` (e.g. :meth:`Airspace.allows`); None allows all.

    Returns:
        The standoff point (see the module docstring); else the point over the place when the
        standoff point is not allowed; else None.
    """
    if (
        vehicle is not None
        and distance_m(place_lat, place_lon, vehicle.lat_deg, vehicle.lon_deg) > 1.0
    ):
        back_bearing = bearing_deg(place_lat, place_lon, vehicle.lat_deg, vehicle.lon_deg)
    else:
        back_bearing = ((vehicle.yaw_deg if vehicle is not None else 0.0) + 180.0) % 360.0
    yaw = (back_bearing + 180.0) % 360.0
    d = standoff_m(alt_m, gimbal_pitch_deg)
    options = [offset(place_lat, place_lon, back_bearing, d)] if d > 0.0 else []
    options.append((place_lat, place_lon))
    for lat, lon in options:
        if allowed is None or allowed(lat, lon):
            return HoldPoint(float(lat), float(lon), yaw)
    return None


class Airspace:
    """Where the vehicle may hover: inside the inclusion polygon, outside the no-fly zones.

    Args:
        frame: Local frame of the polygons.
        inclusion: Inclusion polygon (local metres), e.g. the planner's ``fence_local``.
        exclusions: No-fly polygons (local metres).
        margin_m: Keep this far inside the inclusion and outside each exclusion.
    """

    def __init__(self, frame: LocalFrame, inclusion, exclusions=(), margin_m: float = 2.0) -> None:
        self.frame = frame
        self._inside = inclusion.buffer(-margin_m)
        self._outside = [h.buffer(margin_m) for h in exclusions]

    @classmethod
    def from_plan(cls, plan, *, use_fence: bool = True, margin_m: float = 2.0) -> Airspace:
        """From a :class:`missions.planner.PatrolPlan`: its fence (or the district when the
        fence is off) and its no-fly holes."""
        inclusion = plan.fence_local if use_fence else plan.area.polygon_local
        return cls(plan.frame, inclusion, plan.area.holes_local, margin_m)

    def allows(self, lat_deg: float, lon_deg: float) -> bool:
        """True when the point is inside the inclusion and outside every exclusion."""
        from shapely.geometry import Point

        x, y = self.frame.to_local(lat_deg, lon_deg)
        p = Point(float(x), float(y))
        return self._inside.contains(p) and not any(h.contains(p) for h in self._outside)


def candidate_place(
    xy_m: np.ndarray,
    frame: LocalFrame,
    *,
    eps_m: float,
    min_people: int,
) -> tuple[float, float, int] | None:
    """People seen close together in one frame: the centre of the biggest group and its size.

    The ground positions of the frame's raw detections (before tracking,
    :attr:`detection.pipeline.FrameResult.raw_detections`, ``data["xy_m"]``) are clustered with
    DBSCAN (:func:`detection.gatherings.cluster_positions`) with ``CANDIDATE_EPS_FACTOR * eps_m``
    and ``max(3, min_people - 1)``: looser than the gathering detector, since this only decides
    to take a closer look.

    Args:
        xy_m: (N, 2) ground positions ``(east_m, north_m)`` in ``frame``; NaN rows (not on the
            ground) are ignored.
        frame: The local frame of ``xy_m`` (the pipeline's ``local_frame``).
        eps_m, min_people: The gathering detector's settings.

    Returns:
        ``(lat_deg, lon_deg, count)``, or None when no group is seen.
    """
    from detection.gatherings import cluster_positions

    need = max(3, int(min_people) - 1)
    xy = np.asarray(xy_m, dtype=float).reshape(-1, 2)
    if len(xy) < need:
        return None
    clusters = cluster_positions(xy, CANDIDATE_EPS_FACTOR * eps_m, need)
    if not clusters:
        return None
    biggest = max(clusters, key=len)
    cx, cy = xy[biggest].mean(axis=0)
    lat, lon = frame.to_geo(float(cx), float(cy))
    return float(lat), float(lon), int(len(biggest))
