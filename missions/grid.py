"""Survey grid: parallel transects clipped to the free area, and a boustrophedon order over them.

Transects are straight lines at a fixed spacing across the area, in the direction ``angle_deg``
(degrees clockwise from north), clipped to the flyable region (district minus no-fly holes, so a
line that meets a hole or a concave notch becomes several segments). Segments are grouped into
cells as in the boustrophedon cellular decomposition (H. Choset, "Coverage of known spaces: the
boustrophedon cellular decomposition", Autonomous Robots 9, 2000): consecutive lines whose segments
overlap one-to-one form a cell that is flown back and forth; the cells are visited in
nearest-neighbour order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

MIN_SEGMENT_M = 0.5
"""Transect pieces shorter than this are dropped (they are tangents, not coverage)."""


def direction(angle_deg: float) -> np.ndarray:
    """Unit vector (east, north) of a bearing in degrees clockwise from north."""
    t = math.radians(angle_deg)
    return np.array([math.sin(t), math.cos(t)])


@dataclass(frozen=True)
class Segment:
    """A piece of one transect line, oriented in the direction of flight.

    Attributes:
        line: Index of the transect line (0 = the leftmost looking along ``angle_deg``; -1 for
            added coverage segments).
        a: Start point, local metres (2,).
        b: End point, local metres (2,).
        heading: Unit direction of flight (2,) (defined even when a == b).
    """

    line: int
    a: tuple[float, float]
    b: tuple[float, float]
    heading: tuple[float, float]

    @property
    def length(self) -> float:
        """Length in metres."""
        return math.hypot(self.b[0] - self.a[0], self.b[1] - self.a[1])

    def reversed(self) -> Segment:
        """The same segment flown the other way."""
        return Segment(self.line, self.b, self.a, (-self.heading[0], -self.heading[1]))


MAX_TRANSECTS = 5000
"""A spacing that needs more transects than this is refused (``--spacing 0.001`` would plan
millions and never finish)."""


def transect_lines(region: BaseGeometry, angle_deg: float, spacing_m: float) -> list[list[Segment]]:
    """Clip parallel transect lines to a region.

    The lines are centred on the region's extent across the transect direction, so the outermost
    lines lie at most half a spacing inside the extremes (each footprint strip, at least one
    spacing wide, reaches the edge).

    Args:
        region: Flyable region, local metres.
        angle_deg: Transect direction, degrees clockwise from north.
        spacing_m: Distance between lines, metres (> 0).

    Returns:
        One list per line (left to right looking along the direction), each with that line's
        segments ordered along the direction, oriented along it. Lines that miss the region are
        empty lists.

    Raises:
        AreaError: More than :data:`MAX_TRANSECTS` lines would be needed.
    """
    if region.is_empty:
        return []
    d = direction(angle_deg)
    left = np.array([-d[1], d[0]])
    # rotate so that the transect direction is +u and the left normal is +w
    rot = shapely.affinity.affine_transform(region, [d[0], d[1], left[0], left[1], 0.0, 0.0])
    umin, wmin, umax, wmax = rot.bounds
    span = wmax - wmin
    n = max(1, math.ceil(span / spacing_m - 1e-9))
    if n > MAX_TRANSECTS:
        from missions.errors import AreaError

        raise AreaError(
            f"a transect spacing of {spacing_m:g} m makes {n:,} transects across the area "
            f"({span:,.0f} m wide); at most {MAX_TRANSECTS:,}: use a larger spacing or overlap"
        )
    first = wmin + (span - (n - 1) * spacing_m) / 2.0
    ws = first + spacing_m * np.arange(n)
    ws = ws[::-1]  # left to right looking along the direction = decreasing w
    lines = shapely.linestrings(
        np.stack(
            [
                np.column_stack([np.full(n, umin - 1.0), ws]),
                np.column_stack([np.full(n, umax + 1.0), ws]),
            ],
            axis=1,
        )
    )
    shapely.prepare(rot)
    inter = shapely.intersection(lines, rot)
    out: list[list[Segment]] = []
    h = (float(d[0]), float(d[1]))
    for k, (w, geom) in enumerate(zip(ws, inter, strict=False)):
        spans = []
        for part in shapely.get_parts(geom):
            if part.geom_type != "LineString" or part.length < MIN_SEGMENT_M:
                continue
            us = np.asarray(part.coords)[:, 0]
            spans.append((float(us.min()), float(us.max())))
        spans.sort()
        merged: list[list[float]] = []
        for u0, u1 in spans:
            if merged and u0 <= merged[-1][1] + 1e-6:
                merged[-1][1] = max(merged[-1][1], u1)
            else:
                merged.append([u0, u1])
        segs = []
        for u0, u1 in merged:
            a = u0 * d + w * left
            b = u1 * d + w * left
            segs.append(Segment(k, (float(a[0]), float(a[1])), (float(b[0]), float(b[1])), h))
        out.append(segs)
    return out


def _u(seg: Segment, d: np.ndarray) -> tuple[float, float]:
    ua = seg.a[0] * d[0] + seg.a[1] * d[1]
    ub = seg.b[0] * d[0] + seg.b[1] * d[1]
    return (min(ua, ub), max(ua, ub))


def cells(lines: list[list[Segment]], angle_deg: float) -> list[list[Segment]]:
    """Group segments into boustrophedon cells (one segment per consecutive line per cell).

    A segment continues the cell of a segment on the previous line when the two overlap along the
    transect direction and neither overlaps any other segment across that pair of lines.
    """
    d = direction(angle_deg)
    result: list[list[Segment]] = []
    prev: list[Segment] = []
    prev_cell: dict[int, int] = {}
    for segs in lines:
        cur_cell: dict[int, int] = {}
        if not segs:
            prev, prev_cell = [], {}
            continue
        pu = [_u(s, d) for s in prev]
        cu = [_u(s, d) for s in segs]
        over_c = [[i for i, p in enumerate(pu) if p[0] < c[1] and c[0] < p[1]] for c in cu]
        over_p = [[j for j, c in enumerate(cu) if p[0] < c[1] and c[0] < p[1]] for p in pu]
        for j, s in enumerate(segs):
            if len(over_c[j]) == 1 and len(over_p[over_c[j][0]]) == 1 and over_c[j][0] in prev_cell:
                ci = prev_cell[over_c[j][0]]
                result[ci].append(s)
            else:
                ci = len(result)
                result.append([s])
            cur_cell[j] = ci
        prev, prev_cell = segs, cur_cell
    return result


def _cell_entries(cell: list[Segment]) -> list[tuple[tuple, tuple, list[Segment]]]:
    """The 4 ways to fly a cell: (entry point, exit point, oriented segments)."""
    out = []
    for seq in (cell, cell[::-1]):
        for flip in (False, True):
            oriented = []
            for k, s in enumerate(seq):
                rev = (k % 2 == 1) != flip
                oriented.append(s.reversed() if rev else s)
            out.append((oriented[0].a, oriented[-1].b, oriented))
    return out


def boustrophedon_order(
    lines: list[list[Segment]], angle_deg: float, start_xy, first_entry_near=None
) -> list[Segment]:
    """Order and orient all segments: cells flown back and forth, visited nearest-first.

    Args:
        lines: Output of :func:`transect_lines`.
        angle_deg: Transect direction (for the cell decomposition).
        start_xy: Where the vehicle comes from (home), local metres.
        first_entry_near: The first cell and its entry corner are chosen closest to this point
            (a start corner); default ``start_xy``.

    Returns:
        The oriented segments in flight order.
    """
    todo = cells(lines, angle_deg)
    if not todo:
        return []
    ways = [_cell_entries(c) for c in todo]
    pos = np.asarray(start_xy if first_entry_near is None else first_entry_near, float)
    remaining = set(range(len(todo)))
    order: list[Segment] = []
    while remaining:
        best = None
        for ci in remaining:
            for entry, exit_, oriented in ways[ci]:
                dist = math.hypot(entry[0] - pos[0], entry[1] - pos[1])
                if best is None or dist < best[0]:
                    best = (dist, ci, exit_, oriented)
        _, ci, exit_, oriented = best
        remaining.discard(ci)
        order.extend(oriented)
        pos = np.asarray(exit_, float)
    return order


def estimated_length(order: list[Segment], home_xy) -> float:
    """Transect length plus straight-line connections and home legs, metres (a lower bound)."""
    if not order:
        return 0.0
    total = sum(s.length for s in order)
    pos = home_xy
    for s in order:
        total += math.hypot(s.a[0] - pos[0], s.a[1] - pos[1])
        pos = s.b
    total += math.hypot(home_xy[0] - pos[0], home_xy[1] - pos[1])
    return total


def apply_turnaround(
    order: list[Segment], turnaround_m: float, space: BaseGeometry
) -> list[Segment]:
    """Extend (positive) or shorten (negative) each segment at both ends.

    A positive turnaround extends the segment along its direction by up to ``turnaround_m``, but
    only as far as the extension stays inside ``space`` (the flyable transit space: never into a
    hole or past the fence). A negative one shortens both ends; a segment shorter than twice the
    amount shrinks to its midpoint.
    """
    if turnaround_m == 0 or not order:
        return list(order)
    out = []
    if turnaround_m > 0:
        shapely.prepare(space)
    for s in order:
        h = np.asarray(s.heading)
        a, b = np.asarray(s.a), np.asarray(s.b)
        if turnaround_m < 0:
            cut = -turnaround_m
            if s.length <= 2 * cut:
                mid = (a + b) / 2.0
                out.append(Segment(s.line, tuple(mid), tuple(mid), s.heading))
            else:
                out.append(Segment(s.line, tuple(a + cut * h), tuple(b - cut * h), s.heading))
            continue
        ea = _free_extension(a, -h, turnaround_m, space)
        eb = _free_extension(b, h, turnaround_m, space)
        out.append(Segment(s.line, tuple(a - ea * h), tuple(b + eb * h), s.heading))
    return out


def _free_extension(p: np.ndarray, u: np.ndarray, length: float, space: BaseGeometry) -> float:
    """How far one can go from p along u (up to length) staying inside space (minus 5 cm)."""
    ray = LineString([p, p + length * u])
    if space.covers(ray):
        return length
    inter = ray.intersection(space)
    best = 0.0
    for part in shapely.get_parts(inter):
        if part.geom_type != "LineString" or part.is_empty:
            continue
        c = np.asarray(part.coords)
        t = (c - p) @ u
        if t.min() <= 1e-6:
            best = max(best, float(t.max()))
    return max(0.0, best - 0.05) if best < length else length


def two_opt(
    order: list[Segment], home_xy, *, keep_first: bool = False, passes: int = 6
) -> list[Segment]:
    """Shorten the tour home → segments → home by reversing sub-chains (2-opt).

    Reversing the chain of segments i..j flies them in the opposite order and direction; with
    straight-line connections only the two connections at the chain's ends change length, so each
    move is evaluated in O(1) (Croes, "A method for solving traveling-salesman problems",
    Operations Research 6, 1958).

    Args:
        order: Oriented segments in flight order.
        home_xy: Start and end of the tour.
        keep_first: Never change the first segment's entry point (a requested start corner).
        passes: Maximum number of improvement passes.
    """
    n = len(order)
    if n < 2:
        return list(order)
    order = list(order)
    home = np.asarray(home_xy, float)
    a = np.array([s.a for s in order], float)
    b = np.array([s.b for s in order], float)
    for _ in range(passes):
        improved = False
        for i in range(1 if keep_first else 0, n):
            prev_exit = home if i == 0 else b[i - 1]
            j = np.arange(i, n)
            nxt = np.vstack([a[1:], home[None, :]])[j]
            old = np.hypot(*(prev_exit - a[i]).T) + np.hypot(*(b[j] - nxt).T)
            new = np.hypot(*(prev_exit - b[j]).T) + np.hypot(*(a[i] - nxt).T)
            delta = new - old
            k = int(np.argmin(delta))
            if delta[k] < -1e-6:
                jj = i + k
                order[i : jj + 1] = [s.reversed() for s in reversed(order[i : jj + 1])]
                a[i : jj + 1], b[i : jj + 1] = (
                    b[i : jj + 1][::-1].copy(),
                    a[i : jj + 1][::-1].copy(),
                )
                improved = True
        if not improved:
            break
    return order


def cheapest_insertion(
    order: list[Segment], seg: Segment, home_xy, *, allow_reverse: bool = True
) -> list[Segment]:
    """Insert ``seg`` where it lengthens the straight-line tour least.

    Args:
        order: Oriented segments in flight order.
        seg: The segment to insert.
        home_xy: Start and end of the tour.
        allow_reverse: Also consider flying ``seg`` the other way (not for a camera that looks
            ahead, whose coverage depends on the direction).
    """
    home = np.asarray(home_xy, float)
    if order:
        a = np.array([s.a for s in order], float)
        b = np.array([s.b for s in order], float)
        outs = np.vstack([home[None, :], b])  # where the tour is before each gap
        ins = np.vstack([a, home[None, :]])  # where it goes after each gap
    else:
        outs = home[None, :]
        ins = home[None, :]
    base = np.hypot(*(ins - outs).T)
    best = None
    for cand in (seg, seg.reversed()) if allow_reverse else (seg,):
        ca, cb = np.asarray(cand.a), np.asarray(cand.b)
        cost = np.hypot(*(outs - ca).T) + cand.length + np.hypot(*(ins - cb).T) - base
        i = int(np.argmin(cost))
        if best is None or cost[i] < best[0]:
            best = (float(cost[i]), i, cand)
    _, i, cand = best
    return [*order[:i], cand, *order[i:]]
