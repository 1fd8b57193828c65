"""Mission, fence and rally transfer over MAVLink, with ArduPilot's quirks and a lossy link."""

from __future__ import annotations

import math

import pytest
from _simclient import Gcs, home_placeholder, waypoint
from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.geo import offset
from missions.items import MissionItem

HOME = (41.79, 123.43, 50.0)
FENCE, RALLY = mavlink.MAV_MISSION_TYPE_FENCE, mavlink.MAV_MISSION_TYPE_RALLY


def _mission(n: int) -> list[MissionItem]:
    items = [home_placeholder()]
    for i in range(1, n + 1):
        lat, lon = offset(HOME[0], HOME[1], 20.0 * i, 30.0 + 5 * i)
        items.append(waypoint(i, lat, lon, 25.0 + i * 0.123456))
    return items


@pytest.fixture
def sim(sim_factory):
    return sim_factory(speedup=10, home=HOME, seed=7)


def test_upload_with_20_percent_loss_completes_with_re_requests(sim):
    items = _mission(20)
    with Gcs(sim.url, sim.speedup) as gcs:
        sim.set_faults(loss=0.2)
        result, requests = gcs.upload(items, item_wall_s=0.6, max_retries=200)
        assert result == mavlink.MAV_MISSION_ACCEPTED
        assert sim.fault_stats["dropped"] > 0
        sim.set_faults(loss=0.0)
        back = gcs.download()
    assert len(back) == len(items)
    for sent, got in zip(items[1:], back[1:], strict=True):
        assert (got.x, got.y) == (sent.to_wire()["x"], sent.to_wire()["y"])
        # ArduPilot stores altitude as whole centimetres, truncated (C float -> int32)
        assert got.z == pytest.approx(math.trunc(sent.z * 100) / 100, abs=1e-4)


def test_upload_asks_with_mission_request_and_accepts_both_item_kinds(sim):
    items = _mission(3)
    with Gcs(sim.url, sim.speedup) as gcs:
        result, requests = gcs.upload(items, use_int=False)
        assert result == 0
        assert requests == ["MISSION_REQUEST"] * 4
        assert "Flight plan received" in gcs.texts
        result, requests = gcs.upload(items, use_int=True)
        assert result == 0 and set(requests) == {"MISSION_REQUEST"}
        back = gcs.download(use_int=False)
        assert [m.get_type() for m in back] == ["MISSION_ITEM"] * 4
        # ArduCopter 4.7 answers MISSION_REQUEST but nags about it (measured)
        assert "got MISSION_REQUEST; use MISSION_REQUEST_INT!" in gcs.texts
        assert back[1].x == pytest.approx(items[1].x, abs=4e-6)  # MISSION_ITEM x is float32


def test_seq0_is_replaced_by_home_in_frame0_amsl(sim):
    items = _mission(2)
    items[0] = MissionItem(seq=0, frame=6, command=16, x=10.0, y=20.0, z=99.0)
    sim.wait_ready(30)
    with Gcs(sim.url, sim.speedup) as gcs:
        assert gcs.upload(items)[0] == 0
        back = gcs.download()
    home = back[0]
    assert home.frame == mavlink.MAV_FRAME_GLOBAL
    assert (home.x, home.y) == (round(HOME[0] * 1e7), round(HOME[1] * 1e7))
    assert home.z == pytest.approx(HOME[2])
    # an item sent as GLOBAL_RELATIVE_ALT_INT reads back as GLOBAL_RELATIVE_ALT (3)
    assert back[1].frame == mavlink.MAV_FRAME_GLOBAL_RELATIVE_ALT
    # copter does not store a waypoint's acceptance radius (param2)
    items2 = _mission(1)
    items2[1] = MissionItem(
        seq=1, frame=3, command=16, param1=2.7, param2=5.0, x=41.7905, y=123.4305, z=30
    )
    with Gcs(sim.url, sim.speedup) as gcs:
        assert gcs.upload(items2)[0] == 0
        back = gcs.download()
    assert (back[1].param1, back[1].param2) == (2.0, 0.0)


def test_out_of_sequence_item_is_nacked_and_upload_continues(sim):
    items = _mission(3)
    with Gcs(sim.url, sim.speedup) as gcs:
        gcs.m.mav.mission_count_send(gcs.sysid, gcs.compid, len(items), 0)
        req = gcs.recv("MISSION_REQUEST", cond=lambda m: m.seq == 0)
        gcs._send_item(items[2], use_int=True)
        nack = gcs.recv("MISSION_ACK")
        assert nack.type == mavlink.MAV_MISSION_INVALID_SEQUENCE
        for seq in range(req.seq, len(items)):
            if seq:
                gcs.recv("MISSION_REQUEST", cond=lambda m, s=seq: m.seq == s)
            gcs._send_item(items[seq], use_int=True)
        assert gcs.recv("MISSION_ACK").type == mavlink.MAV_MISSION_ACCEPTED


def test_vehicle_re_requests_then_cancels_a_stalled_upload(sim, monkeypatch):
    import sim.mission_protocol as mp

    monkeypatch.setattr(mp, "UPLOAD_TIMEOUT_S", 2.5)
    monkeypatch.setattr(mp, "RESEND_S", 0.4)
    with Gcs(sim.url, sim.speedup) as gcs:
        gcs.m.mav.mission_count_send(gcs.sysid, gcs.compid, 3, 0)
        gcs.recv("MISSION_REQUEST", cond=lambda m: m.seq == 0)
        again = gcs.recv("MISSION_REQUEST", cond=lambda m: m.seq == 0, wall_s=5)
        assert again.seq == 0
        ack = gcs.recv("MISSION_ACK", wall_s=10)
        assert ack.type == mavlink.MAV_MISSION_OPERATION_CANCELLED
        assert "Mission upload timeout" in gcs.texts


