"""Detection on another machine, end to end: the demo patrol takes its detections from
``dronepatrol detect sim --publish`` in another process, through a real Mosquitto on loopback,
and raises the same alerts as with detection in-process; the broker is stopped mid-patrol and
started again on the same port with the same persistence, and no alert is lost.

The detector plays the drone's companion computer: it reads the vehicle's telemetry from the
embedded simulator's second MAVLink endpoint (``sim.udp_port``) and renders the demo scene from
that pose (``docs/remote-detection.md``). Both patrols hold over the group to confirm it
(``hover_and_speak``, from the hold candidates of their results); the close look is off (with
remote detection it is skipped: it judges faces on the ground station).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from mqtt_broker import Broker, free_port
from patrol_helpers import DEMO, model_available, patrol_process  # noqa: F401 (fixtures)
from testkit import REPO_ROOT

from detection.alerts import read_alerts
from groundstation.recording import Recording
from missions.geo import distance_m

pytestmark = [pytest.mark.slow, pytest.mark.model]

FLAGS = ["--speedup", "10", "--no-overlay", "--set", "broadcast.enabled=false",
         "--set", "policy.close_look.enabled=false"]  # fmt: skip


class Detector:
    """``dronepatrol detect sim ... --publish`` in a subprocess, its output collected."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "groundstation.cli", "detect", "sim", *args],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, name="detector-output")
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, words: str, timeout_s: float) -> str:
        with self.cond:
            ok = self.cond.wait_for(
                lambda: any(words in ln for ln in self.lines) or self.proc.poll() is not None,
                timeout=timeout_s,
            )
            hit = next((ln for ln in self.lines if words in ln), None)
        if not ok or hit is None:
            pytest.fail(f"detector: no {words!r} within {timeout_s} s:\n" + "\n".join(self.lines))
        return hit

    def stop(self, timeout_s: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # stops like Ctrl-C: delivers what is queued
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self.reader.join(10)
        return self.proc.returncode


CONFIRMED = r"^gathering of \d+ confirmed"


def wait_for_ids(path, ids: set[str], timeout_s: float) -> bool:
    """Wait until the alerts file at ``path`` holds every id in ``ids``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and ids <= {a.id for a in read_alerts(path)}:
            return True
        time.sleep(0.2)
    return False


def detections(rec: Recording):
    return [a for a in rec.alerts() if not a.kind.is_safety]


def test_remote_detection_gives_the_same_alerts_and_survives_a_broker_restart(
    tmp_path, patrol_process, model_available  # noqa: F811
):  # fmt: skip
    # --- in-process detection, the reference
    # (both patrols are flown until the gathering is confirmed, then sent home with Ctrl-C: the
    # rest of the survey adds minutes and no alert)
    local = patrol_process("--config", str(DEMO), *FLAGS, "--record-dir", str(tmp_path / "local"))
    local.wait_for(CONFIRMED, 900)
    local.interrupt()
    assert local.wait(timeout_s=300) == 130, local.output
    reference = detections(Recording.open(local.recording()))
    assert any(a.kind.value == "gathering" for a in reference), local.output

    # --- the same patrol, detection in another process through Mosquitto
    broker = Broker(tmp_path / "broker").start()
    udp = free_port()
    det = Detector(
        [
            "--config",
            str(DEMO),
            "--set",
            "sim.speedup=10",
            "--connect",
            f"udpout:127.0.0.1:{udp}",
            "--publish",
            broker.url,
            "--alerts",
            str(tmp_path / "published.jsonl"),
        ]  # fmt: skip
    )
    try:
        det.wait_for("waiting for the vehicle", 600)
        patrol = patrol_process(
            "--config", str(DEMO), *FLAGS, "--record-dir", str(tmp_path / "remote"),
            "--set", f"detection.remote={broker.url}", "--set", f"sim.udp_port={udp}",
        )  # fmt: skip
        patrol.wait_for(r"detection broker .*: connected", 300)
        det.wait_for("detecting on sim camera", 300)
        # the broker goes down when the patrol holds over the group (its hold candidates came
        # through the broker) and stays down until the detector raised an alert
        patrol.wait_for(r"^hold ", 600)
        broker.stop()
        patrol.wait_for(r"detection broker .*: connection lost", 60)
        det.wait_for("alert ", 600)
        broker.start()
        patrol.wait_for(r"detection broker .*: reconnected \(session resumed\)", 120)
        patrol.wait_for(CONFIRMED, 600)
        # the detector stops first: it delivers what it still holds to the broker, exit 0
        assert det.stop() == 0, "\n".join(det.lines)
        # no alert lost: every alert it raised reaches the patrol's recording
        published = {a.id for a in read_alerts(tmp_path / "published.jsonl")}
        folder = patrol.recording()
        assert published and wait_for_ids(folder / "alerts.jsonl", published, 60), published
        patrol.interrupt()
        assert patrol.wait(timeout_s=300) == 130, patrol.output
    finally:
        det.stop()
        broker.stop()
    rec = Recording.open(folder)
    remote = detections(rec)
    assert published <= {a.id for a in remote}

    # the same alerts as in-process: each kind at the same places (within 10 m)
    assert {a.kind for a in remote} == {a.kind for a in reference}, (remote, reference)
    for a in reference:
        assert any(
            b.kind == a.kind and distance_m(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg) < 10.0
            for b in remote
        ), (a, remote)
    for b in remote:
        assert any(
            b.kind == a.kind and distance_m(a.lat_deg, a.lon_deg, b.lat_deg, b.lon_deg) < 10.0
            for a in reference
        ), (b, reference)
    gathering = next(a for a in remote if a.kind.value == "gathering")
    assert gathering.snapshot and (rec.folder / gathering.snapshot).is_file()
    summary = rec.manifest["summary"]
    assert summary["frames"] > 20  # the results counted as analysed frames
