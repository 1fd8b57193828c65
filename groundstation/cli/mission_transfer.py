"""``dronepatrol mission upload|download|clear``: mission, fence and rally transfer to a vehicle.

Also the helpers ``dronepatrol fly`` shares: :func:`vehicle_link` (connect, or start the embedded
simulator for ``--connect sim``) and :func:`transfer_progress` (a rich progress bar on a TTY).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from groundstation.link import Link
from missions.errors import InputError

log = logging.getLogger(__name__)

TYPE_NUMBERS = {"mission": 0, "fence": 1, "rally": 2}
"""``--type`` value -> MAV_MISSION_TYPE."""


@contextlib.contextmanager
def transfer_progress(
    label: str, enabled: bool | None = None
) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback ``(done, total)`` drawing a rich progress bar on stderr.

    Args:
        label: Text before the bar.
        enabled: Force on/off; default: only when stderr is a TTY.

    Yields:
        The callback, or None when disabled (pass it straight to the transfer functions).
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            """Progress callback: ``done`` of ``total`` items transferred."""
            bar.update(task, completed=done, total=total)

        yield update


@dataclass
class Connection:
    """What :func:`vehicle_link` yields: the link, and the embedded simulator when it started one."""

    link: Link
    sim: object | None = None


@contextlib.contextmanager
def vehicle_link(
    url: str,
    *,
    config=None,
    timeout_s: float | None = None,
    tlog_path: str | Path | None = None,
) -> Iterator[Connection]:
    """Connect to ``url``, closing the link on exit.

    ``url == "sim"`` starts the embedded simulator in-process on a free loopback port with the
    config's ``sim`` section (``sim.speedup``...) and stops it on exit. ``url == "sitl"`` starts a
    real ArduCopter SITL (:func:`start_configured_sitl`: ``sitl.binary`` or ``ARDUPILOT_SITL``,
    home and speed-up from ``sim``), waits until it is armable, and stops it on exit; this process
    stays its parent for the whole run (SITL exits when its parent dies).

    Args:
        url: Endpoint URL, ``sim`` or ``sitl``.
        config: ``groundstation.config.Config`` for the connection/sim sections (default: built-in).
        timeout_s: Heartbeat timeout (default ``connection.heartbeat_timeout_s``).
        tlog_path: Optional telemetry log.

    Yields:
        A :class:`Connection` (``.link``; ``.sim`` is the :class:`sim.SimHandle` for ``sim``,
        the :class:`sim.sitl.SitlHandle` for ``sitl``).

    Raises:
        LinkError: No vehicle. InputError: Bad URL or signing key. ConfigError, SitlError: no
        SITL binary, or it did not start. VehicleTimeoutError: SITL not armable in time.
    """
    from groundstation.config import load_config

    cfg = config if config is not None else load_config(None)
    conn = cfg.connection
    handle = None
    try:
        if url == "sim":
            import sim

            handle = sim.start_sim(cfg.sim, port=0, speedup=cfg.sim.speedup)
            url = handle.url
            log.info("embedded simulator on %s (speedup %g)", url, cfg.sim.speedup)
        elif url == "sitl":
            handle = start_configured_sitl(cfg)
            url = handle.url
        link = Link.connect(
            url,
            timeout_s=timeout_s if timeout_s is not None else conn.heartbeat_timeout_s,
            signing_key=conn.signing_key,
            link_lost_s=conn.link_lost_s,
            tlog_path=tlog_path,
        )
        try:
            if getattr(handle, "kind", None) == "sitl":
                wait_armable(link, cfg.sitl.armable_timeout_s / cfg.sim.speedup + 30.0)
            yield Connection(link, handle)
        finally:
            link.close()
    finally:
        if handle is not None:
            handle.stop()


def start_configured_sitl(cfg):
    """Start the real ArduCopter SITL the config names (``connection.url: sitl``).

    ``sitl.binary`` (or ``ARDUPILOT_SITL``), ``sitl.defaults`` (or ``ARDUPILOT_DEFAULTS``),
    ``sitl.instance``; home and speed-up from ``sim.home`` / ``sim.speedup``. SITL runs with
    ``--serial0 tcp:0`` so that it does not pause waiting for a client (:func:`sim.sitl.start_sitl`).

    Returns:
        The :class:`sim.sitl.SitlHandle` (stop it at the end).

    Raises:
        ConfigError: No binary configured, or a file that does not exist. SitlError: SITL exited
            or did not open its port.
    """
    from sim.sitl import start_sitl

    home = cfg.sim.home
    handle = start_sitl(
        cfg.sitl.binary,
        cfg.sitl.defaults,
        home=(home.lat_deg, home.lon_deg, home.alt_m),
        speedup=cfg.sim.speedup,
        instance=cfg.sitl.instance,
    )
    log.info("ArduPilot SITL on %s (speedup %g)", handle.url, cfg.sim.speedup)
    return handle


def wait_armable(link, timeout_s: float) -> None:
    """Wait until the vehicle's EKF has an absolute horizontal position (EKF_STATUS_REPORT flag
    EKF_POS_HORIZ_ABS), which is when ArduCopter allows arming (about 43 s after SITL starts).

    Raises:
        VehicleTimeoutError: Not within ``timeout_s`` wall seconds.
    """
    from groundstation.link import MAV
    from groundstation.vehicle import VehicleTimeoutError

    link.request_message_interval("EKF_STATUS_REPORT", 2)
    msg = link.wait_message(
        "EKF_STATUS_REPORT", lambda m: m.flags & MAV.EKF_POS_HORIZ_ABS, timeout_s=timeout_s
    )
    if msg is None:
        raise VehicleTimeoutError(
            f"{link.url}: SITL not armable within {timeout_s:.0f} s (no EKF position)"
        )


def _load_items(path: str, kind: str) -> dict[str, list]:
    from missions.formats import read_mission_file

    _refuse_folder(path)
    mf = read_mission_file(path)
    for w in mf.warnings:
        print(f"warning: {w}", file=sys.stderr)
    kinds = ("fence", "rally", "mission") if kind == "all" else (kind,)
    lists = {k: mf.items(k) for k in kinds}
    from missions.items import check_item_count

    for k, v in lists.items():
        check_item_count(v, path, k)
    if kind == "all":
        lists = {k: v for k, v in lists.items() if v}
        if not lists:
            raise InputError(f"{path}: holds no mission, fence or rally items")
    elif not lists[kind]:
        others = [k for k in ("mission", "fence", "rally") if k != kind and mf.items(k)]
        hint = f" (it has {' and '.join(others)} items: use --type {others[0]})" if others else ""
        raise InputError(f"{path}: holds no {kind} items{hint}")
    return lists


def _refuse_folder(path: str) -> None:
    """Raise InputError for a folder, saying which of its files to give (upload takes one file).

    A plan folder holds one mission per sortie plus the fence and rally lists, which is more than
    one upload can hold: ``dronepatrol fly`` flies it (fence and rally first, then each sortie).
    """
    from missions.plan_io import is_plan_dir

    folder = Path(path)
    if not folder.is_dir():
        return
    files = sorted(
        (f for f in folder.glob("*.waypoints") if f.is_file()),
        key=lambda f: (not f.name.startswith("sortie_"), len(f.name), f.name),
    )
    named = [str(f) for f in files]
    if len(named) > 4:
        named = [*named[:2], "...", *named[-2:]]
    if is_plan_dir(folder):
        raise InputError(
            f"{path}: is a plan folder, and upload takes one mission file: give one of its files "
            f"({', '.join(named)}) or fly the whole plan with 'dronepatrol fly {path}'"
        )
    some = f" such as {', '.join(named)}" if named else ""
    raise InputError(f"{path}: is a folder, expected a mission file (WPL, .plan or .mission){some}")


def _upload_note(name: str, items: list) -> str:
    """What an upload report adds after the count: the mission's home slot (see count_text)."""
    if name != "mission" or not items:
        return ""
    return f" (home (seq 0) + {len(items) - 1}; the vehicle keeps its own home at seq 0)"


