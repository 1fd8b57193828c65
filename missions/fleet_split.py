"""Geometry of a fleet split: parallel strips of a district, their cut positions, and homes.

All geometry is in the district's local frame (metres, x east, y north). A :class:`Strips` object
holds one cut direction; positions along its axis ``u`` (the normal of the cut lines) are
metres. The free area (district minus no-fly zones) below each position is tabulated once on
:data:`PROFILE_POINTS` positions and interpolated linearly, so cut positions are found by
inverting a monotone table (no geometry in the inner loops).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.ops import nearest_points

from missions.grid import direction
from missions.settings import GeoPoint
from missions.shapes import polygons_of

PROFILE_POINTS = 513
"""Positions at which the cumulative free area along the axis is tabulated."""
HOME_INSET_M = 5.0
"""Derived homes lie this far inside their strip's free area (so homes are >= 10 m apart)."""


class Strips:
    """Strips of ``area`` between cut lines running at ``cut_angle_deg`` (clockwise from north).

    Args:
        area: The district (:class:`missions.areas.Area`).
        cut_angle_deg: Direction of the cut lines, degrees clockwise from north.
    """

    def __init__(self, area, cut_angle_deg: float):
        self.area = area
        self.cut_angle_deg = float(cut_angle_deg) % 180.0
        d = direction(self.cut_angle_deg)
        self.u = np.array([-d[1], d[0]])
        w = np.asarray(shapely.get_coordinates(area.polygon_local)) @ self.u
        self.lo, self.hi = float(w.min()) - 1.0, float(w.max()) + 1.0
        b = area.polygon_local.bounds
        self.reach = 4.0 * max(1.0, math.hypot(b[2] - b[0], b[3] - b[1]))
        self.grid = np.linspace(self.lo, self.hi, PROFILE_POINTS)
        slabs = [self.slab(self.lo, c) for c in self.grid]
        self.cum = shapely.area(shapely.intersection(area.free_local, slabs)).astype(float)
        self.cum = np.maximum.accumulate(self.cum)

    def slab(self, lo: float, hi: float) -> Polygon:
        """The band ``lo <= p·u <= hi`` (clipped far outside the district)."""
        u, r = self.u, self.reach
        v = np.array([-u[1], u[0]])
        pts = [lo * u - r * v, hi * u - r * v, hi * u + r * v, lo * u + r * v]
        return Polygon([tuple(p) for p in pts])

    def snap(self, cuts, step: float | None) -> list[float]:
        """Cuts moved to the nearest midpoint between transect lines ``step`` apart, the lines
        placed as :func:`missions.grid.transect_lines` places them over the whole district (so
        each strip holds whole transects of the single-vehicle grid); unchanged when ``step``
        is None. Cuts stay in increasing order, at least one step apart where possible."""
        if not step:
            return [float(c) for c in cuts]
        lo, hi = self.lo + 1.0, self.hi - 1.0
        lines = max(1, math.ceil((hi - lo) / step - 1e-9))
        first = lo + (hi - lo - (lines - 1) * step) / 2.0
        out, prev = [], -1
        for c in cuts:
            i = int(round((float(c) - first) / step - 0.5))
            i = min(max(i, prev + 1), lines - 2)
            out.append(first + (i + 0.5) * step)
            prev = i
        return out

    def bounds(self, cuts) -> list[float]:
        """``[lo, *cuts, hi]``: the strips' limits along the axis."""
        return [self.lo, *map(float, cuts), self.hi]

    def pieces(self, cuts) -> list[list[Polygon]]:
        """Per strip, its polygons of at least 1 m² (one each when the split is contiguous)."""
        b = self.bounds(cuts)
        out = []
        for a, c in zip(b[:-1], b[1:], strict=False):
            got = self.area.polygon_local.intersection(self.slab(a, c))
            out.append([p for p in polygons_of(got) if p.area >= 1.0])
        return out

    def gaps(self, cuts, gap_m: float) -> list:
        """Per strip, the region beyond its cuts grown by ``gap_m / 2`` (None for no gap): a
        vehicle surveying outside it stays ``gap_m`` from its neighbours' survey legs."""
        if gap_m <= 0:
            return [None] * (len(cuts) + 1)
        b, far, h = self.bounds(cuts), self.reach, gap_m / 2.0
        out = []
        for j in range(len(b) - 1):
            parts = []
            if j > 0:
                parts.append(self.slab(self.lo - far, b[j] + h))
            if j < len(b) - 2:
                parts.append(self.slab(b[j + 1] - h, self.hi + far))
            out.append(shapely.union_all(parts) if parts else None)
        return out

    def free_below(self, c) -> np.ndarray:
        """Free area (m²) between the axis start and position(s) ``c``."""
        return np.interp(c, self.grid, self.cum)

    def equal_area_cuts(self, n: int) -> list[float]:
        """Cuts giving every one of ``n`` strips the same free area."""
        return self.balanced_cuts(n, self.bounds(np.linspace(self.lo, self.hi, n + 1)[1:-1]),
                                  [1.0] * n, [0.0] * n)  # fmt: skip

    def balanced_cuts(self, n: int, bounds, density, fixed) -> list[float]:
        """Cuts that equalise ``fixed[j] + density[j] x free area`` over the n strips.

        The time model of strip j is a fixed part (take-offs, landings, layer climbs: it does
        not scale with the strip) plus a density (seconds per m² of free area) measured on the
        strip's current extent ``bounds[j]..bounds[j+1]``; beyond its current extent a position
        takes the density of the strip there. The common time tau is found by bisection: strips
        0..n-2 are cut sequentially to take tau each, the last strip takes what is left, and tau
        rises while the last strip would take more than tau.
        """
        g = self.grid
        band = np.clip(np.searchsorted(np.asarray(bounds[1:-1]), g, side="right"), 0, n - 1)
        darea = np.diff(self.cum, prepend=0.0)
        mass = np.cumsum(np.asarray(density, float)[band] * darea)
        mass = mass + 1e-9 * np.arange(len(mass))  # strictly increasing for inversion
        total = float(mass[-1])
        fixed = np.asarray(fixed, float)

        def cut_all(tau: float) -> tuple[list[float], float]:
            """Sequential cuts for a common time ``tau``; and the last strip's time."""
            cuts, m = [], float(mass[0])
            for j in range(n - 1):
                m = min(m + max(tau - fixed[j], 0.0), total)
                cuts.append(float(np.interp(m, mass, g)))
            return cuts, float(fixed[-1] + total - m)

        lo_t, hi_t = float(fixed.min()), float(fixed.max() + total)
        for _ in range(80):
            tau = 0.5 * (lo_t + hi_t)
            if cut_all(tau)[1] > tau:
                lo_t = tau
            else:
                hi_t = tau
        return cut_all(0.5 * (lo_t + hi_t))[0]


