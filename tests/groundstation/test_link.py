"""Link tests that need no simulator: endpoints, connect failures, signing, the tlog format.

A tiny scripted TCP peer plays the far end where a behaviour is about bytes on the wire (garbage,
silence, signed heartbeats); the simulator-backed tests are in ``test_link_sim.py``.
"""

from __future__ import annotations

import hashlib
import socket
import struct
import threading
import time

import pytest
from _scripted_peer import Peer
from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from groundstation.link import Link, LinkError, TlogWriter, load_signing_key, parse_endpoint
from missions.errors import InputError


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _heartbeat_sender(
    mav_type=mavlink2.MAV_TYPE_QUADROTOR, autopilot=mavlink2.MAV_AUTOPILOT_ARDUPILOTMEGA, key=None
):
    def script(peer, conn):
        mav = mavlink2.MAVLink(None, srcSystem=7, srcComponent=1)
        if key is not None:
            mav.signing.secret_key = key
            mav.signing.sign_outgoing = True
            mav.signing.link_id = 1
            mav.signing.timestamp = int((time.time() - 1420070400) * 1e5)
        while not peer.stop.is_set():
            msg = mavlink2.MAVLink_heartbeat_message(mav_type, autopilot, 0, 4, 3, 3)
            try:
                conn.sendall(msg.pack(mav))
            except OSError:
                return
            mav.seq = (mav.seq + 1) % 256
            for _ in range(4):
                peer.read(conn)

    return script


# --- endpoints -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind", "host", "port"),
    [
        ("tcp:127.0.0.1:5760", "tcp", "127.0.0.1", 5760),
        ("udpin:0.0.0.0:14550", "udpin", "0.0.0.0", 14550),
        ("udpout:10.0.0.2:14550", "udpout", "10.0.0.2", 14550),
        ("udp:127.0.0.1:14550", "udpin", "127.0.0.1", 14550),
        ("/dev/ttyUSB0:57600", "serial", "/dev/ttyUSB0", 57600),
        ("/dev/ttyACM0,115200", "serial", "/dev/ttyACM0", 115200),
        (
            "/dev/serial/by-id/usb-ArduPilot_fmuv3-if00",
            "serial",
            "/dev/serial/by-id/usb-ArduPilot_fmuv3-if00",
            57600,
        ),
    ],
)
def test_parse_endpoint_accepts_the_usual_forms(url, kind, host, port):
    ep = parse_endpoint(url)
    assert (ep.kind, ep.host, ep.port) == (kind, host, port)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("tcp:127.0.0.1", "tcp:HOST:PORT"),
        ("tcp:127.0.0.1:port", "not a number"),
        ("udpin:0.0.0.0:70000", "out of range"),
        ("http://vehicle", "not understood"),
        ("sim", "embedded simulator"),
        ("/dev/ttyUSB0:fast", "baud rate"),
    ],
)
def test_parse_endpoint_rejects_bad_urls_in_one_line(url, fragment):
    with pytest.raises(InputError) as err:
        parse_endpoint(url)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


# --- connect failures ----------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_wrong_port_fails_with_an_error_naming_the_endpoint():
    port = _free_port()
    url = f"tcp:127.0.0.1:{port}"
    with pytest.raises(LinkError) as err:
        Link.connect(url, timeout_s=1.5)
    assert url in str(err.value)
    assert "connection refused" in str(err.value)


@pytest.mark.timeout(60)
def test_silent_peer_fails_after_the_heartbeat_timeout():
    def silent(peer, conn):
        while not peer.stop.is_set():
            peer.read(conn)

    peer = Peer(silent)
    try:
        url = f"tcp:127.0.0.1:{peer.port}"
        with pytest.raises(LinkError) as err:
            Link.connect(url, timeout_s=1.0)
        msg = str(err.value)
        assert f"no vehicle HEARTBEAT from {url} within 1 s" in msg
        assert "nothing received" in msg
        # While waiting, the ground station announced itself with GCS heartbeats.
        mav = mavlink2.MAVLink(None)
        msgs = mav.parse_buffer(bytes(peer.received)) or []
        hb = [m for m in msgs if m.get_type() == "HEARTBEAT"]
        assert hb and hb[0].type == mavlink2.MAV_TYPE_GCS and hb[0].get_srcSystem() == 255
    finally:
        peer.close()


@pytest.mark.timeout(60)
def test_non_mavlink_bytes_are_reported_as_such():
    def garbage(peer, conn):
        while not peer.stop.is_set():
            try:
                conn.sendall(b"Hello, this is a serial console, not MAVLink\r\n")
            except OSError:
                return
            peer.read(conn)
            time.sleep(0.05)

    peer = Peer(garbage)
    try:
        with pytest.raises(LinkError) as err:
            Link.connect(f"tcp:127.0.0.1:{peer.port}", timeout_s=1.0)
        assert "not MAVLink" in str(err.value)
    finally:
        peer.close()


