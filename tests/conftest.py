"""Shared pytest fixtures: where the real weights and imagery live, and a CLI runner.

Real weights and imagery are not part of the project: they sit in ``../shared`` next to the
checkout (or wherever ``DRONEPATROL_SHARED`` points). Tests that need them skip with a reason
naming the missing path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["sim.testing"]  # vehicle_endpoint / sim_factory fixtures (built-in sim or SITL)

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


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder (skip when absent)."""
    if not SHARED.is_dir():
        pytest.skip(f"needs {SHARED} (real weights and imagery)")
    return SHARED


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO_ROOT


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


@pytest.fixture
def cli():
    """The :func:`run_cli` helper as a fixture."""
    return run_cli
