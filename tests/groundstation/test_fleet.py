"""The fleet's parts that need no flight: config, alert merging, recording reader, hub views."""

from __future__ import annotations

import pytest

from detection.alerts import Alert, AlertKind
from groundstation.config import load_config
from groundstation.fleet_alerts import AlertMerger, latest_by_id
from missions.errors import ConfigError
from missions.geo import offset as destination_point


def gathering(t_s, lat, lon, count=6):
    return Alert(kind=AlertKind.GATHERING, t_s=t_s, lat_deg=lat, lon_deg=lon, count=count)


LAT, LON = 41.7903, 123.4307


def test_same_gathering_seen_by_two_vehicles_is_one_alert_with_two_sightings():
    m = AlertMerger(radius_m=15, window_s=120)
    a = gathering(100.0, LAT, LON, count=7)
    lat2, lon2 = destination_point(LAT, LON, 90.0, 6.0)  # 6 m east
    b = gathering(130.0, lat2, lon2, count=8)
    first = m.add(a, 1)
    second = m.add(b, 2)
    assert first.new and not second.new
    assert second.alert.id == a.id
    assert second.alert.vehicle == 1
    assert [(s["vehicle"], s["alert_id"]) for s in second.alert.sightings] == [(1, a.id), (2, b.id)]
    assert second.alert.count == 8  # the larger count seen
    assert len(m.alerts()) == 1


def test_far_apart_late_or_other_kind_alerts_are_not_merged():
    m = AlertMerger(radius_m=15, window_s=120)
    m.add(gathering(100.0, LAT, LON), 1)
    far = destination_point(LAT, LON, 0.0, 40.0)
    assert m.add(gathering(101.0, *far), 2).new  # 40 m away
    assert m.add(gathering(400.0, LAT, LON), 2).new  # 300 s later
    unmasked = Alert(kind=AlertKind.UNMASKED, t_s=101.0, lat_deg=LAT, lon_deg=LON)
    assert m.add(unmasked, 2).new  # another kind
    battery = Alert(kind=AlertKind.BATTERY_LOW, t_s=101.0, lat_deg=LAT, lon_deg=LON)
    assert m.add(battery, 1).new and m.add(battery.model_copy(update={"id": "x"}), 2).new
    no_place = Alert(kind=AlertKind.GATHERING, t_s=102.0)
    assert m.add(no_place, 1).new and m.add(no_place.model_copy(update={"id": "y"}), 2).new


def test_latest_line_of_an_id_is_the_alert(tmp_path):
    from groundstation.recording import FlightRecorder, Recording

    rec = FlightRecorder(tmp_path, video=False)
    m = AlertMerger()
    a = m.add(gathering(1.0, LAT, LON), 1).alert
    rec.alert(a)
    rec.alert(m.add(gathering(2.0, LAT, LON), 2).alert)
    rec.close()
    alerts = Recording.open(rec.folder).alerts()
    assert len(alerts) == 1 and len(alerts[0].sightings) == 2
    assert [
        x["id"] for x in latest_by_id([{"id": "a", "n": 1}, {"id": "b"}, {"id": "a", "n": 2}])
    ] == ["a", "b"]


def test_fleet_config(tmp_path):
    cfg = load_config(None)
    assert cfg.fleet.size == 1 and cfg.fleet.vehicles == []
    p = tmp_path / "f.yaml"
    p.write_text(
        "fleet:\n  count: 2\n  vehicles:\n    - {sysid: 7, home: [41.79, 123.43]}\n"
        "    - {sysid: 8, home: [41.7905, 123.43], video: none}\n  stagger_s: 5\n"
    )
    cfg = load_config(p)
    assert cfg.fleet.size == 2 and cfg.fleet.vehicles[1].sysid == 8
    p.write_text("fleet:\n  vehicles:\n    - {sysid: 7, hom: [41.79, 123.43]}\n")
    with pytest.raises(ConfigError, match="fleet.vehicles.0.hom.*did you mean.*home"):
        load_config(p)
    p.write_text("fleet:\n  count: 0\n")
    with pytest.raises(ConfigError, match="fleet.count"):
        load_config(p)


def test_hub_keeps_every_vehicle_and_switches_the_video():
    import numpy as np

    from groundstation.fleet import VehicleHubView
    from groundstation.overlay import OverlayHub

    hub = OverlayHub()
    hub.video_vehicle = 1
    one, two = VehicleHubView(hub, 1, "drone 1"), VehicleHubView(hub, 2, "drone 2")
    one.push_state(lat_deg=LAT, lon_deg=LON, mode="AUTO")
    two.push_state(lat_deg=LAT + 1e-4, lon_deg=LON, mode="GUIDED")
    two.push_state(lat_deg=LAT + 2e-4, lon_deg=LON)
    snap = hub.snapshot()
    assert [v["id"] for v in snap["vehicles"]] == [1, 2]
    assert len(snap["vehicles"][1]["trail"]) == 2
    assert snap["state"]["mode"] == "AUTO" and snap["state"]["vehicle"] == 1
    img = np.zeros((8, 8, 3), np.uint8)
    assert two.push_frame(img, 1.0) is None and one.push_frame(img, 1.0) is not None
    hub.select_video(2)
    assert hub.snapshot()["state"]["mode"] == "GUIDED"
    assert two.push_frame(img, 2.0) is not None and one.push_frame(img, 2.0) is None
    with pytest.raises(KeyError):
        hub.select_video(9)
    two.push_log("armed")
    assert hub.snapshot()["log"][-1]["text"] == "drone 2: armed"


