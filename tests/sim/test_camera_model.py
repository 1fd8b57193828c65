"""A real detector finds the simulated camera's people where the scene put them.

This is the check that the sim camera makes the demo meaningful: YOLO11n INT8 (OpenVINO, from
../shared/models) runs on the rendered pixels at the demo's altitude and camera settings, and the
foot points of its person boxes, projected back onto the ground, land on the scene's people.
"""

from __future__ import annotations

import numpy as np
import pytest
from testkit import shared_path

from missions.geo import LocalFrame, Pose
from sim.camera import PinholeCamera, SceneRenderer
from sim.scene import Scene, SceneSettings

HOME = (41.79, 123.43)
FRAME = LocalFrame(*HOME)

pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def yolo():
    path = shared_path("models", "yolo11n-int8-openvino", "yolo11n_int8_openvino_model")
    from ultralytics import YOLO

    return YOLO(str(path), task="detect")


def detect_feet(model, image):
    res = model.predict(image, imgsz=640, conf=0.25, classes=[0], verbose=False)[0]
    xyxy = res.boxes.xyxy.cpu().numpy()
    return np.column_stack([(xyxy[:, 0] + xyxy[:, 2]) / 2, xyxy[:, 3]]), res.boxes.conf.numpy()


@pytest.mark.parametrize(
    ("alt_m", "pitch_deg", "hfov_deg"),
    [(18.0, -45.0, 50.0), (20.0, -45.0, 60.0), (20.0, -60.0, 60.0), (25.0, -50.0, 60.0)],
)
def test_yolo_finds_rendered_people_where_they_stand(yolo, alt_m, pitch_deg, hfov_deg):
    people = [
        {"east_m": float(x), "north_m": float(y)} for x in (-10, -3, 4, 11) for y in (-4, 3, 10)
    ]
    settings = SceneSettings(seed=5, extent_m=300, people=people)
    scene = Scene(settings, *HOME)
    camera = PinholeCamera.from_hfov(1280, 720, hfov_deg)
    renderer = SceneRenderer(scene, camera, noise=settings.noise, billboard=settings.billboard)
    back = alt_m / np.tan(np.radians(-pitch_deg))
    lat, lon = FRAME.to_geo(0.0, 3.0 - back)
    pose = Pose(t_s=0, lat_deg=lat, lon_deg=lon, alt_m=alt_m, yaw_deg=0, gimbal_pitch_deg=pitch_deg)
    visible = renderer.visible_people(pose, margin_px=-40)
    assert len(visible) >= 8
    image = renderer.render(pose)
    feet_px, conf = detect_feet(yolo, image)
    # foot pixel -> ground through the inverse plane homography
    H_inv = np.linalg.inv(renderer.ground_homography(pose))
    g = H_inv @ np.column_stack([feet_px, np.ones(len(feet_px))]).T
    ground = (g[:2] / g[2]).T
    truth = np.array([(scene.people[i].east_m, scene.people[i].north_m) for i, _, _ in visible])
    found = 0
    for t in truth:
        d = np.hypot(*(ground - t).T) if len(ground) else np.array([np.inf])
        found += bool(d.min() < 1.0)
    # at least 80 % of the visible people are found, each within 1 m of where it stands
    assert found >= 0.8 * len(truth), (found, len(truth), conf)
    # and nothing is detected away from the people (in view or at the image border)
    everyone = np.array([(p.east_m, p.north_m) for p in scene.people])
    for gpt in ground:
        assert np.hypot(*(everyone - gpt).T).min() < 1.5
