"""An officer's browser on the live overlay during a sim patrol, then Ctrl-C.

Debian's headless Chromium (Playwright) opens the overlay of a running ``dronepatrol patrol`` and
sees the video update, the vehicle move on the map and the gathering alert appear. Then the
operator presses Ctrl-C: the vehicle is sent home (RTL) and the recording is closed cleanly.
"""

from __future__ import annotations

import pytest
from patrol_helpers import DEMO, model_available, patrol_process  # noqa: F401 (fixtures)

from groundstation.recording import Recording

pytestmark = [pytest.mark.slow, pytest.mark.model, pytest.mark.browser]


def test_overlay_during_a_patrol_then_ctrl_c(tmp_path, patrol_process, browser, model_available):  # noqa: F811
    patrol = patrol_process(
        "--config",
        str(DEMO),
        "--speedup",
        "10",
        "--record-dir",
        str(tmp_path),
        "--overlay-port",
        "0",
    )
    url = patrol.overlay_url(timeout_s=180)
    page = browser.new_page(viewport={"width": 1400, "height": 820})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    # an officer's phone beside the desktop: a first tap arms the alert sound
    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.on("pageerror", lambda e: errors.append(str(e)))
    phone.goto(url + ("&" if "?" in url else "?") + "video=0")  # no video: saves CPU here
    phone.wait_for_selector("#layer-district path", timeout=60_000)
    phone.fill("#officer-name", "Wang")
    phone.tap("#arm")
    # the district and the planned route are drawn without any map tiles
    page.wait_for_selector("#layer-district path", timeout=60_000)
    assert page.locator("#layer-route path.route").count() == 1
    assert page.locator("#layer-district path.hole").count() == 1
    # the video updates
    page.wait_for_function(
        "() => Number(document.getElementById('video').dataset.framesShown || 0) >= 3",
        timeout=180_000,
    )
    seq = int(page.eval_on_selector("#video", "e => e.dataset.frameSeq"))
    page.wait_for_function(
        f"() => Number(document.getElementById('video').dataset.frameSeq) >= {seq} + 5",
        timeout=60_000,
    )
    # the vehicle moves on the map (once it flies)
    page.wait_for_function(
        "() => document.getElementById('st-mode').textContent === 'AUTO'", timeout=180_000
    )
    x0 = float(page.eval_on_selector("#vehicle", "e => e.dataset.x"))
    y0 = float(page.eval_on_selector("#vehicle", "e => e.dataset.y"))
    page.wait_for_function(
        f"""() => {{
            const v = document.getElementById('vehicle').dataset;
            return Math.hypot(Number(v.x) - {x0}, Number(v.y) - {y0}) > 30;
        }}""",
        timeout=120_000,
    )
    assert page.text_content("#st-link") == "OK"
    # the map still frames the district (Leaflet zoom 17+ for the 1.9 ha block): a stray point
    # in the trail, such as a 0 N 0 E position sent before the GPS fix, must not zoom it out
    assert float(page.get_attribute("#map", "data-zoom")) >= 16
    # the gathering alert appears in the list and on the map, with its snapshot
    item = page.wait_for_selector("#alerts li[data-kind='gathering']", timeout=300_000)
    alert_id = item.get_attribute("data-id")
    assert page.locator(f"#layer-alerts path[data-id='{alert_id}']").count() == 1
    page.wait_for_function(
        f"""() => {{
            const img = document.querySelector("#alerts li[data-id='{alert_id}'] img");
            return img && img.complete && img.naturalWidth > 0;
        }}""",
        timeout=30_000,
    )
    assert "people gathered" in item.text_content()
    # on the phone a new alert (this one, or a newer one) is pinned in the first screen and its
    # sound fired
    phone.wait_for_selector(f"#alerts li[data-id='{alert_id}']", timeout=30_000)
    box = phone.wait_for_selector("#pinned .alert", timeout=30_000).bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 844, box
    assert int(phone.get_attribute("#alert-sound", "data-fired")) >= 1
    # the phone answers; the desktop shows who is on the way
    phone.tap(f"#alerts li[data-id='{alert_id}'] button[data-state='on_my_way']")
    page.wait_for_selector(
        f"#alerts li[data-id='{alert_id}'][data-ack='on_my_way']", timeout=30_000
    )
    assert "Wang" in page.text_content(f"#alerts li[data-id='{alert_id}'] .ack-state")
    assert errors == []
    phone.close()
    page.close()

    # Ctrl-C: RTL, clean close, exit status 130
    patrol.interrupt()
    code = patrol.wait(timeout_s=120)
    out = patrol.output
    assert code == 130, out
    assert "RTL commanded" in out and "patrol ended: interrupted" in out
    rec = Recording.open(patrol.recording())
    assert rec.complete and rec.manifest["end_reason"] == "interrupted"
    kinds = [e["kind"] for e in rec.events()]
    assert "interrupted" in kinds and kinds[-1] == "stop"
    rtl = [e for e in rec.events() if e["kind"] == "rtl"]
    assert rtl and rtl[0]["reason"] == "interrupted"
    assert any(e["kind"] == "mode" and e["mode"] == "RTL" for e in rec.events())
    assert any(a.id == alert_id for a in rec.alerts())
