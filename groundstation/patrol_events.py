"""The patrol's events and alerts (any thread): operator log, alerts, vehicle events and
broadcasts: :class:`PatrolEventsMixin`, a part of :class:`groundstation.patrol.Patrol`.

Split out of :mod:`groundstation.patrol` with no change of behaviour.
"""

from __future__ import annotations

import time

from groundstation.policy import PolicyRequest


class PatrolEventsMixin:
    """Log lines, alerts (record, show, hand to the policy), vehicle and broadcast callbacks."""

    # -- events and alerts (any thread) -------------------------------------------------------------------------

    def log(self, text: str, level: str = "info") -> None:
        """One line on the console (prefixed with ``level`` unless info) and in the overlay's log."""
        self.console.line(text if level == "info" else f"{level}: {text}")
        if self.hub is not None:
            self.hub.push_log(text, level=level)

    def _publish_alert(self, alert) -> None:
        risk_map = getattr(self.plan, "risk_map", None)
        if risk_map is not None and alert.risk is None and alert.lat_deg is not None:
            alert.risk = risk_map.classify(alert.lat_deg, alert.lon_deg, self.plan.frame)
        snapshot = alert.snapshot
        self.recorder.alert(alert)
        self.hub.push_alert(alert, snapshot=snapshot)
        with self._lock:
            self._alerts[alert.kind.value] += 1

    def _on_alert(self, alert) -> None:
        """A detection alert: record, show, then the policy decides."""
        self._publish_alert(alert)
        self._act_on_alert(alert)

    def _act_on_alert(self, alert) -> None:
        """Say an alert on the console and the overlay's log, and hand it to the policy."""
        from detection.alerts import AlertKind

        where = f" at {alert.lat_deg:.6f}, {alert.lon_deg:.6f}" if alert.lat_deg is not None else ""
        what = (
            f"{alert.count} people gathered"
            if alert.kind == AlertKind.GATHERING
            else alert.message or alert.kind.value
        )
        self.log(f"ALERT {alert.kind.value}: {what}{where}", level="warning")
        if self.policy.alert_policy == "log_only":
            return
        if alert.kind == AlertKind.GATHERING and self.policy.alert_policy == "hover_and_speak":
            self.alert_policy.submit(
                PolicyRequest(
                    "alert", time.monotonic(), alert.lat_deg, alert.lon_deg, alert, alert.count
                )
            )
        else:
            self.alert_policy.speak(alert)

    def _on_vehicle_event(self, ev) -> None:
        """Vehicle events (link reader thread): record, show, raise safety alerts."""
        from groundstation.safety import safety_alert, safety_alert_kind, safety_message

        d = ev.data
        if ev.kind == "mission_current":
            return
        self.recorder.event(ev.kind, t_s=ev.t_s, **d)
        kind = safety_alert_kind(ev.kind, d)
        if kind is not None:
            pose = self.vehicle.pose if self.vehicle is not None else None
            message = safety_message(kind, d, link_lost_s=self.cfg.connection.link_lost_s)
            alert = safety_alert(
                kind,
                message,
                lat_deg=pose.lat_deg if pose is not None else None,
                lon_deg=pose.lon_deg if pose is not None else None,
                t_s=ev.t_s,
            )
            self._publish_alert(alert)
            level = "info" if kind.value == "link_recovered" else "error"
            self.log(f"{kind.value.upper().replace('_', ' ')}: {message}", level=level)
            if kind.value == "battery_low":
                self.alert_policy.submit(PolicyRequest("low_battery", time.monotonic()))
        elif ev.kind == "mode":
            self.log(f"mode {d['mode']}")
        elif ev.kind in ("armed", "disarmed"):
            self.log(ev.kind)
        elif ev.kind == "statustext" and d["severity"] <= 4:
            self.log(f"vehicle: {d['text']}", level="warning")

    def _on_broadcast(self, record) -> None:
        """A reminder utterance was played (announcer thread)."""
        self.recorder.broadcast(record)
        with self._lock:
            self.summary.broadcasts += 1
            if record.played:
                self.summary.broadcasts_played += 1
        where = f"on {record.device}" if record.played else "not played: no output device"
        self.log(f"reminder ({record.language}, {record.duration_s:.1f} s, {where}): {record.text}")
