"""Fixtures of the broadcast tests: a speech synthesizer with a private cache, a subprocess runner
for code that must import sounddevice under a given ALSA configuration."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from broadcast.settings import BroadcastSettings
from broadcast.speech import Synthesizer

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """A started-on-demand Synthesizer with the default voices and a cache of its own."""
    s = Synthesizer(BroadcastSettings(), cache_dir=tmp_path_factory.mktemp("speech-cache"))
    yield s
    s.close()


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