def test_bad_items_end_the_upload_with_their_error(sim):
    with Gcs(sim.url, sim.speedup) as gcs:
        bad_jump = [
            home_placeholder(),
            MissionItem(seq=1, frame=2, command=177, param1=0, param2=1),
        ]
        assert gcs.upload(bad_jump)[0] == mavlink.MAV_MISSION_ERROR
        unknown = [home_placeholder(), MissionItem(seq=1, frame=2, command=31000)]
        assert gcs.upload(unknown)[0] == mavlink.MAV_MISSION_UNSUPPORTED
        bad_frame = [home_placeholder(), MissionItem(seq=1, frame=1, command=16, x=1, y=1, z=1)]
        assert gcs.upload(bad_frame)[0] == mavlink.MAV_MISSION_UNSUPPORTED_FRAME
        gcs.m.mav.mission_count_send(gcs.sysid, gcs.compid, 5000, 0)
        assert gcs.recv("MISSION_ACK").type == mavlink.MAV_MISSION_NO_SPACE


def test_download_beyond_count_and_clear_all(sim):
    with Gcs(sim.url, sim.speedup) as gcs:
        assert gcs.upload(_mission(2))[0] == 0
        gcs.m.mav.mission_request_int_send(gcs.sysid, gcs.compid, 7, 0)
        count = gcs.recv("MISSION_COUNT")
        assert count.count == 3
        assert gcs.recv("MISSION_ACK").type == mavlink.MAV_MISSION_ERROR
        gcs.m.mav.mission_clear_all_send(gcs.sysid, gcs.compid, 0)
        assert gcs.recv("MISSION_ACK").type == mavlink.MAV_MISSION_ACCEPTED
        # ArduCopter 4.7 (measured, ../shared/notes/ardupilot.md): count 0 after a clear, and
        # MIS_TOTAL follows; an upload brings home back into the count.
        assert len(gcs.download()) == 0
        assert gcs.param("MIS_TOTAL") == 0
        assert gcs.upload(_mission(1))[0] == 0
        assert len(gcs.download()) == 2


def _fence_items() -> list[MissionItem]:
    ring = [offset(HOME[0], HOME[1], b, 200.0) for b in (45, 135, 225, 315)]
    items = [
        MissionItem(seq=i, frame=6, command=5001, param1=4, x=lat, y=lon, mission_type=FENCE)
        for i, (lat, lon) in enumerate(ring)
    ]
    c = offset(HOME[0], HOME[1], 90, 80.0)
    items.append(
        MissionItem(seq=4, frame=6, command=5004, param1=12.5, x=c[0], y=c[1], mission_type=FENCE)
    )
    return items


def test_fence_round_trip_with_5001_and_5004(sim):
    items = _fence_items()
    with Gcs(sim.url, sim.speedup) as gcs:
        assert gcs.upload(items, mission_type=FENCE)[0] == 0
        assert "Fence Indexed OK" in gcs.texts  # ArduCopter 4.7's confirmation (measured)
        back = gcs.download(mission_type=FENCE)
    assert [m.command for m in back] == [5001] * 4 + [5004]
    assert all(m.mission_type == FENCE and m.frame == 0 for m in back)
    assert [m.autocontinue for m in back] == [0] * 5  # sent as 1; ArduCopter 4.7 reads back 0
    assert back[0].param1 == 4 and back[4].param1 == pytest.approx(12.5)
    assert back[2].x == items[2].to_wire()["x"]


def test_invalid_fence_is_refused_and_old_fence_kept(sim):
    good = _fence_items()
    bad = [
        MissionItem(seq=i, frame=6, command=5001, param1=3, x=HOME[0] + i * 1e-3, y=HOME[1],
                    mission_type=FENCE)
        for i in range(2)
    ]  # fmt: skip
    with Gcs(sim.url, sim.speedup) as gcs:
        assert gcs.upload(good, mission_type=FENCE)[0] == 0
        assert gcs.upload(bad, mission_type=FENCE)[0] == mavlink.MAV_MISSION_ERROR
        assert len(gcs.download(mission_type=FENCE)) == 5


def test_rally_round_trip_frame3_integer_altitude(sim):
    lat, lon = offset(HOME[0], HOME[1], 10, 150)
    items = [MissionItem(seq=0, frame=6, command=5100, x=lat, y=lon, z=31.7, mission_type=RALLY)]
    with Gcs(sim.url, sim.speedup) as gcs:
        assert gcs.upload(items, mission_type=RALLY)[0] == 0
        back = gcs.download(mission_type=RALLY)
        assert not [t for t in gcs.texts if "ally" in t]  # ArduCopter 4.7 says nothing
        wrong = [MissionItem(seq=0, frame=0, command=5100, x=lat, y=lon, mission_type=RALLY)]
        assert gcs.upload(wrong, mission_type=RALLY)[0] == mavlink.MAV_MISSION_UNSUPPORTED_FRAME
    assert back[0].command == 5100 and back[0].frame == 3 and back[0].z == 31.0
    assert back[0].autocontinue == 0


def test_download_refused_during_upload(sim):
    with Gcs(sim.url, sim.speedup) as gcs:
        gcs.m.mav.mission_count_send(gcs.sysid, gcs.compid, 3, 0)
        gcs.recv("MISSION_REQUEST")
        gcs.m.mav.mission_request_list_send(gcs.sysid, gcs.compid, 0)
        assert gcs.recv("MISSION_ACK").type == mavlink.MAV_MISSION_DENIED
