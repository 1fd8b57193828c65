"""Masks and clothes on simulated people (sim.dress): real labelled faces, painted clothes.

The face photos come from ../shared/data/real/masks (skipped without them); the mask state is
then judged by the real face-mask model on the rendered frame, never read from the scene.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "detection"))
from _models import face_detector  # noqa: F401
from testkit import shared_path

from detection.colours import clear_colour
from detection.faces import MaskLabel
from detection.masks import could_show_face, find_faces
from groundstation.closelook import face_too_small
from missions.geo import LocalFrame, Pose
from sim.camera import PinholeCamera, SceneRenderer, camera_axes
from sim.dress import FaceBank, dress_sprite
from sim.scene import Scene, SceneSettings, person_sprites

HOME = (41.79, 123.43)
FRAME = LocalFrame(*HOME)


@pytest.fixture(scope="module")
def bank():
    return FaceBank(shared_path("data", "real", "masks"))


def test_face_bank_reads_every_mask_state_from_labels_csv(bank):
    assert bank.available
    for state in ("masked", "unmasked", "incorrect"):
        faces = bank.faces[state]
        assert faces and all(f.state == state for f in faces)
        assert all(f.image.ndim == 3 and f.image.shape[0] >= 90 for f in faces)


def test_no_folder_means_no_faces():
    assert not FaceBank(None).available


def test_dress_sprite_keeps_the_foot_and_paints_named_colours(bank):
    base = person_sprites()[0]
    s = dress_sprite(base, face=bank.pick("unmasked", 0), upper="red", lower="black")
    assert s.rgba.shape[0] == base.rgba.shape[0]
    assert "face" in s.source
    h, w = s.rgba.shape[:2]
    box = np.array([0, 0, w, h], float)
    img = np.ascontiguousarray(s.rgba[..., :3])
    assert clear_colour(img, box, "upper").en == "red"
    assert clear_colour(img, box, "lower").en == "black"


def test_unknown_colour_word_is_refused():
    with pytest.raises(KeyError):
        dress_sprite(person_sprites()[0], upper="mauve")


def _render_person(mask, face, *, cam_alt, dist, pitch=None):
    settings = SceneSettings(
        extent_m=120,
        ground_res_m=0.5,
        noise=0,
        people=[
            {
                "east_m": 0.0,
                "north_m": 0.0,
                "sprite": 0,
                "mask": mask,
                "face": face,
                "upper": "red",
                "lower": "black",
            }
        ],  # fmt: skip
        faces_dir=shared_path("data", "real", "masks"),
    )
    scene = Scene(settings, *HOME)
    r = SceneRenderer(scene, PinholeCamera.from_hfov(1280, 720, 50.0))
    lat, lon = FRAME.to_geo(0.0, -dist)
    if pitch is None:
        pitch = -math.degrees(math.atan2(cam_alt - 1.6, dist))
    pose = Pose(t_s=0, lat_deg=float(lat), lon_deg=float(lon), alt_m=cam_alt,
                yaw_deg=0.0, gimbal_pitch_deg=pitch)  # fmt: skip
    img = r.render(pose)
    (i, u, v), = r.visible_people(pose)  # fmt: skip
    _, up, _ = camera_axes(pose)  # "facing" billboards stand along the camera's up vector
    px, _ = r.project(pose, np.array([[0, 0, 0], up * 1.75], float))
    top = px[1, 1]
    hgt = v - top
    box = np.array([u - 0.3 * hgt, top, u + 0.3 * hgt, v])
    return img, box


@pytest.mark.model
@pytest.mark.parametrize(
    ("mask", "face", "expected"),
    [
        ("unmasked", 0, MaskLabel.UNMASKED),
        ("masked", 0, MaskLabel.MASKED),
        ("masked", 1, MaskLabel.MASKED),
    ],  # fmt: skip
)
def test_close_up_the_real_model_reads_the_pasted_face(face_detector, mask, face, expected):  # noqa: F811
    img, box = _render_person(mask, face, cam_alt=6.0, dist=6.0)
    assert could_show_face(box, 24) and not face_too_small(box, 24)
    (found,) = find_faces(face_detector, img, box[None])
    assert found is not None and found.height_px >= 24
    assert found.label == expected
    assert clear_colour(img, box, "upper").en == "red"


@pytest.mark.model
def test_from_the_survey_the_face_is_too_small_to_judge(face_detector):  # noqa: F811
    # the demo's survey view: 18 m up, the camera 45 deg down, the person 18 m ahead
    img, box = _render_person("unmasked", 0, cam_alt=18.0, dist=18.0, pitch=-45.0)
    assert face_too_small(box, 24)
    (found,) = find_faces(face_detector, img, box[None])
    assert found is None or found.height_px < 24  # no vote: the label stays unknown
