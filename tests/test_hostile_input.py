"""Hostile and odd input: none may crash, hang or be silently wrong. Each gives a one-line error
(or correct handling), without a traceback (issue 14's list)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from testkit import run_cli

from groundstation.config import load_config
from missions.areas import read_area_file
from missions.errors import InputError
from missions.formats import read_mission_file, write_wpl
from missions.items import MissionItem

DISTRICT = "configs/districts/demo.geojson"


def _one_line_error(r) -> str:
    assert r.returncode != 0, r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


def test_deeply_nested_geojson_is_refused(tmp_path):
    path = tmp_path / "nested.geojson"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="nested too deeply"):
        read_area_file(path)


def test_devices_and_named_pipes_are_refused_without_reading(tmp_path):
    with pytest.raises(InputError, match="not a regular file"):
        read_area_file("/dev/zero")
    fifo = tmp_path / "pipe.waypoints"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="named pipe"):
        read_mission_file(fifo)  # would block for ever if opened


def test_a_huge_file_is_refused(tmp_path):
    from missions import textio

    path = tmp_path / "big.geojson"
    with path.open("wb") as f:
        f.truncate(textio.MAX_FILE_BYTES + 1)
    with pytest.raises(InputError, match="larger than"):
        read_area_file(path)


def test_utf16_is_read_and_binary_is_refused(tmp_path):
    src = tmp_path / "a.geojson"
    src.write_text(Path(DISTRICT).read_text(encoding="utf-8"), encoding="utf-16")
    assert read_area_file(src).source == str(src)
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4)
    with pytest.raises(InputError, match="binary file, not text") as e:
        read_area_file(junk)
    assert "\x00" not in str(e.value)
    with pytest.raises(InputError, match="binary file, not text"):
        read_mission_file(junk)


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path):
    text = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    prev = "a"
    for n in "bcdefghi":
        text += f"{n}: &{n} [" + ",".join([f"*{prev}"] * 9) + "]\n"
        prev = n
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match="alias bomb"):
        load_config(path)


def test_config_numbers_are_not_booleans(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("survey:\n  alt_m: true\n")
    with pytest.raises(InputError, match="survey.alt_m.*boolean"):
        load_config(path)


def _mission(n):
    items = [MissionItem(seq=0, frame=0, command=16, x=41.79, y=123.43)]
    items += [
        MissionItem(seq=i, frame=3, command=16, x=41.79 + i * 1e-7, y=123.43, z=30.0)
        for i in range(1, n)
    ]
    return items


def test_too_many_items_are_refused_before_connecting(tmp_path):
    path = write_wpl(_mission(70_000), tmp_path / "big.waypoints")
    r = run_cli("mission", "upload", str(path), "--connect", "tcp:127.0.0.1:9", timeout=120)
    err = _one_line_error(r)
    assert "70,000 items; MAVLink allows at most 65,535" in err


def test_mission_show_of_100000_items_and_an_infinite_latitude(tmp_path):
    items = _mission(100_000)
    items[5] = MissionItem(seq=5, frame=3, command=16, x=float("inf"), y=123.43, z=30.0)
    path = write_wpl(items, tmp_path / "huge.waypoints")
    r = run_cli("mission", "show", str(path), timeout=300)
    assert r.returncode == 0, r.stderr
    assert "inf" in r.stdout and "98,980 items not shown" in r.stdout


def test_a_duplicate_seq_is_not_called_a_gap(tmp_path):
    path = tmp_path / "dup.waypoints"
    path.write_text(
        "QGC WPL 110\n"
        "0\t1\t0\t16\t0\t0\t0\t0\t41.79\t123.43\t50\t1\n"
        "1\t0\t3\t16\t0\t0\t0\t0\t41.791\t123.43\t30\t1\n"
        "1\t0\t3\t16\t0\t0\t0\t0\t41.792\t123.43\t30\t1\n"
    )
    mf = read_mission_file(path)
    assert any("duplicate seq" in w for w in mf.warnings)
    assert not any("gap" in w for w in mf.warnings)


@pytest.mark.parametrize(
    "args, words",
    [
        (["--out", "{existing}"], "is an existing file"),
        (["--spacing", "0.001"], "transects across the area"),
        (["--home", "-27.3,151.3"], "from home (-27.30000, 151.30000)"),
    ],
)
def test_plan_arguments(tmp_path, args, words):
    existing = tmp_path / "file"
    existing.write_text("x")
    args = [a.format(existing=existing) for a in args]
    r = run_cli("plan", DISTRICT, "--no-preview", *args, cwd=None, timeout=300)
    assert words in _one_line_error(r)


def test_a_non_numeric_manifest_home_is_named_by_replay_and_report(tmp_path):
    from groundstation.replay import load_timeline
    from groundstation.report.recording import load_recording
    from groundstation.report.testing import write_synthetic_recording

    folder = write_synthetic_recording(tmp_path / "rec", t0=1_795_000_000.0)
    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    manifest = json.loads((bad / "manifest.json").read_text())
    manifest["home"] = {"lat_deg": "abc", "lon_deg": 123.4}
    (bad / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match=r"home.lat_deg is 'abc', not a number"):
        load_timeline(bad)
    with pytest.raises(InputError, match=r"home.lat_deg is 'abc', not a number"):
        load_recording(bad)


def test_a_40_kb_say_text_is_refused_before_the_speech_worker():
    r = run_cli("say", "hello " * 7000, timeout=120)
    assert "at most 2,000 are spoken at once" in _one_line_error(r)


def test_a_tiny_district_without_no_fly_zones_is_not_blamed_on_them(tmp_path):
    path = tmp_path / "tiny.geojson"
    path.write_text(
        '{"type":"Polygon","coordinates":[[[123.43,41.79],[123.430008,41.79],'
        "[123.43,41.790006],[123.43,41.79]]]}"
    )
    r = run_cli(
        "plan",
        str(path),
        "--home",
        "41.79,123.43",
        "--no-preview",
        "--out",
        str(tmp_path / "p"),
        timeout=120,
    )
    err = _one_line_error(r)
    assert "no-fly" not in err and "less than 1 m²" in err


@pytest.mark.parametrize(
    "name, text, source",
    [
        (
            "far.geojson",
            '{"type":"Polygon","coordinates":[[[151.300,-27.300],[151.304,-27.300],'
            "[151.304,-27.303],[151.300,-27.303],[151.300,-27.300]]]}",
            "the point of the district's boundary nearest its centre",
        ),
        (
            "far.txt",
            "-27.3015 151.302\n-27.300 151.300\n-27.300 151.304\n-27.303 151.304\n"
            "-27.303 151.300\n-27.300 151.300\n",
            "the fence return point in",
        ),
    ],
)
def test_a_real_area_far_from_the_simulator_plans_without_home(tmp_path, name, text, source):
    """Without --home a real area file is planned from its own home, and says which."""
    path = tmp_path / name
    path.write_text(text)
    r = run_cli("plan", str(path), "--no-preview", "--out", str(tmp_path / "p"), timeout=300)
    assert r.returncode == 0, r.stderr
    assert source in r.stderr
    assert (tmp_path / "p" / "plan.json").is_file()


def test_an_area_across_the_antimeridian_is_measured_in_a_local_frame(tmp_path):
    """0.003° x 0.003° at 16.5° S straddling 180°: about 10.7 ha, not 43-50 ha."""
    from missions.areas import load_area
    from missions.geo import distance_m

    path = tmp_path / "fiji.geojson"
    path.write_text(
        '{"type":"Polygon","coordinates":[[[179.9985,-16.50],[-179.9985,-16.50],'
        "[-179.9985,-16.5030],[179.9985,-16.5030],[179.9985,-16.50]]]}"
    )
    area = load_area(path)
    width = distance_m(-16.5015, 179.9985, -16.5015, -179.9985)
    height = distance_m(-16.50, 180.0, -16.503, 180.0)
    assert abs(area.polygon_local.area - width * height) < 0.01 * width * height
    r = run_cli(
        "plan", str(path), "--no-preview", "--json", "--out", str(tmp_path / "p"), timeout=300
    )
    assert r.returncode == 0, r.stderr
    stats = json.loads(r.stdout)["stats"]
    assert abs(stats["area_m2"] - width * height) < 0.01 * width * height
    assert stats["route_length_m"] < 5000  # was 13.6 km


@pytest.mark.parametrize(
    ("command", "named"),
    [(5005, "an unknown command 5005"), (178, "DO_CHANGE_SPEED (command 178)")],
)
def test_a_lone_item_that_is_not_a_home_waypoint_is_not_called_home(tmp_path, command, named):
    """A WPL 110 file whose only line is not a NAV_WAYPOINT (the issue's lone command 5005): seq 0
    is not shown as home, no planned home is taken from it, and the reader says the item would be
    overwritten by the vehicle's home."""
    path = tmp_path / "lone.waypoints"
    path.write_text(f"QGC WPL 110\n0\t1\t0\t{command}\t0\t0\t0\t0\t41.8\t123.4\t0\t1\n")
    mf = read_mission_file(path)
    assert mf.home is None
    assert any(f"seq 0 is {named}, not a home waypoint" in w for w in mf.warnings)
    r = run_cli("mission", "show", str(path), timeout=120)
    assert r.returncode == 0, r.stderr
    title = r.stdout.splitlines()[0]
    assert "home (seq 0)" not in title and "planned home" not in title
    assert f"1 item: seq 0 is {named}, not home" in title
    # a real home line keeps its name
    path.write_text(
        "QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t41.8\t123.4\t0\t1\n"
        f"1\t0\t3\t{command}\t0\t0\t0\t0\t41.8\t123.4\t30\t1\n"
    )
    r = run_cli("mission", "show", str(path), timeout=120)
    assert "2 items: home (seq 0) + 1" in r.stdout.splitlines()[0]
