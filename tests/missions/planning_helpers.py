"""Helpers shared by the planner tests: build areas from local shapes, independent checks of a plan.

The checks recompute everything from the plan's OUTPUT (mission and fence items in lat/lon), with
formulas written independently of the planner, so they can fail when the planner is wrong.
"""

from __future__ import annotations

import math

import numpy as np
from shapely.geometry import LineString, Point, Polygon

from missions.areas.model import Hole, RawArea, RawPart, build_area
from missions.geo import LocalFrame
from missions.items import (
    MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
    MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
    MAV_CMD_NAV_RETURN_TO_LAUNCH,
    MAV_CMD_NAV_TAKEOFF,
    MAV_CMD_NAV_WAYPOINT,
)
from missions.settings import (
    CameraSettings,
    FenceSettings,
    GeoPoint,
    RallySettings,
    SortieSettings,
    SurveySettings,
)

ORIGIN = (41.79, 123.43)


def to_geo_ring(frame: LocalFrame, coords) -> list[tuple[float, float]]:
    """Local (x, y) ring -> closed (lon, lat) ring."""
    c = np.asarray(coords, float)
    lat, lon = frame.to_geo(c[:, 0], c[:, 1])
    ring = [(float(a), float(b)) for a, b in zip(lon, lat, strict=True)]
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    return ring


def make_area(outer: Polygon, holes=(), origin=ORIGIN, name="test"):
    """An Area from local shapes (metres around ``origin``), built as a reader would.

    The area's local frame is set to ``origin`` so the test shapes' coordinates are the area's
    local coordinates.
    """
    frame = LocalFrame(*origin)
    raw = RawArea(source=f"{name}.geojson", coord_order="[lon, lat]", name=name)
    part = RawPart(outer=to_geo_ring(frame, outer.exterior.coords), where="test")
    for k, ring in enumerate(outer.interiors):
        part.holes.append(Hole(f"ring hole {k}", Polygon(to_geo_ring(frame, ring.coords)), "test"))
    raw.parts.append(part)
    for k, h in enumerate(holes):
        raw.holes.append(Hole(f"hole {k}", Polygon(to_geo_ring(frame, h.exterior.coords)), "test"))
    area = build_area(raw)
    area.frame = frame
    return area


def settings(**kw):
    """(camera, survey, sorties, fence, rally) settings with keyword overrides by field name."""
    groups = {
        "camera": CameraSettings,
        "survey": SurveySettings,
        "sorties": SortieSettings,
        "fence": FenceSettings,
        "rally": RallySettings,
    }
    out = []
    for _, cls in groups.items():
        fields = {k: v for k, v in kw.items() if k in cls.model_fields}
        out.append(cls(**fields))
    return tuple(out)


def home_at(area, x: float, y: float, alt: float = 50.0) -> GeoPoint:
    lat, lon = area.frame.to_geo(x, y)
    return GeoPoint(lat_deg=float(lat), lon_deg=float(lon), alt_m=alt)


def nadir_footprint(alt_m: float, hfov_deg: float = 80.0, w_px: int = 1280, h_px: int = 720):
    """(across, along) footprint of a nadir pinhole camera with square pixels, metres."""
    across = 2.0 * alt_m * math.tan(math.radians(hfov_deg) / 2.0)
    return across, across * h_px / w_px


def transect_coverage(plan, alt_m: float, hfov_deg: float = 80.0) -> float:
    """Share of (district minus holes) swept by a nadir footprint along the plan's transects.

    Each transect a→b sweeps the rectangle of the segment extended by half the footprint length
    at both ends and widened by half the footprint width on both sides.
    """
    from shapely import union_all

    across, along = nadir_footprint(alt_m, hfov_deg)
    strips = []
    for t in plan.transects:
        a, b = np.asarray(t.a), np.asarray(t.b)
        u = np.asarray(t.heading, float)
        strips.append(
            LineString([a - along / 2 * u, b + along / 2 * u]).buffer(across / 2, cap_style="flat")
        )
    covered = union_all(strips)
    target = plan.area.free_local
    return covered.intersection(target).area / target.area


