"""``dronepatrol mission download`` against a vehicle: the same table as ``mission show``, the
same home-slot count, and a quiet end when piped into a reader that stops early."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from _transfer_samples import survey_mission
from testkit import REPO_ROOT, run_cli

from missions.formats import write_wpl


def _table(stdout: str) -> list[str]:
    """The table lines of a single-list output (everything after the one-line title)."""
    return stdout.splitlines()[1:]


@pytest.mark.timeout(300)
def test_download_prints_the_show_table_and_the_home_slot_count(vehicle_endpoint, tmp_path):
    url = vehicle_endpoint.url
    items = survey_mission(30)
    wp = write_wpl(items, tmp_path / "m.waypoints")
    r = run_cli("mission", "upload", str(wp), "--connect", url)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (
        f"mission: 30 items uploaded to {url} and verified "
        "(home (seq 0) + 29; the vehicle keeps its own home at seq 0)"
    )
    printed = run_cli("mission", "download", "--connect", url)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.splitlines()[0] == f"{url} mission: 30 items: home (seq 0) + 29"
    back = tmp_path / "back.waypoints"
    r = run_cli("mission", "download", "--connect", url, "-o", str(back))
    assert r.returncode == 0, r.stderr
    shown = run_cli("mission", "show", str(back))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0].startswith(
        f"{back} [wpl110] mission: 30 items: home (seq 0) + 29"
    )
    # The very same table: header, every row, same columns and number formats.
    assert _table(printed.stdout) == _table(shown.stdout)
    assert any("NAV_RETURN_TO_LAUNCH" in ln for ln in _table(printed.stdout))

    # Piped into a reader that has gone (`| head` after its lines): no traceback.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "groundstation.cli", "mission", "download", "--connect", url],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            cwd=REPO_ROOT,
        )
    finally:
        os.close(write_end)
    assert (proc.stderr, proc.returncode) == ("", 1)
