"""Errors of vehicle commands and waits."""

from __future__ import annotations

from collections.abc import Iterable

from missions.errors import DronePatrolError


class VehicleError(DronePatrolError):
    """A vehicle command failed or the vehicle did not do what was asked in time."""


class CommandError(VehicleError):
    """A command was refused (COMMAND_ACK result in words) or never acknowledged."""


class ArmError(CommandError):
    """Arming was refused; the message lists the PreArm/Arm reasons the vehicle gave."""

    def __init__(self, message: str, reasons: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.reasons = list(reasons)


class VehicleTimeoutError(VehicleError):
    """A wait for a vehicle condition timed out; the message says what and the current state."""
