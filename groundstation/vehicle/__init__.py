"""Vehicle state and commands on top of a :class:`groundstation.link.Link` (ArduCopter semantics).

Public API: :class:`Vehicle` (state, pose history, events, commands), :class:`VehicleState` and
its parts, :class:`VehicleEvent`, the errors (:class:`VehicleError`, :class:`CommandError`,
:class:`ArmError`, :class:`VehicleTimeoutError`, :class:`ParameterError`,
:class:`UnknownParameterError`), parameters (:class:`ParameterClient`, :class:`ParamValue`;
``Vehicle.get_param`` / ``set_param``), mode names (:data:`COPTER_MODES`,
:func:`mode_number`) and :func:`result_name`.
"""

from groundstation.vehicle.control import FORCE_DISARM_MAGIC, Vehicle
from groundstation.vehicle.errors import (
    ArmError,
    CommandError,
    VehicleError,
    VehicleTimeoutError,
)
from groundstation.vehicle.names import (
    COPTER_MODE_NAMES,
    COPTER_MODES,
    mode_number,
    result_name,
)
from groundstation.vehicle.params import (
    ParameterClient,
    ParameterError,
    ParamValue,
    UnknownParameterError,
)
from groundstation.vehicle.state import (
    EKF_BAD_FLAGS,
    EKF_OK_FLAGS,
    EVENT_KINDS,
    Battery,
    Gps,
    Home,
    StatusText,
    VehicleEvent,
    VehicleState,
    Velocity,
)
from groundstation.vehicle.tracker import TELEMETRY_RATES_HZ, VehicleTracker

__all__ = [
    "COPTER_MODES",
    "COPTER_MODE_NAMES",
    "EKF_BAD_FLAGS",
    "EKF_OK_FLAGS",
    "EVENT_KINDS",
    "FORCE_DISARM_MAGIC",
    "TELEMETRY_RATES_HZ",
    "ArmError",
    "Battery",
    "CommandError",
    "Gps",
    "Home",
    "ParamValue",
    "ParameterClient",
    "ParameterError",
    "StatusText",
    "UnknownParameterError",
    "Vehicle",
    "VehicleError",
    "VehicleEvent",
    "VehicleState",
    "VehicleTimeoutError",
    "VehicleTracker",
    "Velocity",
    "mode_number",
    "result_name",
]
