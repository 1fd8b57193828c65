"""Mission, fence and rally transfer against a vehicle (built-in simulator, or SITL when set).

The built-in simulator stores items the way ArduCopter does (sim.mission_store) and answers the
mission protocol like ``MissionItemProtocol.cpp``; fault injection (loss, duplication, reordering,
link cuts) is built-in only (``sim_factory``).
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from _transfer_samples import planned_demo, survey_mission

from groundstation import mission_transfer as mt
from groundstation.link import Link
from missions.items import (
    MAV_CMD_DO_CHANGE_SPEED,
    MAV_FRAME_GLOBAL_RELATIVE_ALT,
    MissionItem,
)


def strictly_equal(planned, onboard, mission_type=0):
    """Field-by-field wire equality (home excluded for a mission), no storage rules."""
    return mt.compare_items(planned, onboard, mission_type, storage_rules=False) == []


# --- against any vehicle (built-in or SITL) ------------------------------------------------------


@pytest.mark.slow
def test_planned_sortie_fence_and_rally_round_trip(vehicle_endpoint):
    plan = planned_demo()
    sortie = plan.sorties[0].items
    with Link.connect(vehicle_endpoint.url, timeout_s=30) as link:
        onboard_fence = mt.upload_and_verify(link, plan.fence_items, 1)
        onboard_rally = mt.upload_and_verify(link, plan.rally_items, 2)
        onboard = mt.upload_and_verify(link, sortie, 0)
        assert len(onboard) == len(sortie)
        # Everything ArduCopter keeps verbatim is equal field by field (fence and rally items
        # read back with autocontinue 0 whatever was sent: measured on ArduCopter 4.7) ...
        no_autocontinue = [replace(it, autocontinue=0) for it in plan.fence_items]
        assert strictly_equal(no_autocontinue, onboard_fence, 1)
        assert strictly_equal([replace(it, autocontinue=0) for it in plan.rally_items],
                              onboard_rally, 2)  # fmt: skip
        for a, b in zip(sortie[1:], onboard[1:], strict=True):
            assert (a.seq, a.command) == (b.seq, b.command)
            if a.has_position:
                assert b.to_wire()["x"] == a.to_wire()["x"] and b.to_wire()["y"] == a.to_wire()["y"]
                assert b.z == pytest.approx(a.z, abs=0.005)
        # ... and the read-back is independent of how often it is read (seq 0 is the vehicle's
        # home, which is all zeros until its first GPS fix sets it, as on ArduPilot).
        assert mt.download(link, 0)[1:] == onboard[1:]


def test_upload_twice_gives_the_same_mission(vehicle_endpoint):
    """dronekit re-adds home on re-upload and loses the first item; here the list is the same."""
    items = survey_mission(12)
    with Link.connect(vehicle_endpoint.url, timeout_s=30) as link:
        mt.upload_and_verify(link, items, 0)
        mt.upload_and_verify(link, items, 0)
        onboard = mt.download(link, 0)
        assert strictly_equal(items, onboard)
        # Download -> re-upload the downloaded list (home included) -> same mission again.
        mt.upload_and_verify(link, onboard, 0)
        again = mt.download(link, 0)
        assert strictly_equal(items, again)
        assert len(again) == len(items)


def test_clear_and_set_current(vehicle_endpoint):
    items = survey_mission(8)
    with Link.connect(vehicle_endpoint.url, timeout_s=30) as link:
        mt.upload_and_verify(link, items, 0)
        link.request_message_interval("MISSION_CURRENT", 4)
        mt.set_current(link, 4)
        cur = link.wait_message("MISSION_CURRENT", lambda m: m.seq == 4, timeout_s=10)
        assert cur is not None
        mt.clear(link, 0)
        assert mt.download(link, 0) == []  # ArduCopter 4.7: count 0 after a clear (measured)
        plan_fence = planned_demo().fence_items
        mt.upload_and_verify(link, plan_fence, 1)
        mt.clear(link, 1)
        assert mt.download(link, 1) == []


def test_empty_upload_clears(vehicle_endpoint):
    with Link.connect(vehicle_endpoint.url, timeout_s=30) as link:
        mt.upload_and_verify(link, planned_demo().rally_items, 2)
        mt.upload(link, [], 2)
        assert mt.download(link, 2) == []


# --- faults (built-in simulator) -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_500_items_over_a_lossy_duplicating_reordering_link(sim_factory):
    sim = sim_factory(speedup=10, seed=4, faults={"loss": 0.2, "duplicate": 0.05, "reorder": 0.05})
    items = survey_mission(500)
    with Link.connect(sim.url, timeout_s=30) as link:
        onboard = mt.upload_and_verify(link, items, 0)
        assert len(onboard) == 500
        assert strictly_equal(items, onboard)
        for a, b in zip(items[1:], onboard[1:], strict=True):
            assert a.same_on_wire(b)
    stats = sim.fault_stats
    assert stats.get("dropped", 0) > 100 and stats.get("duplicated", 0) > 10, stats


@pytest.mark.timeout(300)
def test_vehicle_stops_answering_mid_upload_names_the_last_acknowledged_item(sim_factory):
    sim = sim_factory(speedup=10)
    items = survey_mission(200)
    cut = []

    def progress(done, total):
        if done >= 60 and not cut:
            cut.append(done)
            sim.cut_link(30)

    with (
        Link.connect(sim.url, timeout_s=30) as link,
        pytest.raises(mt.MissionTransferError) as err,
    ):
        mt.upload(link, items, 0, item_timeout_s=2.0, progress=progress)
    e = err.value
    assert e.operation == "upload"
    assert e.last_acked is not None and e.last_acked >= cut[0] - 1
    assert e.seq == e.last_acked + 1
    assert f"last item acknowledged: item {e.last_acked} of 0..199" in str(e)
    assert f"item {e.seq} failed" in str(e)


def test_refused_item_is_named_with_the_result_in_words(sim_factory):
    sim = sim_factory(speedup=10)
    items = survey_mission(10)
    items[5] = replace(items[5], command=31000)  # a MAV_CMD ArduCopter does not store
    with (
        Link.connect(sim.url, timeout_s=30) as link,
        pytest.raises(mt.MissionTransferError) as err,
    ):
        mt.upload(link, items, 0)
    e = err.value
    assert e.seq == 5 and e.last_acked == 4
    assert e.result == 3  # MAV_MISSION_UNSUPPORTED
    assert "item 5 (WAYPOINT_USER_1) was refused: MAV_MISSION_UNSUPPORTED" in str(e)


def test_vehicle_refusing_the_count_is_reported(sim_factory):
    sim = sim_factory(speedup=10)
    with (
        Link.connect(sim.url, timeout_s=30) as link,
        pytest.raises(mt.MissionTransferError) as err,
    ):
        mt.upload(link, survey_mission(900), 0)
    assert "refused MISSION_COUNT 900: MAV_MISSION_NO_SPACE" in str(err.value)
    assert err.value.seq is None


# --- verification rules (pure) -------------------------------------------------------------------


def test_compare_names_item_and_field_and_half_uploads():
    items = survey_mission(10)
    onboard = list(items)
    onboard[6] = replace(onboard[6], z=onboard[6].z + 1.0)
    (m,) = mt.compare_items(items, onboard, 0)
    assert (m.seq, m.field) == (6, "z/param7")
    assert "item 6 (NAV_WAYPOINT) field z/param7" in str(m)
    half = mt.compare_items(items, items[:4], 0)
    assert half[0].field == "count" and "half-uploaded" in str(half[0])
    # seq 0 (home) is the vehicle's own and never compared for a mission, but is for a fence.
    moved_home = [replace(items[0], x=1.0)] + items[1:]
    assert mt.compare_items(items, moved_home, 0) == []


def test_compare_accepts_only_ardupilot_storage_differences():
    speed = MissionItem(
        seq=1,
        frame=MAV_FRAME_GLOBAL_RELATIVE_ALT,
        command=MAV_CMD_DO_CHANGE_SPEED,
        param1=1,
        param2=8,
        param3=-1,
    )
    stored = replace(speed, frame=0)  # ArduCopter: DO commands read back in frame 0
    home = MissionItem(seq=0, frame=0, command=16)
    assert mt.compare_items([home, speed], [home, stored], 0) == []
    assert mt.compare_items([home, speed], [home, stored], 0, storage_rules=False) != []
    # ArduCopter 4.7 keeps the throttle (param3) as a float: -1 reads back -1.0, never 255
    (m,) = mt.compare_items([home, speed], [home, replace(stored, param3=255.0)], 0)
    assert m.field == "param3" and m.planned == -1.0 and m.onboard == 255.0
    wrong = replace(stored, param2=9.0)
    (m,) = mt.compare_items([home, speed], [home, wrong], 0)
    assert m.field == "param2" and m.planned == 8.0 and m.onboard == 9.0


def test_compare_accepts_fence_and_rally_read_back_with_autocontinue_0():
    """Measured on ArduCopter SITL 4.7: every fence item and rally point reads back with
    autocontinue 0 whatever was sent; anything else that differs is still a mismatch."""
    fence = [
        MissionItem(seq=i, frame=MAV_FRAME_GLOBAL_RELATIVE_ALT, command=5001, param1=3,
                    x=41.79 + i * 1e-3, y=123.43 + (i % 2) * 1e-3, mission_type=1)
        for i in range(3)
    ]  # fmt: skip
    onboard = [replace(it, frame=0, autocontinue=0) for it in fence]
    assert mt.compare_items(fence, onboard, 1) == []
    assert mt.compare_items(fence, onboard, 1, storage_rules=False)[0].field == "frame"
    moved = [*onboard[:2], replace(onboard[2], x=onboard[2].x + 1e-3)]
    (m,) = mt.compare_items(fence, moved, 1)
    assert (m.seq, m.field) == (2, "x/param5 (lat degE7)")
    rally = [MissionItem(seq=0, frame=MAV_FRAME_GLOBAL_RELATIVE_ALT, command=5100, x=41.79,
                         y=123.43, z=15.0, mission_type=2)]  # fmt: skip
    assert mt.compare_items(rally, [replace(rally[0], autocontinue=0)], 2) == []


def test_items_must_be_numbered_from_zero(sim_factory):
    from missions.errors import InputError

    items = survey_mission(5)
    sim = sim_factory(speedup=10)
    with Link.connect(sim.url, timeout_s=30) as link:
        with pytest.raises(InputError, match="position 2 has seq 3: items must be numbered 0..3"):
            mt.upload(link, [items[0], items[1], items[3], items[4]], 0)
        # nothing was sent: the vehicle still has its empty mission
        assert len(mt.download(link, 0)) == 1


# --- a lost final MISSION_ACK (scripted vehicle) ---------------------------------------------------


def _scripted_vehicle(stored: list, *, request_int: bool = False, lose_final_ack: bool = True):
    """Runs MissionItemProtocol's upload as ArduPilot does. With ``lose_final_ack`` its final ACK
    never arrives (a re-sent item then gets MAV_MISSION_ERROR: no upload in progress); with
    ``request_int`` it asks with MISSION_REQUEST_INT (newer autopilots) instead of
    MISSION_REQUEST. Downloads work."""
    from pymavlink.dialects.v20 import ardupilotmega as m

    def script(peer, conn):
        mav = m.MAVLink(None, srcSystem=1, srcComponent=1)
        state = {"receiving": False, "i": 0, "n": 0, "items": []}

        def out(msg):
            conn.sendall(msg.pack(mav))
            mav.seq = (mav.seq + 1) % 256

        def request(seq):
            kind = (
                m.MAVLink_mission_request_int_message
                if request_int
                else m.MAVLink_mission_request_message
            )
            return kind(255, 190, seq, 0)

        parser = m.MAVLink(None)
        last_hb = 0.0
        while not peer.stop.is_set():
            now = time.monotonic()
            if now - last_hb > 0.5:
                last_hb = now
                out(m.MAVLink_heartbeat_message(2, 3, 0, 0, 3, 3))
            try:
                data = conn.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            for msg in parser.parse_buffer(data) or []:
                t = msg.get_type()
                if t == "MISSION_COUNT":
                    state.update(receiving=True, i=0, n=msg.count, items=[])
                    out(request(0))
                elif t == "MISSION_ITEM_INT":
                    if not state["receiving"]:
                        out(m.MAVLink_mission_ack_message(255, 190, m.MAV_MISSION_ERROR, 0))
                    elif msg.seq != state["i"]:
                        out(
                            m.MAVLink_mission_ack_message(
                                255, 190, m.MAV_MISSION_INVALID_SEQUENCE, 0
                            )
                        )
                    else:
                        state["items"].append(MissionItem.from_wire(msg))
                        state["i"] += 1
                        if state["i"] == state["n"]:
                            state["receiving"] = False
                            stored[:] = state["items"]
                            if not lose_final_ack:
                                out(m.MAVLink_mission_ack_message(255, 190, 0, 0))
                        else:
                            out(request(state["i"]))
                elif t == "MISSION_REQUEST_LIST":
                    out(m.MAVLink_mission_count_message(255, 190, len(stored), 0))
                elif t == "MISSION_REQUEST_INT":
                    w = stored[msg.seq].to_wire()
                    out(
                        m.MAVLink_mission_item_int_message(255, 190, **{k: v for k, v in w.items()})
                    )

    return script


@pytest.mark.timeout(120)
def test_lost_final_ack_is_resolved_by_reading_the_list_back(caplog):
    import logging

    from _scripted_peer import Peer

    caplog.set_level(logging.INFO, logger="groundstation.mission_transfer")

    stored: list = []
    peer = Peer(_scripted_vehicle(stored, lose_final_ack=True))
    try:
        items = survey_mission(7)
        with Link.connect(f"tcp:127.0.0.1:{peer.port}", timeout_s=30) as link:
            mt.upload(link, items, 0, item_timeout_s=3.0)
        assert strictly_equal(items, stored)
        assert "final MISSION_ACK not received: reading the mission back" in caplog.text
    finally:
        peer.close()


@pytest.mark.timeout(120)
def test_mission_request_int_is_answered_too(caplog):
    import logging

    from _scripted_peer import Peer

    caplog.set_level(logging.INFO, logger="groundstation.mission_transfer")

    stored: list = []
    peer = Peer(_scripted_vehicle(stored, request_int=True, lose_final_ack=False))
    try:
        items = survey_mission(9)
        with Link.connect(f"tcp:127.0.0.1:{peer.port}", timeout_s=30) as link:
            mt.upload(link, items, 0)
        assert strictly_equal(items, stored)
        assert "mission upload to" in caplog.text  # the completion log line: the ACK was used
        assert "reading the mission back" not in caplog.text
    finally:
        peer.close()
