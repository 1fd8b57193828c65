"""Hold geometry and candidate sightings of the hover_and_speak policy (groundstation.holds)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import Polygon

from groundstation.holds import (
    MAX_STANDOFF_M,
    Airspace,
    HoldPoint,
    candidate_place,
    hold_point,
    standoff_m,
)
from missions.geo import LocalFrame, Pose, bearing_deg, distance_m

HOME = (41.79, 123.43)
FRAME = LocalFrame(*HOME)


def geo(x, y):
    lat, lon = FRAME.to_geo(x, y)
    return float(lat), float(lon)


def pose_at(x, y, alt=20.0, yaw=0.0, pitch=-45.0):
    lat, lon = geo(x, y)
    return Pose(t_s=0, lat_deg=lat, lon_deg=lon, alt_m=alt, yaw_deg=yaw, gimbal_pitch_deg=pitch)


@pytest.mark.parametrize(
    ("alt", "pitch", "expected"),
    [
        (20, -45, 20.0),
        (20, -90, 0.0),
        (18, -60, 18 / math.tan(math.radians(60))),
        (20, -0.5, MAX_STANDOFF_M),
    ],
)
def test_standoff_is_where_the_optical_axis_meets_the_ground(alt, pitch, expected):
    assert standoff_m(alt, pitch) == pytest.approx(expected)


def test_hold_point_watches_the_place_from_the_approach_side():
    place = geo(0, 0)
    hp = hold_point(*place, pose_at(0, -60), alt_m=20, gimbal_pitch_deg=-45)
    assert isinstance(hp, HoldPoint)
    assert distance_m(hp.lat_deg, hp.lon_deg, *place) == pytest.approx(20.0, abs=0.05)
    assert bearing_deg(*place, hp.lat_deg, hp.lon_deg) == pytest.approx(180.0, abs=0.1)
    assert hp.yaw_deg == pytest.approx(0.0, abs=0.1)  # facing north, at the place
    hp = hold_point(*place, pose_at(50, 0), alt_m=20, gimbal_pitch_deg=-45)
    assert hp.yaw_deg == pytest.approx(270.0, abs=0.1)
    # nadir camera: right over it
    hp = hold_point(*place, pose_at(50, 0), alt_m=20, gimbal_pitch_deg=-90)
    assert distance_m(hp.lat_deg, hp.lon_deg, *place) < 0.01


def test_hold_point_respects_the_airspace():
    place = geo(0, 0)
    # standoff point (20 m south) is forbidden, the place itself is allowed
    south_forbidden = lambda lat, lon: lat > geo(0, -10)[0]  # noqa: E731
    hp = hold_point(
        *place, pose_at(0, -60), alt_m=20, gimbal_pitch_deg=-45, allowed=south_forbidden
    )
    assert distance_m(hp.lat_deg, hp.lon_deg, *place) < 0.01
    assert (
        hold_point(
            *place, pose_at(0, -60), alt_m=20, gimbal_pitch_deg=-45, allowed=lambda a, b: False
        )
        is None
    )


def test_airspace_fence_and_no_fly_margins():
    fence = Polygon([(-100, -100), (100, -100), (100, 100), (-100, 100)])
    hole = Polygon([(20, 20), (40, 20), (40, 40), (20, 40)])
    air = Airspace(FRAME, fence, [hole], margin_m=2.0)
    assert air.allows(*geo(0, 0))
    assert not air.allows(*geo(99, 0))  # inside the fence but within its margin
    assert not air.allows(*geo(150, 0))
    assert not air.allows(*geo(30, 30))
    assert not air.allows(*geo(41, 30))  # within 2 m of the no-fly zone
    assert air.allows(*geo(43, 30))


def test_candidate_place_finds_a_group_seen_close_together():
    group = np.array([(0, 0), (1.2, 0.3), (-1.0, 0.8), (0.4, -1.1), (-0.6, -0.7), (0.9, 1.2)])
    loner = np.array([(12.0, 5.0)])
    beyond_horizon = np.full((1, 2), np.nan)  # a foot point that does not reach the ground
    xy = np.vstack([group + (30.0, 40.0), loner, beyond_horizon])
    found = candidate_place(xy, FRAME, eps_m=2.0, min_people=5)
    assert found is not None
    lat, lon, count = found
    assert count == len(group)
    assert distance_m(lat, lon, *geo(*(group.mean(axis=0) + (30.0, 40.0)))) < 0.01
    # people spread out: no candidate
    spread = np.array([(0, 0), (6, 0), (-6, 3), (0, 9), (9, 9)])
    assert candidate_place(spread, FRAME, eps_m=2.0, min_people=5) is None
    # too few people (a candidate needs min_people - 1 = 4 here), or nobody
    assert candidate_place(group[:3], FRAME, eps_m=2.0, min_people=5) is None
    assert candidate_place(np.zeros((0, 2)), FRAME, eps_m=2.0, min_people=5) is None
    # four of five seen close together are already worth a look
    assert candidate_place(group[:4], FRAME, eps_m=2.0, min_people=5)[2] == 4
