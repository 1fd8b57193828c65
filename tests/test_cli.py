"""The dronepatrol command as a whole: subcommands, help with examples, error handling."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
from testkit import REPO_ROOT, run_cli

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


def _all_parsers(parser: argparse.ArgumentParser, name: str = "dronepatrol"):
    """``(command line, parser)`` for the top level and every subcommand, recursively."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _all_parsers(sub, f"{name} {sub_name}")


def test_help_states_each_default_once_and_only_real_ones():
    """No "(default: None)", and no "(default: ...)" appended to a help that names its default."""
    parsers = dict(_all_parsers(build_parser()))
    assert {"dronepatrol mission upload", "dronepatrol mission show"} <= set(parsers)
    for name, p in parsers.items():
        text = " ".join(p.format_help().split())
        for noise in ("(default: None)", "(default: [])", "(default: False)", "(default: 0)",
                      "==SUPPRESS=="):  # fmt: skip
            assert noise not in text, (name, noise)
        formatter = p._get_formatter()
        for action in p._actions:
            own = action.help or ""
            shown = formatter._get_help_string(action)
            if "default" in own.lower():
                assert shown == own, (name, action.option_strings, shown)
            assert shown.count("(default:") <= 1, (name, action.option_strings, shown)
    # Real defaults are still shown.
    plan_help = " ".join(parsers["dronepatrol plan"].format_help().split())
    assert "output folder (default: plan)" in plan_help
    download = " ".join(parsers["dronepatrol mission download"].format_help().split())
    assert "(default: mission)" in download and "seconds (default: 10.0)" in download


def _long_mission(path: Path, n: int) -> Path:
    """A WPL file of ``n`` items (home + n - 1 waypoints), for a table longer than a pipe holds."""
    from missions.formats import write_wpl
    from missions.items import MAV_CMD_NAV_WAYPOINT, MAV_FRAME_GLOBAL_RELATIVE_ALT, MissionItem

    items = [
        MissionItem(
            seq=i,
            frame=0 if i == 0 else MAV_FRAME_GLOBAL_RELATIVE_ALT,
            command=MAV_CMD_NAV_WAYPOINT,
            x=41.79 + i * 1e-5,
            y=123.43 + i * 1e-5,
            z=50.0 if i == 0 else 30.0,
        )
        for i in range(n)
    ]
    return write_wpl(items, path)


def _env(unbuffered: bool) -> dict:
    """The environment with or without PYTHONUNBUFFERED (a user's shell normally has none)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_output_into_a_pipe_closed_early_ends_quietly(tmp_path, unbuffered):
    """``dronepatrol mission show LONG | head -n 3``: no traceback, exit status 1 (as rich and
    the Python docs' "Note on SIGPIPE" do). Unbuffered, a write cut short by the reader going
    away is a short write, not an error, so the command may also end with 0."""
    mission = _long_mission(tmp_path / "long.waypoints", 3000)  # ~300 kB of table, pipe: 64 kB
    proc = subprocess.Popen(
        [sys.executable, "-m", "groundstation.cli", "mission", "show", str(mission)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO_ROOT,
        env=_env(unbuffered),
    )
    head = [proc.stdout.readline() for _ in range(3)]
    proc.stdout.close()  # what `head -n 3` does after its third line
    stderr = proc.communicate(timeout=120)[1].decode()
    assert b"3000 items: home (seq 0) + 2999" in head[0]
    assert stderr == ""
    assert proc.returncode in ((0, 1) if unbuffered else (1,))


def _into_closed_pipe(*args: str, unbuffered: bool) -> subprocess.CompletedProcess:
    """Run ``dronepatrol ARGS`` with stdout a pipe whose reader is already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "groundstation.cli", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            cwd=REPO_ROOT,
            env=_env(unbuffered),
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
def test_any_output_into_a_closed_pipe_ends_quietly(tmp_path, unbuffered):
    """print() output (buffered: it fails only when flushed at exit), rich tables, argparse help."""
    demo = str(REPO_ROOT / "configs" / "districts" / "demo.geojson")
    out = str(tmp_path / "plan")
    r = _into_closed_pipe(
        "plan", demo, "--json", "--no-preview", "--out", out, unbuffered=unbuffered
    )
    # the default camera at 40 m is outside the default model's envelope: that warning is fine
    noise = [line for line in r.stderr.splitlines() if not line.startswith("warning: ")]
    assert (noise, r.returncode) == ([], 1)
    mission = str(_long_mission(tmp_path / "m.waypoints", 50))
    r = _into_closed_pipe("mission", "show", mission, unbuffered=unbuffered)
    assert (r.stderr, r.returncode) == ("", 1)
    for args in (["--help"], ["mission", "--help"], ["plan", "--help"]):
        r = _into_closed_pipe(*args, unbuffered=unbuffered)
        # argparse ignores a failed write of the help itself; status 0 or 1, never a traceback
        assert r.stderr == "" and r.returncode in (0, 1), (args, r.returncode, r.stderr)


def test_library_warnings_read_like_the_clis_own(tmp_path):
    """A reader's logged warning (trailing comma in JSON) is ``warning: ...``, not a logging
    record with level and logger name (those appear with -v)."""
    area = tmp_path / "tc.geojson"
    area.write_bytes(
        b'{"type": "Polygon", "coordinates": [[[123.43, 41.79], [123.432, 41.79],\r\n'
        b"[123.432, 41.792], [123.43, 41.792], [123.43, 41.79],]]}\r\n"
    )
    r = run_cli("plan", str(area), "--out", str(tmp_path / "plan"))
    assert r.returncode == 0, r.stderr
    assert f"warning: {area}: trailing comma(s) in JSON ignored" in r.stderr.splitlines()
    assert "WARNING" not in r.stderr
    r = run_cli("plan", str(area), "--out", str(tmp_path / "plan2"), "-v")
    assert "WARNING missions.textio:" in r.stderr
