"""A fleet on ArduPilot SITL: ``connection.url: sitl`` with ``fleet.count: 2`` starts SITL
instances ``-I 0`` and ``-I 1`` and flies the two-vehicle plan of the demo block.

``test_fleet_on_real_sitl`` is the acceptance check on the real binary (``sitl`` marker, skipped
unless ``ARDUPILOT_SITL`` names one). ``test_fleet_on_sitl_standin`` runs the same path on this
machine with the SITL stand-in of ``tests/sim/sitl_standin.py`` (SITL's command line, the
built-in simulator behind it), so that the launcher's part is checked everywhere.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from testkit import REPO_ROOT

STANDIN = REPO_ROOT / "tests" / "sim" / "sitl_standin.py"


def fly_fleet_on_sitl(tmp_path: Path, speedup: float):
    """The demo block by two SITL vehicles, detection off; returns (summary, console text)."""
    from groundstation.config import load_config
    from groundstation.fleet import FleetPatrol
    from groundstation.patrol import Console

    cfg = load_config(
        REPO_ROOT / "configs" / "demo-fleet.yaml",
        {
            "connection.url": "sitl",
            "sitl.instance": 0,
            "detection.source": "none",
            "broadcast.enabled": False,
            "overlay.enabled": False,
            "sim.speedup": speedup,
        },
    )
    out = io.StringIO()
    fleet = FleetPatrol(cfg, record_dir=tmp_path / "rec", console=Console(out, tty=False))
    summary = fleet.run()
    return summary, out.getvalue()


def check_fleet_flew(summary, text: str) -> None:
    assert summary.end_reason == "landed", text
    assert [v.sysid for v in summary.vehicles] == [1, 2]
    for v in summary.vehicles:
        assert v.sorties_completed == v.sorties_planned >= 1, (v, text)
        assert not v.uncovered_sorties
        assert v.distance_m > 300
    folder = Path(summary.recording)
    for sysid in (1, 2):
        tlog = folder / "vehicles" / str(sysid) / "flight.tlog"
        assert tlog.is_file() and tlog.stat().st_size > 10_000
    assert "[drone 1] ArduPilot SITL on tcp:127.0.0.1:5760" in text, text
    assert "[drone 2] ArduPilot SITL on tcp:127.0.0.1:5770" in text, text


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fleet_on_sitl_standin(tmp_path, monkeypatch):
    exe = tmp_path / "arducopter"
    exe.write_text(
        f'#!/bin/sh\nPYTHONPATH="{REPO_ROOT}" exec "{sys.executable}" "{STANDIN}" "$@"\n'
    )
    exe.chmod(0o755)
    log = tmp_path / "argv.txt"
    monkeypatch.setenv("ARDUPILOT_SITL", str(exe))
    monkeypatch.setenv("SITL_STANDIN_LOG", str(log))
    monkeypatch.delenv("ARDUPILOT_DEFAULTS", raising=False)
    summary, text = fly_fleet_on_sitl(tmp_path, speedup=50)
    check_fleet_flew(summary, text)
    instances = sorted(
        int(a.split()[a.split().index("-I") + 1]) for a in log.read_text().splitlines()
    )
    assert instances == [0, 1]


@pytest.mark.sitl
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_fleet_on_real_sitl(tmp_path):
    """The acceptance check on the real ArduCopter SITL (ARDUPILOT_SITL)."""
    from sim.testing import requires_sitl

    requires_sitl()
    summary, text = fly_fleet_on_sitl(tmp_path, speedup=10)
    check_fleet_flew(summary, text)
