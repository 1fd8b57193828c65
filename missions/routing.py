"""Shortest paths inside a polygonal free space (around no-fly holes, along concave boundaries).

Method: the visibility graph. A shortest path between two points in a polygonal domain is a
polyline whose interior vertices are reflex vertices of the domain (Lozano-Pérez & Wesley, "An
algorithm for planning collision-free paths among polyhedral obstacles", CACM 22(10), 1979; de Berg
et al., *Computational Geometry*, ch. 15). The graph nodes are the reflex vertices of the domain
shrunk by a small inset (so paths keep a margin from the boundary instead of grazing it); edges join
mutually visible nodes; all-pairs shortest paths come from Floyd–Warshall. A query connects its two
end points to the nodes they see and picks the cheapest combination.

Visibility is tested against the un-shrunk domain (with a 1 cm tolerance), so every returned path
lies inside the domain: it never crosses a hole or leaves the area.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from shapely.ops import nearest_points

from missions.shapes import polygons_of

XY = tuple[float, float]

MAX_NODES = 250
"""Upper bound on graph nodes; more detailed boundaries are simplified for node selection only."""


class Router:
    """Shortest collision-free paths in a (multi)polygon.

    Args:
        space: The free space, local metres (Polygon or MultiPolygon, holes allowed).
        inset_m: Path vertices keep this far inside the space's boundary.
        tol_m: Tolerance of visibility tests against the space (numerical slack).
        snap_m: A query point up to this far outside the space is joined to the nearest point
            inside by a straight leg (for end points lying on the boundary).

    Example:
        >>> from shapely.geometry import Polygon
        >>> u = Polygon([(0, 0), (30, 0), (30, 30), (20, 30), (20, 10), (10, 10), (10, 30), (0, 30)])
        >>> r = Router(u)
        >>> len(r.path((5, 25), (25, 25))) > 2      # goes down around the notch
        True
    """

    def __init__(
        self, space: BaseGeometry, inset_m: float = 0.5, tol_m: float = 0.01, snap_m: float = 25.0
    ) -> None:
        self.space = space
        self.inset_m = float(inset_m)
        self.snap_m = float(snap_m)
        self._vis = space.buffer(tol_m, join_style="mitre")
        shapely.prepare(self._vis)
        inner = space.buffer(-inset_m, join_style="mitre", mitre_limit=3.0)
        self._inner = inner
        self.nodes = _reflex_vertices(inner)
        # A detailed boundary (thousands of vertices from a survey or OSM) would make the graph
        # cubic to solve: thin the candidate nodes with Douglas-Peucker (it keeps a subset of the
        # original vertices, so nodes stay inside; visibility is still tested exactly).
        tol = max(inset_m, 0.25)
        while len(self.nodes) > MAX_NODES and tol < 1e4:
            self.nodes = _reflex_vertices(inner.simplify(tol, preserve_topology=True))
            tol *= 2.0
        n = len(self.nodes)
        self._dist = np.full((n, n), np.inf)
        self._next = np.full((n, n), -1, dtype=np.int64)
        if n:
            np.fill_diagonal(self._dist, 0.0)
            self._next[np.arange(n), np.arange(n)] = np.arange(n)
            ii, jj = np.triu_indices(n, k=1)
            seg = np.stack([self.nodes[ii], self.nodes[jj]], axis=1)
            visible = shapely.covers(self._vis, shapely.linestrings(seg)) if len(ii) else []
            ii, jj = ii[visible], jj[visible]
            d = np.hypot(*(self.nodes[ii] - self.nodes[jj]).T)
            self._dist[ii, jj] = d
            self._dist[jj, ii] = d
            self._next[ii, jj] = jj
            self._next[jj, ii] = ii
            self._floyd_warshall()
        self._cache: dict[XY, np.ndarray] = {}

    # --- public ----------------------------------------------------------------------------------

    def contains(self, p: XY) -> bool:
        """True when point ``p`` lies in the space (within tolerance)."""
        return bool(shapely.contains_xy(self._vis, p[0], p[1]) or self._vis.covers(Point(p)))

    def visible(self, a: XY, b: XY) -> bool:
        """True when the straight segment a→b lies inside the space."""
        if a == b:
            return self.contains(a)
        return bool(self._vis.covers(LineString([a, b])))

    def path(self, a: XY, b: XY) -> list[XY] | None:
        """Shortest path from ``a`` to ``b`` inside the space.

        Returns:
            The polyline ``[a, ..., b]`` (local metres), or None when b cannot be reached from a
            (different components of the space).
        """
        a = (float(a[0]), float(a[1]))
        b = (float(b[0]), float(b[1]))
        pre, a2 = self._snap(a)
        post, b2 = self._snap(b)
        if a2 is None or b2 is None:
            return None
        if self.visible(a2, b2):
            core = [a2, b2]
        else:
            core = self._graph_path(a2, b2)
            if core is None:
                return None
        out = [*pre, *core, *post]
        dedup = [out[0]]
        for p in out[1:]:
            if p != dedup[-1]:
                dedup.append(p)
        if len(dedup) == 1:
            dedup.append(dedup[0])
        return dedup

    def distance(self, a: XY, b: XY) -> float:
        """Length of :meth:`path` (inf when unreachable)."""
        p = self.path(a, b)
        return float("inf") if p is None else path_length(p)

    # --- internals --------------------------------------------------------------------------------

    def _floyd_warshall(self) -> None:
        d, nxt = self._dist, self._next
        for k in range(len(d)):
            alt = d[:, k : k + 1] + d[k : k + 1, :]
            better = alt < d
            if better.any():
                d = np.where(better, alt, d)
                nxt = np.where(better, nxt[:, k : k + 1], nxt)
        self._dist, self._next = d, nxt

    def _seen_from(self, p: XY) -> np.ndarray:
        got = self._cache.get(p)
        if got is None:
            if len(self.nodes) == 0:
                got = np.zeros(0, dtype=bool)
            else:
                seg = np.stack(
                    [np.broadcast_to(np.asarray(p), self.nodes.shape), self.nodes], axis=1
                )
                got = shapely.covers(self._vis, shapely.linestrings(seg))
            if len(self._cache) > 20000:
                self._cache.clear()
            self._cache[p] = got
        return got

    def _graph_path(self, a: XY, b: XY) -> list[XY] | None:
        if len(self.nodes) == 0:
            return None
        va, vb = self._seen_from(a), self._seen_from(b)
        if not va.any() or not vb.any():
            return None
        da = np.where(va, np.hypot(*(self.nodes - np.asarray(a)).T), np.inf)
        db = np.where(vb, np.hypot(*(self.nodes - np.asarray(b)).T), np.inf)
        total = da[:, None] + self._dist + db[None, :]
        k = int(np.argmin(total))
        i, j = divmod(k, len(self.nodes))
        if not np.isfinite(total[i, j]):
            return None
        seq = [i]
        guard = 0
        while seq[-1] != j and guard <= len(self.nodes):
            seq.append(int(self._next[seq[-1], j]))
            guard += 1
        return [a, *[(float(self.nodes[s][0]), float(self.nodes[s][1])) for s in seq], b]

    def _snap(self, p: XY) -> tuple[list[XY], XY | None]:
        if self.contains(p):
            return [], p
        target = self._inner if not self._inner.is_empty else self.space
        q = nearest_points(target, Point(p))[0]
        if Point(p).distance(q) > self.snap_m:
            return [], None
        return [p], (float(q.x), float(q.y))


def path_length(path) -> float:
    """Length of a polyline given as a sequence of (x, y), metres."""
    p = np.asarray(path, float).reshape(-1, 2)
    if len(p) < 2:
        return 0.0
    return float(np.hypot(*np.diff(p, axis=0).T).sum())


def _reflex_vertices(geom: BaseGeometry) -> np.ndarray:
    """Vertices where the boundary turns away from the free space (interior angle > 180°)."""
    pts = []
    for poly in polygons_of(geom):
        poly = orient(poly, 1.0)  # exterior CCW, holes CW: free space always on the left
        for ring in [poly.exterior, *poly.interiors]:
            c = np.asarray(ring.coords)[:-1]
            if len(c) < 3:
                continue
            prev = np.roll(c, 1, axis=0)
            nxt = np.roll(c, -1, axis=0)
            e1 = c - prev
            e2 = nxt - c
            cross = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
            pts.append(c[cross < -1e-9])
    if not pts:
        return np.zeros((0, 2))
    return np.concatenate(pts)
