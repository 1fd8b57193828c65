"""Safety alerts are raised when a condition starts, not when it clears."""

from __future__ import annotations

import pytest

from detection.alerts import AlertKind
from groundstation.safety import safety_alert_kind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fence Breached: Polygon", AlertKind.GEOFENCE),
        ("Fence breach cleared", None),
        ("GCS Failsafe", AlertKind.FAILSAFE),
        ("GCS Failsafe Cleared", None),
    ],
)
def test_breach_and_failsafe_clearances_are_not_new_alerts(text, expected):
    assert safety_alert_kind("statustext", {"severity": 2, "text": text}) is expected
