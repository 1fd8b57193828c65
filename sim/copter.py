"""ArduCopter's vocabulary as the simulated vehicle speaks it: flight modes, mode sets, RTL stages,
boot STATUSTEXTs, severities, command results and the :class:`Event` queue entry.

Definitions only (no behaviour); :mod:`sim.vehicle` re-exports every name, so
``from sim.vehicle import Mode`` keeps working. Sources: ArduCopter 4.7 ``mode.h`` (mode
numbers), ``mode_rtl.cpp`` (RTL stages), ``AP_Arming_Copter.cpp`` (force-arm magic), SITL boot log.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from pymavlink.dialects.v20 import ardupilotmega as mavlink

SEVERITY_CRITICAL = mavlink.MAV_SEVERITY_CRITICAL
SEVERITY_WARNING = mavlink.MAV_SEVERITY_WARNING
SEVERITY_NOTICE = mavlink.MAV_SEVERITY_NOTICE
SEVERITY_INFO = mavlink.MAV_SEVERITY_INFO

RESULT_ACCEPTED = mavlink.MAV_RESULT_ACCEPTED
RESULT_FAILED = mavlink.MAV_RESULT_FAILED
RESULT_DENIED = mavlink.MAV_RESULT_DENIED

FORCE_MAGIC = (2989.0, 21196.0)
"""COMPONENT_ARM_DISARM param2 values that skip the checks (ArduPilot)."""

LAND_DETECT_S = 1.0
"""Seconds on the ground before the landing detector reports land complete (LAND_DETECTOR_TRIGGER_SEC)."""


BOOT_TEXTS = (
    (0.0, "Calibrating barometer"),
    (0.02, "Barometer 1 calibration complete"),
    (0.02, "Barometer 2 calibration complete"),
    (0.03, "ArduPilot Ready"),
    (0.05, "EKF3 IMU0 initialised"),
    (0.05, "EKF3 IMU1 initialised"),
    (0.08, "EKF3 IMU0 tilt alignment complete"),
    (0.08, "EKF3 IMU1 tilt alignment complete"),
    (0.10, "EKF3 IMU0 MAG0 initial yaw alignment complete"),
    (0.10, "EKF3 IMU1 MAG0 initial yaw alignment complete"),
    (0.24, "GPS 1: detected u-blox"),
    (0.48, "EKF3 IMU0 origin set"),
    (0.48, "EKF3 IMU1 origin set"),
    (0.96, "EKF3 IMU0 is using GPS"),
    (0.96, "EKF3 IMU1 is using GPS"),
)
"""Boot STATUSTEXTs as (share of ``ready_delay_s``, text): barometer calibration, "ArduPilot
Ready", EKF3 alignment, GPS detection, origin set, "EKF3 IMU0 is using GPS" (ArduCopter SITL 4.7
sends 14 such texts; the times are its measured ones scaled to the ready delay)."""


class Mode(IntEnum):
    """ArduCopter flight modes (HEARTBEAT.custom_mode)."""

    STABILIZE = 0
    ACRO = 1
    ALT_HOLD = 2
    AUTO = 3
    GUIDED = 4
    LOITER = 5
    RTL = 6
    CIRCLE = 7
    LAND = 9
    DRIFT = 11
    SPORT = 13
    FLIP = 14
    AUTOTUNE = 15
    POSHOLD = 16
    BRAKE = 17
    THROW = 18
    AVOID_ADSB = 19
    GUIDED_NOGPS = 20
    SMART_RTL = 21


SIMULATED_MODES = frozenset(
    {
        Mode.STABILIZE,
        Mode.ALT_HOLD,
        Mode.AUTO,
        Mode.GUIDED,
        Mode.LOITER,
        Mode.RTL,
        Mode.LAND,
        Mode.POSHOLD,
        Mode.BRAKE,
    }
)
"""Modes the simulator flies; the other ArduCopter modes are refused with a STATUSTEXT."""

NOT_ARMABLE = frozenset({Mode.AUTO, Mode.RTL, Mode.LAND, Mode.BRAKE, Mode.SMART_RTL, Mode.CIRCLE})
USER_TAKEOFF_MODES = frozenset({Mode.GUIDED, Mode.LOITER, Mode.ALT_HOLD, Mode.POSHOLD})
GUIDED_LIKE = frozenset({Mode.GUIDED})


@dataclass
class Event:
    """Something the endpoint must tell the ground station.

    Attributes:
        kind: ``"text"`` (severity, text), ``"reached"`` (seq), ``"current"`` (mission current
            changed), ``"home"`` (home changed).
        severity: MAV_SEVERITY for texts.
        text: STATUSTEXT text.
        seq: Mission sequence number for ``"reached"``.
    """

    kind: str
    severity: int = 6
    text: str = ""
    seq: int = 0


class RtlState(IntEnum):
    """Stages of ArduCopter's RTL (mode_rtl.cpp)."""

    CLIMB = 0
    RETURN = 1
    LOITER = 2
    FINAL = 3
    LAND = 4
