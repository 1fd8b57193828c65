"""The overlay page in Debian's headless Chromium, fed by a scripted hub (no flight).

The end-to-end browser test during a real sim patrol is in ``tests/e2e/test_patrol_browser.py``.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from detection.alerts import Alert, AlertKind
from groundstation.overlay import OverlayHub, OverlayServer

pytestmark = pytest.mark.browser


class Feeder:
    """Pushes frames and a vehicle flying east, then one alert, like a patrol would."""

    def __init__(self, hub: OverlayHub):
        self.hub = hub
        self.stop = threading.Event()
        self.alert = Alert(
            kind=AlertKind.GATHERING, t_s=time.time(), lat_deg=41.7903, lon_deg=123.431, count=6
        )
        self.thread = threading.Thread(target=self.run)

    def run(self):
        import cv2

        i = 0
        while not self.stop.is_set():
            img = np.zeros((180, 320, 3), np.uint8)
            cv2.putText(img, str(i), (20, 120), cv2.FONT_HERSHEY_SIMPLEX, 3, (255, 255, 255), 4)
            self.hub.push_frame(img, time.time(), i)
            self.hub.push_state(
                t_s=time.time(),
                lat_deg=41.7902,
                lon_deg=123.4302 + 0.00002 * i,
                yaw_deg=90.0,
                alt_m=20.0,
                mode="AUTO",
                armed=True,
                battery_pct=90.0 - 0.05 * i,
                link_ok=True,
            )
            if i == 15:
                self.hub.push_alert(self.alert)
            i += 1
            self.stop.wait(0.1)


def test_page_shows_video_vehicle_and_alerts(browser):
    hub = OverlayHub(title="browser test")
    ring = [[123.43, 41.79], [123.432, 41.79], [123.432, 41.791], [123.43, 41.791], [123.43, 41.79]]
    hole = [[123.4305, 41.7903], [123.4308, 41.7903], [123.4308, 41.7906], [123.4305, 41.7903]]
    hub.set_map(
        district={"type": "Polygon", "coordinates": [ring, hole]},
        route=[[(41.7901, 123.4301), (41.7901, 123.4319)]],
        home=(41.79, 123.43),
    )
    feeder = Feeder(hub)
    with OverlayServer(hub, port=0) as server:
        feeder.thread.start()
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 800})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(server.url)
            page.wait_for_function(
                "() => Number(document.getElementById('video').dataset.framesShown || 0) >= 3",
                timeout=30000,
            )
            seq1 = int(page.eval_on_selector("#video", "e => e.dataset.frameSeq"))
            x1 = float(page.eval_on_selector("#vehicle", "e => e.dataset.x"))
            page.wait_for_function(
                f"() => Number(document.getElementById('video').dataset.frameSeq) > {seq1} + 3",
                timeout=30000,
            )
            page.wait_for_function(
                f"() => Number(document.getElementById('vehicle').dataset.x) > {x1} + 1",
                timeout=30000,
            )
            page.wait_for_selector(
                f"#alerts li[data-id='{feeder.alert.id}'][data-kind='gathering']", timeout=30000
            )
            assert page.locator(f"#layer-alerts path[data-id='{feeder.alert.id}']").count() == 1
            assert page.locator("#layer-district path.hole").count() == 1
            assert page.locator("#layer-route path.route").count() == 1
            assert page.text_content("#st-mode") == "AUTO"
            assert page.text_content("#st-link") == "OK"
            assert page.is_hidden("#replay-bar")
            assert errors == []
            page.close()
        finally:
            feeder.stop.set()
            feeder.thread.join()


def test_optional_tile_layer(browser):
    """With overlay.tile_url the map draws XYZ tiles under the vectors (z/x/y filled in)."""
    import base64

    import cv2

    ok, png = cv2.imencode(".png", np.full((256, 256, 3), 200, np.uint8))
    data = base64.b64encode(png.tobytes()).decode()
    hub = OverlayHub()
    ring = [[123.43, 41.79], [123.432, 41.79], [123.432, 41.791], [123.43, 41.791], [123.43, 41.79]]
    hub.set_map(
        district={"type": "Polygon", "coordinates": [ring]},
        home=(41.79, 123.43),
        tile_url="data:image/png;base64," + data + "#{z}/{x}/{y}",
    )
    with OverlayServer(hub, port=0) as server:
        page = browser.new_page(viewport={"width": 1200, "height": 700})
        page.goto(server.url)
        page.wait_for_selector(".leaflet-tile-pane .xyz img", timeout=30000)
        hrefs = page.eval_on_selector_all(
            ".leaflet-tile-pane .xyz img", "els => els.map(e => e.getAttribute('src'))"
        )
        assert hrefs
        for h in hrefs:
            z, x, y = (int(v) for v in h.rsplit("#", 1)[1].split("/"))
            # the tiles are those of the district's area at that zoom (Web Mercator, slippy map)
            n = 2**z
            lon_w, lon_e = x / n * 360 - 180, (x + 1) / n * 360 - 180
            # (or a neighbour: the map, under the video, is wider than the district)
            span = lon_e - lon_w
            assert lon_w <= 123.432 + span and lon_e >= 123.43 - span
            assert 0 <= y < n
        page.close()