@pytest.mark.timeout(60)
def test_ground_station_heartbeats_are_not_taken_for_a_vehicle():
    peer = Peer(
        _heartbeat_sender(mav_type=mavlink2.MAV_TYPE_GCS, autopilot=mavlink2.MAV_AUTOPILOT_INVALID)
    )
    try:
        with pytest.raises(LinkError) as err:
            Link.connect(f"tcp:127.0.0.1:{peer.port}", timeout_s=1.0)
        assert "only ground-station heartbeats" in str(err.value)
    finally:
        peer.close()


@pytest.mark.timeout(60)
def test_vehicle_heartbeat_sets_the_target_ids_and_link_ok():
    peer = Peer(_heartbeat_sender())
    try:
        with Link.connect(f"tcp:127.0.0.1:{peer.port}", timeout_s=10) as link:
            assert (link.target_system, link.target_component) == (7, 1)
            assert link.link_ok
            hb = link.wait_message("HEARTBEAT", timeout_s=10)
            assert hb is not None and hb.get_srcSystem() == 7
        assert link.closed
        assert not any(t.name.startswith("mavlink-") for t in threading.enumerate())
    finally:
        peer.close()


# --- signing -------------------------------------------------------------------------------------


def test_signing_key_file_raw_or_passphrase(tmp_path):
    raw = bytes(range(32))
    (tmp_path / "raw.key").write_bytes(raw)
    (tmp_path / "phrase.key").write_text("correct horse battery staple\n")
    (tmp_path / "empty.key").write_text("  \n")
    assert load_signing_key(tmp_path / "raw.key") == raw
    assert (
        load_signing_key(tmp_path / "phrase.key")
        == hashlib.sha256(b"correct horse battery staple").digest()
    )
    with pytest.raises(InputError, match="empty"):
        load_signing_key(tmp_path / "empty.key")
    with pytest.raises(InputError, match="cannot read"):
        load_signing_key(tmp_path / "missing.key")


@pytest.mark.timeout(60)
def test_signed_link_accepts_the_right_key_and_signs_what_it_sends(tmp_path):
    key = hashlib.sha256(b"patrol").digest()
    (tmp_path / "k").write_text("patrol")
    peer = Peer(_heartbeat_sender(key=key))
    try:
        with Link.connect(
            f"tcp:127.0.0.1:{peer.port}", timeout_s=10, signing_key=tmp_path / "k"
        ) as link:
            assert link.target_system == 7
            time.sleep(1.5)  # at least one GCS heartbeat
        # Everything the ground station sent is signed with the key: verify with pymavlink.
        verifier = mavlink2.MAVLink(None)
        verifier.signing.secret_key = key
        verifier.robust_parsing = True
        msgs = verifier.parse_buffer(bytes(peer.received)) or []
        good = [m for m in msgs if m.get_type() == "HEARTBEAT"]
        assert good, "no verified GCS heartbeat"
        assert all(m.get_signed() for m in good)
        assert verifier.signing.goodsig_count >= len(good)
        assert not [m for m in msgs if m.get_type() == "BAD_DATA"]
    finally:
        peer.close()


@pytest.mark.timeout(60)
def test_signed_link_ignores_a_vehicle_with_another_key(tmp_path):
    (tmp_path / "k").write_text("our key")
    peer = Peer(_heartbeat_sender(key=hashlib.sha256(b"their key").digest()))
    try:
        with pytest.raises(LinkError) as err:
            Link.connect(f"tcp:127.0.0.1:{peer.port}", timeout_s=1.5, signing_key=tmp_path / "k")
        assert "signature" in str(err.value)
    finally:
        peer.close()


# --- tlog ----------------------------------------------------------------------------------------


def test_tlog_writer_writes_pymavlink_records(tmp_path):
    mav = mavlink2.MAVLink(None, srcSystem=1, srcComponent=1)
    path = tmp_path / "sub" / "flight.tlog"
    w = TlogWriter(path)
    t0 = 1_700_000_000.25
    for i in range(3):
        w.write(mavlink2.MAVLink_heartbeat_message(2, 3, 0, i, 3, 3).pack(mav), t0 + i)
    w.close()
    data = path.read_bytes()
    (usec,) = struct.unpack(">Q", data[:8])
    assert abs(usec / 1e6 - t0) < 1e-5
    log = mavutil.mavlink_connection(str(path))
    modes = []
    while (m := log.recv_match(type="HEARTBEAT")) is not None:
        modes.append(m.custom_mode)
        assert abs(m._timestamp - (t0 + len(modes) - 1)) < 1e-3
    assert modes == [0, 1, 2]