def test_page_switches_the_video_between_vehicles():
    import httpx

    from groundstation.overlay import OverlayHub, OverlayServer

    hub = OverlayHub()
    hub.video_vehicle = 1
    hub.push_vehicle(1, lat_deg=LAT, lon_deg=LON, mode="AUTO")
    hub.push_vehicle(2, lat_deg=LAT, lon_deg=LON + 1e-4, mode="RTL")
    server = OverlayServer(hub, port=0).start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as c:
            assert c.post("/api/video", params={"vehicle": 2}).json() == {"video_vehicle": 2}
            snap = c.get("/api/snapshot").json()
            assert snap["video_vehicle"] == 2 and snap["state"]["mode"] == "RTL"
            assert [v["id"] for v in snap["vehicles"]] == [1, 2]
            assert c.post("/api/video", params={"vehicle": 9}).status_code == 404
            page = c.get("/").text
            assert "/static/fleet.js" in page and 'id="video-vehicle"' in page
            assert c.get("/static/fleet.js").status_code == 200
    finally:
        server.stop()


def synthetic_fleet_recording(root):
    """A fleet recording with two vehicles flying 10 samples north, and one merged alert."""
    from groundstation.recording import FlightRecorder

    top = FlightRecorder(root, video=False)
    for sysid in (1, 2):
        sub = FlightRecorder(top.folder, folder=top.folder / "vehicles" / str(sysid), video=False)
        for i in range(10):
            pose = {"lat_deg": LAT + i * 1e-5, "lon_deg": LON + sysid * 1e-4, "alt_m": 18.0}
            sub.telemetry({"t_s": 1000.0 + i, "pose": pose, "mode": "AUTO", "armed": True})
        sub.close()
    m = AlertMerger()
    top.alert(m.add(gathering(1003.0, LAT, LON), 1).alert)
    top.alert(m.add(gathering(1004.0, LAT, LON), 2).alert)
    top.close()
    return top.folder


def test_replay_of_a_fleet_recording_moves_every_vehicle(tmp_path):
    from groundstation.overlay import OverlayHub
    from groundstation.replay import RecordingReplay

    folder = synthetic_fleet_recording(tmp_path)
    hub = OverlayHub(mode="replay")
    replay = RecordingReplay(folder, hub, paused=True).attach()
    replay.seek(1009.5)
    replay.step()
    vehicles = hub.snapshot()["vehicles"]
    assert [v["id"] for v in vehicles] == [1, 2]
    assert all(len(v["trail"]) == 10 for v in vehicles)
    assert len(hub.alerts()) == 1 and len(hub.alerts()[0]["sightings"]) == 2


def test_two_vehicles_on_one_address_is_a_clear_error(tmp_path):
    from groundstation.fleet import FleetPatrol
    from missions.errors import InputError

    cfg = load_config(
        None,
        {
            "area.district": str(_demo_block()),
            "fleet.count": 2,
            "connection.url": "tcp:127.0.0.1:5760",
            "overlay.enabled": False,
            "broadcast.enabled": False,
            "detection.source": "none",
        },
    )
    fleet = FleetPatrol(cfg, record_dir=tmp_path)
    with pytest.raises(InputError, match="same address"):
        fleet.run()


def _demo_block():
    from testkit import REPO_ROOT

    return REPO_ROOT / "configs" / "districts" / "demo-block.geojson"


def test_reassignment_goes_to_the_vehicle_that_reaches_the_remainder_first():
    """The policy: least flight time left in its queue plus the transit from its home."""
    import threading
    from types import SimpleNamespace

    from shapely.geometry import box

    from groundstation.fleet_reassign import IDLE, Reassigner
    from missions.geo import LocalFrame
    from missions.settings import GeoPoint

    frame = LocalFrame(LAT, LON)

    def vehicle(sysid, x, left_s):
        lat, lon = frame.to_geo(x, 0.0)
        return SimpleNamespace(
            sysid=sysid,
            index=sysid - 1,
            plan=SimpleNamespace(frame=frame, home=GeoPoint(lat_deg=lat, lon_deg=lon, alt_m=0)),
            cfg=SimpleNamespace(survey=SimpleNamespace(speed_m_s=5.0)),
            remaining_flight_s=lambda: left_s,
            queue=[],
            log=lambda text: None,
        )

    fleet = SimpleNamespace(
        cfg=SimpleNamespace(fleet=SimpleNamespace(reassign=True)), aborting=threading.Event()
    )
    r = Reassigner(fleet)
    rem = SimpleNamespace(ground_local=box(0, -10, 20, 10))  # centred at x = 10 m
    near_busy = vehicle(1, 10.0, 600.0)  # 600 s left, at the remainder
    far_free = vehicle(2, 1010.0, 0.0)  # idle, 1000 m away: 200 s at 5 m/s
    far_busy = vehicle(3, 1010.0, 100.0)
    assert r._choose([near_busy, far_free, far_busy], rem) is far_free
    assert r._choose([near_busy, far_busy], rem) is far_busy
    assert r._choose([near_busy], rem) is near_busy and r._choose([], rem) is None
    # a vehicle done with its queue waits while another flies, and ends when nobody does
    r.state = {1: IDLE, 2: IDLE}
    assert r.next_sortie(far_free) is None and r.state[2] == "done"
    far_free.queue.append(("job", 1))
    assert r.next_sortie(far_free) == ("job", 1) and r.state[2] == "flying"
