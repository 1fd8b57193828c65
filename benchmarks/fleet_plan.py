"""Fleet planning: 1, 2 and 4 vehicles on the demo block and the demo district.

Prints, per case: each vehicle's estimated flight time, the imbalance (longest / shortest), the
total route length against the single-vehicle plan (the baseline, planned in the same run), the
union coverage and the planning time; with homes derived inside each part, and with every
vehicle taking off from one place (homes 10 m apart, east of sim.home). Asserts nothing.

Usage:
    python benchmarks/fleet_plan.py [--vehicles 1 2 4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--vehicles", type=int, nargs="+", default=[1, 2, 4])
    args = ap.parse_args(argv)

    from groundstation.config import load_config
    from missions.fleet import plan_fleet_from_config
    from missions.geo import offset
    from missions.planner import plan_from_config

    cases = {
        "demo block (configs/demo.yaml)": load_config(REPO / "configs/demo.yaml"),
        "demo district (demo.geojson, defaults)": load_config(
            overrides={"area.district": str(REPO / "configs/districts/demo.geojson")}
        ),
    }
    for name, cfg in cases.items():
        t0 = time.perf_counter()
        one = plan_from_config(cfg)
        t_one = time.perf_counter() - t0
        st = one.stats
        print(f"\n{name}: {st.area_m2 / 1e4:,.1f} ha")
        print(
            f"  single vehicle (baseline): {st.flight_time_s / 60:6.1f} min, "
            f"{st.route_length_m / 1000:6.2f} km, {st.sorties} sorties, coverage "
            f"{st.coverage_pct:.2f} %, planned in {t_one:.2f} s"
        )
        for n in args.vehicles:
            h = cfg.sim.home
            together = []
            for k in range(n):
                lat, lon = offset(h.lat_deg, h.lon_deg, 90.0, 10.0 * k)
                together.append(h.model_copy(update={"lat_deg": lat, "lon_deg": lon}))
            for label, homes in (("own homes", None), ("one base", together)):
                if homes is not None and n == 1:
                    continue
                t0 = time.perf_counter()
                fp = plan_fleet_from_config(cfg, n, homes=homes)
                wall = time.perf_counter() - t0
                s = fp.summary()
                per = ", ".join(f"{t / 60:.1f}" for t in s["flight_time_s"])
                longest = s["max_flight_time_s"]
                print(
                    f"  N={n} {label}: flight time per vehicle [{per}] min; longest "
                    f"{longest / 60:.1f} min ({longest / st.flight_time_s:.2f} x single); "
                    f"imbalance {s['imbalance']:.3f}; total route {s['route_length_m'] / 1000:.2f}"
                    f" km ({s['route_length_m'] / st.route_length_m:.3f} x single); "
                    f"{s['sorties']} sorties; coverage {s['coverage_pct']:.2f} %; planned in "
                    f"{wall:.2f} s ({fp.rounds} rounds)"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
