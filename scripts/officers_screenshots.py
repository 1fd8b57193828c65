"""Screenshots of the officers' page for docs/overlay.md (phone 390x844 in English and Chinese,
desktop 1400x900), in Debian's headless Chromium, from a scripted hub with a generated MBTiles
base map. The phone stands south-west of the district (its geolocation).

    python scripts/officers_screenshots.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "groundstation")]


def main() -> int:
    """Render the officers' page at phone and desktop sizes into docs/images (0: written)."""
    from _officers import DISTRICT, HOLE, make_basemap
    from playwright.sync_api import sync_playwright

    from detection.alerts import Alert, AlertKind
    from groundstation.overlay import OverlayHub, OverlayServer
    from groundstation.report.testing import CHROMIUM_ARGS

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(ROOT / "docs" / "images"))
    out = Path(ap.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    hub = OverlayHub(title="dronepatrol · Demo block")
    hub.set_map(
        district={"type": "Polygon", "coordinates": [DISTRICT, HOLE]},
        route=[[(41.7901, 123.4301), (41.7901, 123.4319), (41.7905, 123.4319)]],
        home=(41.79, 123.43),
    )
    hub.push_state(lat_deg=41.7902, lon_deg=123.431, yaw_deg=60, mode="AUTO", armed=True,
                   battery_pct=80, battery_v=15.9, link_ok=True, phase="survey", alt_m=20,
                   groundspeed_m_s=5.0, sortie=1, sorties=1, mission_seq=7, mission_count=24,
                   t_s=time.time())  # fmt: skip
    hub.push_log("vehicle: PreArm: Fence requires position", level="warning")
    hub.push_log("mode AUTO")
    old = Alert(kind=AlertKind.UNMASKED, t_s=time.time() - 240, lat_deg=41.7906,
                lon_deg=123.4312, count=1, colour="red", colour_zh="红色", confidence=0.81)  # fmt: skip
    hub.push_alert(old)
    hub.ack(old.id, "li", "on_my_way", verified=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        basemap = make_basemap(Path(tmp) / "streets.mbtiles")
        with OverlayServer(hub, port=0, basemap=basemap) as server:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            pages = {}
            for lang in ("en", "zh"):
                ctx = b.new_context(
                    viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                    geolocation={"latitude": 41.7895, "longitude": 123.4290},
                    permissions=["geolocation"],
                )  # fmt: skip
                page = ctx.new_page()
                page.goto(f"{server.url}?lang={lang}")
                page.wait_for_selector("#layer-district path")
                page.fill("#officer-name", "王警官" if lang == "zh" else "Wang")
                pages[lang] = page
            desk = b.new_page(viewport={"width": 1400, "height": 900})
            desk.goto(server.url)
            desk.wait_for_selector("#layer-district path")
            new = Alert(kind=AlertKind.GATHERING, t_s=time.time(), lat_deg=41.7904,
                        lon_deg=123.4315, count=7, radius_m=2.1, confidence=0.72)  # fmt: skip
            hub.push_alert(new)
            for lang, page in pages.items():
                page.wait_for_selector("#pinned .alert[data-distance-m]")
                page.wait_for_timeout(800)
                page.screenshot(path=str(out / f"officers-phone-{lang}.png"))
            desk.wait_for_selector("#pinned .alert")
            desk.wait_for_selector(".basemap img.leaflet-tile-loaded")
            desk.wait_for_timeout(800)
            desk.screenshot(path=str(out / "officers-desktop.png"))
            b.close()
    for f in sorted(out.glob("officers-*.png")):
        print(f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
