"""Shared pytest fixtures: where the real weights and imagery live, and a CLI runner.

Real weights and imagery are not part of the project: they sit in ``../shared`` next to the
checkout (or wherever ``DRONEPATROL_SHARED`` points). Tests that need them skip with a reason
naming the missing path. Plain helpers live in ``tests/testkit.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from testkit import REPO_ROOT, SHARED, run_cli

pytest_plugins = ["sim.testing"]  # vehicle_endpoint / sim_factory fixtures (built-in sim or SITL)


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


@pytest.fixture
def cli():
    """The :func:`testkit.run_cli` helper as a fixture."""
    return run_cli
