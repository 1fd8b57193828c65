"""Gimbal commands answered as ArduPilot's mount answers them (the close look points the camera).

ArduPilot ``libraries/AP_Mount/AP_Mount.cpp``: ``handle_command_do_gimbal_manager_pitchyaw`` and
``handle_command_do_mount_control`` return MAV_RESULT_FAILED when no mount is configured
(``MNT1_TYPE`` 0, ArduCopter's default), MAV_RESULT_ACCEPTED otherwise; the retract and neutral
flags are accepted; a pitch is limited to ``MNT1_PITCH_MIN`` .. ``MNT1_PITCH_MAX``. The last
test runs the same commands against a real ArduCopter SITL with a mount configured by
parameters (``sitl`` marker: needs ``ARDUPILOT_SITL``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _simclient import Gcs
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from sim.runner import start_sim
from sim.settings import SimSettings
from sim.sitl import sitl_binary, start_sitl

NAN = float("nan")
PITCHYAW = mavlink.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW
MOUNT = mavlink.MAV_CMD_DO_MOUNT_CONTROL
ACCEPTED, FAILED = mavlink.MAV_RESULT_ACCEPTED, mavlink.MAV_RESULT_FAILED


@pytest.fixture
def sim_with(request):
    handles = []

    def make(params):
        h = start_sim(SimSettings(ready_delay_s=1.0, params=params), port=0, speedup=20.0)
        handles.append(h)
        return h

    yield make
    for h in handles:
        h.stop()


def test_no_mount_configured_fails_both_commands(sim_with):
    sim = sim_with({})
    with Gcs(sim.url, 20.0) as gcs:
        assert gcs.command(PITCHYAW, -30, NAN, NAN, NAN, 0, 0, 0) == FAILED
        assert gcs.command(MOUNT, -30, 0, 0, 0, 0, 0, 2) == FAILED
    assert sim.gimbal_pitch_deg == -90.0  # untouched


def test_mount_takes_pitch_within_its_limits_and_the_flags(sim_with):
    sim = sim_with({"MNT1_TYPE": 1, "MNT1_PITCH_MIN": -80, "MNT1_NEUTRAL_Y": -10})
    with Gcs(sim.url, 20.0) as gcs:
        assert gcs.command(PITCHYAW, -36.5, NAN, NAN, NAN, 0, 0, 0) == ACCEPTED
        assert sim.gimbal_pitch_deg == pytest.approx(-36.5)
        assert gcs.command(PITCHYAW, -95, NAN, NAN, NAN, 0, 0, 0) == ACCEPTED
        assert sim.gimbal_pitch_deg == -80.0  # MNT1_PITCH_MIN
        assert gcs.command(MOUNT, 40, 0, 0, 0, 0, 0, 2) == ACCEPTED
        assert sim.gimbal_pitch_deg == 20.0  # MNT1_PITCH_MAX (default)
        assert gcs.command(PITCHYAW, NAN, NAN, NAN, NAN, 2, 0, 0) == ACCEPTED  # NEUTRAL
        assert sim.gimbal_pitch_deg == -10.0
        assert gcs.command(PITCHYAW, -20, NAN, NAN, NAN, 0, 0, 3) == FAILED  # no 3rd gimbal


def test_ground_station_points_the_gimbal_and_uses_the_pitch_in_poses(sim_with):
    from groundstation.link import Link
    from groundstation.vehicle import Vehicle

    sim = sim_with({"MNT1_TYPE": 1})
    link = Link.connect(sim.url, timeout_s=30)
    try:
        v = Vehicle(link, gimbal_pitch_deg=-45.0)
        assert v.point_gimbal(-36.0) == "gimbal_manager"
        assert sim.gimbal_pitch_deg == -36.0 and v.gimbal_pitch_deg == -36.0
    finally:
        link.close()


@pytest.mark.sitl
def test_real_sitl_with_a_mount_accepts_the_same_commands(tmp_path):
    if sitl_binary() is None:
        pytest.skip("needs a real ArduPilot SITL (ARDUPILOT_SITL)")
    parm = tmp_path / "mount.parm"
    base = os.environ.get("ARDUPILOT_DEFAULTS")
    text = Path(base).read_text() if base and Path(base).is_file() else ""
    parm.write_text(text + "\nMNT1_TYPE 1\nSERVO9_FUNCTION 7\n")  # servo mount, tilt on SERVO9
    handle = start_sitl(speedup=5.0, defaults=parm)
    try:
        with Gcs(handle.url, 5.0) as gcs:
            gcs.request_streams()
            assert gcs.command(PITCHYAW, -36, NAN, NAN, NAN, 0, 0, 0, sim_s=10) == ACCEPTED
            assert gcs.command(MOUNT, -45, 0, 0, 0, 0, 0, 2, sim_s=10) == ACCEPTED
            assert gcs.command(PITCHYAW, NAN, NAN, NAN, NAN, 2, 0, 0, sim_s=10) == ACCEPTED
            # no camera backend that zooms (CAM1_TYPE 0): AP_Camera answers UNSUPPORTED
            zoom = mavlink.MAV_CMD_SET_CAMERA_ZOOM
            assert gcs.command(zoom, 2, 50, sim_s=10) == mavlink.MAV_RESULT_UNSUPPORTED
    finally:
        handle.stop()


ZOOM = mavlink.MAV_CMD_SET_CAMERA_ZOOM
UNSUPPORTED = mavlink.MAV_RESULT_UNSUPPORTED


def test_zoom_is_unsupported_without_a_camera_that_zooms(sim_with):
    # ArduPilot AP_Camera::handle_command: zoom accepted only when the backend can zoom
    sim = sim_with({"MNT1_TYPE": 1})
    with Gcs(sim.url, 20.0) as gcs:
        assert gcs.command(ZOOM, 2, 50) == UNSUPPORTED
    assert sim.vehicle.zoom == 1.0


def test_zoom_range_and_continuous_on_a_mount_camera(sim_with):
    sim = sim_with({"MNT1_TYPE": 1, "CAM1_TYPE": 3, "CAM1_ZOOM_MAX": 6})
    with Gcs(sim.url, 20.0) as gcs:
        assert gcs.command(ZOOM, 2, 100) == ACCEPTED  # ZOOM_TYPE_RANGE, percent
        assert sim.vehicle.zoom == pytest.approx(6.0)
        assert gcs.command(ZOOM, 1, -1) == ACCEPTED  # ZOOM_TYPE_CONTINUOUS, zoom out a step
        assert sim.vehicle.zoom == pytest.approx(5.5)
        assert gcs.command(ZOOM, 3, 50) == UNSUPPORTED  # ZOOM_TYPE_FOCAL_LENGTH: not handled
        assert gcs.command(ZOOM, 2, 0) == ACCEPTED
        assert sim.vehicle.zoom == 1.0
    assert sim.true_pose().extra["zoom"] == 1.0


def test_the_sim_camera_renders_the_zoomed_view():
    import numpy as np

    from missions.geo import Pose
    from sim.camera import PinholeCamera, SceneRenderer
    from sim.scene import Scene, SceneSettings

    scene = Scene(SceneSettings(extent_m=120, ground_res_m=0.5, noise=0), 41.79, 123.43)
    r = SceneRenderer(scene, PinholeCamera.from_hfov(320, 180, 60.0))
    wide = Pose(t_s=0, lat_deg=41.79, lon_deg=123.43, alt_m=20.0, gimbal_pitch_deg=-90)
    tele = Pose(t_s=0, lat_deg=41.79, lon_deg=123.43, alt_m=20.0, gimbal_pitch_deg=-90,
                extra={"zoom": 2.0})  # fmt: skip
    a, b = r.render(wide).astype(float), r.render(tele).astype(float)
    import cv2

    centre = cv2.resize(a[45:135, 80:240].astype(np.uint8), (320, 180)).astype(float)
    assert np.abs(b - centre).mean() < np.abs(b - a).mean() / 2
