"""Link behaviour against the built-in simulator: UDP, TCP reconnection, message intervals."""

from __future__ import annotations

import threading

import pytest

from groundstation import mission_transfer as mt
from groundstation.link import Link
from groundstation.vehicle import Vehicle


def test_udp_endpoint_carries_telemetry_and_transfers(sim_factory):
    sim = sim_factory(speedup=10, udp_port=0)
    with Link.connect(sim.udp_url, timeout_s=30) as link:
        assert link.target_system == sim.sysid
        vehicle = Vehicle(link)
        s = vehicle.wait_until(lambda s: s.pose is not None, 30, "a position over UDP")
        assert s.link_ok
        fence = mt.download(link, 1)
        assert fence == []
        vehicle.close()


@pytest.mark.timeout(120)
def test_tcp_link_reconnects_when_the_vehicle_comes_back(sim_factory):
    first = sim_factory(speedup=10)
    port = first.port
    lost, back = threading.Event(), threading.Event()
    with Link.connect(first.url, timeout_s=30, link_lost_s=1.0) as link:
        link.on_link_lost(lost.set)
        link.on_link_recovered(back.set)
        first.stop()
        assert lost.wait(20), "loss of the TCP peer not reported"
        assert not link.link_ok
        sim_factory(speedup=10, port=port)  # the autopilot reboots on the same port
        assert back.wait(60), "no recovery after the vehicle came back"
        assert link.stats["reconnects"] >= 1
        assert link.wait_message("HEARTBEAT", timeout_s=10) is not None


def test_message_interval_is_used_and_missing_messages_are_reported(sim_factory):
    sim = sim_factory(speedup=10)
    with Link.connect(sim.url, timeout_s=30) as link:
        assert link.request_message_interval("VFR_HUD", 5) == "interval"
        assert link.wait_message("VFR_HUD", timeout_s=10) is not None
        # a message this vehicle does not have: refused, and no group-wide data-stream request
        assert link.request_message_interval("WIND", 1) == "unsupported"
        with pytest.raises(Exception, match="unknown MAVLink message 'NOT_A_MESSAGE'"):
            link.request_message_interval("NOT_A_MESSAGE", 1)
