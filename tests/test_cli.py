"""The dronepatrol command as a whole: subcommands, help with examples, error handling."""

from __future__ import annotations

import pytest
from testkit import run_cli

from groundstation.cli import SUBCOMMAND_MODULES, build_parser


def test_top_level_help_lists_every_subcommand():
    r = run_cli("--help")
    assert r.returncode == 0
    for name in SUBCOMMAND_MODULES:
        assert f"\n    {name} " in r.stdout, name


@pytest.mark.parametrize("name", SUBCOMMAND_MODULES)
def test_every_subcommand_help_has_an_example(name):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[name]
    text = sub.format_help()
    assert "example" in text.lower(), text
    assert f"dronepatrol {name}" in text.split("example", 1)[1], text


def test_no_subcommand_prints_help_and_fails():
    r = run_cli()
    assert r.returncode == 2 and "COMMAND" in r.stdout


def test_version():
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("dronepatrol ")


def test_user_error_is_one_line_without_traceback_and_debug_shows_it(tmp_path):
    missing = tmp_path / "nope.yaml"
    r = run_cli("plan", "--config", str(missing))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f"error: {missing}: config file not found"]
    r = run_cli("plan", "--config", str(missing), "--debug")
    assert r.returncode != 0 and "Traceback" in r.stderr
