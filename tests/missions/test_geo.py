"""Geodesy helpers and Pose."""

from __future__ import annotations

import math

import numpy as np
import pytest

from missions.errors import InputError
from missions.geo import (
    LocalFrame,
    Pose,
    bearing_deg,
    check_lat_lon,
    distance_m,
    interpolate_pose,
    offset,
)


def test_offset_and_distance_agree():
    lat, lon = offset(41.79, 123.43, 90.0, 1000.0)
    assert distance_m(41.79, 123.43, lat, lon) == pytest.approx(1000.0, abs=1e-6)
    assert bearing_deg(41.79, 123.43, lat, lon) == pytest.approx(90.0, abs=1e-6)
    # One degree of latitude is about 111.0 km at 41.8 N (WGS-84 meridian arc).
    assert distance_m(41.29, 123.43, 42.29, 123.43) == pytest.approx(111_075, rel=2e-4)


def test_local_frame_round_trip_and_scale():
    f = LocalFrame(41.79, 123.43)
    lat, lon = offset(41.79, 123.43, 45.0, 2000.0)
    x, y = f.to_local(lat, lon)
    assert math.hypot(x, y) == pytest.approx(2000.0, abs=1e-3)
    assert x == pytest.approx(y, rel=1e-2)
    back = f.to_geo(x, y)
    assert back[0] == pytest.approx(lat, abs=1e-10) and back[1] == pytest.approx(lon, abs=1e-10)
    arr = f.to_local_array(np.array([[41.79, 123.43], [lat, lon]]))
    assert arr.shape == (2, 2) and np.allclose(arr[0], 0.0)
    assert np.allclose(f.to_geo_array(arr), [[41.79, 123.43], [lat, lon]])


@pytest.mark.parametrize(
    ("lat", "lon", "match"),
    [
        (123.4, 41.7, "swapped"),
        (91.0, 200.0, "beyond ±90"),
        (41.0, 190.0, "longitude 190.0"),
        (float("nan"), 1.0, "finite"),
    ],
)
def test_check_lat_lon(lat, lon, match):
    with pytest.raises(InputError, match=match):
        check_lat_lon(lat, lon, "f.geojson: ring 0, vertex 2")


def test_interpolate_pose_wraps_yaw():
    a = Pose(t_s=10.0, lat_deg=41.0, lon_deg=123.0, alt_m=20.0, yaw_deg=350.0)
    b = Pose(t_s=12.0, lat_deg=41.0002, lon_deg=123.0, alt_m=30.0, yaw_deg=10.0)
    m = interpolate_pose(a, b, 11.0)
    assert m.alt_m == pytest.approx(25.0)
    assert m.lat_deg == pytest.approx(41.0001)
    assert m.yaw_deg == pytest.approx(0.0, abs=1e-9) or m.yaw_deg == pytest.approx(360.0)
    assert interpolate_pose(a, b, 99.0).alt_m == pytest.approx(30.0)
    assert Pose.from_dict(m.to_dict()) == m
