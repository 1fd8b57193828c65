"""The live overlay serves the five-colour risk layer and alerts carry their risk class (HTTP)."""

from __future__ import annotations

import json

import httpx
import pytest

from detection.alerts import Alert, AlertKind
from groundstation.config import REPO_ROOT
from groundstation.overlay import OverlayHub, OverlayServer
from groundstation.overlay.app import STATIC_DIR
from missions.risk import load_risk_map


@pytest.fixture
def served():
    hub = OverlayHub(title="test")
    server = OverlayServer(hub, port=0).start()
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30)
    try:
        yield hub, client
    finally:
        client.close()
        server.stop()


def test_risk_layer_is_served_and_alerts_keep_their_class(served):
    hub, client = served
    assert client.get("/api/risk.geojson").status_code == 404  # no map yet
    layer = load_risk_map(REPO_ROOT / "configs/districts/demo-risk.geojson").to_geojson()
    layer = json.loads(json.dumps(layer))  # tuples -> lists, as on the wire
    hub.set_map(district=None, route=[], home=(41.79, 123.43), risk=layer)
    r = client.get("/api/risk.geojson")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    got = r.json()
    assert got == layer and client.get("/api/map").json()["risk"] == layer
    risks = [f["properties"]["risk"] for f in got["features"] if f["properties"]["layer"] == "risk"]
    assert risks.count("red") == 5 and "B1" in {f["id"] for f in got["features"]}
    hub.push_alert(Alert(kind=AlertKind.GATHERING, t_s=1.0, lat_deg=41.79, lon_deg=123.43,
                         count=4, risk="red"))  # fmt: skip
    alerts = client.get("/api/snapshot").json()["alerts"]
    assert alerts[-1]["risk"] == "red"
    # the page draws the layer and the badge (the live page test in a browser covers the rest)
    js = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
    assert "function drawRisk" in js and "drawRisk(info.risk)" in js and "a.risk" in js
