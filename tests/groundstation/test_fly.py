"""``dronepatrol fly`` and ``dronepatrol mission``: whole flights against a vehicle (built-in
simulator, or ArduPilot SITL when ARDUPILOT_SITL is set)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _transfer_samples import planned_demo, survey_mission
from testkit import REPO_ROOT, run_cli

from groundstation import mission_transfer as mt
from groundstation.cli.fly import Sortie, StatusPrinter, fly_sortie
from groundstation.link import Link
from groundstation.vehicle import COPTER_MODES, Vehicle
from missions.formats import read_mission_file, write_wpl
from missions.geo import distance_m
from missions.items import MAV_CMD_NAV_WAYPOINT


def _reached_from_output(text: str) -> list[int]:
    line = [ln for ln in text.splitlines() if "items reached:" in ln][-1]
    return [int(v) for v in line.split("items reached:")[1].split(",") if v.strip()]


@pytest.mark.slow
@pytest.mark.vehicle(speedup=50)
@pytest.mark.timeout(900)
def test_fly_the_first_sortie_of_the_demo_district(vehicle_endpoint):
    """Acceptance: the planner's first sortie, from take-off to disarm, every waypoint in order."""
    plan = planned_demo()
    sortie = Sortie("sortie_1", plan.sorties[0].items, plan.fence_items, plan.rally_items)
    waypoint_seqs = [it.seq for it in sortie.mission if it.command == MAV_CMD_NAV_WAYPOINT][1:]
    assert len(waypoint_seqs) >= 10
    flight_s = plan.sorties[0].flight_time_s
    with Link.connect(vehicle_endpoint.url, timeout_s=30) as link:
        vehicle = Vehicle(link)
        texts = []
        vehicle.on_event(lambda ev: texts.append(ev.data["text"]), ["statustext"])
        printer = StatusPrinter(stream=open("/dev/null", "w"), tty=False)  # noqa: SIM115
        progress = fly_sortie(
            vehicle,
            sortie,
            takeoff_alt_m=sortie.mission[1].z,
            timeout_s=max(120.0, vehicle_endpoint.wall_s(3 * flight_s)),
            printer=printer,
        )
        s = vehicle.state()
        assert not s.armed and s.on_ground
        assert s.pose.alt_m < 1.0
        # RTL ends at home or at the closest rally point (ArduCopter's RTL with rally points)
        spots = [(s.home.lat_deg, s.home.lon_deg)] + [(r.x, r.y) for r in plan.rally_items]
        assert min(distance_m(s.pose.lat_deg, s.pose.lon_deg, *p) for p in spots) < 3
        vehicle.close()
    # Every waypoint flown in the planned order (made current or reported reached: ArduCopter
    # collapses MISSION_ITEM_REACHED of items completed together), the final RTL at touchdown.
    last = len(sortie.mission) - 1
    assert [q for q in progress.current if q in waypoint_seqs] == waypoint_seqs
    assert progress.reached == sorted(progress.reached)
    assert progress.finished(progress.landed_mode)
    assert progress.landed_mode == "AUTO" and last in progress.current
    assert not [t for t in texts if "fence" in t.lower() and "breach" in t.lower()]


@pytest.mark.vehicle(speedup=50)
@pytest.mark.timeout(600)
def test_fly_cli_flies_a_mission_file(vehicle_endpoint, tmp_path):
    items = survey_mission(10, alt_m=20.0)
    path = write_wpl(items, tmp_path / "short.waypoints")
    r = run_cli("fly", str(path), "--connect", vehicle_endpoint.url, timeout=500)
    assert r.returncode == 0, r.stderr + r.stdout
    assert "mission of 9 items uploaded and verified" in r.stdout
    assert "landed and disarmed" in r.stdout
    assert _reached_from_output(r.stdout) == list(range(1, 10))


@pytest.mark.slow
@pytest.mark.vehicle(speedup=50)
@pytest.mark.timeout(900)
def test_fly_cli_flies_every_sortie_of_a_plan_folder(vehicle_endpoint, tmp_path):
    from groundstation.config import load_config
    from missions.plan_io import write_plan_outputs
    from missions.planner import plan_from_config

    area = tmp_path / "block.geojson"
    area.write_text(
        json.dumps(
            {
                "type": "Polygon",
                "coordinates": [
                    [
                        [123.4302, 41.7902],
                        [123.4330, 41.7902],
                        [123.4330, 41.7920],
                        [123.4302, 41.7920],
                        [123.4302, 41.7902],
                    ]
                ],
            }
        )
    )
    cfg = load_config(
        None,
        {
            "area.district": str(area),
            "connection.url": "sim",
            "sorties.endurance_min": 5,
            "survey.alt_m": 30,
        },
    )
    plan = plan_from_config(cfg)
    assert len(plan.sorties) == 2
    write_plan_outputs(plan, tmp_path / "plan", preview=False)
    r = run_cli("fly", str(tmp_path / "plan"), "--connect", vehicle_endpoint.url, timeout=800)
    assert r.returncode == 0, r.stderr + r.stdout
    assert f"fence of {len(plan.fence_items)} items uploaded and verified" in r.stdout
    for i, s in enumerate(plan.sorties, 1):
        assert f"sortie {i}/2: sortie_{i}.waypoints" in r.stdout
        done = [ln for ln in r.stdout.splitlines() if ln.startswith(f"sortie {i}/2: landed")]
        assert done, r.stdout
        reached = [int(v) for v in done[0].split("items reached:")[1].split(",")]
        assert reached[-1] == len(s.items) - 1
        wps = [it.seq for it in s.items if it.command == MAV_CMD_NAV_WAYPOINT][1:]
        assert [q for q in reached if q in wps] == wps