def run_transfer(args: argparse.Namespace) -> int:
    """Run ``mission upload``, ``mission download`` or ``mission clear``.

    Returns:
        0 on success.

    Raises:
        InputError: Bad file/arguments. LinkError: No vehicle. MissionTransferError: The transfer
            failed (the message names the item and the MAV_MISSION_RESULT).
    """
    from groundstation import mission_transfer as mt
    from groundstation.cli import config_from_args

    action = args.mission_command
    cfg = config_from_args(args)
    kind = args.type
    lists = _load_items(args.file, kind) if action == "upload" else None
    with vehicle_link(args.connect, config=cfg, timeout_s=args.timeout) as conn:
        link = conn.link
        if action == "upload":
            for name, items in lists.items():
                with transfer_progress(f"upload {name}") as progress:
                    mt.upload_and_verify(
                        link,
                        items,
                        TYPE_NUMBERS[name],
                        progress=progress,
                        on_failure=args.on_failure,
                    )
                print(
                    f"{name}: {len(items)} items uploaded to {link.url} and verified"
                    f"{_upload_note(name, items)}"
                )
            if kind == "all":
                # the vehicle must hold the file's lists and nothing else: a list the file does
                # not have (a plain WPL has no fence) is cleared, and said
                for name in ("mission", "fence", "rally"):
                    if name in lists:
                        continue
                    held = mt.download(link, TYPE_NUMBERS[name])
                    n = len(held) - (1 if name == "mission" else 0)
                    if n > 0:
                        mt.clear(link, TYPE_NUMBERS[name])
                        print(
                            f"{name}: the file has none; cleared the {n} {name} items the "
                            f"vehicle held from before"
                        )
            return 0
        if action == "download":
            kinds = ("mission", "fence", "rally") if kind == "all" else (kind,)
            got = {}
            for name in kinds:
                with transfer_progress(f"download {name}") as progress:
                    got[name] = mt.download(link, TYPE_NUMBERS[name], progress=progress)
            if args.out:
                _write_download(args.out, got)
                print(f"wrote {args.out}")
            else:
                from groundstation.cli.mission_show import print_item_list, table_console

                console = table_console()
                for name, items in got.items():
                    print_item_list(console, link.url, name, items)
            return 0
        if action == "clear":
            kinds = ("mission", "fence", "rally") if kind == "all" else (kind,)
            for name in kinds:
                mt.clear(link, TYPE_NUMBERS[name])
                print(f"{name}: cleared on {link.url}")
            return 0
    raise InputError(f"unknown mission action {action!r}")


def _write_download(out: str, got: dict[str, list]) -> None:
    from missions.formats import write_plan, write_wpl

    path = Path(out)
    if path.suffix.lower() == ".plan":
        write_plan(path, got.get("mission", []), got.get("fence", []), got.get("rally", []))
        return
    if len(got) != 1:
        raise InputError(f"{out}: a WPL file holds one list; use a .plan file for --type all")
    (items,) = got.values()
    write_wpl(items, path)
