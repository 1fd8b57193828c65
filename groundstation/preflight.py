"""Pre-flight checks: refuse to take off on a mission no operator would fly.

ArduCopter flies whatever mission it holds: a 7,000 km leg, a waypoint at 0 m, a mission that
loiters until the battery is flat. ``dronepatrol fly`` and ``dronepatrol patrol`` run these checks
on the mission before it is uploaded (so a refused mission changes nothing on the vehicle) and
again on the mission as read back from the vehicle, and refuse to take off with a one-line reason
naming the check and the override (``--force-unsafe CHECK``).

Checks (names as ``--force-unsafe`` takes them):

* ``range``: a positional item farther than ``safety.max_range_m`` from home.
* ``min_alt``: a flying item (waypoint, loiter, take-off, spline) lower than ``safety.min_alt_m``
  above home (terrain frames: above terrain).
* ``endless``: the mission never ends: a LOITER_UNLIM, a DO_JUMP that repeats for ever without
  an RTL or LAND on the way, or a last item that is not RTL/LAND (ArduCopter then hovers at the
  last waypoint until the battery fails, ``ModeAuto::exit_mission``).
* ``unsupported``: commands ArduCopter does not execute (plane/VTOL-only commands, unknown ones).
* ``fence``: a waypoint or a leg outside an inclusion fence or inside an exclusion fence.
* ``battery``: a sortie longer than the vehicle's pack allows (its ``BATT_CAPACITY`` at the
  configured mean current, minus the reserve: :mod:`groundstation.battery_budget`).
* ``gcs_failsafe``: the vehicle's GCS failsafe is off (``FS_GCS_ENABLE`` 0), so a lost ground
  station would leave a GUIDED vehicle hovering until its battery drains
  (:func:`ensure_gcs_failsafe`).

Source for the command semantics: ArduCopter ``mode_auto.cpp`` (``start_command``,
``exit_mission``), ``AP_Mission::jump_to_tag``/DO_JUMP (param2 = repeat count, -1 = for ever).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from missions.errors import DronePatrolError
from missions.geo import distance_m
from missions.items import MissionItem

CHECKS = ("range", "min_alt", "endless", "unsupported", "fence", "gcs_failsafe", "battery")
"""Every check name ``--force-unsafe`` accepts (``all`` names them all)."""

_NAV_FLYING = frozenset({16, 17, 18, 19, 22, 31, 82})
"""Items the vehicle flies to or at a height: WAYPOINT, LOITER_UNLIM/TURNS/TIME, TAKEOFF,
LOITER_TO_ALT, SPLINE_WAYPOINT."""
_NAV = frozenset({16, 17, 18, 19, 20, 21, 22, 30, 31, 82, 84, 85, 92, 93, 94, 42702, 42703})
_ENDS = frozenset({20, 21})  # RTL, LAND
_COPTER_IGNORES = {
    30: "CONTINUE_AND_CHANGE_ALT (plane only)",
    31: "LOITER_TO_ALT (plane only)",
    83: "ALTITUDE_WAIT (plane only)",
    84: "VTOL_TAKEOFF (quadplane only)",
    85: "VTOL_LAND (quadplane only)",
    176: "DO_SET_MODE (not executed in a copter mission)",
    212: "DO_AUTOTUNE_ENABLE (plane only)",
    3000: "DO_VTOL_TRANSITION (quadplane only)",
}
_ABSOLUTE_FRAMES = frozenset({0, 5})
_TERRAIN_FRAMES = frozenset({10, 11})


class PreflightError(DronePatrolError):
    """A pre-flight check refused the flight; ``check`` names it (``range``, ``min_alt``...)."""

    def __init__(self, message: str, check: str) -> None:
        super().__init__(message)
        self.check = check


@dataclass(frozen=True)
class Finding:
    """One failed check: its name and a one-line reason."""

    check: str
    message: str


@dataclass(frozen=True)
class Home:
    """The reference for range and height: WGS-84 degrees and altitude AMSL in metres (None if
    unknown: absolute-frame heights are then not checked)."""

    lat_deg: float
    lon_deg: float
    alt_amsl_m: float | None = None


def parse_force(values: Iterable[str] | None) -> frozenset[str]:
    """The checks named by ``--force-unsafe`` values (comma lists allowed, ``all`` = every check).

    Raises:
        PreflightError: An unknown check name (the message lists the known ones).
    """
    names: set[str] = set()
    for value in values or ():
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            if part == "all":
                names.update(CHECKS)
            elif part in CHECKS:
                names.add(part)
            else:
                raise PreflightError(
                    f"--force-unsafe {part}: unknown check; known: {', '.join(CHECKS)}, all",
                    "force",
                )
    return frozenset(names)


def mission_home(items: Sequence[MissionItem]) -> Home | None:
    """The home a mission file carries in seq 0 (None when it is 0,0 or not positional)."""
    if items and items[0].seq == 0 and items[0].has_position:
        h = items[0]
        if math.isfinite(h.x) and math.isfinite(h.y):
            return Home(h.x, h.y, h.z if h.frame in _ABSOLUTE_FRAMES and h.z else None)
    return None


def check_mission(
    items: Sequence[MissionItem],
    home: Home | None,
    *,
    max_range_m: float,
    min_alt_m: float,
    fence: Sequence[MissionItem] = (),
) -> list[Finding]:
    """Run the mission checks (everything but ``gcs_failsafe``) on a mission.

    Args:
        items: The mission, seq 0 = home (skipped) then the items to fly.
        home: Where the vehicle takes off; None = the mission's own seq 0 (no range check when
            neither is known).
        max_range_m: Largest allowed distance of a positional item from home, metres.
        min_alt_m: Lowest allowed height of a flying item above home, metres.
        fence: Fence items (mission_type 1) the vehicle will enforce; empty = no fence check.

    Returns:
        One :class:`Finding` per failed check (the first offending item of each), in
        :data:`CHECKS` order; empty when the mission may fly.
    """
    home = home or mission_home(items)
    body = [it for it in items if it.seq != 0] if items and items[0].seq == 0 else list(items)
    found: dict[str, str] = {}

    def add(check: str, message: str) -> None:
        """Keep the first finding of each check."""
        found.setdefault(check, message)

    for it in body:
        name = _cmd(it.command)
        if it.command in _COPTER_IGNORES:
            add(
                "unsupported",
                f"item {it.seq} is {_COPTER_IGNORES[it.command]}: ArduCopter ignores it",
            )
        if it.xy_is_location and it.has_position:
            if (
                not (math.isfinite(it.x) and math.isfinite(it.y))
                or abs(it.x) > 90
                or abs(it.y) > 180
            ):
                add("range", f"item {it.seq} ({name}) has no valid position ({it.x}, {it.y})")
                continue
            if home is not None:
                d = distance_m(home.lat_deg, home.lon_deg, it.x, it.y)
                if d > max_range_m:
                    add(
                        "range",
                        f"item {it.seq} ({name}) is {_km(d)} from home "
                        f"(safety.max_range_m {max_range_m:g} m)",
                    )
        if it.command in _NAV_FLYING:
            height = _height_above_home(it, home)
            if height is not None and not height >= min_alt_m:
                add(
                    "min_alt",
                    f"item {it.seq} ({name}) is {height:.2f} m above "
                    f"{'terrain' if it.frame in _TERRAIN_FRAMES else 'home'} "
                    f"(safety.min_alt_m {min_alt_m:g} m)",
                )
    why = endless_reason(body)
    if why:
        add("endless", why)
    if fence and body:
        leaves = fence_leaving(body, fence, home)
        if leaves:
            add("fence", leaves)
    return [Finding(c, found[c]) for c in CHECKS if c in found]


def enforce(findings: Sequence[Finding], force: frozenset[str], say: Callable[[str], None]) -> None:
    """Refuse on the first finding not overridden; say each overridden one.

    Raises:
        PreflightError: ``pre-flight check CHECK: REASON; --force-unsafe CHECK flies it anyway``.
    """
    for f in findings:
        if f.check in force:
            say(f"WARNING: pre-flight check {f.check} overridden (--force-unsafe): {f.message}")
            continue
        raise PreflightError(
            f"pre-flight check {f.check}: {f.message}; refusing to fly "
            f"(--force-unsafe {f.check} flies it anyway)",
            f.check,
        )


def endless_reason(body: Sequence[MissionItem]) -> str | None:
    """Why the mission never ends (None when every path reaches an RTL or LAND).

    Follows the mission as ArduCopter runs it: items in order, DO_JUMP to ``param1`` with
    ``param2`` repeats (-1 = for ever), so a finite loop is fine and an infinite one is not.
    """
    if not body:
        return None
    by_seq = {it.seq: i for i, it in enumerate(body)}
    counts: dict[int, int] = {}
    i = 0
    seen_state: set[tuple] = set()
    for _ in range(1_000_000):
        if i >= len(body):
            last = next((it for it in reversed(body) if it.command in _NAV), None)
            where = f"item {last.seq} ({_cmd(last.command)})" if last else "its last item"
            return (
                f"the mission ends at {where} without RTL or LAND: ArduCopter then hovers "
                "until the battery fails"
            )
        it = body[i]
        if it.command in _ENDS:
            return None
        if it.command == 17:
            return (
                f"item {it.seq} is LOITER_UNLIM: the vehicle hovers there until the battery fails"
            )
        if it.command == 177:
            target = int(it.param1) if math.isfinite(it.param1) else -1
            repeat = int(it.param2) if math.isfinite(it.param2) else -1
            if target not in by_seq:
                i += 1
                continue
            if repeat < 0:
                state = (i, "forever")
                if state in seen_state:
                    return (
                        f"item {it.seq} is a DO_JUMP to item {target} repeated for ever with no "
                        "RTL or LAND in the loop"
                    )
                seen_state.add(state)
                i = by_seq[target]
                continue
            done = counts.get(i, 0)
            if done < repeat:
                counts[i] = done + 1
                i = by_seq[target]
                continue
        i += 1
    return "the mission's DO_JUMP loops run for more than a million items"


def fence_leaving(
    body: Sequence[MissionItem], fence: Sequence[MissionItem], home: Home | None
) -> str | None:
    """The first waypoint or leg outside the fence's inclusion areas or inside an exclusion."""
    from shapely.geometry import LineString, Point, Polygon

    from missions.geo import LocalFrame

    pts = [it for it in body if it.xy_is_location and it.has_position]
    if not pts:
        return None
    ref = home or Home(pts[0].x, pts[0].y)
    frame = LocalFrame(ref.lat_deg, ref.lon_deg)

    def xy(lat: float, lon: float) -> tuple[float, float]:
        """(east, north) metres of a WGS-84 point in the local frame around ``ref``."""
        x, y = frame.to_local(lat, lon)
        return float(x), float(y)

    incl, excl = [], []
    i = 0
    fence = list(fence)
    while i < len(fence):
        f = fence[i]
        if f.command in (5001, 5002):
            n = max(int(f.param1), 1)
            ring = [xy(v.x, v.y) for v in fence[i : i + n]]
            if len(ring) >= 3:
                (incl if f.command == 5001 else excl).append(Polygon(ring).buffer(0))
            i += n
            continue
        if f.command in (5003, 5004):
            (incl if f.command == 5003 else excl).append(Point(xy(f.x, f.y)).buffer(f.param1))
        i += 1
    if not incl and not excl:
        return None
    track = [xy(home.lat_deg, home.lon_deg)] if home is not None else []
    labels = ["home"] if home is not None else []
    for it in pts:
        track.append(xy(it.x, it.y))
        labels.append(f"item {it.seq}")
    for k, p in enumerate(track):
        pt = Point(p)
        if any(not z.buffer(0.5).contains(pt) for z in incl):
            return f"{labels[k]} is outside the inclusion fence"
        if any(z.buffer(-0.5).contains(pt) for z in excl):
            return f"{labels[k]} is inside an exclusion fence"
        if k:
            leg = LineString([track[k - 1], p])
            if any(not z.buffer(0.5).contains(leg) for z in incl):
                return f"the leg {labels[k - 1]} -> {labels[k]} leaves the inclusion fence"
            if any(z.buffer(-0.5).intersects(leg) for z in excl):
                return f"the leg {labels[k - 1]} -> {labels[k]} crosses an exclusion fence"
    return None


