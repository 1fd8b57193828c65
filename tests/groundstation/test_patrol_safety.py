"""Vehicle safety events become alerts (groundstation.safety)."""

from __future__ import annotations

import pytest

from detection.alerts import AlertKind
from groundstation.safety import safety_alert, safety_alert_kind, safety_message


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        ("link_lost", {"endpoint": "tcp:127.0.0.1:5760"}, AlertKind.LINK_LOST),
        ("link_recovered", {}, AlertKind.LINK_RECOVERED),
        ("low_battery", {"remaining_pct": 24.0}, AlertKind.BATTERY_LOW),
        ("statustext", {"severity": 2, "text": "Fence Breached: Polygon"}, AlertKind.GEOFENCE),
        ("statustext", {"severity": 2, "text": "Polygon fence breach"}, AlertKind.GEOFENCE),
        ("statustext", {"severity": 2, "text": "GCS Failsafe"}, AlertKind.FAILSAFE),
        ("statustext", {"severity": 2, "text": "Battery 1 Failsafe: Land"}, AlertKind.FAILSAFE),
        ("statustext", {"severity": 4, "text": "Battery 1 is low 10.50V used 3000 mAh"}, None),
        ("statustext", {"severity": 6, "text": "Mission: 3 WP"}, None),
        ("mode", {"mode": "RTL", "previous": "AUTO"}, None),
        ("armed", {}, None),
    ],
)
def test_which_events_are_safety_alerts(kind, data, expected):
    assert safety_alert_kind(kind, data) is expected


def test_safety_alert_and_messages():
    msg = safety_message(AlertKind.LINK_LOST, {"endpoint": "tcp:x:1"}, link_lost_s=3)
    assert "tcp:x:1" in msg and "3 s" in msg
    assert safety_message(AlertKind.BATTERY_LOW, {"remaining_pct": 24.4}) == "battery at 24 %"
    assert safety_message(AlertKind.GEOFENCE, {"text": "Fence Breached"}) == "Fence Breached"
    a = safety_alert(AlertKind.GEOFENCE, "Fence Breached", lat_deg=41.79, lon_deg=123.43, t_s=5.0)
    assert a.source == "vehicle" and a.count == 0 and a.kind.is_safety
    assert (a.lat_deg, a.lon_deg, a.t_s, a.message) == (41.79, 123.43, 5.0, "Fence Breached")
