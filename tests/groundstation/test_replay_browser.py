"""Replay and report pages in Debian's headless Chromium (synthetic recording).

The same checks on a recording made by ``dronepatrol patrol`` on the simulator are in
``tests/e2e/test_analyst.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from groundstation.overlay import OverlayHub, OverlayServer
from groundstation.replay import RecordingReplay, load_timeline
from groundstation.report import build_report, render_html
from groundstation.report.testing import write_synthetic_recording

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
T0 = 1_795_000_000.0

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"needs Debian's chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    return write_synthetic_recording(tmp_path_factory.mktemp("rec"), t0=T0)


def watch(page) -> list[str]:
    """Collect page errors, console errors and warnings, and failed requests of ``page``.

    A request the page itself aborts (the event stream it closes to reload after a seek) is not
    a failure.
    """
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on(
        "requestfailed",
        lambda r: (
            problems.append(f"request failed: {r.url} {r.failure}")
            if "ERR_ABORTED" not in (r.failure or "")
            else None
        ),
    )
    return problems


def check_replay_page(browser, timeline, server_url: str, replay: RecordingReplay) -> None:
    """Video frames and the vehicle move; pause holds them; seek jumps to the recorded moment.

    Shared with the end-to-end test on a recorded sim patrol.
    """
    page = browser.new_page(viewport={"width": 1400, "height": 850})
    problems = watch(page)
    page.goto(server_url)
    page.wait_for_selector("#replay-bar:not([hidden])", timeout=30000)
    # video frames arrive and the vehicle moves on the map
    page.wait_for_function(
        "() => Number(document.getElementById('video').dataset.framesShown || 0) >= 3",
        timeout=60000,
    )
    page.wait_for_function(
        "() => document.getElementById('vehicle').dataset.lat !== undefined", timeout=30000
    )
    lat1 = page.eval_on_selector("#vehicle", "e => e.dataset.lat + ',' + e.dataset.lon")
    seq1 = int(page.eval_on_selector("#video", "e => e.dataset.frameSeq"))
    page.wait_for_function(
        f"() => (document.getElementById('vehicle').dataset.lat + ',' + document.getElementById('vehicle').dataset.lon) !== '{lat1}'",
        timeout=60000,
    )
    page.wait_for_function(
        f"() => Number(document.getElementById('video').dataset.frameSeq) > {seq1}", timeout=60000
    )

    # pause: the playback time, the frame and the vehicle stay put
    page.click("#rp-play")
    page.wait_for_function(
        "() => document.getElementById('rp-play').dataset.paused === '1'", timeout=30000
    )
    assert replay.status()["paused"] is True
    page.wait_for_timeout(800)  # let in-flight frames and state land
    held = page.evaluate(
        "() => [document.getElementById('video').dataset.frameSeq, document.getElementById('vehicle').dataset.lat,"
        " document.getElementById('vehicle').dataset.lon, document.getElementById('rp-seek').value]"
    )
    page.wait_for_timeout(2000)
    assert (
        page.evaluate(
            "() => [document.getElementById('video').dataset.frameSeq, document.getElementById('vehicle').dataset.lat,"
            " document.getElementById('vehicle').dataset.lon, document.getElementById('rp-seek').value]"
        )
        == held
    )

    # seek with the slider to 70 % of the recording: state, frame and alerts of that moment
    target = timeline.start_s + 0.7 * (timeline.end_s - timeline.start_s)
    page.eval_on_selector(
        "#rp-seek",
        f"e => {{ e.value = '{target}'; e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change')); }}",
    )
    state = [s for t, s in timeline.states if t <= replay.status()["t_s"] + 1e-6][-1]
    assert abs(replay.status()["t_s"] - target) < 0.5
    frame = [f for f in timeline.frames if f.t_s <= target][-1]
    page.wait_for_function(
        f"() => Math.abs(Number(document.getElementById('video').dataset.frameTime) - {frame.t_s}) < 0.002",
        timeout=30000,
    )
    page.wait_for_function(
        f"() => document.getElementById('vehicle').dataset.lat === '{state['lat_deg']:.7f}'",
        timeout=30000,
    )
    due = [a.id for t, a, _ in timeline.alerts if t <= target]
    page.wait_for_function(
        f"() => document.querySelectorAll('#alerts li').length === {len(due)}", timeout=30000
    )
    for aid in due:
        assert page.locator(f"#alerts li[data-id='{aid}']").count() == 1

    # play again: it moves on from there
    page.click("#rp-play")
    page.wait_for_function(
        f"() => Number(document.getElementById('video').dataset.frameTime) > {frame.t_s}",
        timeout=60000,
    )
    assert problems == []
    page.close()


def test_replay_page_video_vehicle_pause_seek(browser, recording):
    timeline = load_timeline(recording)
    hub = OverlayHub(title="replay test", mode="replay")
    replay = RecordingReplay(timeline, hub, speed=4.0)
    with OverlayServer(hub, port=0) as server:
        replay.start()
        try:
            check_replay_page(browser, timeline, server.url, replay)
        finally:
            replay.stop()


def check_report_page(browser, html_path: Path, alert_ids: list[str]) -> None:
    """The report opens without console errors; figures and snapshots render; every alert row."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems = watch(page)
    page.goto(html_path.resolve().as_uri())
    page.wait_for_load_state("load")
    broken = page.evaluate(
        "() => Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt)"
    )
    assert broken == []
    assert page.locator("figure#track-map img").count() == 1
    assert page.locator("figure#timeline img").count() == 1
    for aid in alert_ids:
        assert page.locator(f"#alerts tr[data-alert-id='{aid}']").count() == 1
    assert problems == []
    page.close()


def test_report_page_in_chromium(browser, recording, tmp_path):
    report = build_report(recording)
    out = tmp_path / "report.html"
    out.write_text(render_html(report), encoding="utf-8")
    check_report_page(browser, out, [a.id for a in report.input.alerts])
