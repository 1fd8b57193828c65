"""``dronepatrol plan --vehicles N``: split the district between N vehicles and write a fleet folder.

Prints a table of the vehicles (home, transit layer, sorties, flight time, route length) and the
imbalance (longest over shortest flight time); writes ``OUT/fleet.json`` and one plan folder per
vehicle (:mod:`missions.fleet_io`, docs/fleet.md).
"""

from __future__ import annotations

import argparse
import sys


def add_fleet_args(p: argparse.ArgumentParser) -> None:
    """Add ``--vehicles`` and ``--layer-separation`` to the ``plan`` parser."""
    p.add_argument(
        "--vehicles",
        type=int,
        metavar="N",
        help="split the district between N vehicles of balanced flight time (docs/fleet.md)",
    )
    p.add_argument(
        "--layer-separation",
        type=float,
        metavar="M",
        help="with --vehicles: vertical distance between the vehicles' transit layers, metres "
        "(default 10; fleet.layer_separation_m when the config has it)",
    )
    p.add_argument(
        "--survey-gap",
        type=float,
        metavar="M",
        help="with --vehicles: horizontal gap between neighbouring vehicles' survey legs, "
        "metres (default 10)",
    )


def run_fleet(args: argparse.Namespace, cfg) -> int:
    """Plan the fleet, print it, write the folder. Errors are one line (``PlanningError``...)."""
    import json

    from groundstation.cli.plan import _duration, envelope_hook
    from missions.errors import InputError
    from missions.fleet import plan_fleet_from_config
    from missions.fleet_io import write_fleet_outputs

    sep = args.layer_separation
    if sep is None:
        sep = getattr(getattr(cfg, "fleet", None), "layer_separation_m", None) or 10.0
    kw = {} if args.survey_gap is None else {"survey_gap_m": args.survey_gap}
    fleet = plan_fleet_from_config(cfg, args.vehicles, layer_separation_m=sep, **kw)
    envelope_hook(cfg)
    try:
        files = write_fleet_outputs(fleet, args.out, preview=not args.no_preview)
    except OSError as exc:
        raise InputError(
            f"--out {args.out}: cannot write the plan: {exc.strerror or exc}"
        ) from None
    for w in fleet.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.json:
        doc = fleet.to_dict()
        doc["files"] = {k: str(v) for k, v in sorted(files.items())}
        print(json.dumps(doc, indent=2))
        return 0
    from rich import box
    from rich.console import Console
    from rich.table import Table

    s = fleet.summary()
    console = Console(width=max(100, Console().width))
    t = Table(title=f"{fleet.area.name}: {fleet.n_vehicles} vehicles", box=box.SIMPLE)
    for col in ("vehicle", "home", "transit alt", "sorties", "flight time", "length (km)"):
        t.add_column(col, justify="right")
    for p in fleet.parts:
        t.add_row(str(p.index + 1), f"{p.home.lat_deg:.6f}, {p.home.lon_deg:.6f}",
                  f"{p.transit_alt_m:g} m", str(len(p.plan.sorties)),
                  _duration(p.flight_time_s), f"{p.route_length_m / 1000:,.2f}")  # fmt: skip
    console.print(t)
    lines = [
        f"imbalance {s['imbalance']:.3f} (longest / shortest flight time)",
        f"total route {s['route_length_m'] / 1000:,.2f} km in {s['sorties']} sorties; "
        f"longest vehicle {_duration(s['max_flight_time_s'])}",
        f"coverage {s['coverage_pct']:.2f} % of the district (union of the parts)",
    ]
    if "single" in s:
        one = s["single"]
        lines.append(
            f"one vehicle: {one['route_length_m'] / 1000:,.2f} km, "
            f"{_duration(one['flight_time_s'])}, {one['sorties']} sorties, coverage "
            f"{one['coverage_pct']:.2f} %"
        )
    lines += [
        f"transit layers {fleet.layer_separation_m:g} m apart; survey legs of neighbours at least "
        f"{fleet.survey_gap_m:g} m apart",
        f"grid angle {fleet.angle_deg:.1f}°, cuts along {fleet.cut_angle_deg:.1f}°; "
        f"planned in {fleet.planning_time_s:.2f} s ({fleet.rounds} rounds)",
    ]
    for line in lines:
        print(line)
    print(f"wrote {args.out}/fleet.json and {fleet.n_vehicles} vehicle folders")
    return 0