def ensure_gcs_failsafe(
    vehicle,
    mode: str,
    timeout_s: float,
    force: frozenset[str],
    say: Callable[[str], None],
    *,
    embedded: bool = False,
) -> None:
    """Make sure a lost ground station makes the vehicle come home (ArduCopter GCS failsafe).

    Reads ``FS_GCS_ENABLE`` and ``FS_GCS_TIMEOUT``. When the failsafe is off: ``mode`` ``set``
    (the operator's consent, ``safety.gcs_failsafe``) sets ``FS_GCS_ENABLE`` 1 (RTL) and
    ``FS_GCS_TIMEOUT`` ``timeout_s`` (times the vehicle's clock rate for a sped-up simulator) and
    says so; ``require`` refuses. The ground station's own HEARTBEAT (``groundstation.link``) is
    what the failsafe watches. ``embedded``: the simulator runs in this process and dies with it,
    so nothing is checked.

    Raises:
        PreflightError: ``gcs_failsafe`` refused (not in ``force``), or the parameters could not
            be read or set.
    """
    from groundstation.vehicle import CommandError

    if embedded:
        # the embedded simulator runs in this process: it stops when the ground station does
        return

    def refuse(msg: str) -> None:
        """Refuse take-off for the GCS failsafe unless forced (:func:`enforce`)."""
        enforce([Finding("gcs_failsafe", msg)], force, say)

    try:
        enable = int(vehicle.get_param("FS_GCS_ENABLE"))
        gcs_timeout = float(vehicle.get_param("FS_GCS_TIMEOUT"))
    except CommandError as exc:
        refuse(f"cannot read the vehicle's GCS failsafe parameters ({exc})")
        return
    # the vehicle counts FS_GCS_TIMEOUT on its own clock: a simulator or SITL sped up N times
    # (N heartbeats a second) gets N times the seconds, so the failsafe still means
    # ``timeout_s`` of wall time without us and does not fire on a loaded machine's hiccup
    scale = _clock_rate(vehicle)
    if enable != 0:
        if gcs_timeout > 60 * scale:
            refuse(
                f"FS_GCS_TIMEOUT is {gcs_timeout:g} s: a lost ground station is noticed too late"
            )
        return
    if mode != "set":
        refuse(
            "the vehicle's GCS failsafe is off (FS_GCS_ENABLE 0): if this ground station dies "
            "the vehicle hovers until its battery drains; set FS_GCS_ENABLE 1 or "
            "safety.gcs_failsafe: set"
        )
        return
    vehicle_timeout = min(120.0, float(timeout_s) * scale)
    try:
        vehicle.set_param("FS_GCS_TIMEOUT", vehicle_timeout)
        vehicle.set_param("FS_GCS_ENABLE", 1)
    except CommandError as exc:
        refuse(f"cannot enable the vehicle's GCS failsafe ({exc})")
        return
    clock = f", FS_GCS_TIMEOUT {vehicle_timeout:g} s of its {scale:g}x clock" if scale > 1 else ""
    say(
        f"GCS failsafe enabled on the vehicle (FS_GCS_ENABLE 1 = RTL after {timeout_s:g} s "
        f"without this ground station{clock}; safety.gcs_failsafe: set)"
    )


