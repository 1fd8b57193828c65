"""Mission files: WPL 110/120, QGroundControl .plan and legacy .mission; round trips and bad input."""

from __future__ import annotations

import json
import math

import pytest

from missions.errors import MissionFileError
from missions.formats import (
    format_wpl,
    parse_mission_text,
    read_mission_file,
    write_plan,
    write_wpl,
)
from missions.formats.qgc_json import plan_dict
from missions.items import (
    MAV_CMD_DO_JUMP,
    MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
    MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
    MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
    MAV_CMD_NAV_FENCE_RETURN_POINT,
    MAV_CMD_NAV_RALLY_POINT,
    MAV_MISSION_TYPE_FENCE,
    MAV_MISSION_TYPE_RALLY,
)


def same(a, b) -> bool:
    """Items equal field by field, NaN equal to NaN."""
    da, db = a.to_dict(), b.to_dict()
    for k in da:
        x, y = da[k], db[k]
        if isinstance(x, float) and math.isnan(x):
            if not (isinstance(y, float) and math.isnan(y)):
                return False
        elif x != y:
            return False
    return True


def same_lists(xs, ys) -> bool:
    return len(xs) == len(ys) and all(same(a, b) for a, b in zip(xs, ys, strict=True))


# Mission Planner style: CRLF, fixed decimals, home on line 0 with current=1
MP_WPL = (
    "QGC WPL 110\r\n"
    "0\t1\t0\t16\t0.000000\t0.000000\t0.000000\t0.000000\t41.790000\t123.430000\t52.340000\t1\r\n"
    "1\t0\t3\t22\t15.000000\t0.000000\t0.000000\t0.000000\t0.000000\t0.000000\t40.000000\t1\r\n"
    "2\t0\t3\t178\t1.000000\t8.000000\t-1.000000\t0.000000\t0.000000\t0.000000\t0.000000\t1\r\n"
    "3\t0\t3\t16\t0.000000\t2.000000\t0.000000\t0.000000\t41.79123456\t123.43098765\t40.000000\t1\r\n"
    "4\t0\t10\t31000\t1.250000\t2.5\t3.75\t-4.0\t7.000000\t8.000000\t9.000000\t0\r\n"
    "5\t0\t3\t177\t3.000000\t2.000000\t0.000000\t0.000000\t0.000000\t0.000000\t0.000000\t1\r\n"
    "6\t0\t3\t20\t0.000000\t0.000000\t0.000000\t0.000000\t0.000000\t0.000000\t0.000000\t1\r\n"
)


def test_wpl110_mission_planner_file_round_trip(tmp_path):
    f = tmp_path / "mp.waypoints"
    f.write_bytes(MP_WPL.encode())
    mf = read_mission_file(f)
    assert mf.format == "wpl110" and len(mf.mission) == 7
    assert mf.home.lat_deg == 41.79 and mf.home.alt_m == 52.34
    unknown = mf.mission[4]
    assert (unknown.frame, unknown.command, unknown.param1, unknown.param4, unknown.autocontinue) == (
        10, 31000, 1.25, -4.0, 0,
    )  # fmt: skip
    assert mf.mission[3].x == 41.79123456 and mf.mission[3].param2 == 2.0
    out = tmp_path / "out.waypoints"
    write_wpl(mf.mission, out)
    again = read_mission_file(out)
    assert same_lists(mf.mission, again.mission)
    # writing what was read back gives the same text: the writer is a fixed point
    assert format_wpl(again.mission) == out.read_text()


def test_wpl_real_world_variants_read_alike():
    """Spaces instead of tabs, BOM, comments, blank lines, trailing whitespace, a sequence gap."""
    variant = (
        "\ufeff# exported by hand\n\n"
        "QGC  WPL 110  \n"
        "# home\n"
        "0 1 0 16 0 0 0 0 41.79 123.43 52.34 1   \n"
        "\n"
        "1   0   3   22   15 0 0 0 0 0 40 1\n"
        "2\t0 3 178 1 8 -1 0 0 0 0 1\n"
        "3 0 3 16 0 2 0 0 41.79123456 123.43098765 40 1\n"
        "  # an unknown command follows\n"
        "7 0 10 31000 1.25 2.5 3.75 -4 7 8 9 0\n"
        "8 0 3 177 3 2 0 0 0 0 0 1\n"
        "9 0 3 20 0 0 0 0 0 0 0 1\n"
    )
    a = parse_mission_text(MP_WPL, "mp")
    b = parse_mission_text(variant, "variant")
    assert same_lists(a.mission, b.mission)
    assert b.warnings and "sequence gap" in b.warnings[0] and "variant:11" in b.warnings[0]


