"""``dronepatrol detect --help`` tells the truth: its single-photo gathering examples, run as
printed from the checkout, raise gathering alerts on the shared images, and the pose it warns
about (a drone pose for a photo taken from a few metres up) raises none."""

from __future__ import annotations

import shlex
import time

import cv2
import pytest
from _models import face_detector, make_pipeline, yolo_model  # noqa: F401
from testkit import run_cli, shared_path

from detection.alerts import AlertKind
from missions.geo import Pose

pytestmark = [pytest.mark.model, pytest.mark.slow]


def _shared_photo_examples() -> list[str]:
    r = run_cli("detect", "--help")
    assert r.returncode == 0, r.stderr
    return [
        line.strip()
        for line in r.stdout.splitlines()
        if line.strip().startswith("dronepatrol detect ../shared/")
    ]


def test_help_has_single_photo_gathering_examples_for_aerial_and_crowd_images():
    examples = _shared_photo_examples()
    assert any("/aerial/" in e for e in examples) and any("/crowd/" in e for e in examples)
    for e in examples:  # each states the pose it needs
        assert all(flag in e for flag in ("--alt", "--pitch", "--hfov")), e


@pytest.mark.parametrize("which", ["aerial", "crowd"])
def test_help_example_raises_a_gathering_alert_as_printed(which):
    [example] = [e for e in _shared_photo_examples() if f"/{which}/" in e]
    argv = shlex.split(example)[2:]  # drop "dronepatrol detect"
    shared_path(*argv[0].removeprefix("../shared/").split("/"))  # skip when absent
    r = run_cli("detect", *argv, timeout=300)  # run from the checkout, as the help says
    assert r.returncode == 0, r.stderr
    print(r.stdout)
    assert ": gathering count=" in r.stdout


def test_a_drone_pose_on_a_photo_taken_from_a_few_metres_up_raises_no_gathering(make_pipeline):  # noqa: F811
    """The user's case: the crowd photo with the drone pose of the old help example."""
    img = cv2.imread(str(shared_path("data", "real", "crowd", "sht_partA_IMG_4.jpg")))
    pipe = make_pipeline(stills=True)
    r = pipe.process(img, time.time(), Pose(0, 41.79, 123.43, 25.0, gimbal_pitch_deg=-45), 0)
    gatherings = [a.count for a in r.alerts if a.kind is AlertKind.GATHERING]
    print(f"\n{len(r.persons)} persons, gatherings {gatherings}")
    assert len(r.persons) >= 5  # the people are found ...
    assert not gatherings  # ... but spread over far too much ground
