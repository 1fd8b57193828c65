"""Planning by risk: fly over red ground first, then orange, then yellow, and red again on a timer.

The planner's lawnmower order (:mod:`missions.grid`) covers the district; this module only
re-orders it. Each transect segment is cut where its swept camera footprint starts and stops
seeing a risk class, the pieces are grouped red → orange → yellow → the rest (each group keeps
the lawnmower order, so neighbouring pieces still alternate direction), and the sorties are cut
from that order as before. The pieces together are exactly the original segments, so coverage of
the district does not change. With ``revisit_min`` the red pieces are flown again whenever that
many minutes of flight have passed since the last red pass (estimated along straight
connections at cruise speed; battery changes are not counted).

:func:`risk_stats` reports, per class, the ground covered and the flight time of the first visit
(time since the first take-off, summed over sorties; battery changes not counted).
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from missions.camera import Footprint
from missions.coverage import swept_segments, transects_coverage
from missions.grid import Segment
from missions.risk import PRIORITY_CLASSES, RISK_CLASSES

MIN_PIECE_M = 1.0
"""Pieces shorter than this at a segment's ends are merged into the risk piece."""


def _swept(seg: Segment, fp: Footprint) -> BaseGeometry:
    return swept_segments(
        np.array([seg.a]), np.array([seg.b]), fp, headings=np.array([seg.heading])
    )[0]


def _seen_interval(seg: Segment, region: BaseGeometry, fp: Footprint) -> tuple[float, float] | None:
    """Distances along ``seg`` (0..length, metres) between which the footprint sees ``region``."""
    inter = _swept(seg, fp).intersection(region)
    if inter.is_empty or inter.area <= 1e-6:
        return None
    length = seg.length
    if length < 1e-9:
        return (0.0, 0.0)
    u = np.asarray(seg.heading, float)
    pts = shapely.get_coordinates(inter)
    t = (pts - np.asarray(seg.a)) @ u
    ys = fp.corners[:, 1]
    t0 = max(0.0, float(t.min()) - float(ys.max()))
    t1 = min(length, float(t.max()) - float(ys.min()))
    if t0 < MIN_PIECE_M:
        t0 = 0.0
    if length - t1 < MIN_PIECE_M:
        t1 = length
    return (t0, t1) if t1 >= t0 else None


def _at(seg: Segment, t: float) -> tuple[float, float]:
    a, u = np.asarray(seg.a), np.asarray(seg.heading)
    p = a + t * u
    return (float(p[0]), float(p[1]))


def split_by_risk(
    seg: Segment, regions: dict[str, BaseGeometry], fp: Footprint
) -> list[tuple[str | None, Segment]]:
    """Cut a segment into pieces labelled with the most urgent class their footprint sees.

    Args:
        seg: The transect segment (local metres).
        regions: Class → ground of that class, local metres (:meth:`RiskMap.regions_local`).
        fp: Camera footprint.

    Returns:
        ``(class or None, piece)`` in flight order; the pieces join up to ``seg`` exactly.
    """
    pieces: list[tuple[str | None, Segment]] = [(None, seg)]
    for cls in PRIORITY_CLASSES:
        region = regions.get(cls)
        if region is None or region.is_empty:
            continue
        out: list[tuple[str | None, Segment]] = []
        for label, piece in pieces:
            iv = None if label is not None else _seen_interval(piece, region, fp)
            if iv is None:
                out.append((label, piece))
                continue
            t0, t1 = iv
            length = piece.length
            m0, m1 = _at(piece, t0), _at(piece, t1)
            if t0 > 0:
                out.append((None, Segment(piece.line, piece.a, m0, piece.heading)))
            out.append((cls, Segment(piece.line, m0 if t0 > 0 else piece.a,
                                     m1 if t1 < length else piece.b, piece.heading)))  # fmt: skip
            if t1 < length:
                out.append((None, Segment(piece.line, m1, piece.b, piece.heading)))
        pieces = out
    return _merge_stubs(pieces, float(np.ptp(fp.corners[:, 1])))


def _rank(label: str | None) -> int:
    return PRIORITY_CLASSES.index(label) if label is not None else len(PRIORITY_CLASSES)


def _merge_stubs(pieces: list, stub_m: float) -> list:
    """Give unlabelled pieces shorter than ``stub_m`` (the footprint's along-track extent) the
    most urgent neighbour's class, then join neighbours of one class: a stub left at a transect's
    end would otherwise be flown on its own, far away, seeing almost nothing new."""
    stub_m = max(stub_m, MIN_PIECE_M)
    labels = [lab for lab, _ in pieces]
    for i, (lab, seg) in enumerate(pieces):
        if lab is None and seg.length < stub_m:
            near = [labels[j] for j in (i - 1, i + 1) if 0 <= j < len(pieces) and labels[j]]
            if near:
                labels[i] = min(near, key=_rank)
    out: list = []
    for lab, (_, seg) in zip(labels, pieces, strict=True):
        if out and out[-1][0] == lab:
            prev = out[-1][1]
            out[-1] = (lab, Segment(prev.line, prev.a, seg.b, prev.heading))
        else:
            out.append((lab, seg))
    return out


