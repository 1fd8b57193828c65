"""The officers' page in Debian's headless Chromium: a phone (390x844) and a desktop (1400x900).

A new alert is pinned in the phone's first screen with its sound fired, the distance and bearing
from the officer's position; an answer on the phone reaches the desktop; the map zooms and draws
the MBTiles base map; ``?lang=zh`` gives a Chinese page; no request leaves the ground station.
"""

from __future__ import annotations

import math
import time

import pytest
from _officers import DISTRICT, HOLE, make_basemap

from detection.alerts import Alert, AlertKind
from groundstation.overlay import OverlayHub, OverlayServer

pytestmark = pytest.mark.browser

OFFICERS = {"wang": "harbour-7-wang", "li": "harbour-7-li"}
ME = (41.7895, 123.4290)
"""Where the phone stands (given to Chromium as its geolocation)."""


def _hub() -> OverlayHub:
    hub = OverlayHub(title="dronepatrol · Demo block")
    hub.set_map(
        district={"type": "Polygon", "coordinates": [DISTRICT, HOLE]},
        route=[[(41.7901, 123.4301), (41.7901, 123.4319), (41.7905, 123.4319)]],
        home=(41.79, 123.43),
    )
    hub.push_state(lat_deg=41.7902, lon_deg=123.431, yaw_deg=60, mode="AUTO", armed=True,
                   battery_pct=80, link_ok=True, phase="survey", alt_m=20)  # fmt: skip
    hub.push_log("vehicle: PreArm: Fence requires position", level="warning")
    hub.push_log("mode AUTO")
    return hub


def _distance_bearing(a, b):
    """Haversine distance (m) and initial bearing (deg), as the page computes them."""
    r, f1, f2 = 6371008.8, math.radians(a[0]), math.radians(b[0])
    dl = math.radians(b[1] - a[1])
    h = math.sin((f2 - f1) / 2) ** 2 + math.cos(f1) * math.cos(f2) * math.sin(dl / 2) ** 2
    d = 2 * r * math.asin(math.sqrt(h))
    y = math.sin(dl) * math.cos(f2)
    x = math.cos(f1) * math.sin(f2) - math.sin(f1) * math.cos(f2) * math.cos(dl)
    return d, (math.degrees(math.atan2(y, x)) + 360) % 360


