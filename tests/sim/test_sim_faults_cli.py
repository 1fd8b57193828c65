"""Fault injection on the endpoint, and the ``dronepatrol sim`` command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from _simclient import Gcs

from sim.link import DelayLine, FaultInjector


def test_delay_line_loss_duplicate_reorder_latency():
    faults = FaultInjector(seed=1)
    line = DelayLine(faults)
    faults.set(duplicate=1.0)
    line.push(b"a", 0.0)
    assert line.pop_due(0.0) == [b"a", b"a"]
    faults.set(duplicate=0.0, reorder=1.0)
    line.push(b"1", 0.0)  # held back
    assert line.pop_due(0.0) == []
    faults.set(reorder=0.0)
    line.push(b"2", 0.01)
    assert line.pop_due(0.01) == [b"2", b"1"]
    faults.set(latency_ms=100)
    line.push(b"late", 1.0)
    assert line.pop_due(1.05) == []
    assert line.pop_due(1.1) == [b"late"]
    faults.set(latency_ms=0, loss=1.0)
    line.push(b"lost", 2.0)
    assert line.pop_due(3.0) == []
    assert faults.stats == {"dropped": 1, "duplicated": 1, "reordered": 1}
    with pytest.raises(ValueError):
        faults.set(loss=1.5)


def test_duplicates_and_reordering_are_visible_in_sequence_numbers(sim_factory):
    sim = sim_factory(speedup=10, faults={"duplicate": 0.3, "reorder": 0.3}, seed=3)
    with Gcs(sim.url, sim.speedup) as gcs:
        gcs.request_streams(20)
        seqs = [m.get_seq() for m in gcs.drain(1.5)]
    repeats = sum(1 for a, b in zip(seqs, seqs[1:], strict=False) if a == b)
    backwards = sum(
        1 for a, b in zip(seqs, seqs[1:], strict=False) if (a - b) % 256 in range(1, 128)
    )
    assert repeats > 0 and backwards > 0
    assert sim.fault_stats["duplicated"] > 0 and sim.fault_stats["reordered"] > 0


def test_link_cut_silences_both_directions_then_recovers(sim_factory):
    sim = sim_factory(speedup=10)
    with Gcs(sim.url, sim.speedup) as gcs:
        gcs.request_streams(10)
        gcs.recv("ATTITUDE")
        sim.cut_link(5.0)
        gcs.drain(0.3)  # packets already in flight
        during = gcs.drain(1.0)
        assert during == []
        gcs.recv("ATTITUDE", wall_s=10)  # back after the cut
        assert sim.fault_stats["dropped"] > 0


def test_latency_still_delivers_commands(sim_factory):
    sim = sim_factory(speedup=10, faults={"latency_ms": 150})
    with Gcs(sim.url, sim.speedup) as gcs:
        assert gcs.set_mode("LOITER") == 0


def _start_cli(*args: str) -> tuple[subprocess.Popen, list[str]]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "groundstation.cli", "sim", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
        if line.startswith("Ctrl-C"):
            break
    return proc, lines


@pytest.mark.slow
def test_cli_runs_several_vehicles_until_ctrl_c():
    proc, lines = _start_cli("--port", "0", "--count", "2", "--speedup", "10", "--loss", "0.0")
    try:
        urls = [ln.split(": ", 1)[1].split()[0] for ln in lines if ln.startswith("vehicle sysid")]
        assert len(urls) == 2, lines
        with Gcs(urls[1], 10) as gcs:
            assert gcs.sysid == 2
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_cli_bad_input_is_one_line_error(cli):
    result = cli("sim", "--loss", "2")
    assert result.returncode == 2 and "--loss" in result.stderr
    result = cli("sim", "--port", "0", "--param", "NOT_A_PARAM=1")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "NOT_A_PARAM" in result.stderr
    assert "Traceback" not in result.stderr
    result = cli("sim", "--sitl", env={"ARDUPILOT_SITL": ""})
    assert result.returncode == 2 and "ARDUPILOT_SITL" in result.stderr
