"""Geofence geometry and breach checks, as ArduCopter's AC_Fence evaluates them.

Fence types (FENCE_TYPE bitmask, https://ardupilot.org/copter/docs/parameters.html#fence-type):
1 maximum altitude (FENCE_ALT_MAX above home), 2 circle of FENCE_RADIUS around home, 4 the
uploaded polygons and circles (mission_type FENCE: 5001/5002 polygon vertices with param1 = vertex
count, 5003/5004 circles with param1 = radius in metres), 8 minimum altitude (FENCE_ALT_MIN).
A position breaches the polygon fence when it is outside any inclusion zone or inside any
exclusion zone (AC_PolyFence_loader::breached).
"""

from __future__ import annotations

import math

from shapely import contains_xy
from shapely.geometry import Polygon

from missions.geo import LocalFrame
from missions.items import MissionItem

FENCE_TYPE_ALT_MAX = 1
FENCE_TYPE_CIRCLE = 2
FENCE_TYPE_POLYGON = 4
FENCE_TYPE_ALT_MIN = 8

BREACH_NAMES = {
    FENCE_TYPE_ALT_MAX: "Max Alt",
    FENCE_TYPE_CIRCLE: "Circle",
    FENCE_TYPE_POLYGON: "Polygon",
    FENCE_TYPE_ALT_MIN: "Min Alt",
}


class FenceGeometry:
    """Uploaded fence zones in a local metric frame.

    Args:
        items: Stored fence items in upload order (already validated).
        frame: The vehicle's local ENU frame (x east, y north, metres).
    """

    def __init__(self, items: list[MissionItem], frame: LocalFrame) -> None:
        self.inclusion: list[Polygon] = []
        self.exclusion: list[Polygon] = []
        self.inclusion_circles: list[tuple[float, float, float]] = []
        self.exclusion_circles: list[tuple[float, float, float]] = []
        self.return_point: tuple[float, float] | None = None
        i = 0
        while i < len(items):
            it = items[i]
            if it.command in (5001, 5002):
                count = max(3, int(it.param1))
                ring = [frame.to_local(v.x, v.y) for v in items[i : i + count]]
                poly = Polygon(ring)
                (self.inclusion if it.command == 5001 else self.exclusion).append(poly)
                i += count
                continue
            if it.command in (5003, 5004):
                cx, cy = frame.to_local(it.x, it.y)
                target = self.inclusion_circles if it.command == 5003 else self.exclusion_circles
                target.append((cx, cy, float(it.param1)))
            elif it.command == 5000:
                self.return_point = frame.to_local(it.x, it.y)
            i += 1

    @property
    def empty(self) -> bool:
        """True when no polygon or circle was uploaded."""
        return not (
            self.inclusion or self.exclusion or self.inclusion_circles or self.exclusion_circles
        )

    def polygon_breached(self, x: float, y: float) -> bool:
        """True when (x, y) metres is outside an inclusion zone or inside an exclusion zone."""
        for poly in self.inclusion:
            if not contains_xy(poly, x, y):
                return True
        for poly in self.exclusion:
            if contains_xy(poly, x, y):
                return True
        for cx, cy, r in self.inclusion_circles:
            if math.hypot(x - cx, y - cy) > r:
                return True
        return any(math.hypot(x - cx, y - cy) < r for cx, cy, r in self.exclusion_circles)


def breaches(
    geometry: FenceGeometry | None,
    fence_type: int,
    x: float,
    y: float,
    alt_above_home_m: float,
    home_xy: tuple[float, float],
    radius_m: float,
    alt_max_m: float,
    alt_min_m: float,
) -> int:
    """Bitmask of the fence types breached at a position.

    Args:
        geometry: Uploaded zones (None or empty: the polygon type never breaches).
        fence_type: FENCE_TYPE bitmask.
        x: East of the local origin, m.
        y: North of the local origin, m.
        alt_above_home_m: Altitude above home, m.
        home_xy: Home in the local frame, m.
        radius_m: FENCE_RADIUS, m.
        alt_max_m: FENCE_ALT_MAX, m.
        alt_min_m: FENCE_ALT_MIN, m.

    Returns:
        OR of FENCE_TYPE_* bits breached (0 = inside).
    """
    out = 0
    if fence_type & FENCE_TYPE_ALT_MAX and alt_above_home_m > alt_max_m:
        out |= FENCE_TYPE_ALT_MAX
    if fence_type & FENCE_TYPE_ALT_MIN and alt_above_home_m < alt_min_m:
        out |= FENCE_TYPE_ALT_MIN
    if fence_type & FENCE_TYPE_CIRCLE and math.hypot(x - home_xy[0], y - home_xy[1]) > radius_m:
        out |= FENCE_TYPE_CIRCLE
    if fence_type & FENCE_TYPE_POLYGON and geometry is not None and geometry.polygon_breached(x, y):
        out |= FENCE_TYPE_POLYGON
    return out


def breach_text(mask: int) -> str:
    """Names of the breached types, e.g. ``"Polygon, Max Alt"``."""
    return ", ".join(name for bit, name in BREACH_NAMES.items() if mask & bit)
