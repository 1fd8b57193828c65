"""``speak_only``: the demo gathering is confirmed while the drone flies on, and spoken.

The demo patrol runs as a subprocess at speed-up 5 with ``--alert-policy speak_only``: the
vehicle never stops, so the gathering must be confirmed from a moving camera (detection tracks
people on the ground in metres, ``detection.tracker: ground``). The alert must land within 10 m
of where the scene put the group, its reminder reaches the test audio sink, and there is no
hold.
"""

from __future__ import annotations

import pytest
from patrol_helpers import DEMO, model_available, patrol_process  # noqa: F401 (fixtures)

from broadcast.testing import alsa_file_sink_env, played_wavs
from groundstation.config import load_config
from groundstation.recording import Recording
from missions.geo import distance_m
from sim.scene import Scene

pytestmark = [pytest.mark.slow, pytest.mark.model]


def test_speak_only_confirms_the_demo_gathering_in_flight(
    tmp_path,
    patrol_process,  # noqa: F811
    model_available,  # noqa: F811
):
    audio_dir = tmp_path / "audio"
    patrol = patrol_process(
        "--config",
        str(DEMO),
        # The camera gives 10 frames per wall-clock second: at speed-up 5 that is 2 per vehicle
        # second, about 10 frames while the market group is in view (docs/patrol.md, speak_only).
        "--speedup",
        "5",
        "--alert-policy",
        "speak_only",
        "--record-dir",
        str(tmp_path / "recordings"),
        "--no-overlay",
        env=alsa_file_sink_env(audio_dir),
    )
    code = patrol.wait(timeout_s=900)
    out = patrol.output
    assert code == 0, out
    assert "patrol ended: landed" in out

    rec = Recording.open(patrol.recording())
    assert rec.manifest["complete"] is True and rec.manifest["end_reason"] == "landed"
    # the drone never stopped: no hold, no candidate check, GUIDED only for the take-off
    kinds = [e["kind"] for e in rec.events()]
    assert not {"hold", "check_end", "resume"} & set(kinds), kinds
    assert rec.manifest["summary"]["holds"] == 0
    guided = [t for t in rec.telemetry() if t["mode"] == "GUIDED" and t["phase"] == "survey"]
    assert guided == []

    cfg = load_config(DEMO)
    groups = Scene(cfg.sim.scene, cfg.sim.home.lat_deg, cfg.sim.home.lon_deg).group_centres_geo()
    gatherings = [a for a in rec.alerts() if a.kind.value == "gathering"]
    assert gatherings, out
    near = [distance_m(a.lat_deg, a.lon_deg, *groups["market"]) for a in gatherings]
    print(f"\ngathering alerts {[f'{d:.1f} m' for d in near]} from the market group")
    assert min(near) < 10.0
    # nothing else was called a gathering (the group of three, the people alone)
    assert max(near) < 10.0
    for a in gatherings:
        assert a.count >= 5 and a.snapshot and (rec.folder / a.snapshot).is_file()
    # and its reminder was spoken in flight, through the test audio sink
    broadcasts = rec.broadcasts()
    assert broadcasts and {b["alert_id"] for b in broadcasts} <= {a.id for a in gatherings}
    assert {b["language"] for b in broadcasts} == {"zh", "en"}
    assert all(b["played"] for b in broadcasts)
    assert played_wavs(audio_dir)
