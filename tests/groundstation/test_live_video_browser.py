"""The live video on the officers' page in Debian's headless Chromium: on a desktop (1400x900)
the video's box has the frame's shape (no letterbox); on a phone (390x844) the alerts come first.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from detection.alerts import Alert, AlertKind
from groundstation.overlay import OverlayHub, OverlayServer

pytestmark = pytest.mark.browser


def _feed(hub: OverlayHub, stop: threading.Event) -> None:
    """1280x720 frames at 5 per second, the frame number written on each."""
    import cv2

    i = 0
    while not stop.is_set():
        img = np.full((720, 1280, 3), 60, np.uint8)
        cv2.putText(img, str(i), (500, 400), cv2.FONT_HERSHEY_SIMPLEX, 6, (255, 255, 255), 8)
        hub.push_frame(img, time.time(), i)
        i += 1
        stop.wait(0.2)


BOX = """e => { const r = e.getBoundingClientRect();
  return {x: r.x, y: r.y, w: r.width, h: r.height, nw: e.naturalWidth, nh: e.naturalHeight}; }"""


def test_video_fills_its_box_on_a_desktop_and_follows_the_alerts_on_a_phone(browser):
    hub = OverlayHub(title="live video")
    hub.push_alert(Alert(kind=AlertKind.GATHERING, t_s=time.time(), lat_deg=41.79, lon_deg=123.43))
    stop = threading.Event()
    feeder = threading.Thread(target=_feed, args=(hub, stop))
    with OverlayServer(hub, port=0) as server:
        feeder.start()
        try:
            desk = browser.new_page(viewport={"width": 1400, "height": 900})
            phone = browser.new_page(
                viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
            )
            shown = "() => Number(document.getElementById('video').dataset.framesShown || 0) >= 2"
            for page in (desk, phone):
                page.goto(server.url)
                page.wait_for_function(shown, timeout=30000)
            v = desk.eval_on_selector("#video", BOX)
            assert (v["nw"], v["nh"]) == (1280, 720)
            # the element is the picture: its shape is the frame's, so no black bars
            assert abs(v["w"] / v["h"] - 1280 / 720) < 0.01, v
            assert v["w"] >= 600 and v["y"] + v["h"] <= 900, v  # large, and on the screen
            latency = int(desk.eval_on_selector("#video", "e => e.dataset.latencyMs"))
            assert latency >= 0
            # phone: the alert list first, on the first screen; the video below it, whole width
            alerts = phone.eval_on_selector("#alerts", BOX)
            pv = phone.eval_on_selector("#video", BOX)
            assert alerts["y"] < 844 and alerts["y"] < pv["y"], (alerts, pv)
            assert abs(pv["w"] / pv["h"] - 1280 / 720) < 0.01 and pv["w"] >= 360, pv
        finally:
            stop.set()
            feeder.join(5)
