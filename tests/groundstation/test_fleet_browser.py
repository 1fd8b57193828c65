"""A fleet's overlay page in headless Chromium, fed by a scripted hub: every vehicle's marker,
routes in the vehicles' colours, and the switch choosing whose video the page shows."""

from __future__ import annotations

import threading

import pytest

from groundstation.fleet import VehicleHubView
from groundstation.overlay import OverlayHub, OverlayServer

pytestmark = pytest.mark.browser


def test_fleet_page_shows_every_vehicle_and_switches_the_video(browser):
    import numpy as np

    hub = OverlayHub(title="fleet browser test")
    ring = [[123.43, 41.79], [123.432, 41.79], [123.432, 41.791], [123.43, 41.791], [123.43, 41.79]]
    hub.set_map(
        district={"type": "Polygon", "coordinates": [ring]},
        route=[
            [(41.7902, 123.4301), (41.7902, 123.4319)],
            [(41.7908, 123.4301), (41.7908, 123.4319)],
        ],
        home=(41.79, 123.43),
    )
    hub.set_route_owners([0, 1])
    hub.video_vehicle = 1
    views = [VehicleHubView(hub, sysid, f"drone {sysid}") for sysid in (1, 2)]
    stop = threading.Event()

    def feed():
        i = 0
        while not stop.is_set():
            for k, v in enumerate(views):
                img = np.full((90, 160, 3), 60 * (k + 1), np.uint8)
                v.push_frame(img, float(i), i)
                v.push_state(lat_deg=41.7902 + 0.0006 * k, lon_deg=123.4302 + 2e-5 * i, mode="AUTO")
            i += 1
            stop.wait(0.1)

    feeder = threading.Thread(target=feed)
    with OverlayServer(hub, port=0) as server:
        feeder.start()
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 800})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server.url)
            page.wait_for_function(
                "() => document.querySelectorAll('.fleet-vehicle').length === 2", timeout=30000
            )
            options = page.eval_on_selector_all(
                "#video-vehicle option", "os => os.map(o => o.value)"
            )
            assert options == ["1", "2"]
            assert page.eval_on_selector("#video-vehicle", "e => e.hidden") is False
            strokes = page.eval_on_selector_all(
                "path.route", "ps => ps.map(p => p.getAttribute('data-vehicle-index'))"
            )
            assert strokes == ["0", "1"]
            page.select_option("#video-vehicle", "2")
            page.wait_for_function("() => true", timeout=1000)
            for _ in range(50):
                if hub.video_vehicle == 2:
                    break
                stop.wait(0.1)
            assert hub.video_vehicle == 2
            assert errors == []
        finally:
            stop.set()
            feeder.join(10)
