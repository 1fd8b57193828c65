"""Acceptance of issue 16 on real images: YuNet, a face detector dronepatrol does not use for
blurring (``tests/yunet_check.py``), finds faces in the real photos of ../shared/data/real/masks
and the street clips of ../shared/data/real/street, and none in ``dronepatrol detect --out``."""

from __future__ import annotations

import cv2
import pytest
from testkit import run_cli, shared_path
from yunet_check import YuNet, video_frames

pytestmark = [pytest.mark.model, pytest.mark.slow]

ENV = {"YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "false"}
FAST = ["--set", "detection.density.enabled=false"]  # crowd counting does not change pixels


def _detect(*args, timeout=900):
    r = run_cli("detect", *args, *FAST, timeout=timeout, env=ENV)
    assert r.returncode == 0, r.stderr
    return r


@pytest.mark.parametrize("folder", ["with", "without", "incorrect"])
def test_no_face_left_in_annotated_photos(folder, tmp_path):
    src = shared_path("data", "real", "masks", folder)
    yunet = YuNet()
    _detect(str(src), "--alt", "3", "--pitch", "-10", "--out", str(tmp_path))
    found_in, left = 0, {}
    photos = sorted(p for p in src.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    for p in photos:
        out = tmp_path / f"{p.stem}_annotated.jpg"
        assert out.is_file(), out
        found_in += yunet.count(cv2.imread(str(p)))
        n = yunet.count(cv2.imread(str(out)))
        if n:
            left[p.name] = n
    print(f"\n{folder}: {len(photos)} photos, YuNet faces in {found_in}, out {sum(left.values())}")
    assert found_in >= len(photos)  # the check has faces to look for
    assert left == {}


def test_blur_off_leaves_the_faces_and_warns(tmp_path):
    """The check is meaningful: with privacy.blur off YuNet finds the faces in the output."""
    src = shared_path("data", "real", "masks", "without")
    r = _detect(str(src), "--alt", "3", "--pitch", "-10", "--blur", "off", "--out", str(tmp_path))
    assert "privacy.blur is off" in r.stderr
    yunet = YuNet()
    outs = sorted(tmp_path.glob("*_annotated.jpg"))
    assert sum(yunet.count(cv2.imread(str(p))) for p in outs) >= len(outs) // 2


@pytest.mark.parametrize("clip", ["intel_face-demographics-walking", "intel_classroom"])
def test_no_face_left_in_annotated_street_clips(clip, tmp_path):
    src = shared_path("data", "real", "street", f"{clip}.mp4")
    out = tmp_path / "out.mp4"
    n = 40
    _detect(str(src), "--alt", "3", "--pitch", "-10", "--max-frames", str(n), "--out", str(out))
    yunet = YuNet()
    frames_in = list(video_frames(src, n))  # a clip may be shorter than n
    found_in = sum(yunet.count(img) for img in frames_in)
    frames_out = list(video_frames(out))
    left = [k for k, img in enumerate(frames_out) if yunet.count(img)]
    print(f"\n{clip}: {len(frames_in)} frames, YuNet faces in {found_in}, out in frames {left}")
    assert len(frames_out) == len(frames_in) and found_in >= len(frames_in)
    assert left == []
