"""Planning speed and route shape: the demo block, the demo district, and concave districts with
no-fly holes of 1, 10 and 50 km².

Prints figures; asserts nothing (speed targets are measured here, never in tests). For the demo
block (configs/demo.yaml) and the demo district it also prints the route's shape: its length
against a plain lawnmower's lower bound over the same free area, and its self-crossings
(:mod:`missions.route_shape`: pairs of non-neighbouring legs of one sortie that cross, touch or
overlap; within the survey part, and with the take-off and return legs). The lower bound is the
planner's own grid (same angle and spacing) clipped to the flyable region, its transects' total
length plus one spacing per turn between lines; legs from and to home are not in it.

Usage:
    python benchmarks/plan.py [--repeat N] [--alt M] [--baseline REV]

With ``--baseline REV`` (a git revision, e.g. the commit before a planner change) every case is
also planned by that revision's planner (this script in a subprocess on an extracted copy of it),
before and after this tree's runs, and the mean of its two median times is printed beside this
tree's with the speed-up, so both come from the same run on the same machine; route length and
crossings are printed where they differ.

The synthetic districts are the demo district's shape (concave, two holes) scaled to the target
area; home stays at the scaled demo home. Default settings of configs/default.yaml otherwise.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _scaled_area(base, factor: float):
    """The base area scaled about its local origin by ``factor`` (a new Area)."""
    import shapely
    from shapely.geometry import Polygon

    from missions.areas.model import Hole, RawArea, RawPart, build_area
    from missions.shapes import local_to_geo

    f = base.frame

    def scale(geom):
        return local_to_geo(shapely.affinity.scale(geom, factor, factor, origin=(0, 0)), f)

    outer = scale(base.polygon_local)
    raw = RawArea(source=f"{base.name} x{factor:.2f}", coord_order="[lon, lat]")
    raw.parts.append(RawPart(outer=list(outer.exterior.coords), where="scaled"))
    for h, poly in zip(base.holes, base.holes_local, strict=True):
        raw.holes.append(Hole(h.name, Polygon(scale(poly).exterior), "scaled"))
    return build_area(raw)


def lawnmower_bound_m(plan, cfg) -> float:
    """Transects of the plan's grid over its flyable region plus one spacing per turn, metres."""
    from missions.grid import transect_lines
    from missions.plan_space import make_context

    ctx = make_context(plan.area, cfg.camera, cfg.survey, cfg.sorties, cfg.fence, plan.home)
    lines = [row for row in transect_lines(ctx.fly, plan.stats.angle_deg, ctx.spacing) if row]
    total = sum(s.length for row in lines for s in row)
    return total + ctx.spacing * max(0, len(lines) - 1)


def shape(label: str, cfg, plan) -> None:
    """Print the route-shape line of a plan (module notes)."""
    from missions.route_shape import plan_crossings

    bound = lawnmower_bound_m(plan, cfg)
    c = plan_crossings(plan)
    route = plan.stats.route_length_m
    print(f"  {label}: route {route / 1000:.3f} km, lawnmower bound {bound / 1000:.3f} km "
          f"(route/bound {route / bound:.2f}), crossings: {c['survey']} in the survey part, "
          f"{c['all']} with the home legs; coverage {plan.stats.coverage_pct:.3f} %, "
          f"{len(plan.sorties)} sortie(s), planned in {plan.stats.planning_time_s:.2f} s")  # fmt: skip


