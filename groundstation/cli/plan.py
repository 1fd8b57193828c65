"""``dronepatrol plan``: turn a district into a survey patrol (sorties, fence, rally) and write its files."""

from __future__ import annotations

import argparse
import sys

EPILOG = """\
examples:
  dronepatrol plan configs/districts/demo.geojson --alt 40 --out plan/
  dronepatrol plan district.kml --alt 60 --angle 30 --side-overlap 0.3 --endurance 25
  dronepatrol plan --config configs/demo.yaml --set survey.turnaround_m=10
  dronepatrol plan configs/districts/demo.geojson --risk-map configs/districts/demo-risk.geojson
  dronepatrol plan configs/districts/demo.geojson --vehicles 4 --out fleet/

AREA is GeoJSON (interior rings are no-fly holes), KML/KMZ, a QGroundControl .plan (geoFence:
inclusion = area, exclusion = no-fly), a fence .waypoints list or a Mission Planner fence .txt.
Output folder: sortie_N.waypoints / sortie_N.plan per sortie, fence.waypoints, rally.waypoints,
route.geojson, area.geojson, preview.png and plan.json (see docs/planning.md).
"""


def register(sub, common: argparse.ArgumentParser) -> None:
    """Add the ``plan`` subcommand."""
    from groundstation.cli import HelpFormatter, add_config_args

    p = sub.add_parser(
        "plan",
        parents=[common],
        help="plan a survey patrol over a district and write mission files",
        description=(
            "Plan lawnmower transects that cover the district with the camera footprint, route "
            "around no-fly holes and along concave edges, split the route into sorties that fit "
            "the battery, and write mission, fence and rally files. Flags override the config."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "area",
        nargs="?",
        metavar="AREA",
        help="district file; default: area.district of the config",
    )
    p.add_argument(
        "--alt", type=float, metavar="M", help="altitude above home, metres (survey.alt_m)"
    )
    p.add_argument(
        "--angle",
        metavar="DEG|auto",
        help="transect direction, degrees from north, or auto (survey.angle_deg)",
    )
    p.add_argument(
        "--side-overlap", type=float, metavar="F", help="side overlap 0..1 (survey.side_overlap)"
    )
    p.add_argument(
        "--spacing",
        type=float,
        metavar="M",
        help="transect spacing, metres; overrides the overlap (survey.spacing_m)",
    )
    p.add_argument(
        "--turnaround",
        type=float,
        metavar="M",
        help="distance past each transect end; negative keeps turns inside (survey.turnaround_m)",
    )
    p.add_argument(
        "--person-px",
        type=float,
        metavar="PX",
        help="choose the altitude so people are PX pixels tall at the model's input "
        "(like a target GSD; overrides --alt)",
    )
    p.add_argument("--speed", type=float, metavar="M/S", help="ground speed (survey.speed_m_s)")
    p.add_argument(
        "--start-corner",
        choices=["auto", "sw", "se", "nw", "ne"],
        help="corner of the first transect (survey.start_corner)",
    )
    p.add_argument(
        "--endurance",
        type=float,
        metavar="MIN",
        help="battery endurance, minutes (sorties.endurance_min)",
    )
    p.add_argument(
        "--reserve",
        type=float,
        metavar="PCT",
        help="battery reserve, percent (sorties.reserve_pct)",
    )
    p.add_argument(
        "--home", metavar="LAT,LON[,ALT]", help="home position; ALT is AMSL metres (area.home)"
    )
    p.add_argument(
        "--fence-margin",
        type=float,
        metavar="M",
        help="inclusion fence margin around the district (fence.margin_m)",
    )
    p.add_argument(
        "--no-fence", action="store_true", help="do not write fence items (fence.enabled: false)"
    )
    p.add_argument(
        "--risk-map",
        metavar="FILE",
        help="five-colour risk map (GeoJSON): fly red first, then orange, yellow (area.risk_map)",
    )
    p.add_argument(
        "--revisit",
        type=float,
        metavar="MIN",
        help="with a risk map, fly red ground again every MIN minutes (area.risk_revisit_min)",
    )
    p.add_argument("-o", "--out", metavar="DIR", default="plan", help="output folder")
    p.add_argument("--no-preview", action="store_true", help="skip preview.png")
    p.add_argument("--json", action="store_true", help="print the stats as JSON instead of tables")
    from groundstation.cli.plan_fleet import add_fleet_args

    add_fleet_args(p)
    add_config_args(p)
    p.set_defaults(func=run)


def overrides_from_args(args: argparse.Namespace) -> dict:
    """Dotted config keys set by the dedicated flags (None = flag not given)."""
    from missions.errors import ConfigError

    angle = None
    if args.angle is not None:
        text = str(args.angle).strip().lower()
        if text == "auto":
            angle = "auto"
        else:
            try:
                angle = float(text)
            except ValueError:
                raise ConfigError(
                    f"--angle: expected degrees or 'auto', got {args.angle!r}"
                ) from None
    home = None
    if args.home is not None:
        parts = [t for t in args.home.replace(";", ",").split(",") if t.strip()]
        try:
            vals = [float(t) for t in parts]
        except ValueError:
            vals = []
        if len(vals) not in (2, 3):
            raise ConfigError(f"--home: expected LAT,LON or LAT,LON,ALT, got {args.home!r}")
        home = {"lat_deg": vals[0], "lon_deg": vals[1], "alt_m": vals[2] if len(vals) == 3 else 0.0}
    return {
        "area.district": args.area,
        "area.home": home,
        "area.risk_map": getattr(args, "risk_map", None),
        "area.risk_revisit_min": getattr(args, "revisit", None),
        "survey.alt_m": args.alt,
        "survey.angle_deg": angle,
        "survey.side_overlap": args.side_overlap,
        "survey.spacing_m": args.spacing,
        "survey.turnaround_m": args.turnaround,
        "survey.speed_m_s": args.speed,
        "survey.start_corner": args.start_corner,
        "sorties.endurance_min": args.endurance,
        "sorties.reserve_pct": args.reserve,
        "fence.margin_m": args.fence_margin,
        "fence.enabled": False if args.no_fence else None,
    }


def run(args: argparse.Namespace) -> int:
    """Plan, print the stats and the sorties, write the files."""
    import json

    from groundstation.cli import config_from_args
    from missions.errors import ConfigError

    overrides = overrides_from_args(args)
    cfg = config_from_args(args, overrides)
    if getattr(args, "person_px", None) is not None:
        if not args.person_px > 0:
            raise ConfigError(f"--person-px {args.person_px}: must be positive")
        from detection.envelope import alt_for_person_px

        alt = round(alt_for_person_px(cfg.camera, args.person_px, cfg.detection.imgsz), 1)
        cfg = config_from_args(args, {**overrides, "survey.alt_m": alt})
        print(f"altitude {alt:g} m: people {args.person_px:g} px at model input", file=sys.stderr)
    if cfg.area.district is None:
        raise ConfigError(
            "no area given: pass AREA (a district file) or set area.district in the config"
        )
    check_out_dir(args.out)
    if getattr(args, "vehicles", None) is not None:
        from groundstation.cli.plan_fleet import run_fleet

        return run_fleet(args, cfg)
    from missions.planner import plan_from_config

    if sys.stdout.isatty() and not args.json:
        from rich.console import Console

        with Console(stderr=True).status("planning…"):
            plan = plan_from_config(cfg)
            envelope_hook(cfg)  # a refusal writes nothing
            files = _write_outputs(plan, args.out, preview=not args.no_preview)
    else:
        plan = plan_from_config(cfg)
        envelope_hook(cfg)
        files = _write_outputs(plan, args.out, preview=not args.no_preview)
    for w in plan.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.json:
        doc = {
            "stats": plan.stats.as_dict(),
            "sorties": [
                {"index": s.index, "waypoints": len(s.waypoints_local), "length_m": s.length_m,
                 "flight_time_s": s.flight_time_s}
                for s in plan.sorties
            ],
            "files": {k: str(v) for k, v in sorted(files.items())},
            "risk": plan.risk,
        }  # fmt: skip
        print(json.dumps(doc, indent=2))
        return 0
    if plan.home_source and cfg.area.home is None:
        h = plan.home
        print(
            f"home {h.lat_deg:.6f}, {h.lon_deg:.6f}: {plan.home_source}",
            file=sys.stderr,
        )
    print_plan(plan, angle_auto=cfg.survey.angle_deg == "auto")
    print(f"wrote {len(files)} files to {args.out}/ (plan.json lists them)")
    return 0


def _write_outputs(plan, out: str, *, preview: bool) -> dict:
    """:func:`missions.plan_io.write_plan_outputs`, with an OS failure as a one-line error."""
    from missions.errors import InputError
    from missions.plan_io import write_plan_outputs

    try:
        return write_plan_outputs(plan, out, preview=preview)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write the plan: {exc.strerror or exc}") from None


def check_out_dir(out: str) -> None:
    """Refuse an output folder that cannot be one, before planning.

    Raises:
        InputError: ``out`` is an existing file, or the folder cannot be created.
    """
    import os
    from pathlib import Path

    from missions.errors import InputError

    p = Path(out)
    if p.exists() and not p.is_dir():
        raise InputError(f"--out {out}: is an existing file, expected a folder for the plan")
    # nothing is created before the plan succeeds: check the nearest existing ancestor instead
    parent = p.absolute()
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"--out {out}: {parent} is a file, so the folder cannot be created")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"--out {out}: cannot create the folder: {parent} is not writable")