def test_wpl120_has_no_home_and_jump_targets_shift_like_qgc(tmp_path):
    text = (
        "QGC WPL 120\n"
        "0\t0\t3\t22\t0\t0\t0\t0\t0\t0\t30\t1\n"
        "1\t0\t3\t16\t0\t0\t0\t0\t41.791\t123.431\t30\t1\n"
        "2\t0\t3\t177\t1\t3\t0\t0\t0\t0\t0\t1\n"
    )
    mf = parse_mission_text(text, "old.txt")
    assert mf.format == "wpl120" and mf.home is None
    assert [it.command for it in mf.mission] == [16, 22, 16, MAV_CMD_DO_JUMP]
    assert mf.mission[0].x == 0 and mf.mission[0].y == 0  # placeholder home
    assert mf.mission[3].param1 == 2.0  # jump to item 1 of the file = seq 2 after the home
    assert format_wpl(mf.mission, version=120) == text
    write_wpl(mf.mission, tmp_path / "a.waypoints", version=120)
    assert (tmp_path / "a.waypoints").read_text() == text


def test_wpl_fence_and_rally_lists_are_recognised():
    fence = (
        "QGC WPL 110\n"
        "0\t0\t0\t5001\t3\t0\t0\t0\t41.78\t123.42\t0\t1\n"
        "1\t0\t0\t5001\t3\t0\t0\t0\t41.8\t123.42\t0\t1\n"
        "2\t0\t0\t5001\t3\t0\t0\t0\t41.8\t123.44\t0\t1\n"
        "3\t0\t0\t5004\t50\t0\t0\t0\t41.79\t123.43\t0\t1\n"
    )
    mf = parse_mission_text(fence)
    assert not mf.mission and len(mf.fence) == 4
    assert all(it.mission_type == MAV_MISSION_TYPE_FENCE for it in mf.fence)
    assert format_wpl(mf.fence) == fence
    rally = "QGC WPL 110\n0\t0\t3\t5100\t0\t0\t0\t0\t41.79\t123.43\t30\t1\n"
    r = parse_mission_text(rally)
    assert len(r.rally) == 1 and r.rally[0].mission_type == MAV_MISSION_TYPE_RALLY
    assert format_wpl(r.rally) == rally


PLAN = {
    "fileType": "Plan",
    "geoFence": {
        "circles": [{"circle": {"center": [41.791, 123.431], "radius": 35.5}, "inclusion": False, "version": 1}],
        "polygons": [
            {"inclusion": True, "polygon": [[41.78, 123.42], [41.80, 123.42], [41.80, 123.44], [41.78, 123.44]], "version": 1},
            {"inclusion": False, "polygon": [[41.785, 123.425], [41.786, 123.425], [41.786, 123.426]], "version": 1},
        ],
        "breachReturn": [41.7901, 123.4301, 30],
        "version": 2,
    },
    "groundStation": "QGroundControl",
    "mission": {
        "cruiseSpeed": 15,
        "firmwareType": 3,
        "hoverSpeed": 5,
        "items": [
            {"AMSLAltAboveTerrain": None, "Altitude": 30, "AltitudeMode": 1, "autoContinue": True,
             "command": 22, "doJumpId": 1, "frame": 3, "params": [0, 0, 0, None, 41.79, 123.43, 30],
             "type": "SimpleItem"},
            {"autoContinue": True, "command": 16, "doJumpId": 2, "frame": 3,
             "params": [0, 0, 0, None, 41.7912345678, 123.4312345678, 30.5], "type": "SimpleItem"},
            {"type": "ComplexItem", "complexItemType": "survey", "version": 5,
             "TransectStyleComplexItem": {"Items": [
                 {"autoContinue": True, "command": 16, "doJumpId": 3, "frame": 3,
                  "params": [0, 0, 0, None, 41.792, 123.432, 30], "type": "SimpleItem"},
                 {"autoContinue": True, "command": 206, "doJumpId": 4, "frame": 2,
                  "params": [25, 0, 1, 0, 0, 0, 0], "type": "SimpleItem"},
             ]}},
            {"autoContinue": True, "command": 177, "doJumpId": 5, "frame": 2,
             "params": [2, 4, 0, 0, 0, 0, 0], "type": "SimpleItem"},
            {"autoContinue": False, "command": 20, "doJumpId": 6, "frame": 2,
             "params": [0, 0, 0, 0, 0, 0, 0], "type": "SimpleItem"},
        ],
        "plannedHomePosition": [41.79, 123.43, 52.5],
        "vehicleType": 2,
        "version": 2,
    },
    "rallyPoints": {"points": [[41.7905, 123.4305, 25], [41.7906, 123.4306, 30]], "version": 2},
    "version": 1,
}  # fmt: skip


