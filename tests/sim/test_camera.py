"""The simulated camera: geometry of the rendered frames, and the live source."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from detection.sources import FrameSource, FrameTimeout
from missions.geo import LocalFrame, Pose
from sim.camera import PinholeCamera, SceneRenderer, SimCamera, camera_axes, world_to_camera
from sim.scene import Scene, SceneSettings

HOME = (41.79, 123.43)
FRAME = LocalFrame(*HOME)


def pose_at(east_m, north_m, alt_m, yaw_deg=0.0, pitch_deg=-90.0, roll_deg=0.0, t_s=0.0):
    lat, lon = FRAME.to_geo(east_m, north_m)
    return Pose(
        t_s=t_s,
        lat_deg=float(lat),
        lon_deg=float(lon),
        alt_m=alt_m,
        yaw_deg=yaw_deg,
        gimbal_pitch_deg=pitch_deg,
        gimbal_roll_deg=roll_deg,
    )


@pytest.fixture(scope="module")
def small_camera():
    return PinholeCamera.from_hfov(640, 360, 60.0)


def renderer_for(people, camera, **kw):
    settings = SceneSettings(extent_m=200, ground_res_m=0.5, people=people, noise=0, **kw)
    return SceneRenderer(Scene(settings, *HOME), camera, billboard=settings.billboard)


def person_mask(renderer, pose):
    """Pixels that change when the people are drawn (their silhouettes and shadows)."""
    with_people = renderer.render(pose).astype(int)
    people = renderer.scene.people
    renderer.scene.people = []
    renderer._people_xyz = np.zeros((0, 3))
    try:
        empty = renderer.render(pose).astype(int)
    finally:
        renderer.scene.people = people
        renderer._people_xyz = np.array([(p.east_m, p.north_m, 0.0) for p in people])
    return np.abs(with_people - empty).sum(axis=2) > 40


def test_intrinsics_from_hfov_and_sensor():
    cam = PinholeCamera.from_hfov(1280, 720, 90.0)
    assert cam.fx_px == pytest.approx(640.0)
    assert cam.hfov_deg == pytest.approx(90.0)

    class Cfg:
        hfov_deg = None
        sensor_width_mm = 6.17
        focal_length_mm = 4.5
        image_width_px = 4000
        image_height_px = 3000

    cam = PinholeCamera.from_settings(Cfg)
    assert cam.fx_px == pytest.approx(4000 * 4.5 / 6.17)
    with pytest.raises(ValueError):
        PinholeCamera.from_hfov(1280, 720, 180.0)


def test_camera_axes_follow_the_pose_convention():
    right, up, fwd = camera_axes(pose_at(0, 0, 10, yaw_deg=90, pitch_deg=0))
    assert fwd == pytest.approx([1, 0, 0], abs=1e-12)  # heading east, level
    assert right == pytest.approx([0, -1, 0], abs=1e-12)
    assert up == pytest.approx([0, 0, 1], abs=1e-12)
    right, up, fwd = camera_axes(pose_at(0, 0, 10, yaw_deg=0, pitch_deg=-90))
    assert fwd == pytest.approx([0, 0, -1], abs=1e-12)  # nadir
    assert up == pytest.approx([0, 1, 0], abs=1e-12)  # top of the image points north
    R = world_to_camera(pose_at(0, 0, 10, yaw_deg=33, pitch_deg=-40, roll_deg=4))
    assert np.allclose(R @ R.T, np.eye(3), atol=1e-12)


def test_ground_homography_round_trip(small_camera):
    r = renderer_for([], small_camera)
    pose = pose_at(5, -3, 25, yaw_deg=40, pitch_deg=-50)
    H = r.ground_homography(pose)
    ground = np.array([[10.0, 20.0], [-4.0, 9.0], [30.0, 2.0]])
    px, depth = r.project(pose, np.column_stack([ground, np.zeros(3)]))
    assert np.all(depth > 0)
    back = np.linalg.inv(H) @ np.column_stack([px, np.ones(3)]).T
    assert np.allclose((back[:2] / back[2]).T, ground, atol=1e-6)


def test_nadir_person_below_the_camera_is_at_the_image_centre(small_camera):
    r = renderer_for([{"east_m": 0, "north_m": 0}], small_camera, billboard="facing")
    pose = pose_at(0, 0, 20, pitch_deg=-90)
    mask = person_mask(r, pose)
    ys, xs = np.nonzero(mask)
    assert len(xs) > 50
    # the foot point (bottom of the cut-out) sits on the principal point
    assert ys.max() == pytest.approx(180, abs=3)
    assert np.median(xs) == pytest.approx(320, abs=12)


def test_oblique_person_ahead_is_at_the_image_centre_and_scaled_by_range(small_camera):
    """At pitch -45 deg and 20 m height the optical axis meets the ground 20 m ahead."""
    for heading, (e, n) in ((0.0, (0.0, 20.0)), (90.0, (20.0, 0.0))):
        r = renderer_for([{"east_m": e, "north_m": n, "height_m": 1.8}], small_camera)
        pose = pose_at(0, 0, 20, yaw_deg=heading, pitch_deg=-45)
        ys, xs = np.nonzero(person_mask(r, pose))
        assert ys.max() == pytest.approx(180, abs=3)
        assert np.median(xs) == pytest.approx(320, abs=12)
        # 'facing' billboards: height on screen = height_m * f / depth
        depth = np.hypot(20, 20)
        expected = 1.8 * small_camera.fx_px / depth
        top = np.percentile(ys, 1)
        assert ys.max() - top == pytest.approx(expected, rel=0.15)


def test_upright_people_are_foreshortened(small_camera):
    pose = pose_at(0, 0, 20, pitch_deg=-60)
    ahead = 20 / np.tan(np.radians(60))
    heights = {}
    for mode in ("facing", "upright"):
        r = renderer_for([{"east_m": 0, "north_m": ahead}], small_camera, billboard=mode)
        ys, _ = np.nonzero(person_mask(r, pose))
        heights[mode] = ys.max() - ys.min()
    # a vertical body seen 60 deg from above spans about cos(60 deg) of its face-on height
    assert heights["upright"] / heights["facing"] == pytest.approx(0.5, abs=0.15)


def test_sky_above_the_horizon(small_camera):
    r = renderer_for([], small_camera)
    img = r.render(pose_at(0, 0, 30, pitch_deg=0)).astype(int)
    top, bottom = img[:60], img[-60:]
    # sky: blue channel dominates; ground: green/grey
    assert (top[..., 0] > top[..., 2] + 20).mean() > 0.95
    assert (bottom[..., 0] > bottom[..., 2] + 20).mean() < 0.5


def test_rendering_is_deterministic(small_camera):
    people = [{"east_m": 2, "north_m": 25}, {"east_m": -3, "north_m": 22}]
    a = renderer_for(people, small_camera).render(pose_at(0, 0, 20, pitch_deg=-45))
    b = renderer_for(people, small_camera).render(pose_at(0, 0, 20, pitch_deg=-45))
    assert a.shape == (360, 640, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)


def test_camera_on_the_ground_does_not_break(small_camera):
    r = renderer_for([{"east_m": 0, "north_m": 5}], small_camera)
    img = r.render(pose_at(0, 0, 0.0, pitch_deg=-45))
    assert img.shape == (360, 640, 3)


class FakeClock:
    def __init__(self):
        self.t = 1000.0
        self.lock = threading.Lock()

    def __call__(self):
        with self.lock:
            self.t += 0.001
            return self.t


def test_sim_camera_source_frames(small_camera):
    r = renderer_for([{"east_m": 0, "north_m": 20}], small_camera)
    poses = iter([None, pose_at(0, 0, 20, pitch_deg=-45), pose_at(0, 1, 20, pitch_deg=-45)])
    cam = SimCamera(r, lambda: next(poses, pose_at(0, 2, 20, pitch_deg=-45)), fps=200.0)
    assert cam.is_live and cam.frame_count is None and cam.fps == 200.0
    f0 = cam.read(timeout_s=2.0)
    f1 = cam.read(timeout_s=2.0)
    assert f0.index == 0 and f1.index == 1
    assert f0.image.shape == (360, 640, 3)
    assert f1.t_s >= f0.t_s + 1 / 200.0 - 1e-3  # paced to fps
    assert f0.pose is None  # like a real camera: the patrol pairs frames with telemetry
    assert cam.last_true_pose == pose_at(0, 1, 20, pitch_deg=-45)
    cam.close()
    assert cam.read(timeout_s=0.1) is None


def test_sim_camera_without_a_pose_times_out_like_a_live_source(small_camera):
    r = renderer_for([], small_camera)
    cam = SimCamera(r, lambda: None, fps=10.0, attach_pose=True)
    assert isinstance(cam, FrameSource) and cam.is_live
    with pytest.raises(FrameTimeout, match="no vehicle pose"):
        cam.read(timeout_s=0.2)
    cam.close()
    assert cam.read(timeout_s=0.2) is None


def test_sim_camera_attaches_the_true_pose_on_request(small_camera):
    r = renderer_for([], small_camera)
    pose = pose_at(0, 0, 20, pitch_deg=-45)
    with SimCamera(r, lambda: pose, fps=50.0, attach_pose=True) as cam:
        frames = [f for _, f in zip(range(3), cam, strict=False)]
    assert [f.index for f in frames] == [0, 1, 2]
    assert frames[0].pose == pose
