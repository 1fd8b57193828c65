"""Replay that never lies, in Debian's headless Chromium (issue 17).

* a seek to before the first telemetry shows an empty, consistent page (no status, no vehicle,
  no video, no alerts, "Alerts 0"), whatever was shown before;
* every alert of the recording is a marker on the seek bar; clicking one, or an alert in the
  list, seeks to it;
* at 16x the path drawn is the recorded track (length within 2 %), and times are shown in
  ``display.timezone``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from groundstation.overlay import OverlayHub, OverlayServer
from groundstation.replay import RecordingReplay, load_timeline
from groundstation.report.testing import watch, write_synthetic_recording
from groundstation.timezones import page_zone

T0 = 1_795_000_000.0
LEAD_S = 30.0  # the recording starts this long before the first telemetry (connecting)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    folder = write_synthetic_recording(tmp_path_factory.mktemp("rec"), t0=T0)
    events = folder / "events.jsonl"
    first = json.dumps({"t_s": T0 - LEAD_S, "kind": "start", "folder": folder.name})
    events.write_text(first + "\n" + events.read_text(encoding="utf-8"), encoding="utf-8")
    return folder


def _open(browser, url, viewport=(1400, 850)):
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    problems = watch(page)
    page.goto(url)
    page.wait_for_selector("#replay-bar:not([hidden])", timeout=30000)
    return page, problems


def _seek(page, t: float) -> None:
    page.eval_on_selector(
        "#rp-seek",
        f"e => {{ e.value = '{t}'; e.dispatchEvent(new Event('input')); "
        "e.dispatchEvent(new Event('change')); }",
    )


def _wait_status(replay, t: float, tol: float = 0.01) -> dict:
    import time

    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        st = replay.status()
        if abs(st["t_s"] - t) <= tol:
            return st
        time.sleep(0.05)
    return replay.status()


def test_seek_before_first_telemetry_shows_an_empty_consistent_page(browser, recording):
    timeline = load_timeline(recording)
    assert timeline.start_s == pytest.approx(T0 - LEAD_S)
    hub = OverlayHub(title="replay", mode="replay")
    # start paused at the end: everything is on screen
    replay = RecordingReplay(timeline, hub, paused=True, start_s=1e9)
    with OverlayServer(hub, port=0) as server:
        replay.start()
        try:
            page, problems = _open(browser, server.url)
            page.wait_for_function(
                "() => document.getElementById('alert-count').textContent === '3'", timeout=30000
            )
            page.wait_for_function(
                "() => Number(document.getElementById('video').dataset.framesShown || 0) >= 1",
                timeout=30000,
            )
            assert page.eval_on_selector("#st-mode", "e => e.textContent") != "–"
            _seek(page, timeline.start_s)
            st = _wait_status(replay, timeline.start_s)
            page.wait_for_function(
                "() => document.body.dataset.loading === '0' && "
                "document.getElementById('st-mode').textContent === '–' && "
                "document.getElementById('video').dataset.cleared === '1'",
                timeout=30000,
            )
            shown = page.evaluate(
                """() => ({
                  status: ["st-mode","st-phase","st-armed","st-battery","st-link","st-alt",
                           "st-speed","st-sortie","st-item","st-time"].map(
                           id => document.getElementById(id).textContent),
                  vehicle: document.getElementById('vehicle')
                           ? getComputedStyle(document.getElementById('vehicle')).display : 'none',
                  video_src: document.getElementById('video').getAttribute('src'),
                  alert_count: document.getElementById('alert-count').textContent,
                  alert_rows: document.querySelectorAll('#alerts li').length,
                  markers: document.querySelectorAll('#layer-alerts path').length,
                  trail: view.trail.length,
                })"""
            )
            page.close()
        finally:
            replay.stop()
    assert st["t_s"] == pytest.approx(timeline.start_s)
    assert problems == []
    assert shown == {
        "status": ["–"] * 10,
        "vehicle": "none",
        "video_src": None,
        "alert_count": "0",
        "alert_rows": 0,
        "markers": 0,
        "trail": 0,
    }
    assert problems == []


def test_alert_markers_on_the_seek_bar_and_clicks_seek_to_alerts(browser, recording):
    timeline = load_timeline(recording)
    alerts = [(t, a.id) for t, a, _ in timeline.alerts]
    assert len(alerts) == 3
    hub = OverlayHub(title="replay", mode="replay")
    replay = RecordingReplay(timeline, hub, paused=True, start_s=1e9)
    with OverlayServer(hub, port=0) as server:
        replay.start()
        try:
            page, problems = _open(browser, server.url)
            page.wait_for_function(
                "() => document.querySelectorAll('#rp-marks .mark').length === 3", timeout=30000
            )
            marks = page.eval_on_selector_all(
                "#rp-marks .mark", "ms => ms.map(m => [Number(m.dataset.t), m.dataset.id])"
            )
            # markers sit along the bar in time order, where their alerts are
            lefts = page.eval_on_selector_all(
                "#rp-marks .mark", "ms => ms.map(m => m.getBoundingClientRect().left)"
            )
            # click the second marker: the replay seeks to that alert, which is then listed
            t2, id2 = alerts[1]
            page.click(f"#rp-marks .mark[data-id='{id2}']")
            st_mark = _wait_status(replay, t2)
            page.wait_for_function(
                "() => document.querySelectorAll('#alerts li').length === 2", timeout=30000
            )
            page.wait_for_selector(f"#alerts li.selected[data-id='{id2}']", timeout=30000)
            # click the first alert in the list: the replay seeks to it
            t1, id1 = alerts[0]
            page.click(f"#alerts li[data-id='{id1}']")
            st_list = _wait_status(replay, t1)
            page.wait_for_function(
                "() => document.querySelectorAll('#alerts li').length === 1", timeout=30000
            )
            count = page.eval_on_selector("#alert-count", "e => e.textContent")
            page.close()
        finally:
            replay.stop()
    assert [m[1] for m in marks] == [a[1] for a in alerts]
    assert [m[0] for m in marks] == pytest.approx([a[0] for a in alerts], abs=1e-3)
    assert lefts == sorted(lefts) and lefts[0] < lefts[-1]
    assert st_mark["t_s"] == pytest.approx(t2, abs=0.01)
    assert st_list["t_s"] == pytest.approx(t1, abs=0.01)
    assert count == "1"
    assert problems == []


def test_the_seek_bar_and_its_marks_are_usable_on_a_phone(browser, recording):
    timeline = load_timeline(recording)
    hub = OverlayHub(title="replay", mode="replay")
    replay = RecordingReplay(timeline, hub, paused=True, start_s=1e9)
    with OverlayServer(hub, port=0) as server:
        replay.start()
        try:
            page, problems = _open(browser, server.url, viewport=(390, 844))
            page.wait_for_function(
                "() => document.querySelectorAll('#rp-marks .mark').length === 3", timeout=30000
            )
            seek_width = page.eval_on_selector("#rp-seek", "e => e.getBoundingClientRect().width")
            lefts = page.eval_on_selector_all(
                "#rp-marks .mark", "ms => ms.map(m => m.getBoundingClientRect().left)"
            )
            t1, id1 = timeline.alerts[0][0], timeline.alerts[0][1].id
            page.click(f"#rp-marks .mark[data-id='{id1}']")
            st = _wait_status(replay, t1)
            page.close()
        finally:
            replay.stop()
    # the bar spans most of a 390 px screen and the three marks are apart enough to tap
    assert seek_width > 300
    assert all(b - a >= 8 for a, b in zip(lefts, lefts[1:], strict=False))
    assert st["t_s"] == pytest.approx(t1, abs=0.01)
    assert problems == []


def _path_length_m(points) -> float:
    r = 6_371_008.8
    total = 0.0
    for (la1, lo1), (la2, lo2) in zip(points[:-1], points[1:], strict=True):
        p1, p2 = math.radians(la1), math.radians(la2)
        dp, dl = p2 - p1, math.radians(lo2 - lo1)
        h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        total += 2 * r * math.asin(math.sqrt(h))
    return total


def test_path_drawn_at_16x_is_the_recorded_track_and_times_use_the_display_zone(browser, recording):
    timeline = load_timeline(recording)
    recorded = [
        (round(s["lat_deg"], 7), round(s["lon_deg"], 7))
        for _, s in timeline.states
        if s.get("lat_deg") is not None
    ]
    recorded = [p for i, p in enumerate(recorded) if i == 0 or p != recorded[i - 1]]
    want = _path_length_m(recorded)
    hub = OverlayHub(title="replay", mode="replay")
    hub.timezone = page_zone("Asia/Shanghai")
    replay = RecordingReplay(timeline, hub, speed=16.0)
    with OverlayServer(hub, port=0) as server:
        replay.start()
        try:
            page, problems = _open(browser, server.url)
            # plays to the end (about 15 s at 16x), then stops, paused
            page.wait_for_function(
                f"() => Number(document.getElementById('rp-time').dataset.t) >= {timeline.end_s - 0.01}"
                " && document.getElementById('rp-play').dataset.paused === '1'",
                timeout=180000,
            )
            page.wait_for_function(f"() => view.trail.length >= {len(recorded)}", timeout=30000)
            drawn = page.evaluate("() => view.trail")
            status_time = page.eval_on_selector("#st-time", "e => e.textContent")
            page.close()
        finally:
            replay.stop()
    got = _path_length_m(drawn)
    assert got == pytest.approx(want, rel=0.02), (got, want, len(drawn), len(recorded))
    # the last telemetry time, in Shanghai (UTC+8)
    import datetime as dt

    last_t = timeline.states[-1][0]
    local = dt.datetime.fromtimestamp(last_t, dt.timezone(dt.timedelta(hours=8)))
    assert status_time == local.strftime("%H:%M:%S")
    assert problems == []
