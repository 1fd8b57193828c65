"""An ArduCopter stand-in that speaks MAVLink 2, and a launcher for the real ArduPilot SITL.

``start_sim()`` runs a simulated copter in a background thread with a MAVLink endpoint on
127.0.0.1 that a ground station cannot tell from ArduCopter SITL in what it relies on (see
``docs/simulator.md`` and ``../shared/notes/ardupilot.md``)::

    from sim import start_sim

    with start_sim(port=0, speedup=10) as sim:
        print(sim.url)            # "tcp:127.0.0.1:40123" for pymavlink.mavutil.mavlink_connection
        pose = sim.true_pose()    # missions.geo.Pose, for the simulated camera
"""

from sim.runner import SimError, SimHandle, start_sim
from sim.settings import BatterySettings, FaultSettings, SimSettings

__all__ = [
    "BatterySettings",
    "FaultSettings",
    "SimError",
    "SimHandle",
    "SimSettings",
    "start_sim",
]
