"""Helpers of the broadcast tests: run code in a fresh interpreter (for sounddevice + ALSA)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, env: dict, *, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run a Python snippet in a fresh interpreter with ``env`` added to the environment.

    Needed wherever sounddevice must see a test ALSA configuration: PortAudio reads it when
    sounddevice is imported, once per process.
    """
    full = dict(os.environ)
    full.update(env)
    full["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), full.get("PYTHONPATH")) if p)
    r = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full,
        cwd=REPO_ROOT,
    )
    assert r.returncode == 0, f"subprocess failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r
