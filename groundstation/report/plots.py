"""The report's figures, drawn with matplotlib's Agg canvas and embedded as base64 PNG.

No pyplot: every figure is a ``matplotlib.figure.Figure`` on its own ``FigureCanvasAgg``, so
drawing is thread-safe and needs no display. Maps are drawn in local metres (east, north) around
home (or the district's centre) with equal axes, so distances read true.

* :func:`track_map`: district, no-fly holes, covered area, planned route, flown track, home and
  numbered alert markers;
* :func:`gathering_heatmap`: Gaussian kernel density of gathering alerts weighted by their head
  count (bandwidth :data:`HEAT_BANDWIDTH_M`), over the district;
* :func:`timeline`: flight mode bands, altitude and battery against time, with alerts,
  broadcasts and link losses marked.
"""

from __future__ import annotations

import base64
import io
import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath

from missions.risk import RISK_COLOURS
from missions.shapes import polygons_of

HEAT_BANDWIDTH_M = 20.0
"""Standard deviation of the Gaussian kernel of the gathering heat map, metres."""
DPI = 100

KIND_STYLE = {
    "gathering": ("#d62728", "o", "gathering"),
    "unmasked": ("#ff7f0e", "s", "unmasked"),
    "mask_incorrect": ("#9467bd", "D", "mask worn wrong"),
}
SAFETY_STYLE = ("#555555", "X", "safety")
MODE_COLOURS = {
    "AUTO": "#4c9be8",
    "GUIDED": "#8fd18f",
    "RTL": "#f0a04b",
    "LAND": "#e377c2",
    "LOITER": "#bcbd22",
    "BRAKE": "#c49c94",
    "STABILIZE": "#c7c7c7",
    "POSHOLD": "#17becf",
    "ALT_HOLD": "#dbdb8d",
    "SMART_RTL": "#ffbb78",
}


def kind_style(kind: str) -> tuple[str, str, str]:
    """``(colour, marker, label)`` of an alert kind."""
    return KIND_STYLE.get(kind, SAFETY_STYLE)


