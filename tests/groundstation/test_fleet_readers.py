"""Replay, archive, many-patrol report and GIS export of a real fleet recording.

One recording (module fixture) is made by the fleet runner (:class:`FleetPatrol`) flying
``configs/demo-fleet.yaml`` on two embedded simulators at speed-up 20, with the simulated cameras
on and their frames recorded as each vehicle's video. Detection is off: a stand-in for the YOLO
pipeline finds nobody, and reports the scene's market gathering once per vehicle (both drones
pass it), so the fleet's merger writes one alert with two sightings. Everything downstream (the
recording, the readers) is the product's own code.
"""

from __future__ import annotations

import io
import json
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from testkit import REPO_ROOT, run_cli

from groundstation.archive import Archive, read_patrol
from groundstation.archive.export import export_patrols
from groundstation.fleet_recording import fleet_vehicles
from groundstation.recording import Recording

pytestmark = pytest.mark.slow


class MarketSpotter:
    """Stands in for :class:`detection.pipeline.DetectionPipeline` with detection off: no person
    on any frame; on the first frame taken in the air it reports the scene's market gathering
    (a fixed place, so that both vehicles' reports are the same gathering)."""

    face_detector = None
    local_frame = None

    def __init__(self, market: tuple[float, float]) -> None:
        self.market = market
        self.reported = False

    def warm_up(self) -> None:
        """Nothing to load."""

    def close(self) -> None:
        """Nothing to stop."""

    def process(self, image, t_s, pose, frame_index=0):
        from detection.alerts import Alert, AlertKind
        from detection.pipeline import FrameResult

        result = FrameResult(frame_index=frame_index, t_s=t_s, pose=pose)
        if not self.reported and pose is not None and pose.alt_m > 10.0:
            self.reported = True
            lat, lon = self.market
            result.alerts.append(
                Alert(kind=AlertKind.GATHERING, t_s=t_s, lat_deg=lat, lon_deg=lon, count=8)
            )
        return result


@pytest.fixture(scope="module")
def fleet_root(tmp_path_factory):
    """A record directory holding one fleet recording of two vehicles (with video)."""
    from groundstation.config import load_config
    from groundstation.fleet import FleetPatrol
    from groundstation.patrol import Console, Patrol
    from sim.scene import Scene

    root = tmp_path_factory.mktemp("fleet")
    cfg = load_config(
        REPO_ROOT / "configs" / "demo-fleet.yaml",
        {
            "broadcast.enabled": False,
            "overlay.enabled": False,
            "recording.video": True,
            "sim.speedup": 20,
            "policy.alert_policy": "log_only",
            "fleet.merge_window_s": 3600.0,  # one gathering, whenever each drone passes it
        },
    )
    market = Scene(cfg.sim.scene, cfg.sim.home.lat_deg, cfg.sim.home.lon_deg).group_centres_geo()[
        "market"
    ]

    def load_detection(self):
        if self.source_spec is not None:
            self.pipeline = MarketSpotter(market)

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Patrol, "_load_detection", load_detection)
        summary = FleetPatrol(cfg, record_dir=root, console=Console(out, tty=False)).run()
    assert summary.end_reason == "landed", out.getvalue()
    return root


@pytest.fixture(scope="module")
def fleet_folder(fleet_root):
    (folder,) = [p for p in fleet_root.iterdir() if p.is_dir()]
    return folder


def test_the_recording_has_both_vehicles_video_and_one_merged_alert(fleet_folder):
    vehicles = fleet_vehicles(fleet_folder)
    assert [s for s, _ in vehicles] == [1, 2]
    for _, sub in vehicles:
        assert len(Recording.open(sub).frames()) > 20
        assert len(Recording.open(sub).alerts()) == 1  # its own sighting
    (merged,) = Recording.open(fleet_folder).alerts()
    assert [s["vehicle"] for s in merged.sightings] == [1, 2]


# -- archive, many-patrol report, exports ----------------------------------------------------------


