"""PNG preview of a plan (matplotlib, Agg backend): area, holes, fence, route, numbered waypoints."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

MAX_LABELS = 250
"""With more waypoints than this, only every k-th waypoint number is drawn (to stay readable)."""


def write_preview(plan, path: str | os.PathLike, dpi: int = 130) -> Path:
    """Draw the plan in local metres and save it as PNG.

    Shows the district (grey), no-fly holes (red, hatched), the inclusion fence (dashed), each
    sortie's route in its own colour, waypoint numbers (mission seq), home and the start of the
    first transect.

    Returns:
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from missions.shapes import polygons_of

    fig = Figure(figsize=(10, 9))
    ax = fig.add_subplot(1, 1, 1)
    area = plan.area
    for poly in polygons_of(area.polygon_local):
        x, y = poly.exterior.xy
        ax.fill(x, y, color="#d9d9d9", zorder=0, label="district")
        ax.plot(x, y, color="#555555", lw=1.0, zorder=1)
    for k, poly in enumerate(area.holes_local):
        x, y = poly.exterior.xy
        ax.fill(x, y, facecolor="#f4cccc", edgecolor="#cc0000", hatch="///", lw=1.0, zorder=2,
                label="no-fly" if k == 0 else None)  # fmt: skip
    risk_map = getattr(plan, "risk_map", None)
    if risk_map is not None:
        from missions.risk import RISK_COLOURS

        for cls, geom in risk_map.regions_local(plan.frame).items():
            for k, poly in enumerate(polygons_of(geom)):
                x, y = poly.exterior.xy
                ax.fill(x, y, facecolor=RISK_COLOURS[cls], edgecolor=RISK_COLOURS[cls], alpha=0.5,
                        lw=0.6, zorder=2, label=f"risk {cls}" if k == 0 else None)  # fmt: skip
        marks = {"gate": "s", "checkpoint": "X", "exit": "D"}
        for k, c in enumerate(risk_map.combat):
            cx, cy = plan.frame.to_local(c.geometry.centroid.y, c.geometry.centroid.x)
            ax.scatter([cx], [cy], marker=marks[c.kind], s=50, color="black", zorder=6,
                       label=c.kind if k == [d.kind for d in risk_map.combat].index(c.kind) else None)  # fmt: skip
    fx, fy = plan.fence_local.exterior.xy
    ax.plot(fx, fy, ls="--", color="#cc6600", lw=1.0, zorder=1, label="fence")
    cmap = matplotlib.colormaps["tab10"]
    n_wp = sum(len(s.waypoints_local) for s in plan.sorties)
    every = max(1, int(np.ceil(n_wp / MAX_LABELS)))
    for s in plan.sorties:
        c = cmap((s.index - 1) % 10)
        p = s.path_local
        ax.plot(p[:, 0], p[:, 1], color=c, lw=1.2, zorder=3, label=f"sortie {s.index}")
        wps = s.waypoints_local
        if len(wps):
            ax.scatter(wps[:, 0], wps[:, 1], s=6, color=c, zorder=4)
            for k, (x, y) in enumerate(wps):
                if k % every == 0:
                    ax.annotate(str(k + 3), (x, y), fontsize=5, color=c, xytext=(2, 2),
                                textcoords="offset points", zorder=5)  # fmt: skip
    hx, hy = plan.frame.to_local(plan.home.lat_deg, plan.home.lon_deg)
    ax.scatter([hx], [hy], marker="^", s=90, color="black", zorder=6, label="home")
    if plan.transects:
        sx, sy = plan.transects[0].a
        ax.scatter([sx], [sy], marker="*", s=140, color="#00aa00", zorder=6, label="start")
    st = plan.stats
    ax.set_title(
        f"{area.name}: {st.sorties} sortie(s), {st.route_length_m / 1000:.1f} km, "
        f"{st.flight_time_s / 60:.0f} min, coverage {st.coverage_pct:.1f}%, angle {st.angle_deg:.0f}°",
        fontsize=9,
    )
    ax.set_xlabel("east (m)")
    ax.set_ylabel("north (m)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(True, lw=0.3, alpha=0.5)
    ax.legend(loc="upper right", fontsize=6, ncol=2)
    p = Path(path)
    fig.savefig(p, dpi=dpi, bbox_inches="tight")
    return p
