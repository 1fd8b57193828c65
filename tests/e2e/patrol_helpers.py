"""Helpers for end-to-end tests that run ``dronepatrol patrol`` as a user would (a subprocess).

The test modules import the fixtures (``patrol_process``, ``model_available``) from here by name;
``browser`` comes from ``tests/conftest.py``, paths from ``tests/testkit.py``."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from testkit import REPO_ROOT, SHARED

DEMO = REPO_ROOT / "configs" / "demo.yaml"


class PatrolProcess:
    """``dronepatrol patrol`` in a subprocess, its output collected line by line."""

    def __init__(self, args: list[str], env: dict | None = None) -> None:
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "groundstation.cli", "patrol", *args],
            cwd=REPO_ROOT,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="patrol-output")
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout_s: float) -> re.Match:
        """First output line matching ``pattern`` (fails the test on timeout or exit)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for line in self.lines:
                    m = rx.search(line)
                    if m:
                        return m
                if self.proc.poll() is not None and not self._reader.is_alive():
                    pytest.fail(
                        f"patrol exited ({self.proc.returncode}) before {pattern!r}:\n{self.output}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no {pattern!r} within {timeout_s:.0f} s:\n{self.output}")
                self._cond.wait(min(left, 1.0))

    def recording(self, timeout_s: float = 120.0) -> Path:
        return Path(self.wait_for(r"^recording: (.+)$", timeout_s).group(1).strip())

    def overlay_url(self, timeout_s: float = 120.0) -> str:
        return self.wait_for(r"^live overlay: (\S+)", timeout_s).group(1)

    def wait(self, timeout_s: float) -> int:
        try:
            code = self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"patrol still running after {timeout_s:.0f} s:\n{self.output}")
        self._reader.join(10)
        return code

    def interrupt(self) -> None:
        """Ctrl-C, as a user at the terminal."""
        self.proc.send_signal(signal.SIGINT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self._reader.join(10)


# --- fixtures (imported by the e2e test modules) -------------------------------------------------


@pytest.fixture
def patrol_process():
    """Factory of :class:`PatrolProcess`; every process is killed at teardown."""
    made: list[PatrolProcess] = []

    def start(*args: str, env: dict | None = None) -> PatrolProcess:
        p = PatrolProcess(list(args), env)
        made.append(p)
        return p

    yield start
    for p in made:
        p.kill()
        # shown by pytest only when the test failed
        print(f"--- output of dronepatrol patrol (exit {p.proc.returncode}) ---\n{p.output}")


@pytest.fixture
def model_available():
    """The real person detector from ../shared/models (skips when absent)."""
    p = SHARED / "models" / "yolo11n-int8-openvino" / "yolo11n_int8_openvino_model"
    if not p.exists():
        pytest.skip(f"needs {p} (real weights from ../shared, see its SOURCES.md)")
    return p