def _clock_rate(vehicle, wait_s: float = 3.5) -> float:
    """How many times faster than real time the vehicle's clock runs (1 for a real vehicle),
    from its heartbeat rate; waits up to ``wait_s`` for the three heartbeats that takes."""
    import time

    rate_of = getattr(getattr(vehicle, "link", None), "vehicle_heartbeat_hz", None)
    if rate_of is None:
        return 1.0
    deadline = time.monotonic() + wait_s
    rate = rate_of()
    while rate is None and time.monotonic() < deadline:
        time.sleep(0.1)
        rate = rate_of()
    return max(1.0, float(round(rate))) if rate else 1.0


def _height_above_home(it: MissionItem, home: Home | None) -> float | None:
    z = it.z
    if not math.isfinite(z):
        return float("nan")
    if it.frame in _ABSOLUTE_FRAMES:
        if home is None or home.alt_amsl_m is None:
            return None
        return z - home.alt_amsl_m
    if it.frame in (3, 6) or it.frame in _TERRAIN_FRAMES:
        return z
    return None


def _cmd(command: int) -> str:
    from missions.items import command_name

    return command_name(command).split(" (")[0].removeprefix("MAV_CMD_")


def _km(d: float) -> str:
    return f"{d / 1000:,.1f} km" if d >= 10_000 else f"{d:,.0f} m"