def prioritise(
    order: list[Segment], regions: dict[str, BaseGeometry], fp: Footprint
) -> tuple[list[Segment], list[str | None]]:
    """Re-order segments red → orange → yellow → rest, cutting them where the class changes.

    Returns:
        (segments in the new order, the class of each, None for the rest).
    """
    groups: dict[str | None, list[Segment]] = {c: [] for c in (*PRIORITY_CLASSES, None)}
    for seg in order:
        for label, piece in split_by_risk(seg, regions, fp):
            groups[label].append(piece)
    segs, labels = [], []
    for c in (*PRIORITY_CLASSES, None):
        segs.extend(groups[c])
        labels.extend([c] * len(groups[c]))
    return segs, labels


def with_revisits(
    order: list[Segment], labels: list[str | None], interval_s: float, speed_m_s: float, home_xy
) -> tuple[list[Segment], list[str | None]]:
    """Insert another pass over the red pieces whenever ``interval_s`` of flight has passed since
    the last red pass began (straight connections at ``speed_m_s``; see the module notes).

    Returns:
        (segments, classes) with the repeated red passes inserted.
    """
    red = [s for s, c in zip(order, labels, strict=True) if c == "red"]
    if not red or interval_s <= 0:
        return order, labels
    out, out_labels = [], []
    pos, t, last_red = tuple(home_xy), 0.0, 0.0

    def fly(seg: Segment) -> None:
        """Advance the position and the flight clock (s) over ``seg`` and its approach leg."""
        nonlocal pos, t
        t += (math.dist(pos, seg.a) + seg.length) / speed_m_s
        pos = seg.b

    i = 0
    while i < len(order) and labels[i] == "red":
        out.append(order[i])
        out_labels.append("red")
        fly(order[i])
        i += 1
    for seg, label in zip(order[i:], labels[i:], strict=True):
        if t - last_red >= interval_s:
            last_red = t
            for r in red:
                out.append(r)
                out_labels.append("red")
                fly(r)
        out.append(seg)
        out_labels.append(label)
        fly(seg)
    return out, out_labels


def risk_stats(
    sorties, regions: dict[str, BaseGeometry], target: BaseGeometry, fp: Footprint, model,
    counts: dict[str, int] | None = None,
) -> dict[str, dict]:  # fmt: skip
    """Per risk class: ground, coverage and the times the patrol sees it.

    Args:
        sorties: Planned sorties (``path_local``, ``transects``, ``flight_time_s``).
        regions: Class → ground, local metres.
        target: The free area of the district (what coverage is measured against).
        fp: Camera footprint.
        model: :class:`~missions.flight_time.FlightModel` (climb time and route timing).
        counts: Features per class, reported as ``features``.

    Returns:
        ``{class: {features, area_m2, coverage_pct, first_visit_s, visits_s}}`` for every class
        in :data:`RISK_CLASSES`; ``area_m2`` is the class's ground inside the district's free
        area, ``coverage_pct`` the share of it swept by the transect footprints (None when the
        class has no ground in the district), ``first_visit_s`` the flight time since the first
        take-off when the footprint first reaches it (None: never), ``visits_s`` the start times
        of each separate pass over it (a pass = consecutive transects that see it).
    """
    climb_s = max(model.takeoff_alt_m, model.alt_m) / model.climb_m_s
    # (start time, segment) of every transect flown, in order
    timeline: list[tuple[float, Segment]] = []
    base = 0.0
    for s in sorties:
        path = np.asarray(s.path_local, float)
        j = 0
        for seg in s.transects:
            d = np.hypot(path[j:, 0] - seg.a[0], path[j:, 1] - seg.a[1])
            k = j + int(np.argmin(d))
            timeline.append((base + climb_s + model.route_s(path[: k + 1]), seg))
            j = k
        base += s.flight_time_s
    covered = transects_coverage([(s.a, s.b, s.heading) for _, s in timeline], fp)
    out: dict[str, dict] = {}
    for cls in RISK_CLASSES:
        region = regions.get(cls)
        inside = region.intersection(target) if region is not None else None
        area = float(inside.area) if inside is not None else 0.0
        row = {
            "features": (counts or {}).get(cls, 0),
            "area_m2": round(area, 1),
            "coverage_pct": round(100.0 * covered.intersection(inside).area / area, 2)
            if area > 1e-6
            else None,
            "first_visit_s": None,
            "visits_s": [],
        }
        if area > 1e-6:
            prev = False
            for t_start, seg in timeline:
                iv = _seen_interval(seg, inside, fp)
                if iv is not None and not prev:
                    t = t_start + iv[0] / model.speed_m_s
                    row["visits_s"].append(round(t, 1))
                prev = iv is not None
            if row["visits_s"]:
                row["first_visit_s"] = row["visits_s"][0]
        out[cls] = row
    return out
