"""Errors of the MAVLink link."""

from __future__ import annotations

from missions.errors import DronePatrolError


class LinkError(DronePatrolError):
    """The vehicle cannot be reached or stopped answering; the message names the endpoint."""
