"""One picture from several vehicles: alerts merged by ground position (``docs/fleet.md``).

Two drones of a fleet that both see the same gathering each raise an alert. The
:class:`AlertMerger` makes them one: an alert of the same kind within ``radius_m`` of a merged
alert's first position, raised within ``window_s`` of its latest sighting, is a new *sighting* of
that alert, not a new alert. Every merged alert carries ``sightings``, one entry per vehicle's
alert (``vehicle``, ``alert_id``, ``t_s``, ``lat_deg``, ``lon_deg``, ``count``).

Safety alerts (battery, link, fence...) are about one vehicle and never merged; alerts without a
position are never merged either.

Times: ``alert.t_s`` is the frame's timestamp, UNIX seconds of the vehicle's clock for simulated
vehicles. ``window_s`` is compared with those timestamps.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class MergeResult:
    """What :meth:`AlertMerger.add` made of an alert.

    Attributes:
        alert: The merged alert to record and show (a copy carrying ``sightings``).
        new: True when it is a new alert (the first sighting), False when it added a sighting
            to an alert raised before (possibly by another vehicle).
    """

    alert: object
    new: bool


class AlertMerger:
    """Merges alerts of several vehicles by kind, ground position and time. Thread-safe.

    Args:
        radius_m: Same kind within this distance (metres, from the first sighting) = one alert.
        window_s: ... and within this long of its latest sighting (seconds of ``alert.t_s``).

    Example:
        >>> from detection.alerts import Alert, AlertKind
        >>> m = AlertMerger(radius_m=15, window_s=120)
        >>> a = m.add(Alert(kind=AlertKind.GATHERING, t_s=0, lat_deg=41.79, lon_deg=123.43), 1)
        >>> b = m.add(Alert(kind=AlertKind.GATHERING, t_s=9, lat_deg=41.79003, lon_deg=123.43), 2)
        >>> (a.new, b.new, b.alert.id == a.alert.id, [s["vehicle"] for s in b.alert.sightings])
        (True, False, True, [1, 2])
    """

    def __init__(self, radius_m: float = 15.0, window_s: float = 120.0) -> None:
        self.radius_m = float(radius_m)
        self.window_s = float(window_s)
        self._lock = threading.Lock()
        self._merged: list = []  # merged alerts, newest last

    def add(self, alert, vehicle: int) -> MergeResult:
        """Merge one vehicle's alert.

        Args:
            alert: A :class:`detection.alerts.Alert` raised by ``vehicle``.
            vehicle: The vehicle's MAVLink system id.

        Returns:
            A :class:`MergeResult`; its alert has ``vehicle`` (the first sighting's) and the
            ``sightings`` so far.
        """
        from missions.geo import distance_m

        sighting = {
            "vehicle": vehicle,
            "alert_id": alert.id,
            "t_s": alert.t_s,
            "lat_deg": alert.lat_deg,
            "lon_deg": alert.lon_deg,
            "count": alert.count,
        }
        mergeable = (
            not alert.kind.is_safety and alert.lat_deg is not None and alert.lon_deg is not None
        )
        with self._lock:
            if mergeable:
                for i in range(len(self._merged) - 1, -1, -1):
                    m = self._merged[i]
                    if m.kind != alert.kind:
                        continue
                    last_t = max(s["t_s"] for s in m.sightings)
                    if abs(alert.t_s - last_t) > self.window_s:
                        continue
                    if distance_m(m.lat_deg, m.lon_deg, alert.lat_deg, alert.lon_deg) > (
                        self.radius_m
                    ):
                        continue
                    merged = m.model_copy(
                        update={
                            "sightings": [*m.sightings, sighting],
                            "count": max(m.count, alert.count),
                            "last_seen_s": max(
                                x for x in (m.last_seen_s, alert.last_seen_s, alert.t_s) if x
                            ),
                        }
                    )
                    self._merged[i] = merged
                    return MergeResult(merged, new=False)
            first = alert.model_copy(update={"vehicle": vehicle, "sightings": [sighting]})
            if mergeable:
                self._merged.append(first)
                # forget alerts long past their window (bounded memory on long patrols)
                self._merged = [
                    m
                    for m in self._merged
                    if alert.t_s - max(s["t_s"] for s in m.sightings) <= 10 * self.window_s
                ]
            return MergeResult(first, new=True)

    def alerts(self) -> list:
        """The merged alerts held (copies, oldest first)."""
        with self._lock:
            return list(self._merged)


def latest_by_id(alerts: list) -> list:
    """Alerts with one entry per ``id``: the last line written for it, in the order ids first
    appeared. A fleet recording's ``alerts.jsonl`` writes a merged alert again each time a
    vehicle adds a sighting (``docs/fleet.md``)."""
    order: dict[str, int] = {}
    out: list = []
    for a in alerts:
        key = a.id if hasattr(a, "id") else a.get("id")
        if key in order:
            out[order[key]] = a
        else:
            order[key] = len(out)
            out.append(a)
    return out