def envelope_hook(cfg) -> None:
    """Warn (or refuse, ``detection.envelope: refuse``) when the survey altitude puts people
    below the person model's envelope (detection.envelope)."""
    from detection.envelope import survey_envelope_check
    from missions.errors import ConfigError

    msg, refuse = survey_envelope_check(cfg.detection, cfg.camera, cfg.survey.alt_m)
    if msg is None:
        return
    if refuse:
        raise ConfigError(f"survey.alt_m: {msg}; set detection.envelope=warn to fly anyway")
    print(f"warning: {msg}", file=sys.stderr)


def _duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min {s:02d} s"


def print_plan(plan, angle_auto: bool = False) -> None:
    """Print the stats table and the per-sortie table."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    st = plan.stats
    console = Console(width=max(100, Console().width))
    t = Table(title=f"{plan.area.name} ({plan.area.source})", box=box.SIMPLE, show_header=False)
    t.add_column("", style="bold")
    t.add_column("")
    t.add_row(
        "area",
        f"{st.area_m2:,.0f} m² ({st.area_m2 / 1e4:,.1f} ha, no-fly excluded; {st.holes} no-fly zone(s))",
    )
    t.add_row("transects", f"{st.transects} segments on {st.transect_lines} lines")
    t.add_row("waypoints", f"{st.waypoints}")
    t.add_row("route length", f"{st.route_length_m / 1000:,.2f} km")
    t.add_row("flight time", _duration(st.flight_time_s))
    t.add_row("sorties", f"{st.sorties} (battery budget {st.sortie_budget_s / 60:.1f} min each)")
    t.add_row("GSD", f"{st.gsd_cm_px:.2f} cm/px")
    t.add_row("coverage", f"{st.coverage_pct:.2f} % (camera footprint along the transects)")
    t.add_row(
        "grid angle",
        f"{st.angle_deg:.1f}° from north" + (" (auto: shortest route)" if angle_auto else ""),
    )
    t.add_row(
        "spacing",
        f"{st.spacing_m:.1f} m (footprint {st.footprint_w_m:.1f} × {st.footprint_h_m:.1f} m)",
    )
    t.add_row("altitude / speed", f"{st.alt_m:g} m above home / {st.speed_m_s:g} m/s")
    t.add_row("home", f"{plan.home.lat_deg:.6f}, {plan.home.lon_deg:.6f}")
    t.add_row("planning time", f"{st.planning_time_s:.2f} s")
    console.print(t)
    s_t = Table(box=box.SIMPLE)
    for col in ("sortie", "waypoints", "transects", "length (m)", "flight time"):
        s_t.add_column(col, justify="right")
    for s in plan.sorties:
        s_t.add_row(str(s.index), str(len(s.waypoints_local)), str(len(s.transects)),
                    f"{s.length_m:,.0f}", _duration(s.flight_time_s))  # fmt: skip
    console.print(s_t)
    if plan.risk:
        r_t = Table(title="risk map (first visit = flight time since the first take-off)",
                    box=box.SIMPLE)  # fmt: skip
        for col in ("class", "features", "area (m²)", "coverage", "first visit", "passes"):
            r_t.add_column(col, justify="right")
        for cls, row in plan.risk.items():
            cov = "–" if row["coverage_pct"] is None else f"{row['coverage_pct']:.1f} %"
            fv = "–" if row["first_visit_s"] is None else _duration(row["first_visit_s"])
            r_t.add_row(cls, str(row["features"]), f"{row['area_m2']:,.0f}", cov, fv,
                        str(len(row["visits_s"])))  # fmt: skip
        console.print(r_t)
