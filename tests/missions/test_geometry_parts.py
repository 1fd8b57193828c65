"""Camera footprint/GSD, swept coverage, the visibility-graph router, transect clipping, flight time."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import LineString, Polygon, box

from missions.camera import fields_of_view, footprint, transect_spacing
from missions.coverage import coverage_fraction, swept_area, transects_coverage
from missions.errors import PlanningError
from missions.flight_time import FlightModel
from missions.grid import apply_turnaround, cells, transect_lines, two_opt
from missions.routing import Router, path_length
from missions.settings import CameraSettings

# --- camera --------------------------------------------------------------------------------------


def test_nadir_footprint_and_gsd_from_hfov():
    cam = CameraSettings(hfov_deg=90.0, image_width_px=1000, image_height_px=500)
    fp = footprint(cam, 50.0)
    assert fp.width_m == pytest.approx(100.0)  # 2 * 50 * tan(45)
    assert fp.height_m == pytest.approx(50.0)  # square pixels: half as tall
    assert fp.gsd_cm_px == pytest.approx(10.0)  # 100 m over 1000 px
    assert transect_spacing(fp, 0.25) == pytest.approx(75.0)
    assert transect_spacing(fp, 0.25, spacing_m=12.5) == 12.5


def test_gsd_from_sensor_matches_the_published_phantom_4_pro_figure():
    # DJI Phantom 4 Pro: 13.2 x 8.8 mm sensor, 8.8 mm lens, 5472 x 3648 px: 2.74 cm/px at 100 m
    cam = CameraSettings(hfov_deg=None, sensor_width_mm=13.2, sensor_height_mm=8.8, focal_length_mm=8.8,
                         image_width_px=5472, image_height_px=3648)  # fmt: skip
    hfov, vfov = fields_of_view(cam)
    assert hfov == pytest.approx(2 * math.degrees(math.atan(13.2 / 17.6)))
    assert vfov == pytest.approx(2 * math.degrees(math.atan(8.8 / 17.6)))
    fp = footprint(cam, 100.0)
    assert fp.gsd_cm_px == pytest.approx(100 * 13.2 * 100 / (8.8 * 5472))  # = 2.741
    assert round(fp.gsd_cm_px, 2) == 2.74
    assert fp.width_m == pytest.approx(150.0) and fp.height_m == pytest.approx(100.0)


def test_oblique_footprint_is_a_trapezoid_ahead():
    cam = CameraSettings(
        hfov_deg=60.0, gimbal_pitch_deg=-45.0, image_width_px=1000, image_height_px=1000
    )
    fp = footprint(cam, 30.0)
    c = fp.corners
    near, far = abs(c[1, 0] - c[0, 0]), abs(c[2, 0] - c[3, 0])
    assert far > near and fp.width_m == pytest.approx(near)
    # centre ray at 45 degrees: slant 30*sqrt(2); GSD = slant * 2 tan(30) / 1000 px
    assert fp.gsd_cm_px == pytest.approx(
        100 * 30 * math.sqrt(2) * 2 * math.tan(math.radians(30)) / 1000
    )
    # bottom edge at 75 degrees depression: 30 / tan(75) m ahead
    assert c[0, 1] == pytest.approx(30 / math.tan(math.radians(75)))


def test_camera_looking_at_the_horizon_is_refused():
    with pytest.raises(PlanningError, match="unbounded"):
        footprint(CameraSettings(hfov_deg=80.0, gimbal_pitch_deg=-20.0), 40.0)


# --- coverage --------------------------------------------------------------------------------------


def test_swept_area_of_a_straight_leg_is_the_extended_rectangle():
    fp = footprint(CameraSettings(hfov_deg=90.0, image_width_px=1000, image_height_px=500), 50.0)
    cov = swept_area(np.array([[0.0, 0.0], [0.0, 200.0]]), fp)
    assert cov.area == pytest.approx(100.0 * (200.0 + 50.0))
    assert cov.symmetric_difference(box(-50, -25, 50, 225)).area < 1e-6
    turned = swept_area(np.array([[0.0, 0.0], [200.0, 0.0]]), fp)  # heading east: width across
    assert turned.symmetric_difference(box(-25, -50, 225, 50)).area < 1e-6
    assert coverage_fraction(cov, box(-50, 0, 50, 100)) == pytest.approx(1.0)
    assert coverage_fraction(cov, box(0, 0, 200, 100)) == pytest.approx(0.25)


def test_single_point_transect_uses_its_heading():
    fp = footprint(CameraSettings(hfov_deg=90.0, image_width_px=1000, image_height_px=500), 50.0)
    cov = transects_coverage([((10.0, 10.0), (10.0, 10.0), (1.0, 0.0))], fp)
    assert cov.symmetric_difference(box(-15, -40, 35, 60)).area < 1e-6


# --- router ---------------------------------------------------------------------------------------------


def test_router_goes_around_a_hole_and_along_a_notch():
    space = Polygon(
        [(0, 0), (100, 0), (100, 100), (0, 100)], [[(40, 20), (60, 20), (60, 80), (40, 80)]]
    )
    r = Router(space)
    p = r.path((10, 50), (90, 50))
    assert p[0] == (10.0, 50.0) and p[-1] == (90.0, 50.0)
    assert space.covers(LineString(p))
    # shortest way around the hole: over one of its short sides, inset 0.5 m
    expected = 2 * math.hypot(29.5, 30.5) + 21.0  # (10,50)->(39.5,19.5)->(60.5,19.5)->(90,50)
    assert path_length(p) == pytest.approx(expected, abs=0.01)
    u = Polygon([(0, 0), (30, 0), (30, 30), (20, 30), (20, 10), (10, 10), (10, 30), (0, 30)])
    q = Router(u).path((5, 25), (25, 25))
    assert u.covers(LineString(q)) and len(q) == 4


def test_router_reports_unreachable_parts():
    two = box(0, 0, 10, 10).union(box(20, 0, 30, 10))
    r = Router(two, snap_m=2.0)
    assert r.path((5, 5), (25, 5)) is None
    assert math.isinf(r.distance((5, 5), (25, 5)))


# --- transects --------------------------------------------------------------------------------------------


def test_transects_are_centred_and_cover_the_width():
    lines = transect_lines(box(0, 0, 100, 95), angle_deg=0.0, spacing_m=20.0)
    xs = sorted(segs[0].a[0] for segs in lines)
    assert len(xs) == 5
    assert xs[0] == pytest.approx(10.0) and xs[-1] == pytest.approx(90.0)
    for segs in lines:
        (s,) = segs
        assert s.heading == pytest.approx((0.0, 1.0))
        assert s.length == pytest.approx(95.0)


def test_transects_split_by_a_hole_form_separate_cells():
    region = box(0, 0, 200, 200).difference(box(80, 60, 120, 140))
    lines = transect_lines(region, angle_deg=0.0, spacing_m=20.0)
    split = [segs for segs in lines if len(segs) == 2]
    assert split
    for segs in split:
        for s in segs:
            assert not LineString([s.a, s.b]).crosses(box(80, 60, 120, 140))
    assert len(cells(lines, 0.0)) >= 3


def test_turnaround_is_clipped_by_the_space_and_negative_shrinks():
    region = box(0, 0, 100, 100)
    lines = transect_lines(region, 0.0, 50.0)
    order = [s for segs in lines for s in segs]
    ext = apply_turnaround(order, 15.0, region.buffer(10.0, join_style="mitre"))
    for s, e in zip(order, ext, strict=True):
        assert e.length == pytest.approx(
            s.length + 20.0 - 0.1, abs=0.01
        )  # clipped at 10 m (minus 5 cm)
    cut = apply_turnaround(order, -60.0, region)
    assert all(c.length == 0 for c in cut)  # shorter than 2 x 60 m: shrunk to the midpoint


def test_two_opt_never_lengthens_the_tour():
    rng = np.random.default_rng(3)
    from missions.grid import Segment, estimated_length

    segs = []
    for _ in range(30):
        a = rng.uniform(0, 1000, 2)
        b = a + rng.uniform(-100, 100, 2)
        d = (b - a) / np.hypot(*(b - a))
        segs.append(Segment(0, tuple(a), tuple(b), tuple(d)))
    better = two_opt(segs, (0.0, 0.0))
    assert estimated_length(better, (0.0, 0.0)) <= estimated_length(segs, (0.0, 0.0)) + 1e-9
    assert sorted(round(s.length, 6) for s in better) == sorted(round(s.length, 6) for s in segs)


# --- flight time ----------------------------------------------------------------------------------------


def test_flight_time_model():
    m = FlightModel(
        speed_m_s=10.0,
        alt_m=30.0,
        takeoff_alt_m=30.0,
        climb_m_s=2.5,
        descent_m_s=1.5,
        accel_m_s2=2.5,
    )
    # climb 12 s, RTL loiter 5 s, descent 20 m at 1.5 + 10 m at 0.5
    assert m.fixed_s == pytest.approx(12 + 5 + 20 / 1.5 + 10 / 0.5)
    out_and_back = [(0, 0), (1000, 0), (0, 0)]
    # 2000 m at 10 m/s, a half stop leaving + a half stop arriving, a full stop at the U-turn
    assert m.route_s(out_and_back) == pytest.approx(200 + 4 + 4)
    gentle = [(0, 0), (1000, 0), (2000, 524.0)]  # a 27.6 degree turn: a share of a stop
    ang = math.degrees(math.atan2(524.0, 1000.0))
    assert m.route_s(gentle) == pytest.approx(path_length(gentle) / 10 + 4 + 4 * ang / 60)
    assert m.sortie_s(out_and_back) == pytest.approx(m.fixed_s + 208)
