"""Tracking (detection.tracking): ground association in metres, the pixel fallback, BoT-SORT's
camera-motion compensation, and the tracker / tiling settings."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
import supervision as sv

from detection.gatherings import GatheringDetector
from detection.settings import DetectionSettings, GatheringSettings
from detection.tracking import GROUND_NOISE_M, WALK_SPEED_M_S, Tracker, ground_gate_m
from groundstation.config import load_config, parse_override
from missions.errors import ConfigError

T0 = 1_700_000_000.0


def detections(n: int, who=None, conf: float = 0.8) -> sv.Detections:
    """``n`` person boxes (their pixels do not matter to the ground tracker); ``data["who"]``
    says which simulated person each row is."""
    d = sv.Detections(
        xyxy=np.tile([100.0, 100.0, 130.0, 190.0], (n, 1)) + np.arange(n)[:, None] * 40,
        confidence=np.full(n, conf),
        class_id=np.zeros(n, dtype=int),
    )
    d.data["who"] = np.arange(n) if who is None else np.asarray(who)
    return d


def ids_per_person(history: list[tuple[int, int]]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for who, tid in history:
        out.setdefault(who, set()).add(tid)
    return out


def test_ground_gate_grows_with_the_frame_interval_and_the_foot_jitter():
    assert float(ground_gate_m(0.0)) == pytest.approx(GROUND_NOISE_M)
    assert float(ground_gate_m(0.5)) == pytest.approx(GROUND_NOISE_M + 0.5 * WALK_SPEED_M_S)
    gates = ground_gate_m(0.2, np.array([0.0, 1.0, 100.0]))
    assert gates[1] - gates[0] == pytest.approx(1.0)
    assert gates[2] == pytest.approx(10.0)  # capped near the horizon
    assert float(ground_gate_m(60.0)) == float(ground_gate_m(2.0))  # long gaps: the walk is capped


def test_ground_ids_survive_a_camera_that_sweeps_past_people():
    """Six people stand still; the camera flies past at 3 m/s and 2 frames/s, so their pixels
    jump by more than a body width per frame, but their ground positions only jitter."""
    rng = np.random.default_rng(1)
    people = np.array([(0.0, 0.0), (1.2, 0.3), (-1.0, 0.8), (0.4, -1.1), (-0.6, -0.9), (12, 5)])
    tracker = Tracker("ground", fps=2.0)
    history = []
    for k in range(30):
        seen = rng.random(len(people)) > 0.1  # a missed detection now and then
        who = np.flatnonzero(seen)
        xy = people[who] + rng.normal(0.0, 0.1, (len(who), 2))
        tracked = tracker.update(detections(len(who), who), None, ground_xy=xy, t_s=T0 + k / 2)
        assert tracker.last_mode == "ground"
        history += list(zip(tracked.data["who"].tolist(), tracked.tracker_id.tolist(), strict=True))
    per = ids_per_person(history)
    assert sorted(per) == list(range(len(people)))
    assert all(len(ids) == 1 for ids in per.values()), per
    assert len({next(iter(ids)) for ids in per.values()}) == len(people)


def test_walkers_keep_their_ids_and_raise_no_gathering_while_a_group_does():
    """Two families of three cross head-on at 1.4 m/s (six people within 2 m for a moment) near a
    standing group of five: tracked on the ground and clustered, only the group is a gathering."""
    fps = 5.0
    rng = np.random.default_rng(2)
    offsets = np.array([0.0, 0.9, 1.8])
    group = np.array([(0.0, 30.0), (1.0, 30.2), (-0.8, 30.7), (0.3, 29.2), (-0.5, 29.4)])
    tracker = Tracker("ground", fps=fps)
    gatherings = GatheringDetector(GatheringSettings())  # eps 2 m, 5 people, 10 s
    history, alerts = [], []
    for k in range(int(40 * fps)):
        t = k / fps
        a = np.column_stack([-20 + 1.4 * t + offsets, np.zeros(3)])
        b = np.column_stack([20 - 1.4 * t - offsets, np.full(3, 0.8)])
        xy = np.vstack([a, b, group]) + rng.normal(0.0, 0.05, (11, 2))
        tracked = tracker.update(detections(11), None, ground_xy=xy, t_s=T0 + t)
        who = tracked.data["who"]
        history += list(zip(who.tolist(), tracked.tracker_id.tolist(), strict=True))
        alerts += gatherings.update(T0 + t, xy[who], tracked.tracker_id, tracked.confidence)[1]
    per = ids_per_person(history)
    assert all(len(ids) == 1 for ids in per.values()), per
    assert len(alerts) == 1
    assert alerts[0].count == 5
    assert np.hypot(alerts[0].centroid_xy[0], alerts[0].centroid_xy[1] - 30.0) < 0.5


def test_frames_without_a_pose_use_the_pixel_tracker_and_ids_never_collide():
    tracker = Tracker("ground", fps=10.0)
    xy = np.array([[0.0, 0.0], [5.0, 0.0]])
    ground_ids = set()
    for k in range(3):
        out = tracker.update(detections(2), None, ground_xy=xy, t_s=T0 + k / 10)
        ground_ids |= set(out.tracker_id.tolist())
    assert ground_ids == {1, 2}
    pixel_ids = set()
    for k in range(3, 6):
        out = tracker.update(detections(2), None, ground_xy=None, t_s=T0 + k / 10)
        assert tracker.last_mode == "pixel"
        pixel_ids |= set(out.tracker_id.tolist())
    assert len(pixel_ids) == 2 and not pixel_ids & ground_ids
    # a person whose foot point does not reach the ground (NaN) is not tracked on that frame
    out = tracker.update(
        detections(2), None, ground_xy=np.array([[0.0, 0.0], [np.nan, np.nan]]), t_s=T0 + 0.6
    )
    assert out.data["who"].tolist() == [0]
    tracker.reset()
    out = tracker.update(detections(1), None, ground_xy=xy[:1], t_s=T0 + 1.0)
    assert out.tracker_id.tolist() == [1]  # ids restart after a reset


def _panning_frames(step_px: int, n: int):
    """A textured scene panned ``step_px`` per frame, and two people fixed in it."""
    rng = np.random.default_rng(0)
    world = cv2.GaussianBlur(
        (rng.random((400, 640 + step_px * n, 3)) * 255).astype(np.uint8), (0, 0), 3
    )
    world = cv2.normalize(world, None, 0, 255, cv2.NORM_MINMAX)
    for k in range(n):
        s = step_px * k
        xs = np.array([400.0, 520.0]) - s
        boxes = np.column_stack([xs, [100.0, 120.0], xs + 40, [200.0, 220.0]])
        dets = sv.Detections(
            xyxy=boxes, confidence=np.array([0.9, 0.8]), class_id=np.zeros(2, dtype=int)
        )
        yield np.ascontiguousarray(world[:, s : s + 640]), dets


def test_botsort_camera_motion_compensation_runs_and_keeps_ids_while_the_camera_pans():
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    handler = Collect(level=logging.DEBUG)
    ultralytics_log = logging.getLogger("ultralytics")  # does not propagate to the root logger
    ultralytics_log.addHandler(handler)
    try:
        ids = {}
        for kind in ("botsort", "bytetrack"):
            tracker = Tracker(kind, fps=10.0)
            ids[kind] = [
                tracker.update(dets, image).tracker_id.tolist()
                for image, dets in _panning_frames(50, 8)
            ]
    finally:
        ultralytics_log.removeHandler(handler)
    assert not [m for m in messages if "GMC failed" in m], messages
    # the boxes move 50 px per frame, more than their 40 px width: without camera-motion
    # compensation no box overlaps its track; with it, both keep their ids
    assert ids["botsort"] == [[1, 2]] * 8
    assert ids["bytetrack"][1:] == [[]] * 7


def test_unknown_tracker_kind():
    with pytest.raises(ValueError, match="ground, bytetrack, botsort"):
        Tracker("sort")


@pytest.mark.parametrize(
    ("yaml_value", "expected"),
    [
        ("off", "off"),
        ("on", "on"),
        ("false", "off"),
        ("true", "on"),
        ("'off'", "off"),
        ("auto", "auto"),
    ],
)
def test_tiling_accepts_yaml_booleans(tmp_path, yaml_value, expected):
    # YAML 1.1 reads unquoted on/off as booleans: they mean on/off here
    path = tmp_path / "c.yaml"
    path.write_text(f"detection:\n  tiling: {yaml_value}\n", encoding="utf-8")
    assert load_config(path).detection.tiling == expected
    key, value = parse_override(f"detection.tiling={yaml_value}")
    assert load_config(None, {key: value}).detection.tiling == expected
    assert DetectionSettings(tiling=expected).tiling == expected


def test_tiling_and_tracker_reject_other_values(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("detection:\n  tiling: sometimes\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="detection.tiling"):
        load_config(path)
    with pytest.raises(ConfigError, match="detection.tracker"):
        load_config(None, {"detection.tracker": "sort"})
    assert load_config(None).detection.tracker == "ground"