def derived_home(area, strip, clearance: float, alt_m: float, avoid=None) -> GeoPoint:
    """Home inside a strip: the point of its free area nearest its centroid.

    The free area is the strip minus the no-fly zones grown by ``clearance`` and minus
    ``avoid`` (the survey gap next to the cuts, so the climb at home is clear of the
    neighbours' survey), shrunk by :data:`HOME_INSET_M` (less if the strip is too thin):
    neighbouring strips' homes are distinct and a home never lies in a no-fly zone.
    """
    free = strip.difference(area.keepout_local.buffer(clearance)) if area.holes else strip
    if avoid is not None and not free.difference(avoid).is_empty:
        free = free.difference(avoid)
    inner = free
    for inset in (HOME_INSET_M, 1.0, 0.1):
        cand = free.buffer(-inset)
        if not cand.is_empty:
            inner = cand
            break
    c = strip.centroid
    p = c if inner.contains(c) else nearest_points(inner, c)[0]
    lat, lon = area.frame.to_geo(p.x, p.y)
    return GeoPoint(lat_deg=float(lat), lon_deg=float(lon), alt_m=float(alt_m))


def assign_homes(area, strips, homes) -> list[int]:
    """Strip index for each home: least total home-to-strip distance (greedy beyond 7 homes)."""
    pts = [Point(*map(float, area.frame.to_local(h.lat_deg, h.lon_deg))) for h in homes]
    d = np.array([[s.distance(p) for s in strips] for p in pts])
    n = len(homes)
    if n <= 7:
        best = min(itertools.permutations(range(n)), key=lambda pm: d[range(n), pm].sum())
        return list(best)
    out, used = [], set()
    for k in range(n):
        j = min((j for j in range(n) if j not in used), key=lambda j: d[k, j])
        used.add(j)
        out.append(j)
    return out
