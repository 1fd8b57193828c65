"""Helpers shared by the test modules: where ../shared is, a skip helper, a CLI runner.

Imported as ``from testkit import ...`` (``tests/`` is on sys.path through its conftest.py). Not
named conftest so that it cannot be shadowed by a package's own conftest.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DRONEPATROL_SHARED", REPO_ROOT.parent / "shared")).resolve()

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def shared_path(*parts: str) -> Path:
    """Path under ../shared, or skip the calling test with a reason naming it."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"needs {p} (real weights/imagery from ../shared, see its SOURCES.md)")
    return p


def run_cli(*args: str, timeout: float = 120, cwd: Path | None = None, env: dict | None = None):
    """Run ``dronepatrol ARGS`` in a subprocess as a user would.

    Returns:
        ``subprocess.CompletedProcess`` with text stdout/stderr.
    """
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "groundstation.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or REPO_ROOT,
        env=full_env,
    )
