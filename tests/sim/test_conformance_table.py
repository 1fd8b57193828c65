"""docs/simulator.md's conformance table names tests that exist, and covers the measured note.

The table lists each behaviour measured on ArduCopter SITL 4.7 (../shared/notes/ardupilot.md,
second section) with the test that checks it; a renamed or deleted test must not leave it pointing
at nothing.
"""

from __future__ import annotations

import re

import pytest
from testkit import REPO_ROOT

DOC = REPO_ROOT / "docs" / "simulator.md"
NOTE = REPO_ROOT.parent / "shared" / "notes" / "ardupilot.md"


def _table_rows() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Conformance with ArduCopter SITL 4.7", 1)[1]
    return [ln for ln in section.splitlines() if ln.startswith("| ") and "---" not in ln][1:]


def test_every_test_the_table_names_exists():
    rows = _table_rows()
    assert len(rows) >= 25
    current_file = None
    named = 0
    for row in rows:
        for ref in re.findall(r"`((?:tests/[\w/]+\.py)?(?:::\w+)?)`", row):
            path, _, func = ref.partition("::")
            if path:
                current_file = REPO_ROOT / path
                assert current_file.is_file(), f"{path} (in docs/simulator.md) does not exist"
            if func:
                assert current_file is not None
                source = current_file.read_text(encoding="utf-8")
                assert re.search(rf"^def {func}\(", source, re.M), (
                    f"{current_file.name}::{func} (in docs/simulator.md) does not exist"
                )
                named += 1
    assert named >= 30


def test_the_table_covers_every_line_of_the_measured_note():
    if not NOTE.is_file():
        pytest.skip(f"the measured note is not here: {NOTE}")
    note = NOTE.read_text(encoding="utf-8").split("## Measured against the real thing", 1)[1]
    bullets = [ln for ln in note.splitlines() if ln.startswith("- ")]
    table = " ".join(_table_rows()).lower()
    # one key phrase per measured bullet, in the order of the note
    keys = ["autocontinue", "do_change_speed", "mission_clear_all", "got mission_request",
            "flight plan received", "mission_item_reached", "mission_current after",
            "set_mode", "auto armed on the ground", "guided take-off", "bad_data",
            "boot statustexts", "arming refusals", "request_data_stream", "first sys_status",
            "autopilot_version", "serial0", "fence breach", "battery", "1349 parameters",
            "cpu"]  # fmt: skip
    assert len(bullets) <= len(keys) + 2, "the note has new lines: add them to the table"
    for key in keys:
        assert key in table, f"docs/simulator.md conformance table lacks {key!r}"
