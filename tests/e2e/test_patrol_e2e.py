"""The main job end to end: ``dronepatrol patrol --config configs/demo.yaml`` as a user runs it.

The embedded simulator flies at speed-up 10, the simulated camera renders the demo scene, the real
YOLO11n INT8 weights from ../shared/models detect on its pixels, reminders go to an ALSA file sink
(``broadcast.testing``), and the recording is checked file by file.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from patrol_helpers import DEMO, model_available, patrol_process  # noqa: F401 (fixtures)

from broadcast.audio import read_wav
from broadcast.testing import alsa_file_sink_env, find_in, played_wavs
from groundstation.config import load_config
from groundstation.recording import Recording
from missions.geo import distance_m
from sim.scene import Scene

pytestmark = [pytest.mark.slow, pytest.mark.model]


def scene_groups() -> dict[str, tuple[float, float]]:
    """Where the demo scene puts each group (centroid of its people)."""
    cfg = load_config(DEMO)
    scene = Scene(cfg.sim.scene, cfg.sim.home.lat_deg, cfg.sim.home.lon_deg)
    return scene.group_centres_geo()


def test_demo_patrol_completes_alerts_speaks_and_records(tmp_path, patrol_process, model_available):  # noqa: F811
    audio_dir = tmp_path / "audio"
    patrol = patrol_process(
        "--config",
        str(DEMO),
        "--speedup",
        "10",
        "--record-dir",
        str(tmp_path / "recordings"),
        "--overlay-port",
        "0",
        env=alsa_file_sink_env(audio_dir),
    )
    code = patrol.wait(timeout_s=900)
    out = patrol.output
    assert code == 0, out
    assert "patrol ended: landed" in out
    assert "1 of 1 flown" in out

    rec = Recording.open(patrol.recording())
    m = rec.manifest
    # --- the mission completed and the recording was closed cleanly
    assert m["complete"] is True and m["end_reason"] == "landed", m
    summary = m["summary"]
    assert summary["sorties_flown"] == 1 and summary["distance_m"] > 500
    kinds = [e["kind"] for e in rec.events()]
    for k in ("start", "connected", "mission_uploaded", "sortie_start", "armed", "hold",
              "resume", "disarmed", "sortie_end", "stop"):  # fmt: skip
        assert k in kinds, (k, kinds)
    reached = [e["seq"] for e in rec.events() if e["kind"] == "mission_item_reached"]
    n_items = max(e["count"] for e in rec.events() if e["kind"] == "mission_uploaded"
                  and e["mission_type"] == "mission")  # fmt: skip
    assert reached[-1] == n_items  # the final RTL item is reached at touchdown
    telemetry = rec.telemetry()
    assert telemetry[-1]["armed"] is False
    # after the hold the survey goes on at the survey speed (3 m/s), not at WPNAV_SPEED
    resumed = next(e["t_s"] for e in rec.events() if e["kind"] == "resume")
    later = [
        t["groundspeed_m_s"]
        for t in telemetry
        if t["t_s"] > resumed + 1.0 and t["phase"] == "survey" and t["mode"] == "AUTO"
    ]
    assert later and max(later) < 4.0, max(later)
    assert max(t["pose"]["alt_m"] for t in telemetry if t["pose"]) > 15

    # --- a gathering alert within 10 m of where the scene put the group
    groups = scene_groups()
    gatherings = [a for a in rec.alerts() if a.kind.value == "gathering"]
    assert gatherings, out
    best = min(distance_m(a.lat_deg, a.lon_deg, *groups["market"]) for a in gatherings if a.lat_deg)
    assert best < 10.0, (best, [a.model_dump() for a in gatherings])
    # nothing was called a gathering near the group of three
    for a in gatherings:
        assert distance_m(a.lat_deg, a.lon_deg, *groups["bus stop"]) > 10.0
    for a in gatherings:
        assert a.count >= 5 and a.snapshot and (rec.folder / a.snapshot).is_file()

    # --- the reminder was played through the test audio sink, sample for sample
    broadcasts = rec.broadcasts()
    assert broadcasts, out
    assert {b["language"] for b in broadcasts} == {"zh", "en"}
    assert all(b["played"] for b in broadcasts)
    masks = [a for a in rec.alerts() if a.kind.value in ("unmasked", "mask_incorrect")]
    assert {b["alert_id"] for b in broadcasts} <= {a.id for a in gatherings + masks}
    played = played_wavs(audio_dir)
    assert played, "nothing reached the audio sink"
    for b in broadcasts:
        samples, _ = read_wav(rec.folder / b["wav"])
        assert any(find_in(p, samples) is not None for p, _ in played), b

    # --- the close look: the unmasked person in red is told, masked people are not
    cfg = load_config(DEMO)
    people = {(p.mask, p.upper): (p.lat_deg, p.lon_deg) for p in cfg.sim.scene.people}
    red = people[("unmasked", "red")]
    assert "close_look" in kinds and "close_look_result" in kinds, kinds
    unmasked = [a for a in masks if a.kind.value == "unmasked"]
    assert unmasked, out
    assert min(distance_m(a.lat_deg, a.lon_deg, *red) for a in unmasked) < 3.0
    told = next(a for a in unmasked if distance_m(a.lat_deg, a.lon_deg, *red) < 3.0)
    assert told.colour == "red", told
    zh = [b["text"] for b in broadcasts if b["alert_id"] == told.id and b["language"] == "zh"]
    assert zh and "红色" in zh[0] and "口罩" in zh[0], zh
    for (mask, _), (lat, lon) in people.items():
        if mask == "masked":
            assert all(distance_m(a.lat_deg, a.lon_deg, lat, lon) > 3.0 for a in masks), masks
    # the close look never went below the floor, and the gimbal was restored
    floor = cfg.policy.close_look.min_alt_m
    looking = [t for t in telemetry if t["phase"] == "close look" and t["pose"]]
    assert looking and min(t["pose"]["alt_m"] for t in looking) >= floor - 0.5
    gimbal = [e for e in rec.events() if e["kind"] == "gimbal"]
    assert gimbal[-1]["pitch_deg"] == cfg.camera.gimbal_pitch_deg

    # --- the recording folder is complete
    assert rec.missing() == []
    assert rec.path("tlog").stat().st_size > 10_000
    from pymavlink import mavutil

    mlog = mavutil.mavlink_connection(str(rec.path("tlog")))
    types = set()
    while (msg := mlog.recv_match(blocking=False)) is not None:
        types.add(msg.get_type())
    assert {"HEARTBEAT", "GLOBAL_POSITION_INT", "MISSION_ITEM_REACHED"} <= types
    frames = rec.frames()
    decoded = sum(sum(1 for _ in rec.read_segment(s)) for s in rec.segments())
    assert decoded == len(frames) > 50
    assert all(f["pose"] is not None for f in frames[-10:])
    for name in ("plan.json", "sortie_1.waypoints", "route.geojson", "area.geojson", "preview.png"):
        assert (rec.path("plan") / name).is_file(), name
    plan = json.loads((rec.path("plan") / "plan.json").read_text())
    assert plan["stats"]["sorties"] == len(plan["sorties"]) == 1
    assert m["config"]["sim"]["speedup"] == 10
    assert np.isclose(m["home"]["lat_deg"], 41.79)