def test_plan_reader_all_parts(tmp_path):
    f = tmp_path / "mission.plan"
    f.write_text(json.dumps(PLAN))
    mf = read_mission_file(f)
    assert mf.format == "plan"
    assert (mf.home.lat_deg, mf.home.lon_deg, mf.home.alt_m) == (41.79, 123.43, 52.5)
    cmds = [it.command for it in mf.mission]
    assert cmds == [16, 22, 16, 16, 206, 177, 20]  # complex item flattened
    assert math.isnan(mf.mission[1].param4)  # null param
    assert mf.mission[2].x == 41.7912345678
    assert mf.mission[5].param1 == 2.0  # DO_JUMP to doJumpId 2 = seq 2
    assert mf.mission[6].autocontinue == 0
    kinds = [it.command for it in mf.fence]
    assert kinds == [MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION] * 4 + [
        MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION
    ] * 3 + [MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION, MAV_CMD_NAV_FENCE_RETURN_POINT]
    assert mf.fence[0].param1 == 4 and mf.fence[4].param1 == 3 and mf.fence[7].param1 == 35.5
    assert [it.command for it in mf.rally] == [MAV_CMD_NAV_RALLY_POINT] * 2
    assert mf.rally[1].z == 30


def test_plan_round_trip_keeps_everything(tmp_path):
    src = tmp_path / "in.plan"
    src.write_text(json.dumps(PLAN))
    mf = read_mission_file(src)
    out = write_plan(tmp_path / "out.plan", mf.mission, mf.fence, mf.rally, mf.home)
    again = read_mission_file(out)
    assert same_lists(mf.mission, again.mission)
    assert same_lists(mf.fence, again.fence)
    assert same_lists(mf.rally, again.rally)
    assert again.home == mf.home
    doc = json.loads(out.read_text())
    assert doc["mission"]["items"][0]["params"][3] is None  # NaN written as null, as QGC does
    assert doc["geoFence"]["version"] == 2 and doc["rallyPoints"]["version"] == 2
    # and the plan written from WPL items round-trips too
    wpl = parse_mission_text(MP_WPL)
    assert same_lists(
        parse_mission_text(json.dumps(plan_dict(wpl.mission))).mission[1:], wpl.mission[1:]
    )


def test_plan_geofence_v1_and_trailing_commas(tmp_path):
    doc = (
        '{"fileType": "Plan", "version": 1, "groundStation": "QGroundControl",\n'
        ' "mission": {"version": 2, "firmwareType": 3, "items": [],\n'
        '   "plannedHomePosition": [41.79, 123.43, 50],},\n'
        ' "geoFence": {"version": 1, "polygon": [[41.78, 123.42], [41.80, 123.42], [41.80, 123.44],],\n'
        '   "breachReturn": [41.79, 123.43]},\n'
        ' "rallyPoints": {"version": 2, "points": []},\n'
        "}\n"
    )
    f = tmp_path / "v1.plan"
    f.write_text(doc)
    mf = read_mission_file(f)
    assert [it.command for it in mf.fence] == [5001, 5001, 5001, 5000]
    assert len(mf.mission) == 1  # home only
    # written back as geoFence version 2, the same fence items come out
    again = read_mission_file(
        write_plan(tmp_path / "v2.plan", mf.mission, mf.fence, mf.rally, mf.home)
    )
    assert same_lists(again.fence, mf.fence)
    assert json.loads((tmp_path / "v2.plan").read_text())["geoFence"]["version"] == 2


