"""Errors raised by the detection package (all :class:`missions.errors.DronePatrolError`)."""

from __future__ import annotations

from missions.errors import DronePatrolError, InputError


class ModelNotFoundError(DronePatrolError):
    """Weights needed by the pipeline are missing or cannot be loaded.

    The message says which setting or environment variable to use and where the weights were
    looked for; nothing is ever downloaded (the ground station may be offline).
    """

    exit_code = 2


class SourceError(InputError):
    """A video source cannot be opened or read (bad path, unreachable stream, bad camera index)."""