def png_data_uri(fig: Figure) -> str:
    """Render a figure to a ``data:image/png;base64,...`` URI."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _poly_patch(poly, **kw) -> PathPatch:
    verts, codes = [], []
    for ring in [poly.exterior, *poly.interiors]:
        c = np.asarray(ring.coords)
        verts.extend(c.tolist())
        codes.extend([MplPath.MOVETO] + [MplPath.LINETO] * (len(c) - 2) + [MplPath.CLOSEPOLY])
    return PathPatch(MplPath(verts, codes), **kw)


def _add_geom(ax, geom, **kw) -> bool:
    drawn = False
    for poly in polygons_of(geom):
        ax.add_patch(_poly_patch(poly, **kw))
        kw.pop("label", None)
        drawn = True
    return drawn


def track_map(
    frame,
    *,
    track_xy: np.ndarray,
    survey_runs: list[np.ndarray],
    district_local=None,
    holes_local=(),
    covered_local=None,
    route_xy: list[np.ndarray] = (),
    home_xy: tuple[float, float] | None = None,
    alerts: list[tuple[int, str, float, float]] = (),
    title: str = "",
    track_breaks: np.ndarray | None = None,
    risk_local: list[tuple[str, object]] = (),
) -> Figure:
    """The flight-track map.

    Args:
        frame: The local frame the ``*_xy`` / ``*_local`` inputs are in (for the caption).
        track_xy: (N, 2) flown track, local metres.
        survey_runs: Index arrays into ``track_xy`` of the survey pieces (drawn bold).
        district_local: District polygon (without holes), local metres.
        holes_local: No-fly polygons.
        covered_local: Covered ground (district ∩ swept footprint).
        route_xy: Planned route per sortie, (M, 2) arrays.
        home_xy: Home position.
        alerts: ``(number, kind, x, y)`` markers.
        title: Figure title.
        track_breaks: Indices ``i`` where the line must not join sample ``i - 1`` to ``i``
            (telemetry holes: the path flown there is unknown).
        risk_local: Five-colour risk layer, ``(class, polygon)`` in local metres (household
            points already buffered), drawn under the track and the alerts.

    Returns:
        The figure.
    """
    fig = Figure(figsize=(10.0, 7.0))
    ax = fig.add_subplot(1, 1, 1)
    if district_local is not None:
        _add_geom(
            ax, district_local, facecolor="#eef3f8", edgecolor="#34495e", lw=1.2, label="district"
        )
    for i, h in enumerate(holes_local):
        _add_geom(
            ax,
            h,
            facecolor="#f6d5d5",
            edgecolor="#c0392b",
            hatch="//",
            lw=1.0,
            label="no-fly" if i == 0 else None,
        )
    if covered_local is not None and not covered_local.is_empty:
        _add_geom(
            ax, covered_local, facecolor="#2ecc71", alpha=0.35, lw=0, label="covered by the camera"
        )
    labelled: set[str] = set()
    for cls, geom in risk_local:
        colour = RISK_COLOURS.get(cls, "#888888")
        _add_geom(ax, geom, facecolor=colour, edgecolor=colour, alpha=0.35, lw=0.8,
                  label=None if cls in labelled else f"risk {cls}")  # fmt: skip
        labelled.add(cls)
    for i, r in enumerate(route_xy):
        if len(r) >= 2:
            ax.plot(
                r[:, 0],
                r[:, 1],
                ls="--",
                lw=0.8,
                color="#7f8c8d",
                label="planned route" if i == 0 else None,
            )
    if len(track_xy):
        line = track_xy if track_breaks is None else _broken(track_xy, track_breaks)
        ax.plot(line[:, 0], line[:, 1], lw=0.9, color="#5d6d7e", alpha=0.8, label="flown track")
        for i, run in enumerate(survey_runs):
            ax.plot(
                track_xy[run, 0],
                track_xy[run, 1],
                lw=1.8,
                color="#1f4e9e",
                label="survey (AUTO at survey altitude)" if i == 0 else None,
            )
    if home_xy is not None:
        ax.plot(
            [home_xy[0]], [home_xy[1]], marker="^", ms=11, color="black", ls="none", label="home"
        )
    seen = set()
    for number, kind, x, y in alerts:
        colour, marker, label = kind_style(kind)
        ax.plot(
            [x],
            [y],
            marker=marker,
            ms=9,
            mfc=colour,
            mec="white",
            ls="none",
            label=label if label not in seen else None,
        )
        seen.add(label)
        ax.annotate(
            str(number), (x, y), xytext=(5, 5), textcoords="offset points", fontsize=8, color=colour
        )
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    ax.grid(True, lw=0.3, alpha=0.5)
    ax.set_xlabel("metres east")
    ax.set_ylabel("metres north")
    ax.set_title(title, fontsize=11)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, framealpha=0.85)
    fig.text(
        0.01,
        0.005,
        f"origin {frame.lat0_deg:.6f}, {frame.lon0_deg:.6f} (WGS-84), local east-north metres",
        fontsize=7,
        color="#666666",
    )
    return fig


def _broken(xy: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """``xy`` with a NaN row inserted before each index of ``breaks`` (matplotlib gaps)."""
    if not len(breaks):
        return xy
    return np.insert(xy.astype(float), np.asarray(breaks, int), np.nan, axis=0)


def density_grid(
    points_xy: np.ndarray,
    weights: np.ndarray,
    bounds: tuple[float, float, float, float],
    *,
    bandwidth_m: float = HEAT_BANDWIDTH_M,
    cells: int = 160,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted Gaussian kernel density on a regular grid.

    ``density(q) = Σ_i w_i · exp(-|q − p_i|² / (2·h²)) / (2·π·h²)`` (people per m²).

    Args:
        points_xy: (N, 2) points, metres.
        weights: (N,) weights (head counts).
        bounds: ``(xmin, ymin, xmax, ymax)``.
        bandwidth_m: Kernel standard deviation h, metres.
        cells: Grid cells along the longer side.

    Returns:
        ``(xs, ys, density)`` with density shaped (len(ys), len(xs)).
    """
    xmin, ymin, xmax, ymax = bounds
    step = max(xmax - xmin, ymax - ymin) / cells
    xs = np.arange(xmin, xmax + step, step)
    ys = np.arange(ymin, ymax + step, step)
    gx, gy = np.meshgrid(xs, ys)
    dens = np.zeros_like(gx)
    h2 = bandwidth_m**2
    for (px, py), w in zip(points_xy, weights, strict=False):
        dens += w * np.exp(-((gx - px) ** 2 + (gy - py) ** 2) / (2 * h2))
    return xs, ys, dens / (2 * math.pi * h2)


