"""The plan folder: every output written, and read back exactly (WPL, .plan, GeoJSON, plan.json)."""

from __future__ import annotations

import json

import pytest
from planning_helpers import home_at, make_area
from planning_helpers import settings as plan_settings
from shapely.geometry import box, shape

from missions.areas import load_area
from missions.formats import read_mission_file
from missions.plan_io import is_plan_dir, read_plan_dir, write_plan_outputs
from missions.planner import plan_patrol
from missions.settings import GeoPoint


@pytest.fixture(scope="module")
def plan():
    area = make_area(box(0, 0, 900, 700), [box(300, 300, 420, 380)])
    rally = [GeoPoint(lat_deg=41.7905, lon_deg=123.4305, alt_m=30.0)]
    cam, survey, sorties, fence, rally_s = plan_settings(endurance_min=10.0, points=rally)
    return plan_patrol(area, cam, survey, sorties, fence, rally_s, home_at(area, 50, 50, alt=47.5))


def test_outputs_read_back_exactly(plan, tmp_path):
    files = write_plan_outputs(plan, tmp_path / "out")
    assert len(plan.sorties) >= 2
    for s in plan.sorties:
        wpl = read_mission_file(files[f"sortie_{s.index}.waypoints"])
        assert wpl.format == "wpl110"
        assert len(wpl.mission) == len(s.items)
        assert all(a.same_on_wire(b) and a == b for a, b in zip(wpl.mission, s.items, strict=True))
        qgc = read_mission_file(files[f"sortie_{s.index}.plan"])
        assert qgc.format == "plan"
        assert qgc.mission[1:] == s.items[1:]
        assert (qgc.home.lat_deg, qgc.home.lon_deg, qgc.home.alt_m) == (
            plan.home.lat_deg,
            plan.home.lon_deg,
            47.5,
        )
        assert qgc.fence == plan.fence_items and qgc.rally == plan.rally_items
    assert read_mission_file(files["fence.waypoints"]).fence == plan.fence_items
    assert read_mission_file(files["rally.waypoints"]).rally == plan.rally_items


def test_plan_dir_index(plan, tmp_path):
    out = tmp_path / "p"
    write_plan_outputs(plan, out, preview=False)
    assert is_plan_dir(out) and not is_plan_dir(tmp_path)
    pd = read_plan_dir(out)
    assert len(pd.sorties) == len(plan.sorties)
    assert pd.sorties[0].mission == plan.sorties[0].items
    assert pd.sorties[0].fence == plan.fence_items
    assert pd.stats["sorties"] == len(plan.sorties)
    assert pd.home == plan.home
    index = json.loads((out / "plan.json").read_text())
    assert index["format"] == "dronepatrol-plan"
    assert [s["waypoints_file"] for s in index["sorties"]] == [
        f"sortie_{i}.waypoints" for i in range(1, len(plan.sorties) + 1)
    ]


def test_rewriting_a_shorter_plan_removes_old_sortie_files(plan, tmp_path):
    out = tmp_path / "p"
    write_plan_outputs(plan, out, preview=False)
    area = make_area(box(0, 0, 200, 200))
    small = plan_patrol(area, *plan_settings(), home_at(area, 10, 10))
    write_plan_outputs(small, out, preview=False)
    assert sorted(p.name for p in out.glob("sortie_*.waypoints")) == ["sortie_1.waypoints"]
    assert not (out / "rally.waypoints").exists()


def test_route_and_area_geojson(plan, tmp_path):
    files = write_plan_outputs(plan, tmp_path / "g", preview=False)
    route = json.loads(files["route.geojson"].read_text())
    lines = [f for f in route["features"] if f["geometry"]["type"] == "LineString"]
    assert [f["properties"]["sortie"] for f in lines] == [s.index for s in plan.sorties]
    for f, s in zip(lines, plan.sorties, strict=True):
        assert f["geometry"]["coordinates"][0] == pytest.approx(
            [plan.home.lon_deg, plan.home.lat_deg], abs=1e-7
        )
        assert f["properties"]["length_m"] == pytest.approx(s.length_m, abs=0.1)
    points = [f for f in route["features"] if f["properties"].get("seq")]
    assert len(points) == plan.stats.waypoints
    # area.geojson reads back as the same district with the same hole
    again = load_area(files["area.geojson"])
    diff = again.polygon_geo.symmetric_difference(plan.area.polygon_geo).area
    assert diff < 1e-4 * plan.area.polygon_geo.area  # coordinates rounded to 1e-7 degree (1 cm)
    assert len(again.holes) == 1
    fence = [
        f
        for f in json.loads(files["area.geojson"].read_text())["features"]
        if f["properties"].get("role") == "fence"
    ]
    assert shape(fence[0]["geometry"]).length > 0


def test_preview_png(plan, tmp_path):
    files = write_plan_outputs(plan, tmp_path / "v")
    data = files["preview.png"].read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
