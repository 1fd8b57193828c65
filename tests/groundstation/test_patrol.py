"""The patrol job: safety alerts in flight, input errors before flying, CLI, summary.

The end-to-end runs with detection and speech are in ``tests/e2e/``; here the patrol flies the
demo mission on the embedded simulator without video (``detection.source: none``) so that the
vehicle-side behaviour can be exercised quickly and in process.
"""

from __future__ import annotations

import io
import json
import threading
import time

import pytest
from testkit import REPO_ROOT, run_cli

from groundstation.config import load_config
from groundstation.patrol import Console, Patrol, PatrolSummary
from groundstation.recording import Recording

DEMO = REPO_ROOT / "configs" / "demo.yaml"


def flying_cfg(**extra):
    overrides = {
        "detection.source": "none",
        "broadcast.enabled": False,
        "sim.speedup": 20,
        "overlay.enabled": False,
        **extra,
    }
    return load_config(DEMO, overrides)


@pytest.mark.slow
def test_link_loss_and_low_battery_are_alerts_and_low_battery_ends_the_sortie(tmp_path):
    cfg = flying_cfg(
        **{
            "sim.battery.initial_remaining": 0.3,
            "policy.low_battery_pct": 25,
            "connection.link_lost_s": 1.0,
        }
    )
    out = io.StringIO()
    patrol = Patrol(cfg, record_dir=tmp_path, console=Console(out, tty=False))
    cut = threading.Event()

    def cut_link_once_airborne():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not patrol.stopping.is_set():
            v = patrol.vehicle
            pose = v.pose if v is not None else None
            if pose is not None and v.state().armed and pose.alt_m > 10:
                patrol.sim.cut_link(3.0)
                cut.set()
                return
            time.sleep(0.05)

    t = threading.Thread(target=cut_link_once_airborne)
    t.start()
    try:
        summary = patrol.run()
    finally:
        t.join()
    assert cut.is_set()
    assert summary.end_reason == "landed", out.getvalue()
    kinds = summary.alerts_by_kind
    assert kinds.get("link_lost") == 1 and kinds.get("link_recovered") == 1, out.getvalue()
    assert kinds.get("battery_low") == 1
    text = out.getvalue()
    assert (
        "LINK LOST" in text and "BATTERY LOW" in text and "battery low: returning to launch" in text
    )

    rec = Recording.open(summary.recording)
    assert rec.complete and rec.manifest["end_reason"] == "landed"
    alerts = {a.kind.value: a for a in rec.alerts()}
    assert {"link_lost", "link_recovered", "battery_low"} <= set(alerts)
    for a in alerts.values():
        assert a.source == "vehicle" and a.lat_deg is not None
    events = rec.events()
    rtl = [e for e in events if e["kind"] == "rtl"]
    assert rtl and rtl[0]["reason"] == "battery_low"
    assert any(e["kind"] == "mode" and e["mode"] == "RTL" for e in events)
    # the overlay saw them as well (alerts and log lines)
    snap = patrol.hub.snapshot()
    assert {"link_lost", "link_recovered", "battery_low"} <= {a["kind"] for a in snap["alerts"]}
    assert any("LINK LOST" in entry["text"] for entry in snap["log"])
    # the telemetry says the link was down for a while
    assert any(t["link_ok"] is False for t in rec.telemetry())
    assert summary.frames == 0 and summary.holds == 0
    # the uploaded fence was enabled on the vehicle before take-off, as ``dronepatrol fly`` does
    with patrol.sim.lock:
        params = {n: patrol.sim.vehicle.params[n] for n in ("FENCE_ENABLE", "FENCE_TYPE")}
    assert params == {"FENCE_ENABLE": 1.0, "FENCE_TYPE": 5.0}
    geofence = [e for e in events if e["kind"] == "geofence"]
    assert len(geofence) == 1 and geofence[0]["enabled"] is True
    assert "FENCE_ENABLE 0 -> 1 (enabled)" in geofence[0]["changes"]
    kinds_in_order = [e["kind"] for e in events]
    assert kinds_in_order.index("geofence") < kinds_in_order.index("sortie_start")
    assert "fence enabled: FENCE_TYPE 5" in text


def test_bad_inputs_fail_before_anything_flies_or_is_recorded(tmp_path):
    rec_dir = tmp_path / "rec"
    cases = [
        (["--set", "overlay.host=0.0.0.0"], "overlay.token"),
        (
            ["--connect", "tcp:127.0.0.1:9", "--set", "detection.source=sim"],
            "needs connection.url: sim",
        ),
        (["--set", "area.district=nope.geojson"], "nope.geojson"),
        (["--set", "policy.hover_s=-1"], "policy.hover_s"),
    ]
    for args, message in cases:
        r = run_cli(
            "patrol", "--config", str(DEMO), "--record-dir", str(rec_dir), *args, timeout=120
        )
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert lines[-1].startswith("error: ") and message in lines[-1], r.stderr
        assert "Traceback" not in r.stderr
    assert not rec_dir.exists() or not any(rec_dir.iterdir())


