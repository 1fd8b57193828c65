"""Leg order without self-crossings: cells flown back and forth, ordered by a local search.

The transects are grouped into the cells of the boustrophedon cellular decomposition (H. Choset,
"Coverage of known spaces: the boustrophedon cellular decomposition", Autonomous Robots 9, 2000;
:func:`missions.grid.cells`): a cell is a run of neighbouring transect pieces with no hole or
notch between them. Each cell can be flown in a few *ways*:

* back and forth (an S: every other piece reversed), entered at any of its four corners;
* for a camera that looks ahead, also every piece in one direction (a Z: after each piece the
  vehicle flies diagonally back across the cell to the start of the next). A forward-looking
  camera sees the ground from ``ymin`` metres ahead of the vehicle, so each piece starts with a
  *lead-in* of that length before the area's edge (inside the fence, outside the no-fly zones).
  Where a piece starts at a no-fly zone there is no room for a lead-in; a Z that flies every piece
  towards the zone needs none there, instead of a coverage-repair pass flown backwards over it.

The order of the cells and the way of each are chosen by a local search (first improvement:
change a cell's way, move a cell elsewhere, reverse a run of cells, as in 2-opt: G. A. Croes, "A
method for solving traveling-salesman problems", Operations Research 6, 1958) whose objective is,
in this order: the number of self-crossings of the chain of straight legs (pieces and the
connections between them; :mod:`missions.route_shape` defines what counts), then its length plus
the length of the repair passes that pieces without a lead-in would need. In a Euclidean tour a
crossing can always be removed by a 2-opt move that shortens it (Flood, "The traveling-salesman
problem", Operations Research 4, 1956); with whole cells as the cities this holds only
approximately, hence the crossing count as the first key. Candidates are counted incrementally
(:mod:`missions.chain_count`: only the pieces a move adds or removes are tested).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np

from missions.chain_count import ChainCounter
from missions.grid import Segment
from missions.route_shape import crossing_pairs

MAX_EVALUATIONS = 1500
"""Upper bound on candidate orders evaluated by one search (keeps planning time bounded)."""
LEG_EVALUATIONS = 60000
"""... and on candidates × legs of the chain (each evaluation costs about linear time in it)."""
MAX_STALE_KICKS = 10
"""The iterated local search stops after this many kicks in a row that found nothing better."""
HOME_CROSSING_M = 100.0
"""A crossing of a take-off or return leg weighs like this much extra route, metres."""


@dataclass(frozen=True)
class Way:
    """One way to fly a cell: its oriented pieces (lead-ins applied) and their missing lead-ins.

    Attributes:
        segs: Oriented pieces in flight order, local metres.
        blocked: Pieces whose lead-in is cut short (a repair pass will be needed), count.
    """

    segs: tuple[Segment, ...]
    blocked: int

    @property
    def entry(self) -> tuple[float, float]:
        """Where the way starts."""
        return self.segs[0].a

    @property
    def exit(self) -> tuple[float, float]:
        """Where the way ends."""
        return self.segs[-1].b


Extend = Callable[[Segment], tuple[Segment, bool]]
"""Lead-in of an oriented piece: (the piece with its lead-in, True when the lead-in is cut short)."""


def cell_ways(cell: list[Segment], extend: Extend | None) -> list[Way]:
    """Every way to fly ``cell`` (module notes): 4 S-shaped ones, plus 4 Z-shaped ones with a
    lead-in function (a camera that looks ahead)."""
    cache: dict[Segment, tuple[Segment, bool]] = {}

    def ext(s: Segment) -> tuple[Segment, bool]:
        """``extend`` with a cache (each oriented piece is extended once)."""
        if extend is None:
            return s, False
        got = cache.get(s)
        if got is None:
            got = extend(s)
            cache[s] = got
        return got

    ways: list[Way] = []
    patterns = [lambda k, flip: (k % 2 == 1) != flip]
    if extend is not None:
        patterns.append(lambda k, flip: flip)
    seen = set()
    for pattern in patterns:
        for seq in (cell, cell[::-1]):
            for flip in (False, True):
                oriented = [s.reversed() if pattern(k, flip) else s for k, s in enumerate(seq)]
                got = [ext(s) for s in oriented]
                key = tuple(g[0] for g in got)
                if key in seen:
                    continue
                seen.add(key)
                ways.append(Way(key, sum(1 for g in got if g[1])))
    return ways


def _chain(plan: list[tuple[int, int]], ways: list[list[Way]]) -> list[Segment]:
    return [s for ci, wi in plan for s in ways[ci][wi].segs]


Connect = Callable[[tuple, tuple], list]
"""The connection flown between two points: ``[a, ..., b]`` (a routed path, or just ``[a, b]``)."""


def chain_points(segs: list[Segment], connect: Connect | None = None) -> np.ndarray:
    """(M, 2) points of the chain of oriented segments and the connections between them."""
    if not segs:
        return np.zeros((0, 2))
    pts = [segs[0].a, segs[0].b]
    for prev, s in zip(segs, segs[1:], strict=False):
        if connect is not None:
            pts.extend(connect(prev.b, s.a)[1:-1])
        pts.extend((s.a, s.b))
    return np.array(pts, float)


def chain_crossings(segs: list[Segment], connect: Connect | None = None) -> int:
    """Self-crossings of the chain of ``segs`` and their connections (home legs excluded)."""
    return len(crossing_pairs(chain_points(segs, connect)))


def cached(connect: Connect) -> Connect:
    """``connect`` with a cache keyed by the two points."""
    memo: dict[tuple, list] = {}

    def get(a, b) -> list:
        """The cached connection a → b."""
        key = (a[0], a[1], b[0], b[1])
        got = memo.get(key)
        if got is None:
            got = connect(a, b) or [a, b]
            memo[key] = got
        return got

    return get


def order_cells(
    cells: list[list[Segment]],
    home_xy,
    *,
    first_near=None,
    extend: Extend | None = None,
    repair_m: float = 0.0,
    connect: Connect | None = None,
    max_evaluations: int = MAX_EVALUATIONS,
) -> list[Segment]:
    """Order and orient the cells' pieces (module notes).

    Args:
        cells: Boustrophedon cells (:func:`missions.grid.cells`), pieces in line order.
        home_xy: Home, local metres (the chain's length includes the legs from and to it).
        first_near: A requested start corner: the first cell and its entry stay the ones nearest
            to it (default: free, starting nearest to home).
        extend: Lead-in of an oriented piece for a camera that looks ahead (None: nadir camera,
            back-and-forth ways only).
        repair_m: Estimated extra flight per piece whose lead-in is cut short, metres.
        connect: The connection between two pieces as flown (routed round no-fly zones);
            default straight.
        max_evaluations: Bound on the candidate orders evaluated (also at most
            :data:`LEG_EVALUATIONS` divided by the number of legs).

    Returns:
        The oriented pieces in flight order.
    """
    if not cells:
        return []
    ways = [cell_ways(c, extend) for c in cells]
    home = np.asarray(home_xy, float)
    start = np.asarray(first_near if first_near is not None else home_xy, float)
    keep_first = first_near is not None

    counter = ChainCounter()
    piece_len: dict = {}
    way_key: dict = {}
    conn_key: dict = {}

    def piece(pts) -> Hashable:
        """Register a piece of the chain (:mod:`missions.chain_count`) and its length; keyed by
        its points in a canonical direction (a piece flown backwards crosses the same legs)."""
        p = np.asarray(pts, float).reshape(-1, 2)
        key = counter.piece(p)
        if key not in piece_len:
            piece_len[key] = float(np.hypot(*np.diff(p, axis=0).T).sum()) if len(p) > 1 else 0.0
        return key

    def keys_of(plan: list[tuple[int, int]]) -> list:
        """The chain's pieces: each cell flown its way, and the connections between them."""
        out = []
        prev = None
        for ci, wi in plan:
            w = ways[ci][wi]
            if prev is not None:
                ab = (prev.exit, w.entry)
                k = conn_key.get(ab)
                if k is None:
                    mid = connect(*ab)[1:-1] if connect is not None else []
                    k = conn_key[ab] = piece([ab[0], *mid, ab[1]])
                out.append(k)
            k = way_key.get((ci, wi))
            if k is None:
                k = way_key[(ci, wi)] = piece(chain_points(list(w.segs), connect))
            out.append(k)
            prev = w
        return out

    def score(plan: list[tuple[int, int]], ref=None, beat=None) -> tuple[int, float, list]:
        """(crossings of the survey part, length + repair estimate + a charge per crossing of
        the straight home legs, the chain's pieces) of a plan of (cell, way) pairs.

        Counted from the scored plan ``ref`` when given (only the pieces that differ are
        tested). With ``beat`` (a score), a plan that cannot be better than it gets its second
        key without the home-leg charge (it is rejected either way).
        """
        keys = keys_of(plan)
        survey = counter.total(keys) if ref is None else ref[0] + counter.delta(ref[2], keys)
        entry, exit_ = ways[plan[0][0]][plan[0][1]].entry, ways[plan[-1][0]][plan[-1][1]].exit
        length = sum(piece_len[k] for k in keys)
        length += math.hypot(entry[0] - home[0], entry[1] - home[1])
        length += math.hypot(exit_[0] - home[0], exit_[1] - home[1])
        second = length + repair_m * sum(ways[ci][wi].blocked for ci, wi in plan)
        if beat is not None and (
            survey > beat[0] or (survey == beat[0] and second >= beat[1] - 1e-6)
        ):
            return (survey, second, keys)
        h0, h1 = piece([home, entry]), piece([exit_, home])
        home_cross = counter.row(h0, keys) + counter.row(h1, keys) + counter.cross(h0, h1)
        e0, e1 = not counter.empty(h0), not counter.empty(h1)
        home_cross -= int(e0) + int(e1) + int(e0 and e1)  # touching their neighbours
        return (survey, second + HOME_CROSSING_M * home_cross, keys)

    # start: nearest neighbour over the ways' entries (penalising missing lead-ins)
    plan: list[tuple[int, int]] = []
    remaining = set(range(len(cells)))
    pos = start
    while remaining:
        best = None
        for ci in remaining:
            for wi, w in enumerate(ways[ci]):
                d = math.hypot(w.entry[0] - pos[0], w.entry[1] - pos[1]) + repair_m * w.blocked
                if best is None or d < best[0]:
                    best = (d, ci, wi)
        _, ci, wi = best
        remaining.discard(ci)
        plan.append((ci, wi))
        pos = np.asarray(ways[ci][wi].exit, float)

    # the length part of the score from cached pieces (no crossing test): once the current plan
    # has no survey crossing, a candidate is accepted only when it has none either and a smaller
    # second key, which is at least this; so longer candidates are rejected without the test
    conn_len: dict[tuple, float] = {}
    way_len = [
        [
            sum(s.length for s in w.segs)
            + sum(
                _conn_length(conn_len, connect, p.b, q.a)
                for p, q in zip(w.segs, w.segs[1:], strict=False)
            )
            + repair_m * w.blocked
            for w in cw
        ]
        for cw in ways
    ]

    def bound(plan: list[tuple[int, int]]) -> float:
        """The score's second key without its home-crossing charge (a lower bound of it)."""
        total = sum(way_len[ci][wi] for ci, wi in plan)
        first, last = ways[plan[0][0]][plan[0][1]], ways[plan[-1][0]][plan[-1][1]]
        total += math.hypot(first.entry[0] - home[0], first.entry[1] - home[1])
        total += math.hypot(last.exit[0] - home[0], last.exit[1] - home[1])
        for (ci, wi), (cj, wj) in zip(plan, plan[1:], strict=False):
            total += _conn_length(conn_len, connect, ways[ci][wi].exit, ways[cj][wj].entry)
        return total

    cur = score(plan)
    n_legs = 2 * sum(len(c) for c in cells)
    max_evaluations = min(max_evaluations, LEG_EVALUATIONS // max(n_legs, 1))
    evals = 0
    lo = 1 if keep_first else 0
    best_plan, best = plan, cur
    rng = random.Random(0)  # perturbations are seeded: the same area always gives the same plan
    stale = 0
    while evals < max_evaluations and stale < MAX_STALE_KICKS:
        improved = True
        while improved and evals < max_evaluations:
            improved = False
            for cand in _moves(plan, ways, lo):
                evals += 1  # counted as before: the same candidates, the same plan
                if cur[0] == 0 and bound(cand) >= cur[1]:
                    if evals >= max_evaluations:
                        break
                    continue  # cannot be better (see bound): no crossing test needed
                got = score(cand, cur, beat=cur)
                if got[0] < cur[0] or (got[0] == cur[0] and got[1] < cur[1] - 1e-6):
                    plan, cur, improved = cand, got, True
                    break
                if evals >= max_evaluations:
                    break
        if cur[:2] < best[:2]:
            best_plan, best, stale = plan, cur, 0
        else:
            stale += 1
        if len(plan) - lo < 2:
            break
        # iterated local search (Lourenço, Martin & Stützle, "Iterated local search", 2003): kick
        # the best plan (two cells moved, two ways changed) and descend again
        plan = list(best_plan)
        for _ in range(2):
            i, j = rng.randrange(lo, len(plan)), rng.randrange(lo, len(plan))
            plan.insert(j, plan.pop(i))
            k = rng.randrange(lo, len(plan))
            plan[k] = (plan[k][0], rng.randrange(len(ways[plan[k][0]])))
        cur = score(plan, best)
        evals += 1
    plan = best_plan
    return _chain(plan, ways)


def _conn_length(memo: dict, connect: Connect | None, a, b) -> float:
    """Length of the connection a → b as flown (cached in ``memo``), metres."""
    key = (a[0], a[1], b[0], b[1])
    got = memo.get(key)
    if got is None:
        pts = np.asarray(connect(a, b) if connect is not None else [a, b], float)
        got = float(np.hypot(*np.diff(pts, axis=0).T).sum()) if len(pts) > 1 else 0.0
        memo[key] = got
    return got


def _moves(plan: list[tuple[int, int]], ways: list[list[Way]], lo: int):
    """Neighbouring plans: another way for one cell, one cell moved, a run of cells reversed."""
    n = len(plan)
    for i in range(lo, n):
        ci, wi = plan[i]
        for wj in range(len(ways[ci])):
            if wj != wi:
                yield [*plan[:i], (ci, wj), *plan[i + 1 :]]
    for i in range(lo, n):
        for j in range(lo, n):
            if i == j:
                continue
            rest = plan[:i] + plan[i + 1 :]
            yield [*rest[:j], plan[i], *rest[j:]]
    for i in range(lo, n - 1):
        for j in range(i + 1, n):
            mid = [(ci, _reverse_way(ways[ci], wi)) for ci, wi in reversed(plan[i : j + 1])]
            if all(w is not None for _, w in mid):
                yield [*plan[:i], *mid, *plan[j + 1 :]]


def _reverse_way(ways: list[Way], wi: int) -> int | None:
    """The way that flies the same pieces backwards (exit becomes entry), if the cell has one."""
    w = ways[wi]
    for k, v in enumerate(ways):
        if v.entry == w.exit and v.exit == w.entry and len(v.segs) == len(w.segs):
            return k
    return None


def insert_uncrossed(
    order: list[Segment],
    seg: Segment,
    home_xy,
    *,
    allow_reverse: bool = True,
    connect: Connect | None = None,
    counter: ChainCounter | None = None,
) -> list[Segment]:
    """Insert ``seg`` where it lengthens the straight tour least without adding a crossing.

    Like :func:`missions.grid.cheapest_insertion`, but positions are tried cheapest first and the
    first one that adds no self-crossing to the chain of legs (:func:`chain_crossings`) is taken;
    when every position adds one, the position adding fewest wins (then the cheapest).
    :func:`insert_counted` also returns the crossings added.
    """
    return insert_counted(
        order, seg, home_xy, allow_reverse=allow_reverse, connect=connect, counter=counter
    )[0]


def chain_keys(counter: ChainCounter, segs: list[Segment], connect: Connect | None) -> list:
    """The pieces (:mod:`missions.chain_count`) of a chain: each segment and each connection."""
    keys = []
    memo = counter.memo
    for k, s in enumerate(segs):
        if k:
            a, b = segs[k - 1].b, s.a
            key = memo.get((a, b))
            if key is None:
                mid = connect(a, b)[1:-1] if connect is not None else []
                key = memo[(a, b)] = counter.piece([a, *mid, b])
            keys.append(key)
        key = memo.get(s)
        if key is None:
            key = memo[s] = counter.piece([s.a, s.b])
        keys.append(key)
    return keys


def insert_counted(
    order: list[Segment],
    seg: Segment,
    home_xy,
    *,
    allow_reverse: bool = True,
    connect: Connect | None = None,
    counter: ChainCounter | None = None,
) -> tuple[list[Segment], int]:
    """:func:`insert_uncrossed`, and the number of self-crossings the insertion adds.

    Args:
        counter: Pieces and counts shared between calls (a new one when None).
    """
    home = np.asarray(home_xy, float)
    if not order:
        return [seg], 0
    counter = counter if counter is not None else ChainCounter()
    a = np.array([s.a for s in order], float)
    b = np.array([s.b for s in order], float)
    outs = np.vstack([home[None, :], b])
    ins = np.vstack([a, home[None, :]])
    base = np.hypot(*(ins - outs).T)
    cands = []
    for cand in (seg, seg.reversed()) if allow_reverse else (seg,):
        ca, cb = np.asarray(cand.a), np.asarray(cand.b)
        cost = np.hypot(*(outs - ca).T) + cand.length + np.hypot(*(ins - cb).T) - base
        cands.extend((float(c), i, cand) for i, c in enumerate(cost))
    cands.sort(key=lambda t: t[0])
    cur = chain_keys(counter, order, connect)
    n = len(order)
    best = None
    for k, (_cost, i, cand) in enumerate(cands):
        new_keys = chain_keys(
            counter, [x for x in (order[i - 1] if i else None, cand, order[i] if i < n else None)
                      if x is not None], connect,
        )  # fmt: skip
        # between order[i - 1] and order[i]: the connection there is replaced by the piece and
        # the connections to and from it
        if i == 0:
            gone, new_pieces = [], new_keys[:-1]
        elif i == n:
            gone, new_pieces = [], new_keys[1:]
        else:
            gone, new_pieces = [cur[2 * i - 1]], new_keys[1:-1]
        added = counter.change(cur, gone, new_pieces)
        new = [*order[:i], cand, *order[i:]]
        if added <= 0:
            return new, added
        if best is None or added < best[0]:
            best = (added, new)
        if k >= 15:  # the cheapest 16 positions tried: take the least crossing of them
            break
    return best[1], best[0]
