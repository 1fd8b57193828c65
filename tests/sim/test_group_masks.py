"""Masked people standing in a group are judged masked by the real face-mask model (issue 12).

The demo scene's market group (configs/demo.yaml: eight people, real masked faces from
../shared/data/real/masks) rendered from fixed poses around it, close enough for faces of
``detection.mask.min_face_px``: the mask voter, fed as the pipeline feeds it, must settle no
one "unmasked". Before the fix the pasted faces left part of the cut-out's own (unmasked) face
visible beside the mask, and the voter settled some of the group "unmasked" (2 of the tracks
here, 12 misread faces).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "detection"))
from _models import face_detector  # noqa: F401
from testkit import shared_path

from detection.faces import MaskLabel
from detection.masks import (
    MAX_UPSCALE,
    MaskVoter,
    _fit,
    could_show_face,
    find_faces,
    head_region,
    look_batches,
)
from detection.settings import MaskSettings

REPO = Path(__file__).resolve().parent.parent.parent
MARKET = (41.790117, 123.4307218)


def _box(x, y, h):
    return [x - 0.3 * h, y - h, x + 0.3 * h, y]


def test_heads_far_apart_are_looked_at_in_separate_runs():
    shape = (720, 1280, 3)
    boxes = np.array([_box(100, 400, 300), _box(1180, 400, 300), _box(200, 420, 300)])
    batches = look_batches(boxes, shape, (640, 480))
    assert sorted(sorted(b) for b in batches) == [[0, 2], [1]]


def test_a_batch_never_shrinks_a_head_that_the_model_could_see_alone():
    rng = np.random.default_rng(3)
    shape = (720, 1280, 3)
    for _ in range(50):
        n = int(rng.integers(1, 9))
        xs, ys, hs = rng.uniform(0, 1280, n), rng.uniform(200, 720, n), rng.uniform(60, 400, n)
        boxes = np.array([_box(x, y, h) for x, y, h in zip(xs, ys, hs, strict=True)])
        batches = look_batches(boxes, shape, (640, 480))
        assert sorted(i for b in batches for i in b) == list(range(n))
        for b in batches:
            regions = np.array([head_region(boxes[i], shape) for i in b], float)
            union = (*regions[:, :2].min(axis=0), *regions[:, 2:].max(axis=0))
            crop, scale = _fit(union, (640, 480), shape)
            alone = [
                min(MAX_UPSCALE, 640 / max(1, r[2] - r[0]), 480 / max(1, r[3] - r[1]))
                for r in regions
            ]
            # never below what its smallest head gets alone (whole-pixel crops: 2 %), so never
            # below 1 for a head the model input can hold
            assert scale >= 0.98 * min(alone)
            assert scale >= 0.98 * min(1.0, *alone)
            # the model's aspect: no squashed faces
            w, h = crop[2] - crop[0], crop[3] - crop[1]
            assert abs(w / h - 640 / 480) < 0.02


def _market_frames():
    """(pose, image, boxes) of the demo market group from 16 fixed close poses."""
    from groundstation.config import load_config
    from missions.geo import Pose, offset
    from sim.camera import PinholeCamera, SceneRenderer, camera_axes
    from sim.scene import Scene

    cfg = load_config(REPO / "configs" / "demo.yaml")
    sc = cfg.sim.scene.model_copy(update={"faces_dir": shared_path("data", "real", "masks")})
    scene = Scene(sc, cfg.sim.home.lat_deg, cfg.sim.home.lon_deg)
    r = SceneRenderer(
        scene, PinholeCamera.from_settings(cfg.camera), noise=sc.noise, billboard=sc.billboard
    )
    market = [i for i, p in enumerate(scene.people) if p.group == "market"]
    assert len(market) == 8 and all(scene.people[i].mask == "masked" for i in market)
    for alt, dist in ((5.0, 4.5), (6.0, 9.0)):
        for bearing in (0, 90, 180, 270):
            lat, lon = offset(*MARKET, bearing, dist)
            pitch = -math.degrees(math.atan2(alt - 1.6, dist))
            pose = Pose(t_s=0, lat_deg=lat, lon_deg=lon, alt_m=alt,
                        yaw_deg=(bearing + 180) % 360, gimbal_pitch_deg=pitch)  # fmt: skip
            _, up, _ = camera_axes(pose)
            for _frame in range(3):  # three frames of a hover (the sim's noise changes)
                img = r.render(pose)
                ids, boxes = [], []
                for i, u, v in r.visible_people(pose):
                    if i not in market:
                        continue
                    p = scene.people[i]
                    foot = np.array([p.east_m, p.north_m, 0.0])
                    px, _ = r.project(pose, np.array([foot, foot + up * p.height_m]))
                    boxes.append(_box(u, v, v - px[1, 1]))
                    ids.append((alt, dist, bearing, i))
                yield ids, img, np.array(boxes)


@pytest.mark.slow
def test_the_masked_market_group_is_never_settled_unmasked(face_detector):  # noqa: F811
    settings = MaskSettings()  # min_face_px 24, frames_to_confirm 3: the patrol's
    voter = MaskVoter(settings)
    keys: dict[tuple, int] = {}
    reads = {"masked": 0, "unmasked": 0, "incorrect": 0}
    for f, (ids, img, boxes) in enumerate(_market_frames()):
        look = [k for k in range(len(ids)) if could_show_face(boxes[k], settings.min_face_px)]
        faces = find_faces(face_detector, img, boxes[look])
        for k, face in zip(look, faces, strict=True):
            key = keys.setdefault(ids[k], len(keys))
            voter.add(key, face, f, float(boxes[k, 3] - boxes[k, 1]))
            if face is not None and face.height_px >= settings.min_face_px:
                reads[face.label.value] += 1
    labels = [voter.label(k) for k in keys.values()]
    assert not [k for k in keys.values() if voter.take_alert(k)], labels
    assert MaskLabel.UNMASKED not in labels
    assert labels.count(MaskLabel.MASKED) >= len(labels) // 2, labels
    assert reads["masked"] >= 4 * reads["unmasked"], reads
