"""Self-crossings of a chain of pieces, counted incrementally for the leg-order search.

The leg-order search (:mod:`missions.leg_order`) scores thousands of candidate orders that differ
from the current one in a few places (a cell's way, a cell moved, a run reversed, a repair pass
inserted). Counting each candidate's crossings from scratch (:func:`missions.route_shape.
crossing_pairs` over the whole chain, quadratic in its legs) took most of the planning time. Here
a chain is a sequence of *pieces* (any polyline with a hashable key: a cell flown one way, a
routed connection, a home leg), and its count is

    Σ internal(p) + Σ over pairs of pieces cross(p, q) − (number of consecutive pieces),

where ``internal`` is the count within one piece (neighbours skipped),
``cross`` counts every pair of legs of two pieces closer than :data:`NEAR_M` (GEOS distances,
as :func:`missions.route_shape.segment_distance` computes them; a piece's legs are queried in a
shapely ``STRtree`` of the whole chain's legs), and consecutive pieces share an end point, so
their touching end legs (neighbours in the whole chain) are taken off again. Legs shorter than
:data:`MIN_LEG_M` are left out as :mod:`missions.route_shape` does. The value equals
``len(crossing_pairs(points of the chain))`` (checked in the tests); ``cross`` is cached per pair
of pieces, and :meth:`ChainCounter.delta` prices a candidate from the pieces it removes and adds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np
import shapely

from missions.route_shape import (
    MIN_LEG_M,
    NEAR_M,
    intersecting_pairs,
)


class ChainCounter:
    """Pieces by key, their legs, and the crossing counts between pairs of them (cached)."""

    def __init__(self) -> None:
        self._legs: dict[Hashable, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._internal: dict[Hashable, int] = {}
        self._cross: dict[tuple, int] = {}
        self._geoms: dict[Hashable, np.ndarray] = {}
        self._empties: set = set()
        self.memo: dict = {}
        self._ids: dict[tuple, int] = {}
        """Callers' cache of piece keys by what the piece stands for (a segment, a connection)."""
        self._chain_key: tuple | None = None
        self._rows: dict[Hashable, int] = {}

    def add(self, key: Hashable, points) -> None:
        """Register piece ``key`` with its (M, 2) polyline, metres (once per key)."""
        if key in self._legs:
            return
        p = np.asarray(points, float).reshape(-1, 2)
        a, b = p[:-1], p[1:]
        keep = np.hypot(*(b - a).T) >= MIN_LEG_M
        a, b = a[keep], b[keep]
        box = np.zeros(4)
        if len(a):
            box = np.concatenate(
                [np.minimum(a, b).min(0) - NEAR_M, np.maximum(a, b).max(0) + NEAR_M]
            )
        self._legs[key] = (a, b, box)
        if not len(a):
            self._empties.add(key)
        self._geoms[key] = (
            shapely.linestrings(np.stack([a, b], axis=1)) if len(a) else np.zeros(0, dtype=object)
        )
        # pairs of its own legs that are not consecutive (no closing wrap: inside a chain the
        # piece's first and last legs are not neighbours even when it ends where it starts)
        self._internal[key] = (
            len(intersecting_pairs(a, b, skip_neighbours=True)) if len(a) >= 3 else 0
        )

    def piece(self, points) -> int:
        """Register a polyline as a piece keyed by its points in a canonical direction (a piece
        flown backwards crosses the same legs, so it shares the key); returns the key."""
        p = np.asarray(points, float).reshape(-1, 2)
        fwd = tuple(map(tuple, p.tolist()))
        canon = min(fwd, fwd[::-1])
        key = self._ids.get(canon)
        if key is None:  # a small int: cheap to hash in the caches below
            key = self._ids[canon] = -1 - len(self._ids)
            self.add(key, p)
        return key

    def empty(self, key: Hashable) -> bool:
        """True when the piece has no leg of at least :data:`MIN_LEG_M`."""
        return len(self._legs[key][0]) == 0

    def cross(self, u: Hashable, v: Hashable) -> int:
        """Pairs of legs (one of ``u``, one of ``v``) closer than :data:`NEAR_M`, cached."""
        key = (u, v)
        got = self._cross.get(key)
        if got is not None:
            return got
        au, bu, box_u = self._legs[u]
        av, bv, box_v = self._legs[v]
        got = 0
        if (
            len(au)
            and len(av)
            and box_u[0] <= box_v[2]
            and box_v[0] <= box_u[2]
            and box_u[1] <= box_v[3]
            and box_v[1] <= box_u[3]
        ):
            gu, gv = self._geoms[u], self._geoms[v]
            got = int(shapely.dwithin(np.repeat(gu, len(gv)), np.tile(gv, len(gu)), NEAR_M).sum())
        self._cross[key] = got
        self._cross[(v, u)] = got
        return got

    def _adjacent(self, keys: Sequence[Hashable]) -> int:
        """Consecutive pairs among the non-empty pieces of a chain."""
        n = len(keys)
        if self._empties:
            n -= sum(1 for k in keys if k in self._empties)
        return max(0, n - 1)

    def total(self, keys: Sequence[Hashable]) -> int:
        """Crossings of the chain of pieces ``keys`` (module notes)."""
        n = sum(self._internal[k] for k in keys)
        for i, u in enumerate(keys):
            for v in keys[i + 1 :]:
                n += self.cross(u, v)
        return n - self._adjacent(keys)

    def _rows_of(self, u: Hashable, chain: Sequence[Hashable]) -> np.ndarray:
        """cross(u, k) for each piece k of ``chain`` (u itself included when in it): u's legs
        queried in a spatial index of the chain's legs (shapely's STRtree, built once per chain),
        cached while the chain is the same."""
        key = tuple(chain)
        if key != self._chain_key:
            self._chain_key = key
            pieces = [self._geoms[k] for k in key]
            geoms = np.concatenate(pieces) if pieces else np.zeros(0, dtype=object)
            self._tree = shapely.STRtree(geoms)
            self._chain_owner = np.repeat(np.arange(len(key)), [len(g) for g in pieces])
            self._chain_pos = {}
            for i, k in enumerate(key):
                self._chain_pos.setdefault(k, []).append(i)
            self._rows = {}
        got = self._rows.get(u)
        if got is not None:
            return got
        got = np.zeros(len(key), dtype=np.int64)
        mine = self._geoms[u]
        if len(mine) and len(self._chain_owner):
            # GEOS distance between the legs (the same as segment_distance, checked in tests)
            _, hit = self._tree.query(mine, predicate="dwithin", distance=NEAR_M)
            if len(hit):
                got = np.bincount(self._chain_owner[hit], minlength=len(key))
        self._rows[u] = got
        return got

    def row(self, u: Hashable, chain: Sequence[Hashable]) -> int:
        """Σ cross(u, k) over every piece k of ``chain`` (u itself included when in it)."""
        return int(self._rows_of(u, chain).sum())

    def delta(self, cur: Sequence[Hashable], cand: Sequence[Hashable]) -> int:
        """``total(cand) - total(cur)``, from the pieces one has and the other lacks.

        Pieces are counted as a multiset; the result is exact as long as each chain's
        consecutive pieces share their end points. Each piece added or removed is tested once
        against the whole of ``cur`` (cached while ``cur`` stays the same).
        """
        c_cur, c_new = Counter(cur), Counter(cand)
        removed = list((c_cur - c_new).elements())
        added = list((c_new - c_cur).elements())
        return self.change(cur, removed, added)

    def change(self, cur: Sequence[Hashable], removed: list, added: list) -> int:
        """:meth:`delta` when the pieces removed from ``cur`` and added are known (the new
        chain is again a chain of consecutive pieces)."""
        d = sum(self._internal[k] for k in added) - sum(self._internal[k] for k in removed)
        # positions in cur of the removed pieces (a piece twice in cur: its copies in turn)
        taken: dict = {}
        pos = []
        for r in removed:
            k = taken.get(r, 0)
            taken[r] = k + 1
            pos.append(self._chain_positions(cur, r)[k])
        for u in added:  # against the pieces both chains have: all of cur but the removed ones
            rows = self._rows_of(u, cur)
            d += int(rows.sum()) - int(rows[pos].sum())
        for i, u in enumerate(added):
            for v in added[i + 1 :]:
                d += self.cross(u, v)
        for i, u in enumerate(removed):
            rows = self._rows_of(u, cur)
            d -= int(rows.sum()) - int(rows[pos].sum())
            d -= int(rows[pos[i + 1 :]].sum())  # pairs of removed pieces, once each
        n_cur = len(cur) - (sum(1 for k in cur if k in self._empties) if self._empties else 0)
        n_rem = sum(1 for k in removed if k not in self._empties)
        n_add = sum(1 for k in added if k not in self._empties)
        n_new = n_cur - n_rem + n_add
        return d - (max(0, n_new - 1) - max(0, n_cur - 1))

    def _chain_positions(self, chain: Sequence[Hashable], k: Hashable) -> list[int]:
        """Indices of piece ``k`` in ``chain``."""
        self._rows_of(k, chain)  # makes chain the cached one
        return self._chain_pos[k]