def _baseline(rev: str, args) -> dict:
    """Figures of the planner at git revision ``rev``: this script run in a subprocess on an
    extracted copy of that revision (``git archive``), in the same benchmark run."""
    import json
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="plan-baseline-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", rev], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--tree", tmp, "--json",
               "--repeat", str(args.repeat)]  # fmt: skip
        if args.alt:
            cmd += ["--alt", str(args.alt)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=3600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeat", type=int, default=5, help="runs per case (median reported)")
    ap.add_argument(
        "--alt", type=float, default=None, help="survey altitude, metres (default: config)"
    )
    ap.add_argument(
        "--baseline",
        metavar="REV",
        help="also plan every case with the planner of this git revision (a subprocess on an "
        "extracted copy, first) and print its times beside this tree's",
    )
    ap.add_argument("--tree", help=argparse.SUPPRESS)  # plan with the packages of this folder
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.tree:
        sys.path.insert(0, args.tree)
    before = _baseline(args.baseline, args) if args.baseline else {}
    say = (lambda *a, **k: None) if args.json else print
    table: list = []  # (case name or None, text): printed at the end

    from groundstation.config import load_config
    from missions.areas import area_from_config
    from missions.planner import plan_patrol, resolve_home
    from missions.route_shape import plan_crossings
    from missions.settings import GeoPoint

    overrides = {"area.district": str(REPO / "configs/districts/demo.geojson")}
    if args.alt:
        overrides["survey.alt_m"] = args.alt
    cfg = load_config(None, overrides)
    sections = (cfg.camera, cfg.survey, cfg.sorties, cfg.fence, cfg.rally)
    figures: dict = {}

    def run(area, home, repeat):
        nonlocal sections
        times, plan = [], None
        for _ in range(repeat):
            t0 = time.perf_counter()
            plan = plan_patrol(area, *sections, home)
            times.append(time.perf_counter() - t0)
        return plan, times

    say(f"dronepatrol planner benchmark (alt {cfg.survey.alt_m:g} m, speed {cfg.survey.speed_m_s:g} m/s, "
        f"endurance {cfg.sorties.endurance_min:g} min, angle {cfg.survey.angle_deg})")  # fmt: skip
    if before:
        say(f"baseline: the planner of {args.baseline}, planned before and after this tree in "
            "this run (same machine; its time is the mean of the two medians)")  # fmt: skip
    t0 = time.perf_counter()
    demo = area_from_config(cfg)
    load_s = time.perf_counter() - t0
    home = resolve_home(cfg, demo)
    cold_t0 = time.perf_counter()
    plan_patrol(demo, *sections, home)
    cold = time.perf_counter() - cold_t0
    plan, times = run(demo, home, args.repeat)
    header = f"{'case':<44}{'km²':>8}{'lines':>7}{'wps':>7}{'sorties':>9}{'route km':>10}{'cover %':>9}{'angle':>7}{'median s':>10}{'max s':>8}"
    if before:
        header += f"{'before s':>10}{'speed-up':>10}"
    table.append((None, header))
    table.append((None, "-" * len(header)))

    def row(name, plan, times):
        st = plan.stats
        c = plan_crossings(plan)
        figures[name] = {"median_s": statistics.median(times), "max_s": max(times),
                         "route_km": st.route_length_m / 1000, "crossings": c}  # fmt: skip
        line = (f"{name:<44}{st.area_m2 / 1e6:>8.2f}{st.transect_lines:>7}{st.waypoints:>7}{st.sorties:>9}"
                f"{st.route_length_m / 1000:>10.1f}{st.coverage_pct:>9.2f}{st.angle_deg:>7.1f}"
                f"{statistics.median(times):>10.3f}{max(times):>8.3f}")  # fmt: skip
        table.append((name, line))

    row("demo district", plan, times)
    table.append(
        (None, f"  (area file load {load_s:.3f} s; first plan incl. warm-up {cold:.3f} s)")
    )
    from missions.planner import plan_from_config

    block_cfg = load_config(REPO / "configs/demo.yaml")
    block_times = []
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        block = plan_from_config(block_cfg)
        block_times.append(time.perf_counter() - t0)
    row("demo block (configs/demo.yaml)", block, block_times)
    district = plan
    base_km2 = demo.area_m2 / 1e6
    hx, hy = demo.frame.to_local(home.lat_deg, home.lon_deg)
    for target in (1.0, 10.0, 50.0):
        factor = (target / base_km2) ** 0.5
        area = _scaled_area(demo, factor)
        lat, lon = demo.frame.to_geo(hx * factor, hy * factor)
        h = GeoPoint(lat_deg=float(lat), lon_deg=float(lon), alt_m=home.alt_m)
        repeat = args.repeat if target < 20 else max(1, args.repeat // 3)
        if target >= 20:
            # 20 minutes of battery cannot reach the far side of a 50 km² district from one home
            sections = (cfg.camera, cfg.survey, cfg.sorties.model_copy(update={"endurance_min": 60.0}),
                        cfg.fence, cfg.rally)  # fmt: skip
            label = f"concave + 2 holes, {target:g} km² (60 min battery)"
        else:
            label = f"concave + 2 holes, {target:g} km²"
        plan, times = run(area, h, repeat)
        row(label, plan, times)
    if args.json:
        import json

        print(json.dumps(figures))
        return 0
    if before:  # again after this tree's runs: a load that drifts during the run evens out
        again = _baseline(args.baseline, args)
        for name, old in before.items():
            if name in again:
                old["median_s"] = (old["median_s"] + again[name]["median_s"]) / 2.0
    for name, line in table:
        old = before.get(name) if name else None
        if old:
            now = figures[name]["median_s"]
            line += f"{old['median_s']:>10.3f}{old['median_s'] / now:>9.1f}x"
        print(line)
    print("route shape:")
    shape("demo block", block_cfg, block)
    shape("demo district", cfg, district)
    for name, old in before.items():
        new = figures.get(name)
        if new and (
            old["crossings"] != new["crossings"] or abs(old["route_km"] - new["route_km"]) > 1e-3
        ):
            print(f"  {name}: before {old['route_km']:.3f} km, crossings {old['crossings']}; "
                  f"now {new['route_km']:.3f} km, crossings {new['crossings']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
