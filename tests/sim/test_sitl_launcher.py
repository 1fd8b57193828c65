"""The SITL launcher and everything that uses it, run with a stand-in ``arducopter``.

No ArduPilot build can be installed on this project's CI (it is not packaged on PyPI or Debian),
so these tests give ``ARDUPILOT_SITL`` a stand-in (``sitl_standin.py``: SITL's command line and
port rule, the built-in simulator behind them). They check the launching side: the command line,
the instance and port choice, the wait for the port, the error for a binary that cannot start,
stopping, ``dronepatrol sim --sitl`` and the ``vehicle_endpoint`` fixture's SITL branch. Whether
the integration tests pass on a real ArduCopter is only known when ``ARDUPILOT_SITL`` names one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from _simclient import Gcs
from pymavlink import mavutil
from testkit import REPO_ROOT

from sim.sitl import SitlError, start_sitl

STANDIN = Path(__file__).with_name("sitl_standin.py")


@pytest.fixture
def standin(tmp_path) -> Path:
    """An executable ``arducopter`` that runs the stand-in with this interpreter."""
    exe = tmp_path / "arducopter"
    # this checkout's sim package, whatever the installed dronepatrol points at
    exe.write_text(
        f'#!/bin/sh\nPYTHONPATH="{REPO_ROOT}" exec "{sys.executable}" "{STANDIN}" "$@"\n'
    )
    exe.chmod(0o755)
    return exe


def _heartbeat_and_home(url: str, speedup: float = 10.0):
    """HEARTBEAT and first position, read with the plain-pymavlink test client."""
    with Gcs(url, speedup) as gcs:
        gcs.request_streams(4)
        pos = gcs.recv("GLOBAL_POSITION_INT", sim_s=60, cond=lambda m: m.lat != 0)
        return gcs.heartbeat, (pos.lat / 1e7, pos.lon / 1e7)


def test_start_sitl_passes_sitls_command_line_and_serves_serial0(standin, tmp_path, monkeypatch):
    log = tmp_path / "argv.txt"
    monkeypatch.setenv("SITL_STANDIN_LOG", str(log))
    defaults = tmp_path / "copter.parm"
    defaults.write_text("FS_GCS_ENABLE 1\n")
    handle = start_sitl(standin, defaults, home=(41.8, 123.4, 60.0), speedup=10)
    try:
        assert handle.running and handle.port == 5760 + 10 * handle.instance
        assert handle.url == f"tcp:127.0.0.1:{handle.port}"
        argv = log.read_text().split()
        for flag, value in [("--model", "quad"), ("--speedup", "10"), ("-I", str(handle.instance)),
                            ("--serial0", "tcp:0"), ("--home", "41.8,123.4,60.0,0"),
                            ("--defaults", str(defaults))]:  # fmt: skip
            assert argv[argv.index(flag) + 1] == value, argv
        hb, (lat, lon) = _heartbeat_and_home(handle.url)
        assert hb.autopilot == mavutil.mavlink.MAV_AUTOPILOT_ARDUPILOTMEGA
        assert abs(lat - 41.8) < 1e-4 and abs(lon - 123.4) < 1e-4
        workdir = handle.workdir
    finally:
        handle.stop()
    assert not handle.running and not workdir.exists()
    # a second vehicle gets another instance while the first one's ports are taken
    with start_sitl(standin, speedup=10) as first, start_sitl(standin, speedup=10) as second:
        assert first.instance != second.instance and first.port != second.port


def test_a_binary_that_cannot_start_is_one_line_with_its_last_error(standin, monkeypatch):
    monkeypatch.setenv("SITL_STANDIN_FAIL", "bind failed on port 5760 - Address already in use")
    with pytest.raises(SitlError, match=r"exited at start: bind failed on port 5760"):
        start_sitl(standin, wait_s=20)


def test_missing_binary_or_defaults_are_config_errors(tmp_path, standin):
    from missions.errors import ConfigError

    with pytest.raises(ConfigError, match="no such file"):
        start_sitl(tmp_path / "nope")
    with pytest.raises(ConfigError, match="ARDUPILOT_DEFAULTS=.*no such file"):
        start_sitl(standin, tmp_path / "missing.parm")


def test_dronepatrol_sim_sitl_runs_the_binary_until_ctrl_c(standin):
    env = {**os.environ, "ARDUPILOT_SITL": str(standin), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "groundstation.cli", "sim", "--sitl", "--speedup", "10"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        assert line.startswith("ArduPilot SITL instance "), (line, proc.stderr.read())
        url = line.rsplit(": ", 1)[1].strip()
        hb, _ = _heartbeat_and_home(url)
        assert hb.type == mavutil.mavlink.MAV_TYPE_QUADROTOR
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.mark.slow
def test_the_integration_flight_runs_through_the_fixtures_sitl_branch(standin, tmp_path):
    """tests/sim/test_sim_flight.py (plain pymavlink) with ARDUPILOT_SITL set: the fixture
    launches the binary instead of the built-in simulator."""
    log = tmp_path / "argv.txt"
    env = {**os.environ, "ARDUPILOT_SITL": str(standin), "SITL_STANDIN_LOG": str(log)}
    env.pop("ARDUPILOT_DEFAULTS", None)
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/sim/test_sim_flight.py::test_full_flight_guided_takeoff_auto_mission_rtl_land_disarm"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "1 passed" in r.stdout
    assert "--serial0 tcp:0" in log.read_text()


def test_connect_sitl_starts_the_binary_waits_until_armable_and_stops_it(standin, tmp_path):
    """``--connect sitl`` (connection.url: sitl): the binary from ARDUPILOT_SITL, home and
    speed-up from the sim section, ``--serial0 tcp:0``; the command waits until the vehicle is
    armable (EKF position), does its work, and SITL is gone when it exits."""
    log = tmp_path / "argv.txt"
    mission = tmp_path / "m.waypoints"
    mission.write_text(
        "QGC WPL 110\n"
        "0\t1\t0\t16\t0\t0\t0\t0\t41.79\t123.43\t50\t1\n"
        "1\t0\t3\t16\t0\t0\t0\t0\t41.7905\t123.4305\t20\t1\n"
    )
    env = {**os.environ, "ARDUPILOT_SITL": str(standin), "SITL_STANDIN_LOG": str(log)}
    env.pop("ARDUPILOT_DEFAULTS", None)
    r = subprocess.run(
        [sys.executable, "-m", "groundstation.cli", "mission", "upload", str(mission),
         "--connect", "sitl", "--set", "sim.speedup=20", "--set", "sim.home.lat_deg=41.79",
         "--set", "sim.home.lon_deg=123.43"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr + r.stdout
    assert "1 items uploaded" in r.stdout or "2 items uploaded" in r.stdout, r.stdout
    argv = log.read_text().split()
    assert argv[argv.index("--serial0") + 1] == "tcp:0"
    assert argv[argv.index("--speedup") + 1] == "20"
    assert argv[argv.index("--home") + 1].startswith("41.79,123.43,")
    port = 5760 + 10 * int(argv[argv.index("-I") + 1])
    # the stand-in (SITL) exited with the command: its port is free again
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_connect_sitl_without_a_binary_is_a_one_line_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ARDUPILOT_SITL"}
    r = subprocess.run(
        [sys.executable, "-m", "groundstation.cli", "mission", "download", "--connect", "sitl"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode != 0
    assert r.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "ARDUPILOT_SITL" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_patrol_on_sitl_plans_from_its_pack_resets_its_battery_and_stops_it(
    standin, tmp_path, monkeypatch
):
    """``patrol`` with ``connection.url: sitl``: SITL started from ARDUPILOT_SITL, the sorties
    planned for SITL's 3300 mAh pack at ~30 A (not the embedded simulator's), the battery reset
    with MAV_CMD_BATTERY_RESET between sorties, every sortie flown, SITL stopped at the end."""
    import io

    from groundstation.config import load_config
    from groundstation.patrol import Console, Patrol

    log = tmp_path / "argv.txt"
    monkeypatch.setenv("ARDUPILOT_SITL", str(standin))
    monkeypatch.setenv("SITL_STANDIN_LOG", str(log))
    monkeypatch.delenv("ARDUPILOT_DEFAULTS", raising=False)
    cfg = load_config(
        REPO_ROOT / "configs" / "demo.yaml",
        {
            "connection.url": "sitl",
            "detection.source": "none",
            "broadcast.enabled": False,
            "overlay.enabled": False,
            "sim.speedup": 50,
        },
    )
    out = io.StringIO()
    summary = Patrol(cfg, record_dir=tmp_path / "rec", console=Console(out, tty=False)).run()
    text = out.getvalue()
    assert summary.end_reason == "landed", text
    assert "plan: SITL's battery (3300 mAh at about 30 A in flight) lasts 6.6 min" in text
    assert summary.sorties_planned >= 2
    assert summary.sorties_flown == summary.sorties_planned
    assert "SITL battery reset to 100 %" in text
    argv = log.read_text().split()
    assert argv[argv.index("--serial0") + 1] == "tcp:0"
    port = 5760 + 10 * int(argv[argv.index("-I") + 1])
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # SITL is gone
