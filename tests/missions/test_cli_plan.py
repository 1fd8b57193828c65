"""`dronepatrol plan` and `dronepatrol mission show` through the real CLI, good and bad input."""

from __future__ import annotations

import json
import re

import pytest

from missions.formats import read_mission_file
from missions.items import MAV_CMD_NAV_RETURN_TO_LAUNCH, MAV_CMD_NAV_TAKEOFF

DEMO = "configs/districts/demo.geojson"


def test_plan_demo_district_prints_stats_and_writes_files(cli, tmp_path, repo_root):
    out = tmp_path / "plan"
    r = cli("plan", str(repo_root / DEMO), "--alt", "50", "--speed", "10", "--out", str(out))
    assert r.returncode == 0, r.stderr
    for label in ("area", "transects", "waypoints", "route length", "flight time", "sorties", "GSD",
                  "coverage", "grid angle", "m²", "cm/px"):  # fmt: skip
        assert label in r.stdout, label
    index = json.loads((out / "plan.json").read_text())
    st = index["stats"]
    assert st["alt_m"] == 50 and st["speed_m_s"] == 10 and st["coverage_pct"] >= 99
    assert f"{st['coverage_pct']:.2f} %" in r.stdout
    names = {p.name for p in out.iterdir()}
    assert {"plan.json", "route.geojson", "area.geojson", "preview.png", "fence.waypoints"} <= names
    n = st["sorties"]
    assert {f"sortie_{i}.waypoints" for i in range(1, n + 1)} <= names
    assert {f"sortie_{i}.plan" for i in range(1, n + 1)} <= names
    mf = read_mission_file(out / "sortie_1.waypoints")
    assert (
        mf.mission[1].command == MAV_CMD_NAV_TAKEOFF
        and mf.mission[-1].command == MAV_CMD_NAV_RETURN_TO_LAUNCH
    )
    assert all(it.z == 50 for it in mf.waypoints)
    assert (out / "preview.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = {}
    for (
        line
    ) in r.stdout.splitlines():  # the per-sortie table: sortie, waypoints, transects, m, time
        m = re.match(
            r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+([\d,]+)\s+(\d+ (?:h|min) \d+ (?:min|s))\s*$", line
        )
        if m:
            rows[int(m.group(1))] = (int(m.group(4).replace(",", "")), m.group(5))
    assert sorted(rows) == list(range(1, n + 1))
    for s in index["sorties"]:
        length, _ = rows[s["index"]]
        assert abs(length - s["length_m"]) <= 1


def test_plan_flags_override_config_and_set(cli, tmp_path, repo_root):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"area:\n  district: {repo_root / DEMO}\nsurvey:\n  alt_m: 30\n  angle_deg: 45\n",
        encoding="utf-8",
    )
    out = tmp_path / "p"
    r = cli("plan", "--config", str(cfg), "--angle", "90", "--set", "survey.alt_m=60",
            "--endurance", "30", "--out", str(out), "--no-preview", "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["stats"]["angle_deg"] == 90.0  # flag beats the file
    assert doc["stats"]["alt_m"] == 60.0  # --set beats the file
    assert doc["stats"]["sortie_budget_s"] == pytest.approx(30 * 60 * 0.75)
    assert not (out / "preview.png").exists()


def test_mission_show_prints_every_list(cli, tmp_path, repo_root):
    out = tmp_path / "plan"
    assert cli("plan", str(repo_root / DEMO), "--out", str(out), "--no-preview").returncode == 0
    r = cli("mission", "show", str(out / "sortie_1.plan"))
    assert r.returncode == 0, r.stderr
    for word in ("NAV_TAKEOFF", "DO_CHANGE_SPEED", "NAV_WAYPOINT", "NAV_RETURN_TO_LAUNCH",
                 "GLOBAL_RELATIVE_ALT", "NAV_FENCE_POLYGON_VERTEX_INCLUSION",
                 "NAV_FENCE_POLYGON_VERTEX_EXCLUSION", "[plan]"):  # fmt: skip
        assert word in r.stdout, word
    fence_only = cli("mission", "show", str(out / "sortie_1.plan"), "--type", "fence")
    assert "NAV_TAKEOFF" not in fence_only.stdout and "INCLUSION" in fence_only.stdout
    folder = cli("mission", "show", str(out))
    assert folder.returncode == 0 and "sortie 2" in folder.stdout


def test_mission_show_wpl_with_unknown_command(cli, tmp_path):
    f = tmp_path / "m.txt"
    f.write_text(
        "QGC WPL 110\r\n0\t1\t0\t16\t0\t0\t0\t0\t41.79\t123.43\t50\t1\r\n1\t0\t3\t31337\t1\t2\t3\t4\t5\t6\t7\t1\r\n"
    )
    r = cli("mission", "show", str(f))
    assert r.returncode == 0, r.stderr
    assert "31337" in r.stdout and "[wpl110]" in r.stdout


def _bad(cli, *args) -> str:
    r = cli(*args)
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    return lines[0]


def _area(tmp_path, name, text) -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


SQ = [[123.42, 41.785], [123.43, 41.785], [123.43, 41.795], [123.42, 41.795], [123.42, 41.785]]


def test_bad_self_intersecting_ring(cli, tmp_path):
    bow = [[123.42, 41.785], [123.43, 41.795], [123.43, 41.785], [123.42, 41.795], [123.42, 41.785]]
    f = _area(tmp_path, "bow.geojson", json.dumps({"type": "Polygon", "coordinates": [bow]}))
    msg = _bad(cli, "plan", f, "--out", str(tmp_path / "o"))
    assert "ring 0 (outer)" in msg and "self-intersecting" in msg and "vertex 1" in msg
    assert "Self-intersection" in msg


def test_bad_too_few_vertices(cli, tmp_path):
    f = _area(
        tmp_path, "two.geojson", json.dumps({"type": "Polygon", "coordinates": [SQ[:2] + SQ[:1]]})
    )
    assert "fewer than 3 distinct vertices" in _bad(cli, "plan", f)


def test_bad_coordinates_out_of_range(cli, tmp_path):
    ring = [[123.42, 41.785], [123.43, 141.785], [123.43, 41.795], [123.42, 41.785]]
    f = _area(tmp_path, "r.geojson", json.dumps({"type": "Polygon", "coordinates": [ring]}))
    msg = _bad(cli, "plan", f)
    assert "vertex 1" in msg and "latitude 141.785 is beyond ±90" in msg


def test_bad_swapped_lat_lon(cli, tmp_path):
    f = _area(
        tmp_path,
        "s.geojson",
        json.dumps({"type": "Polygon", "coordinates": [[[p[1], p[0]] for p in SQ]]}),
    )
    assert "swapped" in _bad(cli, "plan", f)


def test_bad_swapped_lat_lon_far_from_home(cli, tmp_path):
    ring = [[48.10, 11.50], [48.12, 11.50], [48.12, 11.52], [48.10, 11.52], [48.10, 11.50]]
    f = _area(tmp_path, "m.geojson", json.dumps({"type": "Polygon", "coordinates": [ring]}))
    msg = _bad(cli, "plan", f, "--home", "48.11,11.51")
    assert "km from home" in msg and "look swapped" in msg


def test_bad_kml_without_polygon(cli, tmp_path):
    kml = '<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><Point><coordinates>123.4,41.7</coordinates></Point></Placemark></kml>'
    assert "no <Polygon>" in _bad(cli, "plan", _area(tmp_path, "p.kml", kml))


def test_bad_wpl_line(cli, tmp_path):
    f = _area(
        tmp_path,
        "m.waypoints",
        "QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t41.79\t123.43\t50\t1\n1\t0\t3\t16\t0\t0\n",
    )
    msg = _bad(cli, "mission", "show", f)
    assert "m.waypoints:3: expected 12 fields" in msg


def test_bad_area_file_missing_and_no_area(cli, tmp_path):
    assert "area file not found" in _bad(cli, "plan", str(tmp_path / "nope.geojson"))
    assert "no area given" in _bad(cli, "plan", "--out", str(tmp_path / "o"))


def test_bad_flags(cli, repo_root):
    assert "--angle" in _bad(cli, "plan", str(repo_root / DEMO), "--angle", "north")
    assert "--home" in _bad(cli, "plan", str(repo_root / DEMO), "--home", "41.79")
    assert "did you mean 'survey.alt_m'" in _bad(
        cli, "plan", str(repo_root / DEMO), "--set", "survey.altitude_m=40"
    )


def test_bad_home_inside_no_fly_zone(cli, repo_root, tmp_path):
    # the demo's hospital hole lies around 520 m east, 150 m north of the sim home
    from missions.geo import LocalFrame

    lat, lon = LocalFrame(41.79, 123.43).to_geo(530.0, 150.0)
    msg = _bad(
        cli, "plan", str(repo_root / DEMO), "--home", f"{lat},{lon}", "--out", str(tmp_path / "o")
    )
    assert "inside the no-fly zone" in msg