def test_archive_reads_each_vehicle_once(fleet_root, fleet_folder):
    from groundstation.report import build_report
    from groundstation.report.fleet import build_fleet_report

    with Archive(":memory:") as arc:
        scan = arc.scan([fleet_root])
        assert scan.added == [str(fleet_folder.resolve())] and scan.failed == []
        (indexed,) = arc.patrols()
    read = read_patrol(fleet_folder)
    fleet = build_fleet_report(fleet_folder)
    for p in (read, indexed):  # as read, and as rebuilt from the index
        assert [v.sysid for v in p.vehicles] == [1, 2]
        assert len(p.track) == 0 and [s for s, _ in p.tracks()] == [1, 2]
        for v, (sysid, sub) in zip(p.vehicles, fleet_vehicles(fleet_folder), strict=True):
            alone = build_report(sub)
            assert v.sysid == sysid
            assert len(v.track) == len(alone.flight.track) > 100
            np.testing.assert_allclose(v.track[:, 1], alone.flight.track.lat_deg)
            assert v.flight_time_s == pytest.approx(alone.summary["flight_time_s"])
            assert v.flight_time_s > 10.0  # log clock: about 7 vehicle-minutes at speed-up 20
            assert v.distance_m == pytest.approx(alone.summary["distance_m"])
        # the patrol: each vehicle counted once
        assert p.flight_time_s == pytest.approx(sum(v.flight_time_s for v in p.vehicles))
        assert p.distance_m == pytest.approx(sum(v.distance_m for v in p.vehicles))
        assert p.coverage_pct == pytest.approx(fleet.coverage_pct, abs=0.01)
        assert p.coverage_pct > 95.0
        assert all(v.coverage_pct < 75.0 for v in p.vehicles)  # each flew its own part
        # the merged alert stream: one alert with both sightings, not one per vehicle
        assert [a["id"] for a in p.alerts] == [a.id for a in fleet.alerts]
        assert len(p.alerts) == 1 and len(p.alerts[0]["sightings"]) == 2
    assert indexed.summary()["vehicles"] == read.summary()["vehicles"]
    assert indexed.started_s == pytest.approx(read.started_s)


