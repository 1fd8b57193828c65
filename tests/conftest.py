"""Shared pytest fixtures: where the real weights and imagery live, a CLI runner, a browser.

Real weights and imagery are not part of the project: they sit in ``../shared`` next to the
checkout (or wherever ``DRONEPATROL_SHARED`` points). Tests that need them skip with a reason
naming the missing path. Plain helpers live in ``tests/testkit.py``.
"""

from __future__ import annotations

import os
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


CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium, driven by Playwright in the browser tests."""


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by Playwright, one per test module (skips when absent)."""
    from groundstation.report.testing import CHROMIUM_ARGS

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"needs Debian's chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