def test_overlay_port_in_use_is_one_line_naming_the_flags_and_records_nothing(tmp_path):
    import socket

    rec_dir = tmp_path / "rec"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run_cli(
            "patrol", "--config", str(DEMO), "--record-dir", str(rec_dir),
            "--overlay-port", str(port), "--set", "detection.source=none", timeout=120,
        )  # fmt: skip
    assert r.returncode != 0, r.stdout
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and f"127.0.0.1:{port}" in last, r.stderr
    assert "--overlay-port" in last and "--no-overlay" in last
    assert "Traceback" not in r.stderr
    assert not rec_dir.exists() or not any(rec_dir.iterdir())


def test_help_has_examples():
    r = run_cli("patrol", "--help")
    assert r.returncode == 0
    assert "dronepatrol patrol --config configs/demo.yaml" in r.stdout
    for flag in ("--record-dir", "--speedup", "--connect", "--no-overlay", "--overlay-port",
                 "--alert-policy", "--set"):  # fmt: skip
        assert flag in r.stdout


def test_console_without_a_terminal_prints_lines():
    out = io.StringIO()
    c = Console(out, tty=False)
    c.line("hello")
    c.status("AUTO ARMED")
    c.status("AUTO ARMED again")  # within 15 s: not repeated
    c.done()
    assert out.getvalue() == "hello\nstatus: AUTO ARMED\n"


def test_summary_format_and_dict():
    s = PatrolSummary(
        end_reason="landed",
        sorties_planned=2,
        sorties_flown=2,
        distance_m=1234.4,
        flight_time_s=312.0,
        airborne_s=29.5,
        wall_time_s=31.2,
        speedup=10.0,
        alerts_by_kind={"gathering": 1, "battery_low": 1},
        broadcasts=2,
        broadcasts_played=2,
        holds=1,
        frames=300,
        recording="recordings/x",
    )
    text = s.format()
    assert "patrol ended: landed" in text
    assert "1,234 m" in text and "time armed        5 min 12 s, vehicle clock" in text
    # the headline flight time is the report's: airborne, ground-station clock, and the same on
    # the sped-up vehicle's clock
    assert "flight time       30 s airborne (armed, > 1 m above home), ground-station clock" in text
    assert "4 min 55 s on the vehicle clock" in text
    assert "31 s wall-clock, start to end (simulator at speed-up 10)" in text
    assert "battery_low 1, gathering 1" in text and "recordings/x" in text
    assert "2 made, 2 played on the loudspeaker" in text
    assert json.loads(json.dumps(s.to_dict()))["alerts_by_kind"] == {
        "gathering": 1,
        "battery_low": 1,
    }


@pytest.mark.slow
def test_every_sortie_is_flown_with_a_battery_swap_in_between(tmp_path):
    """The sorties come from the vehicle's pack, not the config's 20 minutes: the sim's
    BATT_CAPACITY 3040 mAh at a mean 15.2 A lasts 12 min, so the patrol re-plans into more
    sorties (issue 13), flies each with a battery swap between, and says what each one used."""
    single = flying_cfg(**{"sim.speedup": 50})
    cfg = flying_cfg(
        **{"sim.speedup": 50, "sim.battery.capacity_mah": 3040, "sorties.flight_current_a": 15.2}
    )
    from missions.planner import plan_from_config

    configured = len(plan_from_config(single).sorties)
    out = io.StringIO()
    summary = Patrol(cfg, record_dir=tmp_path, console=Console(out, tty=False)).run()
    text = out.getvalue()
    assert summary.end_reason == "landed", text
    assert "BATT_CAPACITY 3040 mAh at 15.2 A lasts 12.0 min: re-planned" in text
    assert summary.sorties_planned >= 2 and summary.sorties_planned > configured
    assert summary.sorties_flown == summary.sorties_planned
    assert "simulator battery swapped" in text
    assert "a full pack lasts about" in text  # measured from the charge each sortie used
    rec = Recording.open(summary.recording)
    events = rec.events()
    starts = [e["sortie"] for e in events if e["kind"] == "sortie_start"]
    ends = [e["sortie"] for e in events if e["kind"] == "sortie_end"]
    assert starts == ends == list(range(1, summary.sorties_planned + 1))
    uploads = [
        e for e in events if e["kind"] == "mission_uploaded" and e["mission_type"] == "mission"
    ]
    assert [e["sortie"] for e in uploads] == starts
    # fence uploaded once, before the first sortie
    assert sum(e["mission_type"] == "fence" for e in events if e["kind"] == "mission_uploaded") == 1
    assert sum(1 for e in events if e["kind"] == "armed") == summary.sorties_planned