def test_report_over_many_patrols_counts_the_fleet_once(fleet_root, fleet_folder, tmp_path):
    from groundstation.report.multi import build_multi_report, render_multi_html

    r = run_cli(
        "report", str(fleet_root), "--format", "json", "--index", str(tmp_path / "i.sqlite")
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    read = read_patrol(fleet_folder)
    tot = doc["totals"]
    assert tot["patrols"] == 1 and tot["alerts"] == 1
    assert tot["flight_time_s"] == pytest.approx(read.flight_time_s, abs=0.1)
    assert tot["distance_m"] == pytest.approx(read.distance_m, abs=0.1)
    (patrol,) = doc["patrols"]
    assert [v["sysid"] for v in patrol["vehicles"]] == [1, 2]
    (district,) = doc["coverage"]
    assert district["covered_pct"] == pytest.approx(read.coverage_pct, abs=1.0)
    page = render_multi_html(build_multi_report([read]))
    for sysid in (1, 2):
        assert f'data-vehicle="{sysid}"' in page


def test_exports_have_one_track_per_vehicle_with_its_sysid(fleet_root, fleet_folder, tmp_path):
    import gpxpy

    out = tmp_path / "fleet.geojson"
    r = run_cli(
        "export", str(fleet_root), "--format", "geojson", "--out", str(out),
        "--index", str(tmp_path / "i.sqlite"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    feats = json.loads(out.read_text())["features"]
    p = read_patrol(fleet_folder)
    tracks = [f for f in feats if f["properties"]["layer"] == "track"]
    assert [f["properties"]["vehicle"] for f in tracks] == [1, 2]
    for f, v in zip(tracks, p.vehicles, strict=True):
        lines = (
            [f["geometry"]["coordinates"]]
            if f["geometry"]["type"] == "LineString"
            else f["geometry"]["coordinates"]
        )
        assert sum(len(line) for line in lines) == len(v.track)
        assert lines[0][0] == pytest.approx([v.track[0, 2], v.track[0, 1]], abs=1e-9)
        assert f["properties"]["flight_time_s"] == pytest.approx(v.flight_time_s)
    assert len([f for f in feats if f["properties"]["layer"] == "coverage"]) == 1
    (alert,) = [f for f in feats if f["properties"]["layer"] == "alert"]
    assert alert["properties"]["vehicle"] == 1 and alert["properties"]["seen_by"] == "1 2"

    gpx = gpxpy.parse(export_patrols([p], "gpx", None))
    assert [(t.name, t.number) for t in gpx.tracks] == [
        (f"{p.name} drone 1", 1),
        (f"{p.name} drone 2", 2),
    ]
    assert [sum(len(s.points) for s in t.segments) for t in gpx.tracks] == [
        len(v.track) for v in p.vehicles
    ]
    kml = ET.fromstring(export_patrols([p], "kml", None))
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    names = [
        pm.findtext("k:name", namespaces=ns)
        for folder in kml.iter("{http://www.opengis.net/kml/2.2}Folder")
        if folder.findtext("k:name", namespaces=ns) == "Tracks"
        for pm in folder.findall("k:Placemark", ns)
    ]
    assert {f"{p.name} drone 1", f"{p.name} drone 2"} <= set(names)


def test_an_index_of_schema_1_is_upgraded_and_reads_the_fleet_again(fleet_root, tmp_path):
    import sqlite3

    from groundstation.archive.patrol import FINGERPRINT_FILES

    db = tmp_path / "old.sqlite"
    con = sqlite3.connect(db)  # what version 1 made of a fleet: its top level only, no vehicle
    con.executescript(
        "CREATE TABLE recordings (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, name TEXT "
        "NOT NULL, fingerprint TEXT NOT NULL, indexed_s REAL NOT NULL, started_s REAL, ended_s "
        "REAL, complete INTEGER NOT NULL DEFAULT 0, district TEXT NOT NULL DEFAULT '', "
        "flight_time_s REAL, distance_m REAL, coverage_pct REAL, alerts INTEGER NOT NULL DEFAULT "
        "0, reminders INTEGER NOT NULL DEFAULT 0, target_wkb BLOB, covered_wkb BLOB, missing TEXT "
        "NOT NULL DEFAULT '[]', error TEXT);"
        "CREATE TABLE track (recording_id INTEGER NOT NULL REFERENCES recordings(id) ON DELETE "
        "CASCADE, t_s REAL NOT NULL, lat_deg REAL NOT NULL, lon_deg REAL NOT NULL, alt_m REAL);"
        "PRAGMA user_version = 1;"
    )
    (folder,) = [p.resolve() for p in fleet_root.iterdir() if p.is_dir()]
    stamp = "|".join(
        f"{n}:{os.stat(folder / n).st_size}:{os.stat(folder / n).st_mtime_ns}"
        if (folder / n).exists()
        else f"{n}:-"
        for n in FINGERPRINT_FILES
    )
    con.execute(
        "INSERT INTO recordings (path, name, fingerprint, indexed_s, flight_time_s) "
        "VALUES (?, ?, ?, 0, NULL)",
        (str(folder), folder.name, stamp),
    )
    con.commit()
    con.close()
    with Archive(db) as arc:
        scan = arc.scan([fleet_root])
        assert scan.updated == [str(folder)]
        (p,) = arc.patrols()
        assert [v.sysid for v in p.vehicles] == [1, 2] and all(len(v.track) for v in p.vehicles)
        assert p.flight_time_s == pytest.approx(sum(v.flight_time_s for v in p.vehicles))
        assert arc.db.execute("PRAGMA user_version").fetchone()[0] == 2
        assert arc.scan([fleet_root]).read == 0  # read once


# -- replay: the video switch ----------------------------------------------------------------------


def _frame_at(folder, t_s: float):
    """The recorded frame of ``folder``'s video shown at ``t_s``: (index entry, BGR image)."""
    rec = Recording.open(folder)
    frames = [f for f in rec.frames() if f["t_s"] <= t_s]
    entry = max(frames, key=lambda f: f["t_s"])
    for k, img in enumerate(rec.read_segment(entry["segment"])):
        if k == entry["segment_frame"]:
            return entry, img
    raise AssertionError(f"{folder}: frame {entry} not readable")


def _decode(jpeg: bytes):
    import cv2

    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)


def _diff(a, b) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


@pytest.fixture(scope="module")
def switch_time(fleet_folder):
    """A time both vehicles' videos show (the middle of vehicle 2's video), and what each
    vehicle's video shows then: ``(t_s, {sysid: (index entry, image)})``."""
    t2 = [f["t_s"] for f in Recording.open(fleet_folder / "vehicles" / "2").frames()]
    t = t2[len(t2) // 2]
    shown = {sysid: _frame_at(sub, t) for sysid, sub in fleet_vehicles(fleet_folder)}
    assert shown[1][0]["t_s"] != shown[2][0]["t_s"]
    assert _diff(shown[1][1], shown[2][1]) > 3.0  # two cameras, two pictures
    return t, shown


def test_replay_shows_the_selected_vehicles_video(fleet_folder, switch_time):
    from groundstation.overlay import OverlayHub
    from groundstation.replay import RecordingReplay

    t, shown = switch_time
    hub = OverlayHub(mode="replay")
    replay = RecordingReplay(fleet_folder, hub, paused=True).attach()
    assert sorted(replay.timeline.videos) == [1, 2]
    replay.seek(t)
    replay.step()
    for sysid in (1, 2, 1):
        hub.select_video(sysid)
        replay.step()  # paused: the same moment, the other camera
        f = hub.frame()
        assert f.t_s == pytest.approx(shown[sysid][0]["t_s"])
        assert f.frame_index == shown[sysid][0]["frame_index"]
        assert _diff(_decode(f.jpeg), shown[sysid][1]) < 4.0
        assert hub.snapshot()["state"]["vehicle"] == sysid
    replay.stop()


def test_replay_page_switch_serves_the_other_vehicles_frames(fleet_folder, switch_time):
    import httpx

    from groundstation.overlay import OverlayHub, OverlayServer
    from groundstation.replay import RecordingReplay

    t, shown = switch_time
    hub = OverlayHub(mode="replay")
    replay = RecordingReplay(fleet_folder, hub, paused=True)
    replay.seek(t)
    with (
        OverlayServer(hub, port=0) as server,
        replay,
        httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as c,
    ):
        if True:
            seq = 0
            for sysid in (1, 2):
                assert c.post("/api/video", params={"vehicle": sysid}).json() == {
                    "video_vehicle": sysid
                }
                want = shown[sysid][0]["t_s"]
                for _ in range(20):  # each long poll ends within 10 s
                    r = c.get("/api/frame", params={"after": seq})
                    if r.status_code == 200:
                        seq = int(r.headers["X-Frame-Seq"])
                        if float(r.headers["X-Frame-Time"]) == pytest.approx(want, abs=2e-3):
                            break
                else:
                    pytest.fail(f"drone {sysid}'s frame at {want} was never served")
                assert int(r.headers["X-Frame-Index"]) == shown[sysid][0]["frame_index"]
                assert _diff(_decode(r.content), shown[sysid][1]) < 4.0
            assert c.post("/api/video", params={"vehicle": 7}).status_code == 404


@pytest.mark.browser
def test_replay_page_in_chromium_switches_the_video(browser, fleet_folder, switch_time):
    from groundstation.overlay import OverlayHub, OverlayServer
    from groundstation.replay import RecordingReplay
    from groundstation.report.browser_checks import watch

    t, shown = switch_time
    hub = OverlayHub(mode="replay")
    replay = RecordingReplay(fleet_folder, hub, paused=True)
    replay.seek(t)
    with OverlayServer(hub, port=0) as server, replay:
        page = browser.new_page(viewport={"width": 1400, "height": 850})
        problems = watch(page)
        page.goto(server.url)
        page.wait_for_function(
            "() => document.querySelectorAll('.fleet-vehicle').length === 2", timeout=30000
        )
        assert page.eval_on_selector("#video-vehicle", "e => e.hidden") is False
        assert page.eval_on_selector_all("#video-vehicle option", "os => os.map(o => o.value)") == [
            "1",
            "2",
        ]
        shows = "want => Math.abs(Number(document.getElementById('video').dataset.frameTime) - want) < 2e-3"
        page.wait_for_function(shows, arg=shown[1][0]["t_s"], timeout=30000)
        page.select_option("#video-vehicle", "2")
        page.wait_for_function(shows, arg=shown[2][0]["t_s"], timeout=30000)
        assert hub.video_vehicle == 2
        # a click on a marker switches back. Dispatched to the marker itself: where the map's
        # framing puts it varies (a CI run had drone 1's marker half below the 850 px viewport,
        # and a pointer click there did not reach it)
        page.eval_on_selector(".fleet-vehicle[data-vehicle='1']", "e => e.click()")
        page.wait_for_function(shows, arg=shown[1][0]["t_s"], timeout=30000)
        assert page.eval_on_selector("#video-vehicle", "e => e.value") == "1"
        page.close()
    assert problems == []
