"""Acceptance of issue 16 on a recorded patrol: the patrol's video source is a real street clip
(``detection.source``), and YuNet (``tests/yunet_check.py``, never used for blurring) finds the
faces in the clip and none in the frames of the recorded video segments."""

from __future__ import annotations

import pytest
from patrol_helpers import DEMO, model_available, patrol_process  # noqa: F401 (fixtures)
from testkit import shared_path
from yunet_check import YuNet, video_frames

from groundstation.recording import Recording

pytestmark = [pytest.mark.slow, pytest.mark.model]


def test_recorded_patrol_video_has_no_face(tmp_path, patrol_process, model_available):  # noqa: F811
    clip = shared_path("data", "real", "street", "intel_face-demographics-walking.mp4")
    patrol = patrol_process(
        "--config",
        str(DEMO),
        "--speedup",
        "30",
        "--no-overlay",
        "--record-dir",
        str(tmp_path / "recordings"),
        "--set",
        f"detection.source={clip}",
        "--set",
        "broadcast.enabled=false",
        "--set",
        "detection.density.enabled=false",
        env={"YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "false"},
    )
    folder = patrol.recording()
    assert patrol.wait(900) == 0
    rec = Recording.open(folder)
    segments = sorted(rec.path("video").glob("segment_*"))
    assert segments, "no video recorded"
    yunet = YuNet()
    frames_in = list(video_frames(clip))
    found_in = sum(yunet.count(img) for img in frames_in)
    recorded = [img for seg in segments for img in video_frames(seg)]
    left = [k for k, img in enumerate(recorded) if yunet.count(img)]
    print(
        f"\nclip {len(frames_in)} frames, YuNet faces {found_in}; recorded {len(recorded)} frames"
    )
    assert found_in >= len(frames_in) and len(recorded) >= len(frames_in) // 2
    assert left == []