def gathering_heatmap(
    frame,
    *,
    points_xy: np.ndarray,
    weights: np.ndarray,
    district_local=None,
    holes_local=(),
    track_xy: np.ndarray | None = None,
    title: str = "",
) -> Figure:
    """Heat map of gatherings (see :func:`density_grid`) over the district."""
    fig = Figure(figsize=(9.0, 7.0))
    ax = fig.add_subplot(1, 1, 1)
    geoms = [g for g in [district_local, *holes_local] if g is not None]
    xs_all = [points_xy[:, 0]] if len(points_xy) else []
    ys_all = [points_xy[:, 1]] if len(points_xy) else []
    for g in geoms:
        x0, y0, x1, y1 = g.bounds
        xs_all.append(np.array([x0, x1]))
        ys_all.append(np.array([y0, y1]))
    pad = 3 * HEAT_BANDWIDTH_M
    xs_cat, ys_cat = np.concatenate(xs_all), np.concatenate(ys_all)
    bounds = (xs_cat.min() - pad, ys_cat.min() - pad, xs_cat.max() + pad, ys_cat.max() + pad)
    xs, ys, dens = density_grid(points_xy, weights, bounds)
    im = ax.imshow(
        dens,
        origin="lower",
        extent=(xs[0], xs[-1], ys[0], ys[-1]),
        cmap=_fading_cmap(),
        interpolation="bilinear",
        zorder=2,
    )
    cb = fig.colorbar(im, ax=ax, shrink=0.75)
    cb.set_label("gathered people per 1000 m²")
    cb.ax.yaxis.set_major_formatter(_per_1000())
    if district_local is not None:
        _add_geom(ax, district_local, facecolor="none", edgecolor="#34495e", lw=1.2, zorder=3)
    for h in holes_local:
        _add_geom(ax, h, facecolor="none", edgecolor="#c0392b", hatch="//", lw=1.0, zorder=3)
    if track_xy is not None and len(track_xy):
        ax.plot(track_xy[:, 0], track_xy[:, 1], lw=0.6, color="#5d6d7e", alpha=0.5, zorder=1)
    ax.scatter(
        points_xy[:, 0],
        points_xy[:, 1],
        s=12 + 6 * weights,
        c="#7b241c",
        zorder=4,
        label="gathering",
    )
    ax.set_xlim(bounds[0], bounds[2])
    ax.set_ylim(bounds[1], bounds[3])
    ax.set_aspect("equal")
    ax.set_xlabel("metres east")
    ax.set_ylabel("metres north")
    ax.set_title(title, fontsize=11)
    ax.grid(True, lw=0.3, alpha=0.4)
    return fig


def _fading_cmap():
    """YlOrRd whose low end fades to transparent (the map shows through where nobody gathered)."""
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    colours = colormaps["YlOrRd"](np.linspace(0.0, 1.0, 256))
    colours[:, 3] = np.clip(np.linspace(0.0, 1.0, 256) / 0.35, 0.0, 1.0) * 0.9
    return ListedColormap(colours)


def _per_1000():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: f"{v * 1000:.2g}")


