"""The MAVLink dialect of the ground station: MAVLink 2 with ArduPilot's messages.

The link always speaks MAVLink 2 (fence and rally transfers need the ``mission_type`` extension
field; ArduPilot answers "Need mavlink2 for item transfer" otherwise).
"""

from pymavlink.dialects.v20 import ardupilotmega as mavlink2

MAV = mavlink2
"""The MAVLink 2 ArduPilot dialect used for every message built by the ground station."""