def fence_polygons(plan):
    """(inclusion polygons, exclusion polygons) in (lon, lat) rebuilt from the fence items."""
    incl, excl = [], []
    items = plan.fence_items
    i = 0
    while i < len(items):
        it = items[i]
        if it.command in (
            MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
            MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
        ):
            n = int(it.param1)
            group = items[i : i + n]
            assert all(g.command == it.command and int(g.param1) == n for g in group)
            poly = Polygon([(g.y, g.x) for g in group])
            (incl if it.command == MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION else excl).append(
                poly
            )
            i += n
        else:
            i += 1
    return incl, excl


def flown_legs(plan):
    """Every straight leg flown, local metres, rebuilt from the mission items of each sortie.

    Take-off happens at home; the vehicle then flies to each NAV_WAYPOINT in turn; RTL flies
    straight from the last waypoint back home.
    """
    frame = plan.frame
    hx, hy = frame.to_local(plan.home.lat_deg, plan.home.lon_deg)
    legs = []
    for s in plan.sorties:
        items = s.items
        assert items[0].seq == 0
        assert items[1].command == MAV_CMD_NAV_TAKEOFF
        assert items[-1].command == MAV_CMD_NAV_RETURN_TO_LAUNCH
        assert [it.seq for it in items] == list(range(len(items)))
        pts = [(float(hx), float(hy))]
        for it in items:
            if it.command == MAV_CMD_NAV_WAYPOINT and it.seq > 0:
                x, y = frame.to_local(it.x, it.y)
                pts.append((float(x), float(y)))
        pts.append((float(hx), float(hy)))
        legs.append([(pts[k], pts[k + 1]) for k in range(len(pts) - 1) if pts[k] != pts[k + 1]])
    return legs


def assert_route_avoids_holes(plan, min_gap_m: float = 0.1) -> None:
    """No leg (transect, connection, home leg) comes within ``min_gap_m`` of a hole."""
    holes = plan.area.holes_local
    for k, legs in enumerate(flown_legs(plan), 1):
        for a, b in legs:
            seg = LineString([a, b])
            for h, poly in zip(plan.area.holes, holes, strict=True):
                gap = seg.distance(poly)
                assert gap > min_gap_m, f"sortie {k}: leg {a}->{b} enters hole {h.name} (gap {gap})"


def assert_waypoints_in_fence(plan) -> None:
    """Every NAV_WAYPOINT and the take-off point lie inside the inclusion fence, outside exclusions."""
    incl, excl = fence_polygons(plan)
    assert len(incl) == 1
    for s in plan.sorties:
        for it in s.items:
            if it.command in (MAV_CMD_NAV_WAYPOINT, MAV_CMD_NAV_TAKEOFF) and it.seq > 0:
                p = Point(it.y, it.x)
                assert incl[0].contains(p), f"sortie {s.index} seq {it.seq} outside the fence"
                assert not any(e.intersects(p) for e in excl), f"seq {it.seq} in an exclusion zone"


def assert_connections_inside_area(plan, tol_m: float = 0.05) -> None:
    """Between its first and last transect, every leg of a sortie stays inside the district."""
    area = plan.area.polygon_local.buffer(tol_m)
    for s in plan.sorties:
        p = s.path_local
        if not s.transects:
            continue
        first = np.asarray(s.transects[0].a)
        last = np.asarray(s.transects[-1].b)
        i0 = int(np.argmin(np.hypot(*(p - first).T)))
        i1 = len(p) - 1 - int(np.argmin(np.hypot(*(p[::-1] - last).T)))
        for a, b in zip(p[i0:i1], p[i0 + 1 : i1 + 1], strict=True):
            assert area.covers(LineString([a, b])), (
                f"sortie {s.index}: leg {a}->{b} leaves the district"
            )