def test_legacy_mission_v1(tmp_path):
    legacy = {
        "MAV_AUTOPILOT": 3,
        "complexItems": [],
        "groundStation": "QGroundControl",
        "items": [
            {"autoContinue": True, "command": 22, "coordinate": [41.79, 123.43, 25], "frame": 3, "id": 1,
             "param1": 15, "param2": 0, "param3": 0, "param4": 0, "type": "missionItem"},
            {"autoContinue": True, "command": 16, "coordinate": [41.7915, 123.4315, 25], "frame": 3, "id": 2,
             "param1": 0, "param2": 0, "param3": 0, "param4": 0, "type": "missionItem"},
        ],
        "plannedHomePosition": {"autoContinue": True, "command": 16, "coordinate": [41.79, 123.43, 48],
                                "frame": 0, "id": 0, "param1": 0, "param2": 0, "param3": 0, "param4": 0,
                                "type": "missionItem"},
        "version": "1.0",
    }  # fmt: skip
    f = tmp_path / "old.mission"
    f.write_text(json.dumps(legacy, indent=2))
    mf = read_mission_file(f)
    assert mf.format == "mission" and mf.home.alt_m == 48
    assert [(it.seq, it.command, it.param1, it.x) for it in mf.mission[1:]] == [
        (1, 22, 15.0, 41.79),
        (2, 16, 0.0, 41.7915),
    ]
    out = write_plan(tmp_path / "conv.plan", mf.mission, home=mf.home)
    assert same_lists(read_mission_file(out).mission, mf.mission)


def test_legacy_mission_v2_file_type_mission(tmp_path):
    doc = {
        "fileType": "Mission", "version": 2, "firmwareType": 3, "groundStation": "QGroundControl",
        "plannedHomePosition": [41.79, 123.43, 40],
        "items": [{"autoContinue": True, "command": 16, "coordinate": [41.7915, 123.4315, 20], "frame": 3,
                   "doJumpId": 1, "params": [0, 0, 0, 0], "type": "SimpleItem"}],
    }  # fmt: skip
    f = tmp_path / "v2.mission"
    f.write_text(json.dumps(doc))
    mf = read_mission_file(f)
    assert mf.format == "plan" or mf.format == "mission"
    assert mf.mission[1].x == 41.7915 and mf.mission[1].z == 20


def test_format_comes_from_content_not_extension(tmp_path):
    wpl_as_plan = tmp_path / "mission.plan"
    wpl_as_plan.write_text(MP_WPL)
    plan_as_txt = tmp_path / "mission.txt"
    plan_as_txt.write_text(json.dumps(PLAN))
    assert read_mission_file(wpl_as_plan).format == "wpl110"
    assert read_mission_file(plan_as_txt).format == "plan"


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t41.79\t123.43\t50\n", "bad.waypoints:2: expected 12 fields"),
        ("QGC WPL 110\n0 1 0 16 0 0 0 zero 41.79 123.43 50 1\n", "bad.waypoints:2: field 8 (param4) is not a number"),
        ("QGC WPL 110\n0 1 0 16.5 0 0 0 0 41.79 123.43 50 1\n", "field 4 (command) must be an integer"),
        ("QGC WPL 999\n", "unsupported WPL version 999"),
        ("lat lon\n41 123\n", "not a mission file"),
        ("", "not a mission file"),
        ('{"type": "FeatureCollection", "features": []}', "is a GeoJSON area"),
        ('{"mission": {"items": [], "plannedHomePosition": [41, 123, 0]', "not valid JSON"),
        ('{"fileType": "Plan", "mission": {"items": [{"type": "SimpleItem", "frame": 3, "command": 16,'
         ' "autoContinue": true, "params": [0, 0]}], "plannedHomePosition": [0, 0, 0]}}',
         "'params' must hold 7 values"),
    ],
)  # fmt: skip
def test_bad_mission_files_give_one_line_errors(tmp_path, text, expect):
    f = tmp_path / "bad.waypoints"
    f.write_text(text)
    with pytest.raises(MissionFileError) as err:
        read_mission_file(f)
    assert expect in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(MissionFileError, match="file not found"):
        read_mission_file(tmp_path / "nope.waypoints")
