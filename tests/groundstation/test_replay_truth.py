"""Replay that never lies, without a browser: the hub's reset and trail, the seek bar's marks."""

from __future__ import annotations

import httpx
import pytest

from groundstation.overlay import OverlayHub, OverlayServer
from groundstation.replay import RecordingReplay, load_timeline
from groundstation.report.testing import write_synthetic_recording

T0 = 1_795_000_000.0


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    return write_synthetic_recording(tmp_path_factory.mktemp("rec"), t0=T0)


def test_trail_since_gives_every_point_after_the_clients_count():
    hub = OverlayHub()
    for i in range(10):
        hub.push_state(lat_deg=41.0 + i * 1e-5, lon_deg=123.0)
    total, pts = hub.trail_since(7)
    assert total == 10 and pts == [(round(41.0 + i * 1e-5, 7), 123.0) for i in (7, 8, 9)]
    assert hub.trail_since(10) == (10, [])
    hub.reset()
    assert hub.snapshot()["state"] == {} and hub.snapshot()["trail_total"] == 0
    # a client ahead of the hub (it had the trail before the reset) gets the whole new trail
    hub.push_state(lat_deg=42.0, lon_deg=124.0)
    assert hub.trail_since(10) == (1, [(42.0, 124.0)])


def test_seek_rebuilds_the_whole_track_and_nothing_after(recording):
    timeline = load_timeline(recording)
    hub = OverlayHub(mode="replay")
    replay = RecordingReplay(timeline, hub, paused=True).attach()
    mid = timeline.states[len(timeline.states) // 2][0]
    replay.seek(mid)
    replay.step()
    past = [s for t, s in timeline.states if t <= mid and "lat_deg" in s]
    dedup = [
        p
        for i, p in enumerate(past)
        if i == 0
        or (p["lat_deg"], p["lon_deg"]) != (past[i - 1]["lat_deg"], past[i - 1]["lon_deg"])
    ]
    snap = hub.snapshot()
    assert snap["trail_total"] == len(dedup)  # every sample, not a decimated copy
    assert [a["id"] for a in snap["alerts"]] == [a.id for t, a, _ in timeline.alerts if t <= mid]
    replay.seek(timeline.start_s - 100)  # clamped to the start: the first sample only
    replay.step()
    assert len(hub.snapshot()["alerts"]) == 0


def test_marks_endpoint_lists_every_alert(recording):
    timeline = load_timeline(recording)
    hub = OverlayHub(mode="replay")
    replay = RecordingReplay(timeline, hub, paused=True)
    with OverlayServer(hub, port=0) as server:
        replay.start()
        try:
            marks = httpx.get(server.url + "api/replay/marks", timeout=10).json()["marks"]
        finally:
            replay.stop()
    assert [(m["t_s"], m["id"]) for m in marks] == [(t, a.id) for t, a, _ in timeline.alerts]
    assert {m["kind"] for m in marks} == {"gathering", "unmasked"}


def test_marks_endpoint_is_404_live():
    with OverlayServer(OverlayHub(), port=0) as server:
        assert httpx.get(server.url + "api/replay/marks", timeout=10).status_code == 404
