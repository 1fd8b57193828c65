"""The live page draws the five-colour risk layer and each alert's risk badge (headless Chromium)."""

from __future__ import annotations

import time

import pytest

from detection.alerts import Alert, AlertKind
from groundstation.config import REPO_ROOT
from groundstation.overlay import OverlayHub, OverlayServer
from missions.risk import load_risk_map

pytestmark = pytest.mark.browser


def test_page_draws_the_risk_layer_and_badges(browser, tmp_path):
    m = load_risk_map(REPO_ROOT / "configs/districts/demo-risk.geojson")
    hub = OverlayHub(title="risk")
    ring = [[123.4167, 41.7844], [123.4421, 41.7844], [123.4421, 41.7982], [123.4167, 41.7982],
            [123.4167, 41.7844]]  # fmt: skip
    hub.set_map(district={"type": "Polygon", "coordinates": [ring]}, home=(41.79, 123.43),
                risk=m.to_geojson())  # fmt: skip
    alert = Alert(kind=AlertKind.GATHERING, t_s=time.time(), lat_deg=41.7901, lon_deg=123.4307,
                  count=5, risk="red")  # fmt: skip
    hub.push_alert(alert)
    with OverlayServer(hub, port=0) as server:
        page = browser.new_page(viewport={"width": 1300, "height": 760})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(server.url)
        page.wait_for_selector("#layer-risk [data-risk='red']", state="attached", timeout=30000)
        page.wait_for_selector(f"#alerts li[data-id='{alert.id}'][data-risk='red']", timeout=30000)
        counts = {c: page.locator(f"#layer-risk [data-risk='{c}']").count() for c in m.counts()}
        assert counts == m.counts(), counts
        assert page.locator("#layer-risk .combat").count() == len(m.combat) == 3
        assert page.text_content(f"#alerts li[data-id='{alert.id}'] .risk") == "risk red"
        page.screenshot(path=str(tmp_path / "risk.png"))
        assert errors == []
        page.close()
