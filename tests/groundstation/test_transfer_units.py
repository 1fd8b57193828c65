"""Mission items whose position ArduPilot keeps in any frame verify after upload."""

from __future__ import annotations

from groundstation import mission_transfer as mt
from groundstation.link import Link
from missions.items import MissionItem

HOME = (41.79, 123.43)


def test_a_legacy_qgc_takeoff_in_frame_2_verifies(sim_factory):
    """QGC's legacy .mission writes NAV_TAKEOFF in MAV_FRAME_MISSION with its coordinates:
    x/y go as degE7 (ArduPilot reads MISSION_ITEM_INT x/y so in every frame), not as 42."""
    take = MissionItem(seq=1, frame=2, command=22, x=41.7901, y=123.4301, z=20.0)
    assert take.xy_is_location and take.to_wire()["x"] == 417901000
    items = [
        MissionItem(seq=0, frame=0, command=16, x=HOME[0], y=HOME[1]),
        take,
        MissionItem(seq=2, frame=3, command=16, x=41.7902, y=123.4302, z=20.0),
        MissionItem(seq=3, frame=2, command=20),
    ]
    sim = sim_factory(speedup=10)
    with Link.connect(sim.url, timeout_s=30) as link:
        onboard = mt.upload_and_verify(link, items, 0)
    assert abs(onboard[1].x - 41.7901) < 1e-7 and abs(onboard[1].y - 123.4301) < 1e-7
