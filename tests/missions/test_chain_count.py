"""The incremental crossing count (missions.chain_count) equals the planner's measure
(missions.route_shape.crossing_pairs) on random chains, touching and collinear cases included."""

from __future__ import annotations

import numpy as np

from missions.chain_count import ChainCounter
from missions.route_shape import crossing_pairs


def _cut(counter: ChainCounter, pts: np.ndarray, n: int, rng) -> list:
    """The polyline ``pts`` cut into up to ``n`` pieces sharing their end points."""
    cuts = sorted(rng.choice(np.arange(1, len(pts) - 1), size=min(n, len(pts) - 2), replace=False))
    bounds = [0, *cuts, len(pts) - 1]
    keys = []
    for s, e in zip(bounds, bounds[1:], strict=False):
        key = tuple(map(tuple, pts[s : e + 1].tolist()))
        counter.add(key, pts[s : e + 1])
        keys.append(key)
    return keys


def test_total_equals_the_route_shape_measure():
    rng = np.random.default_rng(1)
    counter = ChainCounter()
    for trial in range(120):
        pts = rng.random((int(rng.integers(4, 25)), 2)) * 20
        if trial % 3 == 0:
            pts = np.round(pts)  # shared points, touching and collinear legs, repeated points
        keys = _cut(counter, pts, int(rng.integers(2, 8)), rng)
        assert counter.total(keys) == len(crossing_pairs(pts)), trial


def test_delta_equals_the_difference_of_the_measure():
    rng = np.random.default_rng(2)
    counter = ChainCounter()
    for trial in range(120):
        pts = rng.random((int(rng.integers(6, 30)), 2)) * 20
        if trial % 2:
            pts = np.round(pts)
        cur = _cut(counter, pts, 5, rng)
        new = pts.copy()
        j = int(rng.integers(1, len(pts) - 1))
        new[j] = rng.random(2) * 20
        if trial % 2:
            new = np.round(new)
        cand = _cut(counter, new, 5, rng)
        want = len(crossing_pairs(new)) - len(crossing_pairs(pts))
        assert counter.delta(cur, cand) == want, trial
        # and a piece flown backwards crosses the same legs
        rev = [tuple(reversed(k)) for k in reversed(cand)]
        for k in rev:
            counter.add(k, np.array(k))
        assert counter.total(rev) == len(crossing_pairs(new[::-1])), trial
