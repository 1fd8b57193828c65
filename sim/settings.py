"""Settings of the embedded ArduCopter stand-in (config section ``sim``)."""

from __future__ import annotations

from pydantic import Field

from missions.settings import GeoPoint, StrictModel
from sim.scene import SceneSettings


class FaultSettings(StrictModel):
    """Link faults injected on the simulator's MAVLink endpoint (for tests and demos)."""

    loss: float = Field(default=0.0, ge=0, le=1)
    """Probability that a packet (either direction) is dropped."""
    duplicate: float = Field(default=0.0, ge=0, le=1)
    """Probability that a packet is sent twice."""
    reorder: float = Field(default=0.0, ge=0, le=1)
    """Probability that a packet is held back and sent after the next one."""
    latency_ms: float = Field(default=0.0, ge=0)
    """Added one-way delay, milliseconds."""


class SimSettings(StrictModel):
    """The embedded simulator started by ``dronepatrol patrol`` when ``connection.url`` is ``sim``."""

    home: GeoPoint = GeoPoint(lat_deg=41.7900, lon_deg=123.4300, alt_m=50.0)
    """Home (first GPS fix) of the simulated vehicle; alt_m is AMSL."""
    speedup: float = Field(default=1.0, gt=0, le=100)
    """Simulated time runs this many times faster than wall time."""
    port: int = Field(default=5760, ge=0, le=65535)
    """TCP port of the MAVLink endpoint on 127.0.0.1 (0 picks a free port)."""
    sysid: int = Field(default=1, ge=1, le=255)
    """MAVLink system id of the vehicle."""
    ready_delay_s: float = Field(default=3.0, ge=0)
    """Simulated seconds from start until the EKF is ready and arming is allowed."""
    faults: FaultSettings = FaultSettings()
    scene: SceneSettings = SceneSettings()
    """What the simulated camera sees (``detection.source: sim``): see :mod:`sim.scene`."""
