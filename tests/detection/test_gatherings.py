"""Gathering detection on synthetic tracks: persistence, cooldown, passers-by, stills."""

from __future__ import annotations

import numpy as np

from detection.gatherings import GatheringDetector, cluster_positions
from detection.settings import GatheringSettings

FPS = 5.0


def _group(centre, n, spacing=1.0):
    """n people on a small ring around centre (neighbours ~spacing m apart)."""
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = spacing * n / (2 * np.pi)
    return np.column_stack([centre[0] + r * np.cos(ang), centre[1] + r * np.sin(ang)])


def _run(det, positions_fn, ids, seconds, t0=1_700_000_000.0):
    alerts = []
    for k in range(int(seconds * FPS)):
        t = t0 + k / FPS
        current, new = det.update(t, positions_fn(t - t0), ids, np.full(len(ids), 0.8))
        alerts += [(t - t0, g) for g in new]
    return alerts


def test_standing_group_raises_exactly_one_alert_with_the_right_count():
    det = GatheringDetector(GatheringSettings())  # eps 2 m, 5 people, 10 s, cooldown 120 s
    group = _group((10.0, 20.0), 6, spacing=0.8)
    loner = np.array([[40.0, 0.0], [-30.0, 5.0]])
    ids = np.arange(1, 9)

    def positions(t):
        jitter = 0.1 * np.sin(t + np.arange(6))[:, None]
        return np.vstack([group + jitter, loner])

    alerts = _run(det, positions, ids, seconds=60)
    assert len(alerts) == 1
    t_alert, g = alerts[0]
    assert 10.0 <= t_alert <= 10.0 + 2 / FPS
    assert g.count == 6
    assert sorted(g.track_ids) == [1, 2, 3, 4, 5, 6]
    assert np.hypot(g.centroid_xy[0] - 10.0, g.centroid_xy[1] - 20.0) < 0.3
    assert 0.6 < g.radius_m < 0.95
    assert g.last_seen_s - g.first_seen_s >= 10.0


def test_people_walking_past_each_other_raise_nothing():
    """Two families of three cross head-on at 1.4 m/s: six people within 2 m for a moment."""
    det = GatheringDetector(GatheringSettings())
    ids = np.arange(1, 7)
    offsets = np.array([0.0, 0.9, 1.8])

    def positions(t):
        a = np.column_stack([-20 + 1.4 * t + offsets, np.zeros(3)])
        b = np.column_stack([20 - 1.4 * t - offsets, np.full(3, 0.8)])
        return np.vstack([a, b])

    seen_cluster, alerts = [], []
    t0 = 1_700_000_000.0
    for k in range(int(40 * FPS)):
        t = k / FPS
        current, new = det.update(t0 + t, positions(t), ids)
        seen_cluster.append(bool(current))
        alerts += new
    assert any(seen_cluster), "the crossing should form a momentary cluster"
    assert sum(seen_cluster) / FPS < 3.0
    assert alerts == []


def test_same_place_is_not_alerted_again_within_the_cooldown_even_with_new_ids():
    det = GatheringDetector(GatheringSettings(persist_s=5.0, cooldown_s=60.0))
    group = _group((0.0, 0.0), 5, spacing=1.0)
    a1 = _run(det, lambda t: group, np.arange(1, 6), seconds=8)
    # the drone flies away (nothing seen for 10 s), comes back: new track ids, same people
    _run(det, lambda t: np.empty((0, 2)), np.empty(0, int), seconds=10, t0=1_700_000_008.0)
    a2 = _run(det, lambda t: group + 0.3, np.arange(100, 105), seconds=8, t0=1_700_000_020.0)
    assert len(a1) == 1 and a2 == []
    # after the cooldown it may alert again
    a3 = _run(det, lambda t: group, np.arange(200, 205), seconds=8, t0=1_700_000_200.0)
    assert len(a3) == 1


def test_short_gaps_do_not_restart_persistence():
    det = GatheringDetector(GatheringSettings(persist_s=10.0, gap_s=3.0))
    group = _group((0.0, 0.0), 5)
    ids = np.arange(1, 6)
    alerts = []
    t0 = 1_700_000_000.0
    for k in range(int(14 * FPS)):
        t = k / FPS
        pos = group if not 4.0 <= t < 5.0 else np.full((5, 2), np.nan)  # 1 s of missed detections
        alerts += det.update(t0 + t, pos, ids)[1]
    assert len(alerts) == 1


def test_stills_alert_at_once_and_independently():
    det = GatheringDetector(GatheringSettings(), stills=True)
    group = _group((0.0, 0.0), 7)
    for _ in range(3):
        current, new = det.update(1_700_000_000.0, group)
        assert len(new) == 1 and new[0].count == 7 and new[0].track_ids == []
    sparse = np.array([[0, 0], [10, 0], [0, 10], [10, 10], [5, 5.0]])
    assert det.update(1_700_000_000.0, sparse) == ([], [])


def test_dbscan_ignores_unprojected_people_and_small_groups():
    xy = np.vstack([_group((0, 0), 4), [[np.nan, np.nan]] * 3])
    assert cluster_positions(xy, 2.0, 5) == []
    xy = np.vstack([_group((0, 0), 5), [[np.nan, np.nan]], _group((50, 0), 3)])
    clusters = cluster_positions(xy, 2.0, 5)
    assert [sorted(c.tolist()) for c in clusters] == [[0, 1, 2, 3, 4]]


def test_a_packed_crowd_without_boxes_persists_into_one_alert_and_a_box_cluster_absorbs_it():
    from detection.crowds import Crowd

    det = GatheringDetector(GatheringSettings())
    far = Crowd(np.zeros(0, int), (10, 10, 90, 60), 0, (50.0, 50.0), 3.0, 40.0, 40.0)
    boxes = _group((0.0, 0.0), 6)
    ids = np.arange(6)
    alerts = []
    for k in range(int(12 * FPS)):
        current, new = det.update(1000.0 + k / FPS, boxes, ids, packed=[far])
        alerts += new
    assert len(current) == 2
    [alert] = [g for g in alerts if g.crop_xyxy is not None]  # once, after persist_s
    assert alert.people_estimate == 40.0 and alert.count == 0 and alert.track_ids == []
    near = Crowd(np.zeros(0, int), (0, 0, 9, 9), 0, (1.0, 0.5), 2.0, 30.0, 30.0)
    current, _ = GatheringDetector(GatheringSettings(), stills=True).update(
        0.0, boxes, None, packed=[near]
    )
    assert len(current) == 1 and current[0].crop_xyxy is None  # the boxes' cluster stands
    sparse = Crowd(np.zeros(0, int), (0, 0, 9, 9), 0, (80.0, 0.0), 2.0, 3.0, 3.0)
    current, _ = GatheringDetector(GatheringSettings(), stills=True).update(
        0.0, np.zeros((0, 2)), None, packed=[sparse]
    )
    assert current == []  # fewer than min_people
