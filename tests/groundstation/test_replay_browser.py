"""Replay and report pages in Debian's headless Chromium (synthetic recording).

The same checks on a recording made by ``dronepatrol patrol`` on the simulator are in
``tests/e2e/test_analyst.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from groundstation.overlay import OverlayHub, OverlayServer
from groundstation.replay import RecordingReplay, load_timeline
from groundstation.report import build_report, render_html
from groundstation.report.testing import (
    assert_replay_page_ok,
    assert_report_page_ok,
    check_replay_page,
    check_report_page,
    write_synthetic_recording,
)

T0 = 1_795_000_000.0

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    return write_synthetic_recording(tmp_path_factory.mktemp("rec"), t0=T0)


def test_replay_page_video_vehicle_pause_seek(browser, recording):
    timeline = load_timeline(recording)
    hub = OverlayHub(title="replay test", mode="replay")
    replay = RecordingReplay(timeline, hub, speed=4.0)
    with OverlayServer(hub, port=0) as server:
        replay.start()
        try:
            seen = check_replay_page(browser, timeline, server.url, replay)
        finally:
            replay.stop()
    assert_replay_page_ok(seen)


def test_report_page_in_chromium(browser, recording, tmp_path):
    report = build_report(recording)
    out = tmp_path / "report.html"
    out.write_text(render_html(report), encoding="utf-8")
    ids = [a.id for a in report.input.alerts]
    seen = check_report_page(browser, out, ids)
    assert_report_page_ok(seen, ids)
