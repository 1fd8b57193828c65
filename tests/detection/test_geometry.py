"""Ground projection and GSD with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detection.geometry import CameraIntrinsics, ground_offsets, ground_points, gsd_cm_px
from missions.geo import LocalFrame, Pose, bearing_deg, distance_m
from missions.settings import CameraSettings

LAT, LON = 41.79, 123.43
INTR = CameraIntrinsics.from_hfov(80.0, 1280, 720)
CENTRE = np.array([[640.0, 360.0]])


def test_nadir_gsd_at_30_m_with_hfov_80():
    # footprint width = 2 * 30 * tan(40 deg) = 50.35 m over 1280 px = 3.93 cm/px
    pose = Pose(0, LAT, LON, 30.0, gimbal_pitch_deg=-90)
    expected = 2 * 30 * math.tan(math.radians(40)) / 1280 * 100
    assert gsd_cm_px(INTR, pose) == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(3.933, abs=1e-3)


def test_nadir_image_centre_is_below_the_drone_and_edges_span_the_footprint():
    pose = Pose(0, LAT, LON, 30.0, yaw_deg=0, gimbal_pitch_deg=-90)
    lat_lon, xy = ground_points(INTR, pose, np.array([[640, 360], [1280, 360], [640, 0]]))
    assert distance_m(LAT, LON, *lat_lon[0]) < 1e-6
    half_w = 30 * math.tan(math.radians(40))
    assert xy[1] == pytest.approx([half_w, 0.0], abs=1e-9)  # right edge: east when heading north
    assert xy[2, 1] == pytest.approx(half_w * 360 / 640, abs=1e-9)  # top edge: ahead (north)


@pytest.mark.parametrize("yaw", [0.0, 90.0, 225.0])
def test_pitch_minus_45_centre_is_30_m_ahead_along_the_yaw(yaw):
    pose = Pose(0, LAT, LON, 30.0, yaw_deg=yaw, gimbal_pitch_deg=-45)
    lat_lon, _ = ground_points(INTR, pose, CENTRE)
    assert distance_m(LAT, LON, *lat_lon[0]) == pytest.approx(30.0, abs=1e-3)
    assert (bearing_deg(LAT, LON, *lat_lon[0]) - yaw + 180) % 360 - 180 == pytest.approx(
        0, abs=1e-3
    )
    # GSD at the centre: slant range 30 * sqrt(2) over fx
    assert gsd_cm_px(INTR, pose) == pytest.approx(30 * math.sqrt(2) / INTR.fx_px * 100)


def test_gimbal_yaw_adds_to_vehicle_yaw():
    pose = Pose(0, LAT, LON, 30.0, yaw_deg=80.0, gimbal_yaw_deg=10.0, gimbal_pitch_deg=-45)
    en = ground_offsets(INTR, pose, CENTRE)[0]
    assert en == pytest.approx([30.0, 0.0], abs=1e-6)  # heading 90: due east


def test_points_at_or_above_the_horizon_are_rejected():
    pose = Pose(0, LAT, LON, 30.0, gimbal_pitch_deg=0)
    pts = np.array([[640, 360], [640, 100], [640, 700]])  # horizon, above, below
    en = ground_offsets(INTR, pose, pts)
    assert np.isnan(en[0]).all() and np.isnan(en[1]).all()
    assert not np.isnan(en[2]).any() and en[2, 1] > 0
    assert gsd_cm_px(INTR, pose) is None


def test_far_points_beyond_max_range_are_rejected():
    pose = Pose(0, LAT, LON, 30.0, gimbal_pitch_deg=-5)
    en = ground_offsets(INTR, pose, CENTRE, max_range_m=100.0)
    assert np.isnan(en).all()  # 30 / tan(5 deg) = 343 m


def test_fixed_mount_adds_vehicle_pitch_but_stabilised_gimbal_does_not():
    pose = Pose(0, LAT, LON, 30.0, pitch_deg=-10.0, gimbal_pitch_deg=-35.0)
    stab = ground_offsets(INTR, pose, CENTRE, stabilised=True)[0]
    fixed = ground_offsets(INTR, pose, CENTRE, stabilised=False)[0]
    assert stab[1] == pytest.approx(30 / math.tan(math.radians(35)))
    assert fixed[1] == pytest.approx(30.0)  # -10 - 35 = -45 deg


def test_roll_of_a_fixed_camera_shifts_the_centre_sideways():
    pose = Pose(0, LAT, LON, 30.0, roll_deg=10.0, gimbal_pitch_deg=-90.0)
    en = ground_offsets(INTR, pose, CENTRE, stabilised=False)[0]
    # nadir camera, right wing down 10 deg: the body's down axis swings to the left (west)
    assert en == pytest.approx([-30 * math.tan(math.radians(10)), 0.0], abs=1e-6)


def test_sensor_and_focal_length_equal_the_matching_hfov():
    # 6.17 mm sensor, 4.5 mm lens: hfov = 2 atan(6.17 / 9) = 68.9 deg
    cam = CameraSettings(hfov_deg=None, sensor_width_mm=6.17, focal_length_mm=4.5)
    intr = CameraIntrinsics.from_settings(cam, 1920, 1080)
    hfov = math.degrees(2 * math.atan(6.17 / 9.0))
    assert intr.hfov_deg == pytest.approx(hfov)
    assert intr.fx_px == pytest.approx(CameraIntrinsics.from_hfov(hfov, 1920, 1080).fx_px)


def test_resized_frames_keep_the_field_of_view():
    cam = CameraSettings(hfov_deg=80.0, image_width_px=1280, image_height_px=720)
    small = CameraIntrinsics.from_settings(cam, 640, 360)
    assert small.hfov_deg == pytest.approx(80.0)
    pose = Pose(0, LAT, LON, 30.0)
    assert gsd_cm_px(small, pose) == pytest.approx(2 * gsd_cm_px(INTR, pose))


def test_local_frame_offsets_add_to_the_camera_position():
    frame = LocalFrame(LAT, LON)
    lat2, lon2 = frame.to_geo(100.0, -50.0)
    pose = Pose(0, float(lat2), float(lon2), 30.0, gimbal_pitch_deg=-90)
    _, xy = ground_points(INTR, pose, CENTRE, frame)
    assert xy[0] == pytest.approx([100.0, -50.0], abs=1e-3)


@pytest.mark.parametrize("pitch", [-90.0, -60.0])
def test_gsd_and_field_of_view_agree_with_the_planner_camera_model(pitch):
    """detection.geometry and missions.camera describe the same camera (planner vs detector)."""
    camera_mod = pytest.importorskip("missions.camera")
    cam = CameraSettings(
        hfov_deg=80.0, image_width_px=1280, image_height_px=720, gimbal_pitch_deg=pitch
    )
    intr = CameraIntrinsics.from_settings(cam)
    hfov, vfov = camera_mod.fields_of_view(cam)
    assert intr.hfov_deg == pytest.approx(hfov) and intr.vfov_deg == pytest.approx(vfov)
    fp = camera_mod.footprint(cam, 30.0)
    pose = Pose(0, LAT, LON, 30.0, gimbal_pitch_deg=pitch)
    assert gsd_cm_px(intr, pose) == pytest.approx(fp.gsd_cm_px, rel=1e-6)
