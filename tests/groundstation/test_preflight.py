"""Pre-flight checks (groundstation.preflight): missions no operator would fly are refused, each
with a one-line reason naming its check and the override."""

from __future__ import annotations

import pytest

from groundstation.preflight import (
    CHECKS,
    Home,
    PreflightError,
    check_mission,
    endless_reason,
    enforce,
    parse_force,
)
from missions.geo import offset
from missions.items import MissionItem

HOME = Home(41.79, 123.43, 50.0)


def _wp(seq, lat, lon, alt=30.0, command=16, frame=3, **kw):
    return MissionItem(seq=seq, frame=frame, command=command, x=lat, y=lon, z=alt, **kw)


def _mission(*body):
    home = MissionItem(seq=0, frame=0, command=16, x=HOME.lat_deg, y=HOME.lon_deg, z=50.0)
    return [home, *[it if it.seq else it for it in body]]


def _rtl(seq):
    return MissionItem(seq=seq, frame=2, command=20)


def _near(seq, bearing=0.0, dist=100.0, alt=30.0, **kw):
    lat, lon = offset(HOME.lat_deg, HOME.lon_deg, bearing, dist)
    return _wp(seq, lat, lon, alt, **kw)


def _checks(items, fence=()):
    return {
        f.check: f.message
        for f in check_mission(items, HOME, max_range_m=10_000, min_alt_m=5.0, fence=fence)
    }


def test_a_normal_mission_passes():
    items = _mission(_near(1, command=22), _near(2), _near(3, 90), _rtl(4))
    assert _checks(items) == {}


def test_a_7000_km_leg_is_refused():
    items = _mission(_near(1, command=22), _wp(2, -33.9, 151.2), _rtl(3))
    found = _checks(items)
    assert list(found) == ["range"]
    assert "item 2" in found["range"] and "km from home" in found["range"]


def test_an_infinite_latitude_is_refused_not_crashed():
    items = _mission(_near(1, command=22), _wp(2, float("inf"), 123.4), _rtl(3))
    assert "no valid position" in _checks(items)["range"]


@pytest.mark.parametrize("alt", [1.83, 0.0, -3.0, float("nan")])
def test_waypoints_below_the_minimum_height_are_refused(alt):
    items = _mission(_near(1, command=22), _near(2, alt=alt), _rtl(3))
    assert "item 2" in _checks(items)["min_alt"]


def test_absolute_altitudes_are_measured_above_home():
    ok = _mission(_near(1, command=22), _near(2, alt=80.0, frame=0), _rtl(3))
    low = _mission(_near(1, command=22), _near(2, alt=52.0, frame=0), _rtl(3))
    assert _checks(ok) == {}
    assert "2.00 m above home" in _checks(low)["min_alt"]


def test_loiter_unlim_never_ends():
    items = _mission(_near(1, command=22), _near(2, command=17), _rtl(3))
    assert "LOITER_UNLIM" in _checks(items)["endless"]


def test_a_mission_without_rtl_or_land_never_ends():
    items = _mission(_near(1, command=22), _near(2), _near(3, 90))
    assert "without RTL or LAND" in _checks(items)["endless"]


def test_do_jump_loops():
    forever = MissionItem(seq=4, frame=2, command=177, param1=2, param2=-1)
    items = _mission(_near(1, command=22), _near(2), _near(3, 90), forever, _rtl(5))
    assert "repeated for ever" in _checks(items)["endless"]
    finite = MissionItem(seq=4, frame=2, command=177, param1=2, param2=3)
    items = _mission(_near(1, command=22), _near(2), _near(3, 90), finite, _rtl(5))
    assert _checks(items) == {}
    # an infinite loop that passes an RTL ends there
    items = _mission(_near(1, command=22), _near(2), _rtl(3), forever)
    assert endless_reason(items[1:]) is None


def test_items_the_copter_ignores_are_refused():
    items = _mission(_near(1, command=84), _near(2), _rtl(3))
    assert "VTOL_TAKEOFF" in _checks(items)["unsupported"]


def _square_fence(half_m=200.0):
    ring = [offset(HOME.lat_deg, HOME.lon_deg, b, half_m) for b in (45, 135, 225, 315)]
    return [
        MissionItem(seq=i, frame=6, command=5001, param1=4, x=a, y=b, mission_type=1)
        for i, (a, b) in enumerate(ring)
    ]


def test_a_mission_leaving_the_fence_is_refused():
    fence = _square_fence()
    inside = _mission(_near(1, command=22), _near(2, 0, 100), _rtl(3))
    outside = _mission(_near(1, command=22), _near(2, 0, 400), _rtl(3))
    assert _checks(inside, fence) == {}
    assert "outside the inclusion fence" in _checks(outside, fence)["fence"]
    circle = [
        MissionItem(
            seq=0,
            frame=6,
            command=5004,
            param1=30,
            x=offset(HOME.lat_deg, HOME.lon_deg, 0, 60)[0],
            y=HOME.lon_deg,
            mission_type=1,
        )
    ]
    through = _mission(_near(1, command=22), _near(2, 0, 120), _rtl(3))
    assert "crosses an exclusion fence" in _checks(through, circle)["fence"]


def test_enforce_names_the_check_and_the_override():
    items = _mission(_near(1, command=22), _wp(2, -33.9, 151.2), _rtl(3))
    findings = check_mission(items, HOME, max_range_m=10_000, min_alt_m=5)
    with pytest.raises(PreflightError) as e:
        enforce(findings, frozenset(), print)
    msg = str(e.value)
    assert "\n" not in msg and "pre-flight check range" in msg and "--force-unsafe range" in msg
    said = []
    enforce(findings, parse_force(["range"]), said.append)
    assert said and "overridden" in said[0]


def test_parse_force():
    assert parse_force(["all"]) == frozenset(CHECKS)
    assert parse_force(["range,min_alt"]) == {"range", "min_alt"}
    with pytest.raises(PreflightError, match="unknown check"):
        parse_force(["rnage"])