def timeline(
    t0: float,
    *,
    mode_spans: list[tuple[float, float, str]],
    track_t: np.ndarray,
    alt_m: np.ndarray,
    battery_t: np.ndarray,
    battery_pct: np.ndarray,
    battery_v: np.ndarray,
    alerts: list[tuple[int, float, str]] = (),
    broadcasts: list[float] = (),
    link_losses: list[tuple[float, float]] = (),
    title: str = "",
) -> Figure:
    """Mode, altitude and battery against time since ``t0``, with events marked.

    The time axis is in minutes, or in seconds for logs shorter than 3 minutes.

    Args:
        t0: UNIX time of the x-axis origin.
        mode_spans: ``(start_s, end_s, mode)``.
        track_t: (N,) times of ``alt_m``.
        alt_m: (N,) altitude above home, metres.
        battery_t: (M,) battery sample times.
        battery_pct: (M,) remaining percent (NaN unknown).
        battery_v: (M,) voltage (NaN unknown); drawn when no percentage is known.
        alerts: ``(number, t_s, kind)``.
        broadcasts: Start times of reminders played.
        link_losses: ``(start_s, end_s)`` without telemetry.
        title: Figure title.
    """
    fig = Figure(figsize=(10.0, 6.2))
    gs = fig.add_gridspec(3, 1, height_ratios=[0.7, 2.0, 1.6], hspace=0.08)
    ax_m = fig.add_subplot(gs[0])
    ax_a = fig.add_subplot(gs[1], sharex=ax_m)
    ax_b = fig.add_subplot(gs[2], sharex=ax_m)

    last = max(
        [float(np.max(track_t)) if len(track_t) else t0]
        + [float(np.max(battery_t)) if len(battery_t) else t0]
        + [e for _, e, _ in mode_spans]
    )
    unit, div = ("seconds", 1.0) if last - t0 < 180.0 else ("minutes", 60.0)

    def mins(t):
        """UNIX seconds -> x-axis units (seconds or minutes since ``t0``)."""
        return (np.asarray(t, float) - t0) / div

    for start, end, mode in mode_spans:
        colour = MODE_COLOURS.get(mode, "#dddddd")
        x0, w = float(mins(start)), float(mins(end) - mins(start))
        ax_m.broken_barh([(x0, max(w, 1e-6))], (0, 1), facecolors=colour, edgecolor="white", lw=0.5)
    span = float(mins(max((e for _, e, _ in mode_spans), default=t0)) or 1.0)
    for start, end, mode in mode_spans:
        w = float(mins(end) - mins(start))
        if w > 0.06 * max(span, 1e-6):
            ax_m.text(float(mins(start)) + w / 2, 0.5, mode, ha="center", va="center", fontsize=8)
    ax_m.set_yticks([])
    ax_m.set_ylabel("mode", rotation=0, ha="right", va="center")
    ax_m.set_ylim(0, 1)

    if len(track_t):
        ax_a.plot(mins(track_t), alt_m, color="#1f4e9e", lw=1.2)
    ax_a.set_ylabel("altitude above home (m)")
    ax_a.grid(True, lw=0.3, alpha=0.5)

    pct_ok = np.isfinite(battery_pct)
    volt_ok = np.isfinite(battery_v)
    if pct_ok.any():
        ax_b.plot(mins(battery_t[pct_ok]), battery_pct[pct_ok], color="#27ae60", lw=1.2)
        ax_b.set_ylabel("battery (%)")
        ax_b.set_ylim(0, 105)
    elif volt_ok.any():
        ax_b.plot(mins(battery_t[volt_ok]), battery_v[volt_ok], color="#27ae60", lw=1.2)
        ax_b.set_ylabel("battery (V)")
    else:
        ax_b.set_ylabel("battery")
        ax_b.text(
            0.5,
            0.5,
            "no battery data in the log",
            transform=ax_b.transAxes,
            ha="center",
            color="#888888",
        )
    ax_b.grid(True, lw=0.3, alpha=0.5)
    ax_b.set_xlabel(f"{unit} since the log started")

    for start, end in link_losses:
        for ax in (ax_m, ax_a, ax_b):
            ax.axvspan(float(mins(start)), float(mins(end)), color="#999999", alpha=0.25, lw=0)
    labelled = set()
    for number, t, kind in alerts:
        colour, _, label = kind_style(kind)
        for ax in (ax_a, ax_b):
            ax.axvline(float(mins(t)), color=colour, lw=0.9, alpha=0.8)
        ax_a.plot(
            [float(mins(t))],
            [1.0],
            marker="v",
            color=colour,
            transform=ax_a.get_xaxis_transform(),
            clip_on=False,
            ls="none",
            label=f"alert: {label}" if label not in labelled else None,
        )
        ax_a.annotate(
            str(number),
            (float(mins(t)), 1.0),
            xycoords=ax_a.get_xaxis_transform(),
            xytext=(2, -12),
            textcoords="offset points",
            fontsize=7,
            color=colour,
        )
        labelled.add(label)
    for i, t in enumerate(broadcasts):
        ax_b.axvline(
            float(mins(t)),
            color="#2980b9",
            lw=0.9,
            ls="--",
            label="reminder broadcast" if i == 0 else None,
        )
    if link_losses:
        ax_b.plot([], [], color="#999999", alpha=0.4, lw=6, label="link lost")
    if alerts:
        ax_a.legend(loc="lower right", fontsize=7, framealpha=0.85)
    if broadcasts or link_losses:
        ax_b.legend(loc="lower left", fontsize=7, framealpha=0.85)
    for ax in (ax_m, ax_a):
        for lbl in ax.get_xticklabels():
            lbl.set_visible(False)
    ax_m.set_title(title, fontsize=11)
    return fig
