"""``dronepatrol fly`` against the embedded simulator: pre-flight refusals change nothing on the
vehicle, CLI values are checked before connecting, and a ground station killed while the vehicle
is in GUIDED leaves a vehicle that returns home by itself (ArduCopter's GCS failsafe)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from _transfer_samples import survey_mission
from testkit import REPO_ROOT, run_cli

from missions.formats import write_wpl
from missions.geo import distance_m
from sim.vehicle import Mode

HOME = (41.79, 123.43, 50.0)


def _mission_count(sim) -> int:
    with sim.lock:
        return sim.vehicle.lists.mission_count


def _fly(sim, path, *extra, timeout=300):
    return run_cli("fly", str(path), "--connect", sim.url, *extra, timeout=timeout)


@pytest.mark.parametrize(
    "args, words",
    [
        (["--takeoff-alt=-10"], "--takeoff-alt -10: must be greater than 0"),
        (["--timeout=-5"], "--timeout -5: must be greater than 0"),
        (["--timeout=nan"], "--timeout nan: must be a finite number"),
        (["--force-unsafe", "rnage"], "unknown check"),
    ],
)
def test_bad_cli_values_are_refused_before_connecting(tmp_path, args, words):
    path = write_wpl(survey_mission(8, alt_m=20.0), tmp_path / "m.waypoints")
    # nothing listens on this port: the refusal must come before any connection attempt
    r = run_cli("fly", str(path), "--connect", "tcp:127.0.0.1:9", *args, timeout=60)
    assert r.returncode != 0
    assert words in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def _with(items, seq, **changes):
    from dataclasses import replace

    return [replace(it, **changes) if it.seq == seq else it for it in items]


@pytest.mark.parametrize(
    "edit, check",
    [
        (lambda m: _with(m, 4, x=-33.9, y=151.2), "range"),  # a 7,000 km leg
        (lambda m: _with(m, 4, z=1.83), "min_alt"),
        (lambda m: _with(m, 4, z=0.0), "min_alt"),
        (lambda m: m[:-1], "endless"),  # no RTL: hovers at the last waypoint
        (lambda m: _with(m, 4, command=17), "endless"),  # LOITER_UNLIM
        (lambda m: _with(m, 4, command=84), "unsupported"),  # VTOL_TAKEOFF
    ],
)
def test_unsafe_missions_are_refused_and_nothing_is_uploaded(sim_factory, tmp_path, edit, check):
    sim = sim_factory(speedup=20, home=HOME)
    path = write_wpl(edit(survey_mission(8, alt_m=20.0)), tmp_path / "m.waypoints")
    before = _mission_count(sim)
    r = _fly(sim, path, timeout=120)
    assert r.returncode != 0, r.stdout
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and f"pre-flight check {check}" in err[0], r.stderr
    assert f"--force-unsafe {check}" in err[0]
    assert _mission_count(sim) == before
    with sim.lock:
        assert not sim.vehicle.armed


def test_gcs_failsafe_required_but_off_refuses(sim_factory, tmp_path):
    sim = sim_factory(speedup=20, home=HOME)
    path = write_wpl(survey_mission(8, alt_m=20.0), tmp_path / "m.waypoints")
    r = _fly(sim, path, "--set", "safety.gcs_failsafe=require", timeout=120)
    assert r.returncode != 0
    assert "pre-flight check gcs_failsafe" in r.stderr and "FS_GCS_ENABLE 0" in r.stderr
    assert _mission_count(sim) <= 1
    with sim.lock:
        assert not sim.vehicle.armed


@pytest.mark.timeout(600)
def test_a_ground_station_killed_in_guided_leaves_a_vehicle_that_returns_home(
    sim_factory, tmp_path
):
    """Acceptance: SIGKILL of `fly` while the vehicle climbs in GUIDED: the vehicle's GCS
    failsafe (enabled by fly, safety.gcs_failsafe: set) takes it home (RTL) and it lands."""
    sim = sim_factory(speedup=10, home=HOME)
    with sim.lock:
        assert int(sim.vehicle.params["FS_GCS_ENABLE"]) == 0  # ArduCopter's default
    path = write_wpl(survey_mission(8, alt_m=30.0), tmp_path / "m.waypoints")
    proc = subprocess.Popen(
        [sys.executable, "-m", "groundstation.cli", "fly", str(path), "--connect", sim.url],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while True:
            with sim.lock:
                v = sim.vehicle
                climbing = v.armed and v.mode == Mode.GUIDED and v.relative_alt_m > 5.0
            if climbing:
                break
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "fly never took off in GUIDED"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    out = proc.stdout.read()
    assert "GCS failsafe enabled on the vehicle" in out, out
    assert "x clock" in out  # FS_GCS_TIMEOUT scaled to the 10x simulator
    with sim.lock:
        assert int(sim.vehicle.params["FS_GCS_ENABLE"]) == 1
    modes = set()
    deadline = time.monotonic() + 300
    while True:
        with sim.lock:
            v = sim.vehicle
            modes.add(v.mode)
            armed, lat_lon = v.armed, v.lat_lon()
        if not armed:
            break
        assert time.monotonic() < deadline, f"still armed; modes seen {modes}"
        time.sleep(0.1)
    assert Mode.RTL in modes
    assert distance_m(*lat_lon, HOME[0], HOME[1]) < 3.0


def _tlog_max_alt_m(path) -> float:
    """Highest GLOBAL_POSITION_INT relative altitude in a (possibly growing) tlog, metres."""
    from pymavlink import mavutil

    if not path.is_file():
        return 0.0
    mlog = mavutil.mavlink_connection(str(path))
    best = 0.0
    while True:
        m = mlog.recv_match(type="GLOBAL_POSITION_INT", blocking=False)
        if m is None:
            return best
        best = max(best, m.relative_alt / 1000.0)


def gcs_killed_in_guided_returns_home(url: str, tmp_path, wall_s) -> list[str]:
    """Run `fly` against ``url``, SIGKILL it while it climbs in GUIDED, then watch the vehicle
    (a raw MAVLink observer that sends no heartbeat) until it disarms. Works on the embedded
    simulator and a real SITL alike.

    Returns:
        The STATUSTEXTs the observer saw.
    """
    from pymavlink import mavutil

    path = write_wpl(survey_mission(8, alt_m=30.0), tmp_path / "m.waypoints")
    tlog = tmp_path / "fly.tlog"
    proc = subprocess.Popen(
        [sys.executable, "-m", "groundstation.cli", "fly", str(path), "--connect", url,
         "--tlog", str(tlog)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + wall_s(600) + 120
        while _tlog_max_alt_m(tlog) < 5.0:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "fly never climbed"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    obs = mavutil.mavlink_connection(url, source_system=254)
    texts, modes = [], set()
    try:
        deadline = time.monotonic() + wall_s(600) + 60
        while True:
            assert time.monotonic() < deadline, f"still armed; modes {modes}, texts {texts}"
            m = obs.recv_match(type=["HEARTBEAT", "STATUSTEXT"], blocking=True, timeout=1.0)
            if m is None:
                continue
            if m.get_type() == "STATUSTEXT":
                texts.append(m.text)
                continue
            if m.get_srcComponent() != 1 or m.type == mavutil.mavlink.MAV_TYPE_GCS:
                continue
            modes.add(m.custom_mode)
            if 6 in modes and not m.base_mode & mavutil.mavlink.MAV_MODE_FLAG_SAFETY_ARMED:
                break
    finally:
        obs.close()
    assert 6 in modes  # RTL
    return texts


@pytest.mark.sitl
@pytest.mark.slow
@pytest.mark.vehicle(speedup=5)
@pytest.mark.timeout(1200)
def test_on_sitl_a_ground_station_killed_in_guided_leaves_a_vehicle_that_returns_home(
    vehicle_endpoint, tmp_path
):
    """The acceptance check on the real ArduCopter SITL (ARDUPILOT_SITL)."""
    from sim.testing import requires_sitl

    requires_sitl()
    texts = gcs_killed_in_guided_returns_home(
        vehicle_endpoint.url, tmp_path, vehicle_endpoint.wall_s
    )
    assert any("GCS Failsafe" in t for t in texts)
