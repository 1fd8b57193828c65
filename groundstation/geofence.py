"""Make an uploaded geofence act: configure and enable ArduCopter's fence after the upload.

Uploading fence items (mission_type FENCE) is not enough: ArduCopter's ``FENCE_ENABLE`` defaults
to 0, so the polygons do nothing, and its default ``FENCE_TYPE`` 7 adds a circle of
``FENCE_RADIUS`` (300 m by default, 150 m with SITL's copter.parm) around home that a
district-sized patrol would breach. After the fence is
uploaded and verified, :func:`configure_geofence` sets, logging each change (old -> new):

1. ``FENCE_TYPE`` = polygon (4) + maximum altitude (1), keeping the minimum-altitude bit (8) when
   it was set: the circle bit (2) is dropped so the circle cannot cut the district;
2. ``FENCE_ALT_MAX`` raised (never lowered) to the highest planned altitude + a margin;
3. ``FENCE_ACTION`` as configured (RTL by default);
4. ``FENCE_ENABLE`` = 1 (persists across reboots), then MAV_CMD_DO_FENCE_ENABLE param1 = 1
   (param2 = 0: every configured fence type) so it is active now on every firmware version.

Fence semantics: ArduCopter parameter reference (https://ardupilot.org/copter/docs/parameters.html,
FENCE_*), AC_Fence (``AC_Fence::update`` derives the enabled fences from FENCE_ENABLE and
FENCE_TYPE; ``handle_command_do_fence_enable`` in GCS_Fence.cpp answers MAV_RESULT_FAILED when no
configured fence is present). The parameters are written with :mod:`groundstation.vehicle.params`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from groundstation.link import MAV
from groundstation.vehicle import (
    ParameterError,
    UnknownParameterError,
    Vehicle,
    VehicleError,
    result_name,
)
from missions.items import (
    MAV_FRAME_GLOBAL,
    MAV_FRAME_GLOBAL_INT,
    MissionItem,
)
from missions.settings import FenceSettings

log = logging.getLogger(__name__)

FENCE_TYPE_ALT_MAX = MAV.FENCE_TYPE_ALT_MAX  # 1
FENCE_TYPE_CIRCLE = MAV.FENCE_TYPE_CIRCLE  # 2
FENCE_TYPE_POLYGON = MAV.FENCE_TYPE_POLYGON  # 4
FENCE_TYPE_ALT_MIN = MAV.FENCE_TYPE_ALT_MIN  # 8

FENCE_ACTIONS: dict[str, int] = {
    "report": 0,
    "rtl": 1,
    "land": 2,
    "smart_rtl": 3,
    "brake": 4,
}
"""``fence.action`` -> ArduCopter FENCE_ACTION: 0 report only, 1 RTL or LAND, 2 always LAND,
3 SmartRTL or RTL or LAND, 4 BRAKE or LAND (``keep`` leaves the vehicle's value)."""

FENCE_ACTION_NAMES: dict[int, str] = {
    0: "report only",
    1: "RTL or LAND",
    2: "LAND",
    3: "SmartRTL or RTL or LAND",
    4: "BRAKE or LAND",
    5: "SmartRTL or LAND",
}
"""ArduCopter FENCE_ACTION values in words."""


class GeofenceError(VehicleError):
    """The fence could not be configured or enabled on the vehicle; the message says which step."""


@dataclass(frozen=True)
class ParamChange:
    """One parameter written on the vehicle: ``name``, ``old`` and ``new`` value, and why."""

    name: str
    old: float
    new: float
    why: str = ""

    def __str__(self) -> str:
        why = f" ({self.why})" if self.why else ""
        return f"{self.name} {self.old:g} -> {self.new:g}{why}"


@dataclass
class GeofenceReport:
    """What :func:`configure_geofence` found and did.

    Attributes:
        enabled: True when the fence is enabled on the vehicle now.
        fence_type: FENCE_TYPE on the vehicle (None when not read).
        alt_max_m: FENCE_ALT_MAX on the vehicle, metres above home (None when not read).
        action: FENCE_ACTION on the vehicle (None when not read).
        changes: Parameters written, in order.
        notes: Warnings and decisions worth telling the operator (one line each).
    """

    enabled: bool = False
    fence_type: int | None = None
    alt_max_m: float | None = None
    action: int | None = None
    changes: list[ParamChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: ``fence enabled: FENCE_TYPE 5 (polygon, max altitude), ...``."""
        if not self.enabled:
            return "fence NOT enabled on the vehicle"
        parts = []
        if self.fence_type is not None:
            parts.append(f"FENCE_TYPE {self.fence_type} ({fence_type_text(self.fence_type)})")
        if self.alt_max_m is not None:
            parts.append(f"FENCE_ALT_MAX {self.alt_max_m:g} m")
        if self.action is not None:
            word = FENCE_ACTION_NAMES.get(self.action, "unknown")
            parts.append(f"FENCE_ACTION {self.action} ({word})")
        return "fence enabled: " + ", ".join(parts)


def fence_type_text(fence_type: int) -> str:
    """FENCE_TYPE bits in words: ``"polygon, max altitude"``."""
    names = [
        (FENCE_TYPE_POLYGON, "polygon"),
        (FENCE_TYPE_CIRCLE, "circle"),
        (FENCE_TYPE_ALT_MAX, "max altitude"),
        (FENCE_TYPE_ALT_MIN, "min altitude"),
    ]
    words = [word for bit, word in names if int(fence_type) & bit]
    return ", ".join(words) or "none"


def patrol_fence_type(current: int) -> int:
    """The FENCE_TYPE a patrol needs: polygon + max altitude, plus min altitude if already set.

    The circle bit is dropped: ArduCopter's circle of FENCE_RADIUS (300 m by default, 150 m
    with SITL's copter.parm) around home
    would cut a district larger than that, and the uploaded inclusion polygon bounds the patrol.
    """
    return (int(current) & FENCE_TYPE_ALT_MIN) | FENCE_TYPE_POLYGON | FENCE_TYPE_ALT_MAX


def planned_ceiling_m(
    item_lists: Iterable[Iterable[MissionItem]],
    *,
    takeoff_alt_m: float = 0.0,
    home_amsl_m: float | None = None,
) -> float:
    """The highest altitude above home the planned items fly at, metres.

    Args:
        item_lists: Missions (seq 0 = home is skipped) and rally lists; positional items count.
        takeoff_alt_m: A take-off altitude that may exceed every item.
        home_amsl_m: Home altitude AMSL, to convert items in MAV_FRAME_GLOBAL (AMSL); such items
            are skipped when None. Terrain-relative items count at their altitude above terrain.

    Returns:
        The maximum of ``takeoff_alt_m`` and the items' altitudes above home.
    """
    top = float(takeoff_alt_m)
    for items in item_lists:
        for it in items:
            if it.mission_type == 0 and it.seq == 0:
                continue  # mission seq 0 is home
            if not it.has_position:
                continue
            alt = float(it.z)
            if it.frame in (MAV_FRAME_GLOBAL, MAV_FRAME_GLOBAL_INT):
                if home_amsl_m is None:
                    continue
                alt -= home_amsl_m
            if math.isfinite(alt):
                top = max(top, alt)
    return top


def configure_geofence(
    vehicle: Vehicle,
    settings: FenceSettings,
    alt_m: float,
    *,
    say: Callable[[str], None] | None = None,
    timeout_s: float = 1.0,
    retries: int = 3,
) -> GeofenceReport:
    """Configure and enable the vehicle's geofence once the fence items are uploaded and verified.

    Call it after :func:`groundstation.mission_transfer.upload_and_verify` of a non-empty fence
    list and before arming. With ``settings.enable_on_vehicle`` false nothing is written; the
    vehicle's FENCE_ENABLE is read and a warning says whether the uploaded fence acts.

    Args:
        vehicle: The connected vehicle.
        settings: The ``fence:`` config section (``enable_on_vehicle``, ``action``,
            ``alt_max_margin_m``).
        alt_m: Highest planned altitude above home, metres (survey, take-off, rally points;
            :func:`planned_ceiling_m`). FENCE_ALT_MAX is raised to at least this plus
            ``settings.alt_max_margin_m``, never lowered.
        say: Called with one line per change and warning (e.g. a CLI printer); everything is
            also logged.
        timeout_s: Per-request wait for PARAM_VALUE / COMMAND_ACK, seconds.
        retries: Re-sends per request.

    Returns:
        A :class:`GeofenceReport` of the values on the vehicle and the changes made.

    Raises:
        GeofenceError: A fence parameter is unknown to the vehicle, a write was not accepted, or
            MAV_CMD_DO_FENCE_ENABLE was refused; the message names the step and says how to fly
            without the fence (``fence.enable_on_vehicle: false``).
        InputError: ``alt_m`` is not a finite number.
    """
    from missions.errors import InputError

    if not math.isfinite(float(alt_m)):
        raise InputError(f"fence altitude must be a finite number of metres, got {alt_m!r}")

    def tell(line: str, level: int = logging.INFO) -> None:
        """Log ``line`` and pass it to ``say``."""
        log.log(level, "%s", line)
        if say is not None:
            say(line)

    report = GeofenceReport()
    if not settings.enable_on_vehicle:
        try:
            enabled = vehicle.get_param("FENCE_ENABLE", timeout_s=timeout_s, retries=retries)
        except ParameterError as exc:
            note = f"fence.enable_on_vehicle is false and FENCE_ENABLE cannot be read ({exc})"
        else:
            report.enabled = enabled >= 1
            note = (
                "fence.enable_on_vehicle is false: the vehicle's FENCE_ENABLE is "
                f"{enabled:g}" + ("" if report.enabled else ": the uploaded fence does nothing")
            )
        report.notes.append(note)
        tell(f"warning: {note}", logging.WARNING)
        return report

    def write(name: str, value: float, old: float, why: str = "") -> None:
        """Set one parameter, record and tell the change.

        Raises:
            GeofenceError: The write failed.
        """
        try:
            pv = vehicle.set_param(name, value, timeout_s=timeout_s, retries=retries)
        except ParameterError as exc:
            raise _fence_error(f"setting {name}", exc) from None
        change = ParamChange(name, old, pv.value, why)
        report.changes.append(change)
        tell(f"fence: {change}")

    def read(name: str) -> float:
        """One parameter's value.

        Raises:
            GeofenceError: The vehicle does not know it or did not answer.
        """
        try:
            return vehicle.get_param(name, timeout_s=timeout_s, retries=retries)
        except ParameterError as exc:
            raise _fence_error(f"reading {name}", exc) from None

    old_type = int(read("FENCE_TYPE"))
    new_type = patrol_fence_type(old_type)
    report.fence_type = new_type
    if new_type != old_type:
        dropped = "; the circle around home is off" if old_type & FENCE_TYPE_CIRCLE else ""
        write("FENCE_TYPE", new_type, old_type, fence_type_text(new_type) + dropped)

    old_alt = read("FENCE_ALT_MAX")
    want_alt = float(math.ceil(float(alt_m) + settings.alt_max_margin_m))
    if old_alt < want_alt:
        write(
            "FENCE_ALT_MAX",
            want_alt,
            old_alt,
            f"planned {float(alt_m):g} m + {settings.alt_max_margin_m:g} m margin",
        )
        report.alt_max_m = want_alt
    else:
        report.alt_max_m = old_alt
        note = (
            f"FENCE_ALT_MAX stays {old_alt:g} m (at least the planned {float(alt_m):g} m + "
            f"{settings.alt_max_margin_m:g} m; dronepatrol only raises it, never lowers it)"
        )
        report.notes.append(note)
        tell(f"fence: {note}")

    old_action = int(read("FENCE_ACTION"))
    if settings.action == "keep":
        report.action = old_action
    else:
        new_action = FENCE_ACTIONS[settings.action]
        report.action = new_action
        if new_action != old_action:
            write("FENCE_ACTION", new_action, old_action, FENCE_ACTION_NAMES[new_action])
    if report.action == 0:
        note = (
            "FENCE_ACTION 0 (report only): a breach is reported but the vehicle does NOT turn "
            "back (fence.action)"
        )
        report.notes.append(note)
        tell(f"warning: {note}", logging.WARNING)

    old_enable = read("FENCE_ENABLE")
    if old_enable != 1:
        write("FENCE_ENABLE", 1, old_enable, "enabled")
    ack = vehicle.link.command_long(
        MAV.MAV_CMD_DO_FENCE_ENABLE, (1, 0), timeout_s=max(timeout_s, 1.5), retries=retries
    )
    if ack is None:
        lost = "" if vehicle.link.link_ok else " (the link is lost)"
        raise GeofenceError(
            f"cannot enable the geofence: no COMMAND_ACK to MAV_CMD_DO_FENCE_ENABLE from "
            f"{vehicle.link.url}{lost}; set fence.enable_on_vehicle: false to fly without it"
        )
    if ack.result != MAV.MAV_RESULT_ACCEPTED:
        raise GeofenceError(
            f"cannot enable the geofence: MAV_CMD_DO_FENCE_ENABLE refused with "
            f"{result_name(ack.result)} (is the fence uploaded?); set "
            "fence.enable_on_vehicle: false to fly without it"
        )
    report.enabled = True
    tell(report.summary())
    return report


def _fence_error(step: str, exc: ParameterError) -> GeofenceError:
    if isinstance(exc, UnknownParameterError):
        why = f"{exc} (a firmware without the geofence?)"
    else:
        why = str(exc)
    return GeofenceError(
        f"cannot enable the geofence ({step}): {why}; set fence.enable_on_vehicle: false to fly "
        "without it"
    )
