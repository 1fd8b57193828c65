"""``dronepatrol fly``: upload a mission (or every sortie of a plan folder) and fly it.

For each sortie: upload and verify the fence and rally points (first sortie), configure and
enable the fence on the vehicle (``fence.enable_on_vehicle``, :mod:`groundstation.geofence`),
upload and verify the mission, take off the way ArduCopter requires (GUIDED -> arm -> NAV_TAKEOFF -> AUTO), show a live status
line, and finish when the vehicle has landed and disarmed. Ctrl-C never leaves the vehicle
without a command: ``--on-interrupt rtl`` (default) or ``land`` commands that mode, ``continue``
lets the mission go on; an armed vehicle still on the ground is disarmed.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


def register(sub, common: argparse.ArgumentParser) -> None:
    """Add the ``fly`` subcommand."""
    from groundstation.cli import HelpFormatter, add_config_args

    p = sub.add_parser(
        "fly",
        parents=[common],
        help="upload a mission or plan folder, take off, fly it in AUTO until landed and disarmed",
        description=(
            "Upload and verify the mission (and fence and rally points), enable the fence on "
            "the vehicle (fence.enable_on_vehicle: FENCE_TYPE polygon + max altitude, "
            "FENCE_ALT_MAX, FENCE_ACTION, FENCE_ENABLE), arm, take off, fly the mission in AUTO "
            "and wait until the vehicle has landed and disarmed. A plan folder's sorties are "
            "flown one after another."
        ),
        epilog=(
            "examples:\n"
            "  dronepatrol fly plan/sortie_1.waypoints --connect tcp:127.0.0.1:5760\n"
            "  dronepatrol fly plan/ --connect udpin:0.0.0.0:14550 --on-interrupt land\n"
            "  dronepatrol fly plan/ --connect sim --set sim.speedup=10"
        ),
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "target",
        metavar="MISSION_FILE|PLAN_DIR",
        help="a mission file (WPL, .plan, .mission) or a folder written by 'dronepatrol plan'",
    )
    p.add_argument(
        "--connect",
        metavar="URL",
        default=None,
        help="vehicle endpoint (tcp:HOST:PORT, udpin:HOST:PORT, udpout:HOST:PORT, "
        "/dev/ttyUSB0:57600), sim (embedded simulator) or sitl (start ArduPilot SITL from "
        "ARDUPILOT_SITL); default: connection.url of the config",
    )
    p.add_argument(
        "--on-interrupt",
        choices=["rtl", "land", "continue"],
        default="rtl",
        help="what the vehicle does on Ctrl-C (or a failure) while flying",
    )
    p.add_argument(
        "--takeoff-alt",
        type=float,
        default=None,
        metavar="M",
        help="take-off altitude above home; default: the mission's NAV_TAKEOFF altitude",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        metavar="S",
        help="maximum time for one sortie from take-off to disarm, seconds",
    )
    p.add_argument("--tlog", metavar="FILE", default=None, help="write a telemetry log (.tlog)")
    add_force_unsafe_arg(p)
    add_config_args(p)
    p.set_defaults(func=run)


def add_force_unsafe_arg(p: argparse.ArgumentParser) -> None:
    """Add ``--force-unsafe CHECK`` (repeatable) to ``fly`` and ``patrol``."""
    from groundstation.preflight import CHECKS

    p.add_argument(
        "--force-unsafe",
        metavar="CHECK",
        action="append",
        default=[],
        help="fly although this pre-flight check refuses (repeatable or comma list; one of "
        f"{', '.join(CHECKS)}, or all); see docs/safety.md",
    )


# --- what to fly -------------------------------------------------------------------------------------


@dataclass
class Sortie:
    """One flight: mission items (seq 0 = home) and the fence/rally lists to upload before it."""

    name: str
    mission: list
    fence: list = field(default_factory=list)
    rally: list = field(default_factory=list)


def load_sorties(target: str | Path) -> list[Sortie]:
    """The sorties of a mission file or of a plan folder.

    A plan folder is one written by ``dronepatrol plan --out`` (its ``plan.json`` lists the
    sorties in flight order; :func:`missions.plan_io.read_plan_dir`). Its fence and rally lists
    are uploaded before the first sortie. A mission file's own fence/rally lists (a ``.plan``
    file's geoFence and rally points) are uploaded with it.

    Raises:
        InputError: Nothing to fly. MissionFileError: A file cannot be read.
    """
    from missions.errors import InputError
    from missions.formats import read_mission_file
    from missions.plan_io import read_plan_dir

    path = Path(target)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_file():
        mf = read_mission_file(path)
        if len(mf.mission) < 2:
            raise InputError(f"{path}: holds no mission items to fly")
        return [Sortie(path.name, mf.mission, mf.fence, mf.rally)]
    pd = read_plan_dir(path)
    if not pd.sorties:
        raise InputError(f"{path}: the plan has no sorties")
    sorties = []
    for i, mf in enumerate(pd.sorties):
        name = Path(mf.path).name if mf.path else f"sortie_{i + 1}"
        if len(mf.mission) < 2:
            raise InputError(f"{path / name}: holds no mission items to fly")
        first = i == 0
        sorties.append(
            Sortie(name, mf.mission, pd.fence if first else [], pd.rally if first else [])
        )
    return sorties


def takeoff_altitude(mission: list, default: float | None = None) -> float:
    """Altitude of the mission's first NAV_TAKEOFF (param7), else ``default``.

    Raises:
        InputError: No NAV_TAKEOFF and no default.
    """
    from missions.errors import InputError
    from missions.items import MAV_CMD_NAV_TAKEOFF

    for it in mission[1:]:
        if it.command == MAV_CMD_NAV_TAKEOFF and it.z > 0:
            return float(it.z)
    if default is not None:
        return float(default)
    raise InputError("the mission has no NAV_TAKEOFF altitude: give --takeoff-alt")


# --- status output -----------------------------------------------------------------------------------


class StatusPrinter:
    """The live one-line status (rewritten in place on a TTY, a line every 10 s otherwise) and
    one line per notable vehicle event."""

    def __init__(self, stream=None, tty: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self._lock = threading.Lock()
        self._line = ""
        self._last_plain = 0.0
        self.total_items: int | None = None

    def status(self, state) -> None:
        """Show the vehicle's status line (in place on a TTY, every 10 s otherwise).

        Args:
            state: The tracker's ``VehicleState``; ``item N/?`` gets the known item count.
        """
        line = state.summary()
        if self.total_items and state.mission_seq is not None and state.mission_count is None:
            line = line.replace(
                f"item {state.mission_seq}/?", f"item {state.mission_seq}/{self.total_items}"
            )
        with self._lock:
            if self.tty:
                self.stream.write("\r\x1b[K" + line)
                self.stream.flush()
                self._line = line
            elif time.monotonic() - self._last_plain >= 10.0:
                self._last_plain = time.monotonic()
                print(f"status: {line}", file=self.stream, flush=True)

    def event(self, text: str) -> None:
        """Print one event line without garbling the in-place status line (redrawn after it)."""
        with self._lock:
            if self.tty and self._line:
                self.stream.write("\r\x1b[K")
            print(text, file=self.stream, flush=True)
            if self.tty and self._line:
                self.stream.write(self._line)
                self.stream.flush()

    def done(self) -> None:
        """End the in-place status line with a newline (on a TTY), so later output starts clean."""
        with self._lock:
            if self.tty and self._line:
                self.stream.write("\n")
                self.stream.flush()
            self._line = ""

    def on_vehicle_event(self, ev) -> None:
        """Print the notable vehicle events (a ``VehicleTracker`` listener).

        Args:
            ev: ``VehicleEvent``; mode changes, arming, items reached, warnings (STATUSTEXT
                severity WARNING or worse, MAV_SEVERITY <= 4), low battery and link loss/recovery
                are printed, other kinds ignored. A STATUSTEXT that is a safety alert
                (:func:`groundstation.safety.safety_alert_kind`: "Fence Breached...", a
                failsafe) is printed as ``GEOFENCE: <text>`` / ``FAILSAFE: <text>``.
        """
        from groundstation.safety import safety_alert_kind

        d = ev.data
        alert = safety_alert_kind(ev.kind, d) if ev.kind == "statustext" else None
        if alert is not None:
            # a geofence breach or failsafe: the same alert kinds the patrol raises
            self.event(f"{alert.value.upper().replace('_', ' ')}: {d['text']}")
        elif ev.kind == "mode":
            self.event(f"mode {d['mode']}")
        elif ev.kind in ("armed", "disarmed"):
            self.event(ev.kind)
        elif ev.kind == "mission_item_reached":
            self.event(f"reached item {d['seq']}")
        elif ev.kind == "statustext" and d["severity"] <= 4:
            self.event(f"vehicle: {d['text']}")
        elif ev.kind == "low_battery":
            self.event(f"LOW BATTERY: {d['remaining_pct']:.0f}%")
        elif ev.kind == "link_lost":
            self.event("LINK LOST: the vehicle's failsafe decides what it does")
        elif ev.kind == "link_recovered":
            self.event("link recovered")


# --- flying ------------------------------------------------------------------------------------------


def fly_sortie(
    vehicle,
    sortie: Sortie,
    *,
    takeoff_alt_m: float,
    timeout_s: float,
    printer,
    fence_settings=None,
    fence_alt_m: float | None = None,
    preflight=None,
    fence: list | None = None,
):
    """Upload (verified), enable the fence, take off, fly in AUTO, wait until landed and disarmed.

    When the sortie carries fence items, the fence is configured and enabled on the vehicle
    after the fence and rally uploads (:func:`groundstation.geofence.configure_geofence`).

    Args:
        vehicle: The connected ``Vehicle``.
        sortie: What to upload and fly.
        takeoff_alt_m: Take-off altitude above home, metres.
        timeout_s: Maximum time from take-off to disarm, seconds.
        printer: A :class:`StatusPrinter`.
        fence_settings: The ``fence:`` config section (``missions.settings.FenceSettings``);
            None = its defaults (enable the fence, RTL on a breach).
        fence_alt_m: Highest planned altitude above home for FENCE_ALT_MAX, metres; None = this
            sortie's highest item, rally point or take-off altitude.
        preflight: A :class:`groundstation.preflight.Preflight`: the mission is checked against
            the vehicle's home before anything is uploaded, and again as read back from the
            vehicle before take-off. None = no checks.
        fence: The fence the vehicle enforces during this sortie (for the ``fence`` check);
            None = the sortie's own.

    Returns:
        A :class:`groundstation.vehicle.progress.MissionProgress` (MISSION_ITEM_REACHED and
        MISSION_CURRENT seqs as they came; ``finished(mode)`` says whether the mission ran to
        its end, without counting on one MISSION_ITEM_REACHED per item) with ``landed_mode``
        set to the flight mode the vehicle landed in.

    Raises:
        PreflightError, MissionTransferError, GeofenceError, ArmError, CommandError,
        VehicleError, VehicleTimeoutError.
    """
    from groundstation import mission_transfer as mt
    from groundstation.cli.mission_transfer import transfer_progress
    from groundstation.geofence import configure_geofence, planned_ceiling_m
    from groundstation.vehicle import VehicleError, VehicleTimeoutError
    from groundstation.vehicle.progress import MissionProgress
    from missions.settings import FenceSettings

    link = vehicle.link
    s = vehicle.state()
    if s.armed:
        raise VehicleError(
            f"{sortie.name}: the vehicle is already armed ({s.mode}); land and disarm it first"
        )
    from groundstation.preflight import vehicle_home

    fence_items = sortie.fence if fence is None else fence
    if preflight is not None:
        preflight.mission(
            sortie.mission, fence=fence_items, home=vehicle_home(vehicle), where=sortie.name
        )
    for name, items, mtype in (("fence", sortie.fence, 1), ("rally", sortie.rally, 2)):
        if items:
            with transfer_progress(f"upload {name}", printer.tty) as progress:
                mt.upload_and_verify(link, items, mtype, progress=progress)
            printer.event(f"{sortie.name}: {name} of {len(items)} items uploaded and verified")
    if sortie.fence:
        if fence_alt_m is None:
            home = s.home
            fence_alt_m = planned_ceiling_m(
                [sortie.mission, sortie.rally],
                takeoff_alt_m=takeoff_alt_m,
                home_amsl_m=home.alt_m if home is not None else None,
            )
        configure_geofence(
            vehicle,
            fence_settings if fence_settings is not None else FenceSettings(),
            fence_alt_m,
            say=printer.event,
        )
    with transfer_progress("upload mission", printer.tty) as progress:
        onboard = mt.upload_and_verify(link, sortie.mission, 0, progress=progress)
    if preflight is not None:
        # what the vehicle holds now, against the home it reports (seq 0 replaced by it)
        preflight.mission(
            onboard,
            fence=fence_items,
            home=vehicle_home(vehicle),
            where=f"{sortie.name} (on the vehicle)",
        )
    n = len(sortie.mission) - 1
    printer.total_items = n
    printer.event(f"{sortie.name}: mission of {n} items uploaded and verified")
    progress = MissionProgress(last_seq=n)
    unsub = vehicle.on_event(progress.on_event, ["mission_item_reached", "mission_current"])
    try:
        printer.event(f"{sortie.name}: GUIDED, arm, take off to {takeoff_alt_m:g} m, then AUTO")
        vehicle.start_mission(takeoff_alt_m)
        deadline = time.monotonic() + timeout_s
        while True:
            state = vehicle.state()
            printer.status(state)
            if not state.armed and state.on_ground:
                break
            if time.monotonic() > deadline:
                raise VehicleTimeoutError(
                    f"{sortie.name}: still flying after --timeout {timeout_s:g} s ({state.summary()})"
                )
            with contextlib.suppress(VehicleTimeoutError):
                vehicle.wait_until(lambda s: not s.armed, 0.5)
        printer.done()
        progress.landed_mode = state.mode
    finally:
        unsub()
    return progress


def on_interrupt(vehicle, action: str, printer) -> None:
    """Give the vehicle a command after Ctrl-C or a failure (never leave it without one).

    Disarmed: nothing. Armed on the ground: disarm. Flying: ``rtl``/``land`` switch to that mode
    (RTL falls back to LAND when refused); ``continue`` leaves the current mode.
    """
    from groundstation.vehicle import VehicleError

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        s = vehicle.state()
        if not s.armed:
            printer.event("the vehicle is disarmed: nothing to command")
            return
        if s.on_ground or (s.pose is not None and s.pose.alt_m < 0.5):
            try:
                vehicle.disarm()
                printer.event("the vehicle was armed on the ground: disarmed")
            except VehicleError as exc:
                printer.event(f"could not disarm: {exc}")
            return
        if action == "continue":
            printer.event(f"--on-interrupt continue: the vehicle goes on in {s.mode}")
            return
        order = ["rtl", "land"] if action == "rtl" else ["land", "rtl"]
        for what in order:
            try:
                getattr(vehicle, what)()
                printer.event(
                    f"{what.upper()} commanded (the vehicle is in {vehicle.state().mode})"
                )
                return
            except VehicleError as exc:
                printer.event(f"could not command {what.upper()}: {exc}")
        printer.event("no command was accepted: the vehicle's own failsafes (GCS loss) apply")
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _between_sorties(conn, printer, i: int, n: int, vehicle=None) -> None:
    """Before sortie ``i``: a fresh battery. The embedded simulator swaps it itself (when it can);
    a SITL started by ``--connect sitl`` gets MAV_CMD_BATTERY_RESET (SITL's battery only resets
    that way); an operator at a terminal is asked to swap it and press Enter; otherwise the next sortie
    starts at once (ArduCopter refuses to arm on a low battery, with the PreArm reason)."""
    swap = getattr(conn.sim, "swap_battery", None)
    if callable(swap):
        swap()
        printer.event(f"sortie {i}/{n}: simulator battery swapped")
        return
    if (
        getattr(conn.sim, "kind", None) == "sitl"
        and vehicle is not None
        and vehicle.reset_battery()
    ):
        printer.event(f"sortie {i}/{n}: SITL battery reset to 100 % (MAV_CMD_BATTERY_RESET)")
        return
    if sys.stdin.isatty() and sys.stdout.isatty():
        input(f"swap the battery, then press Enter to fly sortie {i}/{n} (Ctrl-C to stop) ")


def run(args: argparse.Namespace) -> int:
    """Fly a mission file or every sortie of a plan folder (see the module docstring).

    Returns:
        0 when every sortie flew its whole mission, landed and disarmed; 130 after Ctrl-C.

    Raises:
        VehicleError: A sortie landed before its last item (a failsafe or fence breach took the
            vehicle home); later sorties are not flown.
    """
    from groundstation.cli import config_from_args
    from groundstation.cli.mission_transfer import vehicle_link
    from groundstation.preflight import Preflight, check_value, parse_force
    from groundstation.vehicle import Vehicle, VehicleError

    # every value is checked before anything is sent to the vehicle
    check_value("--takeoff-alt", args.takeoff_alt, gt=0, le=1000)
    check_value("--timeout", args.timeout, gt=0)
    force = parse_force(args.force_unsafe)
    overrides = {"connection.url": args.connect} if args.connect else {}
    cfg = config_from_args(args, overrides)
    sorties = load_sorties(args.target)
    from missions.items import check_item_count

    for s in sorties:
        check_item_count(s.mission, s.name)
        check_item_count(s.fence, s.name, "fence")
        check_item_count(s.rally, s.name, "rally")
    printer = StatusPrinter()
    preflight = Preflight(cfg.safety, force, printer.event)
    plan_fence = sorties[0].fence
    for s in sorties:
        # against the file's own home: nothing is sent when this refuses
        preflight.mission(s.mission, fence=plan_fence, where=s.name)
    default_alt = cfg.survey.takeoff_alt_m or cfg.survey.alt_m
    alts = [
        args.takeoff_alt if args.takeoff_alt else takeoff_altitude(s.mission, default_alt)
        for s in sorties
    ]
    from groundstation.preflight import Finding, enforce

    low = [a for a in alts if a < cfg.safety.min_alt_m]
    if low:
        enforce(
            [
                Finding(
                    "min_alt",
                    f"take-off altitude {low[0]:g} m is below safety.min_alt_m "
                    f"{cfg.safety.min_alt_m:g} m",
                )
            ],
            force,
            printer.event,
        )
    from groundstation.geofence import planned_ceiling_m

    # FENCE_ALT_MAX must cover every sortie: the fence is uploaded once, before the first
    fence_alt_m = planned_ceiling_m(
        [s.mission for s in sorties] + [s.rally for s in sorties], takeoff_alt_m=max(alts)
    )
    with vehicle_link(cfg.connection.url, config=cfg, tlog_path=args.tlog) as conn:
        link = conn.link
        printer.event(f"connected to {link.url} (vehicle {link.target_system})")
        vehicle = Vehicle(link, gimbal_pitch_deg=cfg.camera.gimbal_pitch_deg)
        vehicle.on_event(printer.on_vehicle_event)
        preflight.gcs_failsafe(vehicle, embedded=conn.sim is not None)
        from groundstation.battery_budget import check_ready_missions
        from groundstation.preflight import vehicle_home

        check_ready_missions(
            vehicle,
            [s.mission for s in sorties],
            cfg,
            preflight,
            on_sitl=cfg.connection.url == "sitl",
            home=vehicle_home(vehicle),
        )
        try:
            for i, (sortie, alt) in enumerate(zip(sorties, alts, strict=True), 1):
                if i > 1:
                    _between_sorties(conn, printer, i, len(sorties), vehicle)
                printer.event(f"sortie {i}/{len(sorties)}: {sortie.name}")
                t0 = time.monotonic()
                progress = fly_sortie(
                    vehicle,
                    sortie,
                    takeoff_alt_m=alt,
                    timeout_s=args.timeout,
                    printer=printer,
                    fence_settings=cfg.fence,
                    fence_alt_m=fence_alt_m,
                    preflight=preflight,
                    fence=plan_fence,
                )
                printer.event(
                    f"sortie {i}/{len(sorties)}: landed and disarmed after "
                    f"{time.monotonic() - t0:.0f} s; items reached: "
                    f"{', '.join(map(str, progress.completed())) or 'none'}"
                )
                last = len(sortie.mission) - 1
                if not progress.finished(progress.landed_mode):
                    # A failsafe, a fence breach or a mode change ended the flight early: the
                    # district is not covered, and the next sortie must not start unattended.
                    left = len(sorties) - i
                    raise VehicleError(
                        f"sortie {i}/{len(sorties)} ({sortie.name}) landed before finishing its "
                        f"mission (last item reached: {progress.furthest} of {last})"
                        + (f"; {left} sortie(s) not flown" if left else "")
                    )
        except KeyboardInterrupt:
            printer.done()
            printer.event("interrupted")
            on_interrupt(vehicle, args.on_interrupt, printer)
            vehicle.close()
            return 130
        except BaseException:
            printer.done()
            with contextlib.suppress(Exception):
                on_interrupt(vehicle, args.on_interrupt, printer)
            vehicle.close()
            raise
        vehicle.close()
    return 0
