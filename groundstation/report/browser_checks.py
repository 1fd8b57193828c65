"""Browser checks shared by the unit and end-to-end tests of the replay and report pages.

Playwright pages in Debian's headless Chromium started with :data:`CHROMIUM_ARGS`:
:func:`watch` collects page problems, :func:`check_replay_page` / :func:`check_report_page` drive a
page and return what they observed, :func:`assert_replay_page_ok` / :func:`assert_report_page_ok`
assert it. Every wait has a timeout (Playwright raises its own timeout error).

A test helper (moved out of :mod:`groundstation.report.testing`, which re-exports every name).
"""

from __future__ import annotations

import time
from pathlib import Path

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
"""Flags of Debian's /usr/bin/chromium in the browser tests."""


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


def check_replay_page(browser, timeline, server_url: str, replay) -> dict:
    """Drive the replay page: video and vehicle move, pause, seek to 70 %, play again.

    The page must show each step (video frames arrive, the vehicle moves, the frame, vehicle and
    alert list of the seek target appear, playback moves on after play): Playwright's waits raise
    their own timeout error when it does not. What the caller asserts is returned.

    Args:
        browser: A Playwright ``Browser``.
        timeline: The :class:`~groundstation.replay.ReplayTimeline` being replayed.
        server_url: The overlay page's URL.
        replay: The running :class:`~groundstation.replay.RecordingReplay`.

    Returns:
        Observations: ``paused`` (the replay's status right after the pause click),
        ``held`` / ``held_after_2s`` (frame seq, vehicle lat/lon and seek slider value when
        paused, and 2 s later), ``seek_target`` / ``seek_status`` (UNIX seconds asked by the
        slider; the replay's status 30 s at most later), ``alerts_due`` (ids recorded up to the
        seek position), ``alert_rows`` (id -> rows listed on the page) and ``problems`` (page
        errors, console errors/warnings, failed requests; see :func:`watch`).
    """
    seen: dict = {}
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
        "() => (document.getElementById('vehicle')?.dataset || {}).lat !== undefined", timeout=30000
    )
    lat1 = page.eval_on_selector("#vehicle", "e => e.dataset.lat + ',' + e.dataset.lon")
    seq1 = int(page.eval_on_selector("#video", "e => e.dataset.frameSeq"))
    page.wait_for_function(
        f"() => ((document.getElementById('vehicle')?.dataset || {{}}).lat + ',' + (document.getElementById('vehicle')?.dataset || {{}}).lon) !== '{lat1}'",
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
    seen["paused"] = replay.status()["paused"]
    page.wait_for_timeout(800)  # let in-flight frames and state land
    shown = (
        "() => [document.getElementById('video').dataset.frameSeq, (document.getElementById('vehicle')?.dataset || {}).lat,"
        " (document.getElementById('vehicle')?.dataset || {}).lon, document.getElementById('rp-seek').value]"
    )
    seen["held"] = page.evaluate(shown)
    page.wait_for_timeout(2000)
    seen["held_after_2s"] = page.evaluate(shown)

    # seek with the slider to 70 % of the recording: state, frame and alerts of that moment
    target = timeline.start_s + 0.7 * (timeline.end_s - timeline.start_s)
    page.eval_on_selector(
        "#rp-seek",
        f"e => {{ e.value = '{target}'; e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change')); }}",
    )
    seen["seek_target"] = target
    deadline = time.monotonic() + 30.0
    # the page posts the seek asynchronously
    while abs(replay.status()["t_s"] - target) >= 0.5 and time.monotonic() < deadline:
        time.sleep(0.05)
    seen["seek_status"] = replay.status()
    # the slider snaps to its step: what is shown is what the replay's position says
    pos = seen["seek_status"]["t_s"]
    state = [s for t, s in timeline.states if t <= pos][-1]
    frame = [f for f in timeline.frames if f.t_s <= pos][-1]
    page.wait_for_function(
        f"() => Math.abs(Number(document.getElementById('video').dataset.frameTime) - {frame.t_s}) < 0.002",
        timeout=30000,
    )
    page.wait_for_function(
        f"() => (document.getElementById('vehicle')?.dataset || {{}}).lat === '{state['lat_deg']:.7f}'",
        timeout=30000,
    )
    due = [a.id for t, a, _ in timeline.alerts if t <= pos]
    page.wait_for_function(
        f"() => document.querySelectorAll('#alerts li').length === {len(due)}", timeout=30000
    )
    seen["alerts_due"] = due
    seen["alert_rows"] = {aid: page.locator(f"#alerts li[data-id='{aid}']").count() for aid in due}

    # play again: it moves on from there
    page.click("#rp-play")
    page.wait_for_function(
        f"() => Number(document.getElementById('video').dataset.frameTime) > {frame.t_s}",
        timeout=60000,
    )
    seen["problems"] = list(problems)
    page.close()
    return seen


def assert_replay_page_ok(seen: dict) -> None:
    """Assert what :func:`check_replay_page` observed: the pause held the frame, vehicle and
    slider for 2 s, the seek reached its target (within 0.5 s), each alert recorded up to the
    target is listed exactly once, and the page logged no problem.

    Raises:
        AssertionError: Naming the observation that failed.
    """
    assert seen["paused"] is True, "the replay did not pause"
    assert seen["held_after_2s"] == seen["held"], f"not held while paused: {seen}"
    target, status = seen["seek_target"], seen["seek_status"]
    assert abs(status["t_s"] - target) < 0.5, f"seek to {target} not done: {status}"
    assert seen["alert_rows"] == {aid: 1 for aid in seen["alerts_due"]}, seen["alert_rows"]
    assert seen["problems"] == [], seen["problems"]


def assert_report_page_ok(seen: dict, alert_ids: list[str]) -> None:
    """Assert what :func:`check_report_page` observed: every image loaded, the page is no wider
    than its window, one track map and one timeline figure, one row per alert, no page problem.

    Raises:
        AssertionError: Naming the observation that failed.
    """
    assert seen["broken_images"] == []
    assert seen["overflow_px"] <= 0, f"the report scrolls sideways by {seen['overflow_px']} px"
    assert seen["track_map_images"] == 1 and seen["timeline_images"] == 1
    assert seen["alert_rows"] == {aid: 1 for aid in alert_ids}
    assert seen["problems"] == []


def check_report_page(browser, html_path: Path, alert_ids: list[str]) -> dict:
    """Open a report page in the browser and look at its figures, images and alert rows.

    Args:
        browser: A Playwright ``Browser``.
        html_path: The report file.
        alert_ids: Ids of the alerts whose rows to count.

    Returns:
        Observations for the caller to assert: ``broken_images`` (alt texts of images that did
        not load), ``track_map_images`` / ``timeline_images`` (``<img>`` count in each figure),
        ``alert_rows`` (id -> table rows), ``overflow_px`` (how far the page is wider than a
        1200 px window: it must not scroll sideways) and ``problems`` (see :func:`watch`).
    """
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems = watch(page)
    page.goto(html_path.resolve().as_uri())
    page.wait_for_load_state("load")
    seen = {
        "broken_images": page.evaluate(
            "() => Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt)"
        ),
        "track_map_images": page.locator("figure#track-map img").count(),
        "timeline_images": page.locator("figure#timeline img").count(),
        "alert_rows": {
            aid: page.locator(f"#alerts tr[data-alert-id='{aid}']").count() for aid in alert_ids
        },
        "overflow_px": page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        ),
        "problems": list(problems),
    }
    page.close()
    return seen