class Preflight:
    """The checks of one ``fly``/``patrol`` run: its ``safety:`` settings and overrides.

    Args:
        settings: The ``safety:`` config section (``groundstation.settings.SafetySettings``).
        force: Checks overridden with ``--force-unsafe`` (:func:`parse_force`).
        say: Prints one line (overridden checks are announced).
    """

    def __init__(self, settings, force: frozenset[str], say: Callable[[str], None]) -> None:
        self.settings = settings
        self.force = force
        self.say = say

    def mission(
        self,
        items: Sequence[MissionItem],
        *,
        fence: Sequence[MissionItem] = (),
        home: Home | None = None,
        where: str = "",
    ) -> None:
        """Refuse ``items`` (see :func:`check_mission`); ``where`` prefixes the message.

        Raises:
            PreflightError: A check failed and is not overridden.
        """
        findings = check_mission(
            items,
            home,
            max_range_m=self.settings.max_range_m,
            min_alt_m=self.settings.min_alt_m,
            fence=fence,
        )
        if where:
            findings = [Finding(f.check, f"{where}: {f.message}") for f in findings]
        enforce(findings, self.force, self.say)

    def gcs_failsafe(self, vehicle, *, embedded: bool = False) -> None:
        """:func:`ensure_gcs_failsafe` with this run's settings."""
        ensure_gcs_failsafe(
            vehicle,
            self.settings.gcs_failsafe,
            self.settings.gcs_timeout_s,
            self.force,
            self.say,
            embedded=embedded,
        )


def vehicle_home(vehicle) -> Home | None:
    """The vehicle's home (HOME_POSITION) as a :class:`Home`, None while it is unknown."""
    h = vehicle.state().home
    return None if h is None else Home(h.lat_deg, h.lon_deg, h.alt_m)


def check_value(
    option: str, value: float | None, *, gt: float | None = None, le: float | None = None
) -> None:
    """Refuse a command-line number before anything is sent to the vehicle.

    Raises:
        InputError: ``value`` is not finite, not above ``gt`` or above ``le``.
    """
    from missions.errors import InputError

    if value is None:
        return
    if not math.isfinite(value):
        raise InputError(f"{option} {value}: must be a finite number")
    if gt is not None and not value > gt:
        raise InputError(f"{option} {value:g}: must be greater than {gt:g}")
    if le is not None and value > le:
        raise InputError(f"{option} {value:g}: must be at most {le:g}")
