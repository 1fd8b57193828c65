"""Settings of the embedded ArduCopter stand-in (config section ``sim``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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


class BatterySettings(StrictModel):
    """The simulated flight battery (a 3S LiPo by default, like ArduPilot SITL's 12.6 V pack).

    Current draw is ``hover_current_a + speed_current_a_per_m2s2 * groundspeed**2`` in the air
    (plus ``climb_current_a_per_m_s`` per m/s of climb), ``idle_current_a`` on the ground.
    """

    model: Literal["lipo", "sitl"] = "lipo"
    """``lipo``: the LiPo curve, sag and currents below. ``sitl``: ArduPilot SITL's default
    battery as measured on ArduCopter 4.7 (constant 12.60 V, 0 A on the ground, about 27 A
    hovering plus the speed and climb terms in flight: 27-32 A; ``capacity_mah`` 3300 unless
    set), to rehearse with the endurance a real SITL gives (about 8 minutes of flight)."""
    capacity_mah: float = Field(default=5200.0, gt=0)
    """Usable capacity, mAh (also the BATT_CAPACITY parameter); 3300 by default with ``model: sitl``."""
    cells: int = Field(default=3, ge=1, le=14)
    """Cells in series; the open-circuit voltage curve is per cell (4.20 V full, 3.27 V empty)."""
    hover_current_a: float = Field(default=12.0, ge=0)
    """Current while hovering, A. With the defaults a full pack lasts about 26 min hovering and
    20 min at 8 m/s (15.2 A), the planner's default ``sorties.endurance_min`` at its default speed."""
    speed_current_a_per_m2s2: float = Field(default=0.05, ge=0)
    """Extra current per (m/s)^2 of ground speed, A."""
    climb_current_a_per_m_s: float = Field(default=2.0, ge=0)
    """Extra current per m/s of climb rate, A."""
    idle_current_a: float = Field(default=0.6, ge=0)
    """Current on the ground (avionics; motors at idle when armed add 1 A), A."""
    internal_resistance_ohm: float = Field(default=0.03, ge=0)
    """Pack resistance: the voltage sags by current * resistance, ohm."""
    initial_remaining: float = Field(default=1.0, gt=0, le=1)
    """State of charge at start, 0..1."""

    @property
    def effective_capacity_mah(self) -> float:
        """``capacity_mah``, or SITL's 3300 mAh with ``model: sitl`` when it was not set."""
        if self.model == "sitl" and "capacity_mah" not in self.model_fields_set:
            return SITL_CAPACITY_MAH
        return self.capacity_mah

    @property
    def effective_hover_current_a(self) -> float:
        """``hover_current_a``, or SITL's ~27 A with ``model: sitl`` when it was not set."""
        if self.model == "sitl" and "hover_current_a" not in self.model_fields_set:
            return SITL_HOVER_CURRENT_A
        return self.hover_current_a


SITL_CAPACITY_MAH = 3300.0
"""BATT_CAPACITY of ArduCopter SITL 4.7 with copter.parm (measured)."""
SITL_HOVER_CURRENT_A = 27.0
"""Current of SITL's battery model hovering (27-32 A measured in flight)."""
SITL_VOLTAGE_V = 12.6
"""SITL's battery voltage, constant (measured)."""


class SimSettings(StrictModel):
    """The embedded simulator started by ``dronepatrol patrol`` when ``connection.url`` is ``sim``."""

    home: GeoPoint = GeoPoint(lat_deg=41.7900, lon_deg=123.4300, alt_m=50.0)
    """Home (first GPS fix) of the simulated vehicle; alt_m is AMSL."""
    speedup: float = Field(default=1.0, gt=0, le=100)
    """Simulated time runs this many times faster than wall time."""
    port: int = Field(default=5760, ge=0, le=65535)
    """TCP port of the MAVLink endpoint on 127.0.0.1 (0 picks a free port)."""
    udp_port: int | None = Field(default=None, ge=0, le=65535)
    """Also listen for MAVLink on this UDP port of 127.0.0.1 (None = no UDP, 0 = a free port)."""
    sysid: int = Field(default=1, ge=1, le=255)
    """MAVLink system id of the vehicle."""
    ready_delay_s: float = Field(default=42.8, ge=0)
    """Simulated seconds from start until the EKF is ready and arming is allowed: 42.8 s as
    ArduCopter SITL 4.7 at speed-up 1 (measured); tests and rehearsals may set a few seconds."""
    battery: BatterySettings = BatterySettings()
    params: dict[str, float] = Field(default_factory=dict)
    """ArduCopter parameters to set at boot, e.g. {FS_GCS_ENABLE: 1, WPNAV_SPEED: 800}."""
    faults: FaultSettings = FaultSettings()
    scene: SceneSettings = SceneSettings()
    """What the simulated camera sees (``detection.source: sim``): see :mod:`sim.scene`."""


class SitlSettings(StrictModel):
    """A real ArduCopter SITL started for ``connection.url: sitl`` (home and speed-up: ``sim``)."""

    binary: Path | None = None
    """The ``arducopter`` binary; None = the ``ARDUPILOT_SITL`` environment variable."""
    defaults: Path | None = None
    """Parameter defaults file (copter.parm); None = ``ARDUPILOT_DEFAULTS``, or none."""
    instance: int | None = Field(default=None, ge=0, le=199)
    """SITL instance (-I; MAVLink on TCP 5760 + 10 * instance); None = the first with free ports."""
    armable_timeout_s: float = Field(default=120.0, gt=0)
    """How long to wait for SITL to become armable, vehicle seconds (about 43 s at speed-up 1)."""
    battery_mah: float = Field(default=3300.0, gt=0)
    """SITL's pack (BATT_CAPACITY with copter.parm), mAh: with ``flight_current_a`` it caps
    ``sorties.endurance_min`` when a patrol flies on SITL."""
    flight_current_a: float = Field(default=30.0, gt=0)
    """Mean current of SITL's battery model in flight (27-32 A measured), A."""

    @property
    def endurance_min(self) -> float:
        """Minutes of flight SITL's pack lasts: ``battery_mah / flight_current_a`` (6.6 min)."""
        return self.battery_mah / 1000.0 / self.flight_current_a * 60.0
