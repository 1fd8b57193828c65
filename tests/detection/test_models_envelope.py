"""Person model profiles (class maps, measured settings), the operating envelope, its warnings in
``plan``, the ``.tflite`` conversion and ``detect --json``."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from testkit import run_cli, shared_path

from detection.envelope import (
    alt_for_person_px,
    apparent_person_m,
    person_px_for_plan,
    plan_envelope_warning,
)
from detection.errors import ModelNotFoundError
from detection.models import model_family, profile_for, read_metadata_names
from groundstation.config import load_config

COCO = {i: n for i, n in enumerate(["person", "bicycle", "car"] + [f"c{i}" for i in range(77)])}
VISDRONE = dict(enumerate(["pedestrian", "people", "bicycle", "car", "van", "truck"]))


def test_profiles_map_person_classes_from_the_names_and_take_overrides():
    coco = profile_for(COCO)
    assert (coco.family, coco.person_classes, coco.min_person_px) == ("coco", (0,), 32.0)
    vis = profile_for(VISDRONE)
    assert (vis.family, vis.person_classes, vis.conf) == ("visdrone", (0, 1), 0.2)
    assert vis.min_person_px < coco.min_person_px  # trained on people seen from drones
    own = profile_for({0: "car", 1: "walker"}, classes=[1], conf=0.4, min_person_px=12)
    assert (own.family, own.person_classes, own.conf, own.min_person_px) == (
        "unknown",
        (1,),
        0.4,
        12.0,
    )
    with pytest.raises(ModelNotFoundError, match="no person class.*detection.classes"):
        profile_for({0: "car", 1: "bus"})
    with pytest.raises(ModelNotFoundError, match=r"detection.classes: \[7\]"):
        profile_for({0: "car", 1: "walker"}, classes=[7])


def test_family_is_read_from_the_exported_models_metadata():
    names = read_metadata_names(
        shared_path("models", "yolo11n-int8-openvino", "yolo11n_int8_openvino_model")
    )
    assert model_family(names) == "coco"


def test_person_size_follows_the_camera_like_a_gsd():
    cam = load_config(None, {}).camera
    assert apparent_person_m(-90) == pytest.approx(0.5)
    assert apparent_person_m(0) == pytest.approx(1.7)
    px20 = person_px_for_plan(cam, 20.0, 640)
    assert person_px_for_plan(cam, 40.0, 640) == pytest.approx(px20 / 2)  # GSD ~ altitude
    alt = alt_for_person_px(cam, 32.0, 640)
    assert person_px_for_plan(cam, alt, 640) == pytest.approx(32.0)
    assert plan_envelope_warning(cam, alt * 0.9, 640, 32.0) is None
    msg = plan_envelope_warning(cam, alt * 2, 640, 32.0, "the COCO model")
    assert "below the 32 px the COCO model finds" in msg and f"{alt:.0f} m" in msg


def test_plan_warns_refuses_and_chooses_the_altitude_from_a_person_size(tmp_path):
    args = ("plan", "--config", "configs/demo.yaml", "--no-preview", "--out", str(tmp_path))
    ok = run_cli(*args)
    assert ok.returncode == 0 and "envelope" not in ok.stderr  # the demo flies inside it
    high = run_cli(*args, "--alt", "80")
    assert high.returncode == 0, high.stderr
    assert "warning: at 80 m people will be about" in high.stderr
    refused = run_cli(*args, "--alt", "80", "--set", "detection.envelope=refuse")
    assert refused.returncode != 0
    assert "set detection.envelope=warn to fly anyway" in refused.stderr
    chosen = run_cli(*args, "--person-px", "40", "--json")
    assert chosen.returncode == 0, chosen.stderr
    cam = load_config("configs/demo.yaml").camera
    alt = json.loads(chosen.stdout)["stats"]["alt_m"]
    assert person_px_for_plan(cam, alt, 640) == pytest.approx(40.0, rel=0.01)


@pytest.mark.model
def test_a_yolo_tflite_is_converted_to_openvino_with_boxes_in_pixels(tmp_path, monkeypatch):
    """The VisDrone .tflite: OpenVINO reads it; boxes land on the people (the folder converted
    beside it in ../shared scales them by 640 twice, so every box clips to the frame corner)."""
    monkeypatch.setenv("DRONEPATROL_CACHE", str(tmp_path))
    from detection.models import load_yolo
    from detection.persons import PersonDetector

    tfl = shared_path("models", "yolo11n-visdrone", "yolo11n_visdrone_dynamic_int8_default.tflite")
    det = PersonDetector(load_yolo(tfl))
    assert list((tmp_path / "models").glob("*_openvino_model/metadata.yaml"))
    img = cv2.imread(str(shared_path("data", "real", "aerial", "visdrone_vid_night_gathering.jpg")))
    d = det.detect(img)
    assert len(d) >= 25  # about 45 people
    h = d.xyxy[:, 3] - d.xyxy[:, 1]
    assert 20 < np.median(h) < 150  # people, not the frame (765 px high)
    assert (d.xyxy[:, 2] - d.xyxy[:, 0]).max() < 200
    assert len({tuple(b) for b in d.xyxy.round().tolist()}) == len(d)  # no clipped duplicates


@pytest.mark.model
@pytest.mark.slow
def test_detect_json_gives_one_object_per_photo_and_says_when_outside_the_envelope(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    src = shared_path("data", "real", "aerial", "visdrone_vid_night_gathering.jpg")
    (photos / "night.jpg").write_bytes(src.read_bytes())
    r = run_cli(
        "detect", str(photos), "--alt", "15", "--pitch", "-60", "--hfov", "70",
        "--lat", "41.79", "--lon", "123.43", "--json", timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    [line] = r.stdout.splitlines()
    doc = json.loads(line)
    for key in ("frame", "t_s", "persons", "people_estimate", "gatherings", "faces", "envelope"):
        assert key in doc
    assert doc["file"] == "night.jpg" and doc["envelope"]["inside"] is True
    assert doc["people_estimate"] >= len(doc["persons"]) >= 5
    for g in doc["gatherings"]:
        assert g["count"] >= 5 and abs(g["lat_deg"] - 41.79) < 0.001 and g["radius_m"] > 0
    assert set(doc["faces"]) >= {"masked", "unmasked", "incorrect", "unknown"}
    assert "frame 0 night.jpg:" in r.stderr  # human lines on stderr
    high = run_cli(
        "detect", str(photos), "--alt", "300", "--pitch", "-90", "--json",
        "--set", "detection.density.enabled=false", timeout=300,
    )  # fmt: skip
    assert high.returncode == 0, high.stderr
    assert json.loads(high.stdout)["envelope"]["inside"] is False
    assert "outside the model's envelope" in high.stderr
    assert "is not a count of the people there" in high.stderr
