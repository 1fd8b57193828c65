"""Acceptance: a whole flight over MAVLink with plain pymavlink.

Connect, request streams, wait until ready, arm in GUIDED, take off to 20 m, upload a
10-waypoint mission, fly it in AUTO, receive MISSION_ITEM_REACHED for every item in order, RTL,
land, disarm. Runs on the built-in simulator (speed-up >= 10) or, with ARDUPILOT_SITL, on a real
ArduCopter SITL.
"""

from __future__ import annotations

import pytest
from _simclient import Gcs, home_placeholder, waypoint
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.geo import distance_m, offset
from missions.items import MissionItem

HOME = (41.79, 123.43)


def _ten_waypoints(lat0: float, lon0: float) -> list[MissionItem]:
    items = [home_placeholder()]
    for i in range(10):
        bearing = (i * 36.0) % 360.0
        lat, lon = offset(lat0, lon0, bearing, 60.0 + 8.0 * i)
        items.append(waypoint(i + 1, lat, lon, 20.0 + (i % 3) * 5.0))
    items.append(MissionItem(seq=11, frame=6, command=mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH))
    return items


@pytest.mark.slow
@pytest.mark.vehicle(speedup=25)
def test_full_flight_guided_takeoff_auto_mission_rtl_land_disarm(vehicle_endpoint):
    assert vehicle_endpoint.kind == "sitl" or vehicle_endpoint.speedup >= 10
    with Gcs(vehicle_endpoint.url, vehicle_endpoint.speedup) as gcs:
        hb = gcs.heartbeat
        assert (hb.type, hb.autopilot) == (
            mavlink.MAV_TYPE_QUADROTOR,
            mavlink.MAV_AUTOPILOT_ARDUPILOTMEGA,
        )
        assert gcs.compid == 1
        gcs.request_streams(10)
        gcs.wait_armable()
        pos = gcs.recv("GLOBAL_POSITION_INT", cond=lambda m: m.lat != 0)
        lat0, lon0 = pos.lat / 1e7, pos.lon / 1e7

        assert gcs.set_mode("GUIDED") == mavlink.MAV_RESULT_ACCEPTED
        assert gcs.arm() == mavlink.MAV_RESULT_ACCEPTED
        assert gcs.command(mavlink.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 20) == 0
        gcs.wait_alt(19.0, sim_s=60)

        items = _ten_waypoints(lat0, lon0)
        result, requests = gcs.upload(items)
        assert result == mavlink.MAV_MISSION_ACCEPTED
        assert set(requests) == {"MISSION_REQUEST"}  # ArduPilot asks with #40, not _INT

        gcs.reached.clear()
        gcs.current.clear()
        assert gcs.set_mode("AUTO") == mavlink.MAV_RESULT_ACCEPTED
        gcs.recv("MISSION_ITEM_REACHED", sim_s=400, cond=lambda m: m.seq == 10)
        # every waypoint flown in order: made current, or reported reached (ArduCopter 4.7
        # collapses MISSION_ITEM_REACHED of items completed in one loop: not one per item)
        flown = [q for q in gcs.current if q]
        assert flown == sorted(flown)
        assert set(gcs.reached) | set(gcs.current) >= set(range(1, 11))
        assert gcs.reached == sorted(gcs.reached)
        # the final RTL item is reached only at touchdown; the vehicle stays in AUTO, disarmed
        gcs.recv("MISSION_ITEM_REACHED", sim_s=300, cond=lambda m: m.seq == 11)
        hb = gcs.wait_disarmed(sim_s=30)
        assert hb.custom_mode == 3
        assert gcs.reached[-1] == 11 and gcs.reached == sorted(gcs.reached)
        pos = gcs.recv("GLOBAL_POSITION_INT")
        assert abs(pos.relative_alt) < 500
        assert distance_m(lat0, lon0, pos.lat / 1e7, pos.lon / 1e7) < 3.0


@pytest.mark.vehicle(speedup=25)
def test_rtl_mode_lands_and_disarms(vehicle_endpoint):
    with Gcs(vehicle_endpoint.url, vehicle_endpoint.speedup) as gcs:
        gcs.request_streams(10)
        gcs.wait_armable()
        assert gcs.set_mode("GUIDED") == 0
        assert gcs.arm() == 0
        assert gcs.command(mavlink.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 10) == 0
        gcs.wait_alt(9.5)
        assert gcs.set_mode("RTL") == 0
        # RTL climbs to RTL_ALT (15 m) before returning
        gcs.wait_alt(14.5, sim_s=60)
        hb = gcs.wait_disarmed(sim_s=120)
        assert hb.custom_mode == 6