def _heartbeat_after(url: str):
    with Link.connect(url, timeout_s=30) as link:
        hb = link.wait_message("HEARTBEAT", timeout_s=10)
        return hb


@pytest.mark.parametrize(("action", "mode"), [("rtl", "RTL"), ("land", "LAND")])
@pytest.mark.vehicle(speedup=10)
@pytest.mark.timeout(600)
def test_ctrl_c_in_flight_commands_the_chosen_mode(vehicle_endpoint, tmp_path, action, mode):
    path = write_wpl(survey_mission(60, alt_m=20.0), tmp_path / "long.waypoints")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "groundstation.cli",
            "fly",
            str(path),
            "--connect",
            vehicle_endpoint.url,
            "--on-interrupt",
            action,
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines = []
    try:
        deadline = time.monotonic() + 300
        for line in proc.stdout:
            lines.append(line)
            if "reached item 3" in line:
                proc.send_signal(signal.SIGINT)
                break
            assert time.monotonic() < deadline, "".join(lines)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = "".join(lines) + out
    assert proc.returncode == 130, text
    assert f"{action.upper()} commanded" in text
    hb = _heartbeat_after(vehicle_endpoint.url)
    assert hb.custom_mode == COPTER_MODES[mode]
    assert hb.base_mode & 128, "the vehicle must still be flying (armed) under its new command"


@pytest.mark.timeout(300)
def test_fly_cli_shows_the_prearm_reason_when_arming_is_refused(sim_factory, tmp_path):
    sim = sim_factory(speedup=20, params={"BATT_ARM_VOLT": 30.0})
    path = write_wpl(survey_mission(6), tmp_path / "m.waypoints")
    r = run_cli("fly", str(path), "--connect", sim.url, timeout=250)
    assert r.returncode == 1
    err = r.stderr.strip().splitlines()
    assert err[-1].startswith("error: arming refused with MAV_RESULT_FAILED")
    assert "Arm: Battery 1 below minimum arming voltage" in err[-1]
    assert "Traceback" not in r.stderr
    assert "the vehicle is disarmed: nothing to command" in r.stdout


@pytest.mark.timeout(120)
def test_cli_wrong_port_fails_fast_with_one_line(tmp_path):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    path = write_wpl(survey_mission(4), tmp_path / "m.waypoints")
    url = f"tcp:127.0.0.1:{port}"
    for args in (("fly", str(path)), ("mission", "upload", str(path))):
        r = run_cli(
            *args, "--connect", url, "--set", "connection.heartbeat_timeout_s=2", timeout=100
        )
        assert r.returncode == 1
        assert (
            r.stderr.strip()
            == f"error: cannot connect to {url}: connection refused (nothing is listening on that port)"
        )


@pytest.mark.timeout(300)
def test_mission_cli_upload_download_clear(vehicle_endpoint, tmp_path):
    plan = planned_demo()
    wp = write_wpl(plan.sorties[0].items, tmp_path / "s1.waypoints")
    fence = write_wpl(plan.fence_items, tmp_path / "fence.waypoints")
    url = vehicle_endpoint.url
    r = run_cli("mission", "upload", str(wp), "--connect", url)
    assert r.returncode == 0, r.stderr
    assert f"mission: {len(plan.sorties[0].items)} items uploaded to {url} and verified" in r.stdout
    r = run_cli("mission", "upload", str(fence), "--connect", url, "--type", "fence")
    assert r.returncode == 0, r.stderr
    r = run_cli("mission", "download", "--connect", url, "-o", str(tmp_path / "back.waypoints"))
    assert r.returncode == 0, r.stderr
    back = read_mission_file(tmp_path / "back.waypoints").mission
    assert mt.compare_items(plan.sorties[0].items, back, 0) == []
    r = run_cli("mission", "download", "--connect", url, "--type", "fence")
    assert r.returncode == 0 and f"fence: {len(plan.fence_items)} items" in r.stdout
    r = run_cli("mission", "clear", "--connect", url, "--type", "all")
    assert r.returncode == 0, r.stderr
    with Link.connect(url, timeout_s=30) as link:
        assert mt.download(link, 0) == []  # ArduCopter 4.7: count 0 after a clear (measured)
        assert mt.download(link, 1) == []
    r = run_cli("mission", "upload", str(fence), "--connect", url)
    assert r.returncode == 2
    assert "holds no mission items (it has fence items: use --type fence)" in r.stderr


def test_fly_rejects_a_file_without_mission(tmp_path):
    fence = write_wpl(planned_demo().fence_items, tmp_path / "fence.waypoints")
    r = run_cli("fly", str(fence), "--connect", "tcp:127.0.0.1:9")
    assert r.returncode == 2 and "holds no mission items to fly" in r.stderr
    r = run_cli("fly", str(Path(tmp_path) / "nothing"), "--connect", "tcp:127.0.0.1:9")
    assert r.returncode == 2 and "no such file or folder" in r.stderr
