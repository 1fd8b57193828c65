"""Vehicle safety events as alerts: link loss, low battery, geofence and failsafes.

Officers and analysts see safety events in the same alert list as detections
(:class:`detection.alerts.Alert` with ``source="vehicle"``). :func:`safety_alert_kind` decides
which :class:`groundstation.vehicle.VehicleEvent` becomes which kind, following what ArduCopter
reports:

* link loss / recovery: the ground station's own heartbeat watchdog (``Link``);
* low battery: SYS_STATUS/BATTERY_STATUS ``battery_remaining`` at or below the threshold;
* geofence: STATUSTEXT ``"Fence Breached..."`` / ``"... fence breach"`` (AC_Fence, ArduCopter
  ``fence.cpp``);
* failsafe: STATUSTEXT containing ``"Failsafe"`` (``"GCS Failsafe"``, ``"Battery Failsafe"``,
  ``"EKF Failsafe"``, ``"Radio Failsafe"``, ArduCopter ``events.cpp``).
"""

from __future__ import annotations

import time

from detection.alerts import Alert, AlertKind


def safety_alert_kind(kind: str, data: dict) -> AlertKind | None:
    """The alert kind a vehicle event raises, or None.

    Args:
        kind: :attr:`groundstation.vehicle.VehicleEvent.kind` (``link_lost``, ``statustext``...).
        data: The event's data (``{"text": ..., "severity": ...}`` for a STATUSTEXT).

    Returns:
        LINK_LOST, LINK_RECOVERED, BATTERY_LOW, GEOFENCE, FAILSAFE, or None for other events.
    """
    if kind == "link_lost":
        return AlertKind.LINK_LOST
    if kind == "link_recovered":
        return AlertKind.LINK_RECOVERED
    if kind == "low_battery":
        return AlertKind.BATTERY_LOW
    if kind == "statustext":
        low = str(data.get("text", "")).lower()
        if "clear" in low:
            # "Fence breach cleared", "GCS Failsafe Cleared": the end of a condition, not a new one.
            return None
        if "fence" in low and "breach" in low:
            return AlertKind.GEOFENCE
        if "failsafe" in low:
            return AlertKind.FAILSAFE
    return None


def safety_message(kind: AlertKind, data: dict, *, link_lost_s: float = 5.0) -> str:
    """One line for officers describing a safety event."""
    if kind is AlertKind.LINK_LOST:
        return (
            f"no heartbeat from {data.get('endpoint', 'the vehicle')} for {link_lost_s:g} s: "
            "its failsafe decides what it does"
        )
    if kind is AlertKind.LINK_RECOVERED:
        return "heartbeats are back"
    if kind is AlertKind.BATTERY_LOW:
        pct = data.get("remaining_pct")
        return f"battery at {pct:.0f} %" if pct is not None else "battery low"
    return str(data.get("text", kind.value))


def safety_alert(
    kind: AlertKind,
    message: str,
    *,
    lat_deg: float | None = None,
    lon_deg: float | None = None,
    t_s: float | None = None,
) -> Alert:
    """A vehicle-safety :class:`Alert` at the vehicle's position (``source="vehicle"``, count 0)."""
    return Alert(
        kind=kind,
        t_s=time.time() if t_s is None else t_s,
        lat_deg=lat_deg,
        lon_deg=lon_deg,
        count=0,
        message=message,
        source="vehicle",
    )