def test_phone_is_alerted_and_answers_reach_the_desktop(browser, tmp_path):
    hub = _hub()
    basemap = make_basemap(tmp_path / "streets.mbtiles")
    with OverlayServer(hub, port=0, officers=OFFICERS, basemap=basemap) as server:
        origin = f"http://127.0.0.1:{server.port}"
        requests: list[str] = []
        errors: list[str] = []
        phone_ctx = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
            geolocation={"latitude": ME[0], "longitude": ME[1]}, permissions=["geolocation"],
        )  # fmt: skip
        # count Web Notifications (the page shows one when the officer allowed them)
        phone_ctx.add_init_script(
            "window.__notes = []; window.Notification = class { constructor(title, o) {"
            " window.__notes.push(title); } static get permission() { return 'granted'; }"
            " static requestPermission() { return Promise.resolve('granted'); } };"
        )
        desk_ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        pages = []
        for ctx, token in ((phone_ctx, "harbour-7-wang"), (desk_ctx, "harbour-7-li")):
            ctx.on("request", lambda r: requests.append(r.url))
            page = ctx.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{origin}/?token={token}")
            page.wait_for_selector("#layer-district path.hole", timeout=30000)
            pages.append(page)
        phone, desk = pages
        phone.wait_for_function("() => !document.getElementById('officer-badge').hidden")
        assert phone.text_content("#officer-badge") == "wang"
        phone.tap("#arm")  # a first tap arms the sound (browsers require a gesture)
        # the operator's chatter is hidden from officers unless asked for
        assert phone.locator("#log li.quiet").is_hidden()

        alert = Alert(kind=AlertKind.GATHERING, t_s=time.time(), lat_deg=41.7904,
                      lon_deg=123.4315, count=7, radius_m=2.1, confidence=0.7)  # fmt: skip
        hub.push_alert(alert)
        card = phone.wait_for_selector(f"#pinned .alert[data-id='{alert.id}']", timeout=30000)
        box = card.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 844, box  # in the first screen
        phone.wait_for_function(
            "() => Number(document.getElementById('alert-sound').dataset.fired) >= 1"
        )
        assert "unacked" in card.get_attribute("class")
        assert phone.evaluate("window.__notes") == ["NEW ALERT: gathering"]
        # where it is from where I stand
        phone.wait_for_selector(f"#pinned .alert[data-id='{alert.id}'][data-distance-m]")
        want_d, want_b = _distance_bearing(ME, (alert.lat_deg, alert.lon_deg))
        assert float(card.get_attribute("data-distance-m")) == pytest.approx(want_d, abs=1.0)
        assert float(card.get_attribute("data-bearing-deg")) == pytest.approx(want_b, abs=0.5)
        assert "NE of you" in card.text_content()
        assert phone.locator("path#me").count() == 1

        # "on my way" on the phone shows on the desktop, named by the phone's token
        li = f"#alerts li[data-id='{alert.id}']"
        desk.wait_for_selector(li, timeout=30000)
        phone.tap(f"#pinned .alert[data-id='{alert.id}'] button[data-state='on_my_way']")
        desk.wait_for_selector(f"{li}[data-ack='on_my_way']", timeout=30000)
        assert "wang" in desk.text_content(f"{li} .ack-state")
        assert "unacked" not in desk.get_attribute(li, "class")
        phone.wait_for_selector("#pinned", state="hidden", timeout=30000)  # answered = seen

        # the map: MBTiles tiles drawn, zoom works, a scale bar
        desk.wait_for_selector(".basemap img.leaflet-tile-loaded", timeout=30000)
        srcs = desk.eval_on_selector_all(".basemap img", "els => els.map(e => e.src)")
        assert all(s.startswith(f"{origin}/api/tiles/") for s in srcs)
        z0 = float(desk.get_attribute("#map", "data-zoom"))
        desk.click(".leaflet-control-zoom-in")
        desk.wait_for_function(f"() => Number(document.getElementById('map').dataset.zoom) > {z0}")
        assert desk.locator(".leaflet-control-scale-line").count() == 1

        phone.screenshot(path=str(tmp_path / "phone.png"))
        desk.screenshot(path=str(tmp_path / "desktop.png"))
        # nothing left the ground station
        outside = [u for u in requests if not u.startswith((origin, "data:", "blob:"))]
        assert outside == []
        assert errors == []
        phone_ctx.close()
        desk_ctx.close()


def test_chinese_interface(browser):
    hub = _hub()
    alert = Alert(kind=AlertKind.UNMASKED, t_s=time.time() - 3600, lat_deg=41.7906,
                  lon_deg=123.4312, count=1, colour="red", colour_zh="红色")  # fmt: skip
    hub.push_alert(alert)
    with OverlayServer(hub, port=0) as server:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(server.url + "?lang=zh&video=0")
        item = page.wait_for_selector(f"#alerts li[data-id='{alert.id}']", timeout=30000)
        page.wait_for_selector("#video-panel", state="hidden")  # video=0: no video (mobile data)
        assert page.get_attribute("html", "lang") == "zh-CN"
        assert page.text_content("[data-i18n='alerts']") == "警情"
        assert item.query_selector(".kind").text_content() == "未戴口罩"
        assert item.query_selector(".msg").text_content() == "穿红色衣服的人员未戴口罩"
        assert item.query_selector("button[data-state='on_my_way']").text_content() == "正在前往"
        page.click("#lang")  # the switch: English
        page.wait_for_function("() => document.documentElement.lang === 'en'")
        msg = page.text_content(f"#alerts li[data-id='{alert.id}'] .msg")  # redrawn
        assert msg == "person in red without a mask"
        page.close()
