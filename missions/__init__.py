"""Survey patrol planning: area -> survey grid -> MAVLink mission items -> mission files.

Pure computation on numpy, shapely and pyproj; no I/O beyond reading and writing files.
Also home of the shared value types :class:`missions.geo.Pose` and the geodesy helpers, and of
:class:`missions.items.MissionItem`, because every other package builds on them.
"""

from missions.errors import (
    AreaError,
    ConfigError,
    DronePatrolError,
    InputError,
    MissionFileError,
    PlanningError,
)

__all__ = [
    "AreaError",
    "ConfigError",
    "DronePatrolError",
    "InputError",
    "MissionFileError",
    "PlanningError",
]
