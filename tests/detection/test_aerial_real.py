"""Aerial photos of ../shared/data/real/aerial: tiling and gatherings with a stated camera pose.

Stated poses (the frames carry no telemetry): chosen so that people project to their real size.
In the dusk square-dance frame the dancers are about 40 px tall; at hfov 70 deg on 1360 px
(fx = 971 px) a 1.65 m person seen 45 deg from above is 40 px at about 28 m slant range, i.e.
16-18 m above ground. In the night frame people are about 45 px tall at 60 deg: 15 m. The Stanford
Drone Dataset frames are nadir views from about 60 m; the ETH BIWI frame is a near-nadir view
from a building roof, the 8 m wide path about 250 px across (15 m at hfov 70 deg on 640 px).

The negatives: in the Coupa plaza (about 4 people) the nano model finds only one person, so it
shows little on its own; in the ETH frame it finds five walkers (enough for ``min_people``), spread
along the path, and no gathering may be raised from them.
"""

from __future__ import annotations

import time

import cv2
import pytest
from _models import face_detector, make_pipeline, yolo_model  # noqa: F401
from testkit import shared_path

from detection.alerts import AlertKind
from detection.persons import PersonDetector
from missions.geo import Pose

pytestmark = pytest.mark.model

HFOV = {"camera.hfov_deg": 70.0}
POSES = {
    "visdrone_vid_dusk_square_dance.jpg": Pose(0, 41.79, 123.43, 16.0, gimbal_pitch_deg=-45),
    "visdrone_vid_night_gathering.jpg": Pose(0, 41.79, 123.43, 15.0, gimbal_pitch_deg=-60),
    "sdd_coupa_video0.jpg": Pose(0, 37.43, -122.17, 60.0, gimbal_pitch_deg=-90),
    "eth_seq_eth_topdown.png": Pose(0, 47.37, 8.54, 15.0, gimbal_pitch_deg=-80),
}
MIN_PERSONS = {"eth_seq_eth_topdown.png": 5}  # a negative that is not empty


def _img(name):
    return cv2.imread(str(shared_path("data", "real", "aerial", name)))


def test_tiling_finds_clearly_more_people_than_one_full_frame_pass(yolo_model):  # noqa: F811
    det = PersonDetector(yolo_model, conf=0.25, iou=0.5, imgsz=640)
    counts = {}
    for name in (
        "visdrone_vid_dusk_square_dance.jpg",
        "visdrone_vid_night_gathering.jpg",
        "ucy_students03_elevated.png",
    ):
        img = _img(name)
        counts[name] = (len(det.detect(img)), len(det.detect(img, tiled=True)))
    print("\npersons full frame / tiled:", counts)
    full, tiled = counts["visdrone_vid_dusk_square_dance.jpg"]  # about 75 people in the frame
    assert tiled >= 3 * full and tiled >= 30
    assert tiled <= 80  # not inventing people
    for full, tiled in counts.values():
        assert tiled > full


@pytest.mark.parametrize(
    ("name", "expect"),
    [
        ("visdrone_vid_dusk_square_dance.jpg", True),
        ("visdrone_vid_night_gathering.jpg", True),
        ("sdd_coupa_video0.jpg", False),
        ("eth_seq_eth_topdown.png", False),
    ],
)
def test_gathering_detector_flags_the_crowds_and_not_the_sparse_plaza(make_pipeline, name, expect):  # noqa: F811
    pipe = make_pipeline(stills=True, overrides=HFOV)
    pose = POSES[name]
    r = pipe.process(_img(name), time.time(), pose, 0)
    gatherings = [a for a in r.alerts if a.kind is AlertKind.GATHERING]
    print(
        f"\n{name}: {len(r.persons)} persons, tiled={r.tiled}, GSD {r.gsd_cm_px:.2f} cm/px, "
        f"gatherings {[(a.count, a.radius_m) for a in gatherings]}"
    )
    assert r.tiled  # auto tiling switched on by the GSD
    assert len(r.persons) >= MIN_PERSONS.get(name, 0)
    assert bool(gatherings) is expect
    for a in gatherings:
        assert a.count >= 5 and a.radius_m is not None and a.lat_deg is not None
        assert abs(a.lat_deg - pose.lat_deg) < 0.001 and abs(a.lon_deg - pose.lon_deg) < 0.001
    if name.startswith("visdrone_vid_dusk"):
        assert sum(a.count for a in gatherings) >= 15
