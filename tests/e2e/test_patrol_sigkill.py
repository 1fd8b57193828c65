"""A patrol killed with SIGKILL mid-flight leaves a readable recording and no stray processes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from patrol_helpers import DEMO, model_available, patrol_process  # noqa: F401 (fixtures)

from groundstation.recording import Recording, iter_jsonl

pytestmark = [pytest.mark.slow, pytest.mark.model]


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            out.append(int(entry.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sigkill_mid_flight_leaves_a_readable_recording(tmp_path, patrol_process, model_available):  # noqa: F811
    patrol = patrol_process(
        "--config",
        str(DEMO),
        "--speedup",
        "10",
        "--record-dir",
        str(tmp_path),
        "--no-overlay",
    )
    folder = patrol.recording(timeout_s=180)
    # wait until it flies the survey with video being recorded
    deadline = time.monotonic() + 300
    while True:
        telemetry = list(iter_jsonl(folder / "telemetry.jsonl"))
        frames = list(iter_jsonl(folder / "video" / "frames.jsonl"))
        flying = [t for t in telemetry if t.get("armed") and t["pose"] and t["pose"]["alt_m"] > 10]
        if len(flying) >= 30 and len(frames) >= 30:
            break
        assert patrol.proc.poll() is None, patrol.output
        assert time.monotonic() < deadline, "the patrol did not get airborne with video in time"
        time.sleep(0.5)
    kids = children(patrol.proc.pid)
    os.kill(patrol.proc.pid, signal.SIGKILL)
    patrol.proc.wait(timeout=30)
    # its helpers (ffmpeg segment encoder, speech worker) see their pipes close and exit
    deadline = time.monotonic() + 30
    while any(alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [k for k in kids if alive(k)], "child processes outlived the killed patrol"

    rec = Recording.open(folder)
    assert rec.manifest["format"] == "dronepatrol-recording"
    assert rec.complete is False and rec.manifest["end_reason"] is None
    missing = rec.missing()
    assert missing == ["clean end (manifest complete: false)"], missing
    # everything up to the kill is there and parses
    telemetry = rec.telemetry()
    assert sum(1 for t in telemetry if t["armed"]) >= 30
    kinds = [e["kind"] for e in rec.events()]
    assert {"start", "mission_uploaded", "sortie_start", "armed"} <= set(kinds)
    assert "stop" not in kinds
    from pymavlink import mavutil

    mlog = mavutil.mavlink_connection(str(rec.path("tlog")))
    n = 0
    while mlog.recv_match(type="GLOBAL_POSITION_INT", blocking=False) is not None:
        n += 1
    assert n >= 30
    # every frame indexed before the kill decodes from the (possibly cut) segments
    index = rec.frames()
    decoded = sum(sum(1 for _ in rec.read_segment(s)) for s in rec.segments())
    assert decoded >= len(index) - 1 >= 29
    assert (rec.path("plan") / "plan.json").is_file()
