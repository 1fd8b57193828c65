"""Project exceptions.

Every error a user can cause (a bad file, a bad config, no vehicle, no weights, no audio device)
is raised as a :class:`DronePatrolError` subclass whose message is one line saying what is wrong
and where. The CLI prints ``error: <message>`` and exits non-zero, without a traceback unless
``--debug`` is given (see ``groundstation.cli``).

The base class lives in ``missions`` because ``missions`` is the bottom layer every other package
may import (``../shared/DESIGN.md``: dependencies point one way).
"""

from __future__ import annotations


class DronePatrolError(Exception):
    """Base class of every user-facing dronepatrol error.

    Args:
        message: One line: what is wrong and where (file, line, ring, vertex, endpoint...).

    Attributes:
        exit_code: Process exit status the CLI uses for this error (2 for bad input, 1 otherwise).
    """

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split("\n")))


class InputError(DronePatrolError):
    """Bad user input: a malformed file, an invalid argument or config value (exit status 2)."""

    exit_code = 2


class ConfigError(InputError):
    """The YAML config or a CLI override is invalid (unknown key, wrong type, out of range)."""


class AreaError(InputError):
    """A district/no-fly area file is unreadable or geometrically invalid.

    The message names the file, the ring and the vertex (``ring 0 (outer), vertex 4``).
    """


class MissionFileError(InputError):
    """A mission file (WPL, .plan, .mission) cannot be parsed; the message names file and line."""


class PlanningError(DronePatrolError):
    """The planner cannot produce a route (for example no sortie fits the battery)."""
