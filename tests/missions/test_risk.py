"""The five-colour risk map: reading it, planning red → orange → yellow, keeping it current."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pytest
from planning_helpers import flown_legs, home_at, make_area, nadir_footprint, transect_coverage
from planning_helpers import settings as plan_settings
from shapely.geometry import Polygon, box, mapping

from missions.planner import plan_patrol
from missions.risk import RiskMapError, load_risk_map, read_risk_map, set_risk
from missions.shapes import local_to_geo

ALT = 40.0
AREA = box(0, 0, 900, 700)
# home in the south-west; yellow right next to it, orange in the middle, red in the far corner
HOME = (-20.0, -20.0)
REGIONS = {
    "yellow": box(60, 60, 160, 160),
    "orange": box(400, 300, 500, 400),
    "red": box(760, 560, 860, 660),
}


def _feature(fid, geom, **props):
    return {"type": "Feature", "id": fid, "properties": props, "geometry": mapping(geom)}


def _doc(features):
    return {"type": "FeatureCollection", "features": features}


def _risk_doc(area):
    feats = [
        _feature(f"F{cls}", local_to_geo(g, area.frame), risk=zh)
        for (cls, g), zh in zip(REGIONS.items(), ["黄", "橙", "红"], strict=True)
    ]
    lat, lon = area.frame.to_geo(450.0, 650.0)
    feats.append(_feature("W1", local_to_geo(box(440, 640, 460, 660), area.frame), risk="white"))
    feats.append(
        {"type": "Feature", "id": "G1", "properties": {"kind": "卡口", "name": "north checkpoint"},
         "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]}}
    )  # fmt: skip
    return _doc(feats)


def _plan(area, risk_map=None, revisit_min=None, **kw):
    cam, survey, sorties, fence, rally = plan_settings(alt_m=ALT, angle_deg=0.0, **kw)
    return plan_patrol(area, cam, survey, sorties, fence, rally, home_at(area, *HOME),
                       risk_map=risk_map, revisit_min=revisit_min)  # fmt: skip


def _strip(t):
    """Nadir footprint swept along a transect, written independently of the planner."""
    across, along = nadir_footprint(ALT)
    a, b = np.asarray(t.a), np.asarray(t.b)
    u = np.asarray(t.heading, float)
    n = np.array([-u[1], u[0]])
    a2, b2 = a - u * along / 2, b + u * along / 2
    w = across / 2
    return Polygon([a2 - n * w, b2 - n * w, b2 + n * w, a2 + n * w])


def _first_seen(plan):
    """Index of the first transect (flight order) whose footprint sees each region."""
    out = {}
    for k, t in enumerate(plan.transects):
        s = _strip(t)
        for cls, g in REGIONS.items():
            if cls not in out and s.intersects(g):
                out[cls] = k
    return out


def _transects_are_flown(plan):
    """Each transect of the plan is a leg of the mission items, in the same order."""
    legs = [leg for sortie in flown_legs(plan) for leg in sortie]
    j = 0
    for t in plan.transects:
        if t.length < 1.0:
            continue
        while not (
            np.allclose(legs[j][0], t.a, atol=0.05) and np.allclose(legs[j][1], t.b, atol=0.05)
        ):
            j += 1  # IndexError = a transect missing from the mission
        j += 1


# --- reading -------------------------------------------------------------------------------------------


def test_reads_english_and_chinese_classes_and_combat_symbols(tmp_path):
    area = make_area(AREA)
    p = tmp_path / "risk.geojson"
    p.write_text(json.dumps(_risk_doc(area), ensure_ascii=False), encoding="utf-8")
    m = load_risk_map(p)
    assert [f.risk for f in m.features] == ["yellow", "orange", "red", "white"]
    assert m.counts() == {"red": 1, "orange": 1, "yellow": 1, "green": 0, "white": 1}
    assert [(c.id, c.kind, c.name) for c in m.combat] == [("G1", "checkpoint", "north checkpoint")]
    layer = m.to_geojson()
    assert {f["properties"]["layer"] for f in layer["features"]} == {"risk", "combat"}
    # classify: inside a polygon, the most urgent class, a point's radius, outside
    lat, lon = area.frame.to_geo(810.0, 610.0)
    assert m.classify(float(lat), float(lon)) == "red"
    lat, lon = area.frame.to_geo(300.0, 100.0)
    assert m.classify(float(lat), float(lon)) is None
    pt = _doc([_feature("H1", local_to_geo(box(0, 0, 1, 1), area.frame).centroid, risk="orange")])
    pm = read_risk_map(pt, "p.geojson", point_radius_m=10.0)
    lat, lon = area.frame.to_geo(0.5 + 8.0, 0.5)
    assert pm.classify(float(lat), float(lon)) == "orange"
    lat, lon = area.frame.to_geo(0.5 + 12.0, 0.5)
    assert pm.classify(float(lat), float(lon)) is None


@pytest.mark.parametrize(
    ("props", "geom", "needle"),
    [
        ({"risk": "purple"}, {"type": "Point", "coordinates": [123.43, 41.79]},
         "feature 1 (id 'bad'): risk: risk 'purple' is not one of red/orange/yellow/green/white"),
        ({"name": "x"}, {"type": "Point", "coordinates": [123.43, 41.79]},
         "feature 1 (id 'bad'): no 'risk'"),
        ({"kind": "tower"}, {"type": "Point", "coordinates": [123.43, 41.79]},
         "feature 1 (id 'bad'): kind 'tower' is not one of gate/checkpoint/exit"),
        ({"risk": "red"}, {"type": "LineString", "coordinates": [[123.43, 41.79], [123.44, 41.79]]},
         "feature 1 (id 'bad'): geometry must be one of"),
        ({"risk": "red"}, {"type": "Point", "coordinates": [41.79, 123.43]},
         "feature 1 (id 'bad'): coordinates out of range"),
        ({"risk": "红"}, {"type": "Polygon", "coordinates": [[[123.43, 41.79], [123.44, 41.80],
                                                              [123.44, 41.79], [123.43, 41.80],
                                                              [123.43, 41.79]]]},
         "feature 1 (id 'bad'): invalid polygon"),
    ],
)  # fmt: skip
def test_bad_features_get_one_line_errors_naming_them(props, geom, needle):
    good = {"type": "Feature", "id": "ok", "properties": {"risk": "white"},
            "geometry": {"type": "Point", "coordinates": [123.43, 41.79]}}  # fmt: skip
    bad = {"type": "Feature", "id": "bad", "properties": props, "geometry": geom}
    with pytest.raises(RiskMapError) as e:
        read_risk_map(_doc([good, bad]), "r.geojson")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("r.geojson: ") and needle in msg, msg


def test_bad_files_and_duplicate_ids(tmp_path):
    with pytest.raises(RiskMapError, match="not found"):
        load_risk_map(tmp_path / "none.geojson")
    p = tmp_path / "poly.geojson"
    p.write_text(json.dumps({"type": "Polygon", "coordinates": []}))
    with pytest.raises(RiskMapError, match="FeatureCollection"):
        load_risk_map(p)
    f = {"type": "Feature", "id": 7, "properties": {"risk": "white"},
         "geometry": {"type": "Point", "coordinates": [123.43, 41.79]}}  # fmt: skip
    with pytest.raises(RiskMapError, match="feature 1 \\(id '7'\\): duplicate id"):
        read_risk_map(_doc([f, f]), "d.geojson")


# --- planning ------------------------------------------------------------------------------------------


def test_plan_flies_red_then_orange_then_yellow_and_still_covers_everything():
    area = make_area(AREA)
    m = read_risk_map(_risk_doc(area), "risk.geojson")
    plain = _plan(area)
    risky = _plan(area, risk_map=m)
    # without the map the lawnmower from the south-west corner sees yellow first, red last:
    # the test district is laid out so that the risk order is the reverse of the natural one
    p0 = _first_seen(plain)
    assert p0["yellow"] < p0["orange"] < p0["red"], p0
    seen = _first_seen(risky)
    assert seen["red"] < seen["orange"] < seen["yellow"], seen
    _transects_are_flown(risky)
    # coverage of the district stays as without the map, checked with an independent footprint
    assert transect_coverage(risky, ALT) >= 0.995
    assert risky.stats.coverage_pct == pytest.approx(plain.stats.coverage_pct, abs=0.05)
    r = risky.risk
    assert r["red"]["first_visit_s"] < r["orange"]["first_visit_s"] < r["yellow"]["first_visit_s"]
    for cls in ("red", "orange", "yellow", "white"):
        assert r[cls]["coverage_pct"] == pytest.approx(100.0, abs=0.01), (cls, r[cls])
    assert r["green"]["coverage_pct"] is None and r["green"]["first_visit_s"] is None
    assert r["red"]["area_m2"] == pytest.approx(10_000, rel=1e-3)
    assert r["red"]["features"] == 1
    # red is reached straight from home: first visit = climb + the flight to the far corner
    dist = np.hypot(760 - HOME[0], 560 - HOME[1]) - nadir_footprint(ALT)[0]
    assert r["red"]["first_visit_s"] < (ALT / 2.5) + dist / 8.0 + 60.0


def test_revisit_flies_red_again_on_a_long_patrol():
    area = make_area(AREA)
    m = read_risk_map(_risk_doc(area), "risk.geojson")
    once = _plan(area, risk_map=m)
    again = _plan(area, risk_map=m, revisit_min=4.0)
    assert len(once.risk["red"]["visits_s"]) == 1
    visits = again.risk["red"]["visits_s"]
    assert len(visits) >= 2, visits
    # a pass is inserted once 4 min of flight (straight-line estimate) passed since the last one
    assert all(b - a >= 4 * 60 * 0.8 for a, b in zip(visits, visits[1:], strict=False)), visits
    assert again.stats.coverage_pct == pytest.approx(once.stats.coverage_pct, abs=0.05)


# --- keeping it current --------------------------------------------------------------------------------


def test_set_risk_records_who_and_when(tmp_path):
    area = make_area(AREA)
    p = tmp_path / "risk.geojson"
    p.write_text(json.dumps(_risk_doc(area), ensure_ascii=False), encoding="utf-8")
    at = datetime(2020, 2, 20, 8, 30, tzinfo=timezone.utc)
    assert set_risk(p, "Fred", "白", by="officer Li", at=at) == ("red", "white")
    props = next(f for f in json.loads(p.read_text())["features"] if f["id"] == "Fred")[
        "properties"
    ]
    assert props["risk"] == "white" and props["risk_updated_by"] == "officer Li"
    assert props["risk_updated_at"] == "2020-02-20T08:30:00Z"
    assert props["risk_history"] == [
        {"from": "red", "to": "white", "by": "officer Li", "at": "2020-02-20T08:30:00Z"}
    ]
    assert load_risk_map(p).counts()["red"] == 0
    with pytest.raises(RiskMapError, match="no feature with id 'nope'"):
        set_risk(p, "nope", "white", by="x")
    with pytest.raises(RiskMapError, match="combat-map symbol"):
        set_risk(p, "G1", "white", by="x")
    with pytest.raises(RiskMapError, match="risk 'blue' is not one of"):
        set_risk(p, "W1", "blue", by="x")


# --- the CLI on the demo district ----------------------------------------------------------------------


def test_cli_plans_the_demo_district_by_risk(cli, tmp_path, repo_root):
    out = tmp_path / "plan"
    risk = repo_root / "configs/districts/demo-risk.geojson"
    r = cli("plan", str(repo_root / "configs/districts/demo.geojson"), "--risk-map", str(risk),
            "--out", str(out), "--no-preview")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "first visit" in r.stdout
    index = json.loads((out / "plan.json").read_text())
    rk = index["risk"]
    assert set(rk) == {"red", "orange", "yellow", "green", "white"}
    assert (
        rk["red"]["first_visit_s"] <= rk["orange"]["first_visit_s"] <= rk["yellow"]["first_visit_s"]
    )
    assert index["stats"]["coverage_pct"] >= 99.9
    for cls in ("red", "orange", "yellow"):
        assert rk[cls]["coverage_pct"] >= 99.9, (cls, rk[cls])
    layer = json.loads((out / "risk.geojson").read_text())
    assert sum(f["properties"]["layer"] == "combat" for f in layer["features"]) == 3
    # a bad class in the map: one line naming the feature, non-zero exit, nothing planned
    doc = json.loads(risk.read_text())
    doc["features"][2]["properties"]["risk"] = "purple"
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps(doc))
    r = cli("plan", str(repo_root / "configs/districts/demo.geojson"), "--risk-map", str(bad),
            "--out", str(tmp_path / "p2"), "--no-preview")  # fmt: skip
    assert r.returncode != 0
    assert r.stderr.strip().count("\n") == 0 and "feature 2 (id 'H003')" in r.stderr, r.stderr


def test_cli_revisit_without_a_risk_map_is_an_error(cli, tmp_path, repo_root):
    r = cli("plan", str(repo_root / "configs/districts/demo-block.geojson"), "--revisit", "5",
            "--out", str(tmp_path / "p"))  # fmt: skip
    assert r.returncode != 0 and not (tmp_path / "p").exists()
    assert "--revisit) needs a risk map" in r.stderr and r.stderr.strip().count("\n") == 0


def test_cli_risk_set_and_show(cli, tmp_path, repo_root):
    p = tmp_path / "risk.geojson"
    p.write_text((repo_root / "configs/districts/demo-risk.geojson").read_text(encoding="utf-8"))
    r = cli("risk", "set", str(p), "--id", "B1", "--risk", "白", "--by", "officer Li")
    assert r.returncode == 0, r.stderr
    assert "B1: red -> white (by officer Li)" in r.stdout
    r = cli("risk", "show", str(p))
    assert r.returncode == 0 and "red     红  4" in r.stdout, r.stdout
    r = cli("risk", "set", str(p), "--id", "nope", "--risk", "white")
    assert r.returncode != 0 and "no feature with id 'nope'" in r.stderr


def test_forward_camera_leaves_no_stubs_and_the_demo_stays_one_sortie(repo_root):
    """A camera looking ahead (-45°) sees a region from before it and past its end: the pieces
    left at a transect's ends are shorter than the footprint and join their neighbour."""
    from groundstation.config import load_config
    from missions.camera import footprint
    from missions.grid import Segment
    from missions.planner import plan_from_config
    from missions.risk_plan import split_by_risk
    from missions.settings import CameraSettings

    fp = footprint(CameraSettings(gimbal_pitch_deg=-45.0), 18.0)
    along = float(np.ptp(fp.corners[:, 1]))
    seg = Segment(0, (0.0, 0.0), (200.0, 0.0), (1.0, 0.0))
    for region in (box(100, -5, 300, 5), box(-50, -5, 95, 5), box(60, -5, 120, 5)):
        pieces = split_by_risk(seg, {"red": region}, fp)
        assert pieces[0][1].a == seg.a and pieces[-1][1].b == seg.b
        assert all(p.b == q.a for (_, p), (_, q) in zip(pieces, pieces[1:], strict=False))
        assert all(lab is not None or p.length >= along for lab, p in pieces), pieces
        assert any(lab == "red" for lab, _ in pieces)
    demo = repo_root / "configs/demo.yaml"
    risk = str(repo_root / "configs/districts/demo-risk.geojson")
    plain = plan_from_config(load_config(demo))
    risky = plan_from_config(load_config(demo, {"area.risk_map": risk}))
    assert len(plain.sorties) == len(risky.sorties) == 1
    assert risky.stats.coverage_pct >= 99.9
    assert risky.risk["red"]["first_visit_s"] < risky.risk["orange"]["first_visit_s"]
