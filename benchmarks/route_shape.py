"""Benchmark: the shape of a planned route — self-crossings and length against a plain lawnmower.

Officers see the planned route on the map first; a route that crosses itself looks wrong and is
longer than it needs to be. For each config given (default: the demo block and the demo
district), prints the route length of every sortie (take-off to landing, the planner's own
``path_local``), how many pairs of non-adjacent legs cross (:mod:`missions.route_shape`; in
the survey part, and with the take-off and return legs), the transects' total length, and a
plain lawnmower estimate over the same block in the same run: the transects of the planner's
own grid (``missions.grid.transect_lines``, same angle and spacing) flown in boustrophedon order
with one spacing-long turn between neighbours, plus the legs from home and back.

Usage:
    python benchmarks/route_shape.py [CONFIG ...]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def crossings(path) -> int:
    """Pairs of non-neighbouring legs of a polyline that cross, touch or overlap
    (:func:`missions.route_shape.crossing_pairs`, the planner's own measure)."""
    from missions.route_shape import crossing_pairs

    return len(crossing_pairs(path))


def main(argv=None) -> int:
    from groundstation.config import load_config
    from missions.grid import transect_lines
    from missions.planner import plan_from_config

    configs = [(c, {}) for c in (argv if argv is not None else sys.argv[1:])] or [
        (str(REPO / "configs" / "demo.yaml"), {}),
        (
            str(REPO / "configs" / "default.yaml"),
            {"area.district": str(REPO / "configs" / "districts" / "demo.geojson")},
        ),
    ]
    for path, overrides in configs:
        cfg = load_config(path, overrides)
        plan = plan_from_config(cfg)
        paths = [[tuple(p) for p in s.path_local[:, :2]] for s in plan.sorties]
        route = sum(math.dist(a, b) for p in paths for a, b in zip(p, p[1:], strict=False))
        from missions.route_shape import plan_crossings

        c = plan_crossings(plan)
        cross = f"{c['survey']} in the survey part, {c['all']} with the home legs"
        angle, spacing = plan.stats.angle_deg, plan.stats.spacing_m
        trans = sum(math.dist(s.a, s.b) for s in plan.transects)
        line = f"{Path(path).name}: {plan.area.name}: {len(plan.sorties)} sortie(s), route {route:,.0f} m, "
        line += f"crossings {cross}, transects flown {trans:,.0f} m"
        if spacing and angle is not None:
            lines = transect_lines(plan.area.polygon_local, float(angle), float(spacing))
            segs = [seg for row in lines for seg in row]
            mower = sum(math.dist(s.a, s.b) for s in segs) + spacing * max(0, len(lines) - 1)
            line += f"; plain lawnmower over the block ~{mower:,.0f} m + legs from/to home"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
