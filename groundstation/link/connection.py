"""The MAVLink link to one vehicle: connection, GCS heartbeat, one reader thread, subscriptions.

:class:`Link` wraps a pymavlink ``mavutil`` connection (TCP, UDP in/out, serial) behind a small
typed API:

* :meth:`Link.connect` opens the endpoint and waits, with a timeout, for a *vehicle* HEARTBEAT
  (GCS, gimbal and ADS-B heartbeats and undecodable bytes are ignored, as ``mavutil``'s
  ``probably_vehicle_heartbeat`` does).
* A GCS HEARTBEAT is sent at 1 Hz and once per vehicle HEARTBEAT (a sped-up simulator counts its
  GCS failsafe in vehicle time; MAVLink heartbeat microservice,
  https://mavlink.io/en/services/heartbeat.html); ArduPilot uses it to detect a lost GCS.
* ONE reader thread decodes every incoming message and hands it to subscribers
  (:meth:`Link.subscribe`, :meth:`Link.queue`, :meth:`Link.wait_message`).
* :meth:`Link.send` is thread-safe (one lock around packing, signing and writing).
* Link loss: no vehicle HEARTBEAT for ``link_lost_s`` seconds; recovery: the next heartbeat.
  Callbacks and :attr:`Link.link_ok` report both. A TCP endpoint that closes is reconnected.
* Optional MAVLink 2 signing (https://mavlink.io/en/guide/message_signing.html) with a key file.
* Optional telemetry log (``.tlog``) of every message received AND sent, in pymavlink's format:
  8-byte big-endian UNIX time in microseconds followed by the raw packet; flushed every second.

The link always speaks MAVLink 2 (fence and rally transfers need the ``mission_type`` extension
field; ArduPilot answers "Need mavlink2 for item transfer" otherwise).

This module holds :class:`Link` itself: connecting, its state, sending, the reader and heartbeat
threads, reconnection and closing. Its other parts live in :mod:`groundstation.link.subscriptions`
(subscribe, queue, wait_message, link events; :class:`MessageQueue`),
:mod:`groundstation.link.commands` (command_long, request_message_interval;
:data:`DATA_STREAM_OF_MESSAGE`) and :mod:`groundstation.link.dialect` (``MAV``); their public
names are re-exported here.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Any

from groundstation.link.commands import DATA_STREAM_OF_MESSAGE, CommandsMixin
from groundstation.link.dialect import MAV
from groundstation.link.endpoint import (
    Endpoint,
    PeerClosed,
    TcpConnection,
    open_connection,
    parse_endpoint,
)
from groundstation.link.errors import LinkError
from groundstation.link.signing import load_signing_key
from groundstation.link.subscriptions import Callback, MessageQueue, SubscriptionsMixin
from groundstation.link.tlog import TlogWriter
from missions.errors import InputError

__all__ = [
    "DATA_STREAM_OF_MESSAGE",
    "GCS_HEARTBEAT_PERIOD_S",
    "MAV",
    "Callback",
    "Link",
    "MessageQueue",
]

log = logging.getLogger(__name__)


GCS_HEARTBEAT_PERIOD_S = 1.0
"""GCS HEARTBEAT period (1 Hz, MAVLink heartbeat microservice)."""

_NOT_A_VEHICLE_TYPES = frozenset(
    {
        MAV.MAV_TYPE_GCS,
        MAV.MAV_TYPE_GIMBAL,
        MAV.MAV_TYPE_ADSB,
        MAV.MAV_TYPE_ONBOARD_CONTROLLER,
        MAV.MAV_TYPE_CAMERA,
    }
)


class Link(SubscriptionsMixin, CommandsMixin):
    """A MAVLink 2 connection to one vehicle. Create it with :meth:`connect`.

    Attributes:
        endpoint: The parsed endpoint.
        target_system: MAVLink system id of the vehicle (from its first HEARTBEAT).
        target_component: Component id of the autopilot (from its first HEARTBEAT).
        source_system: Our system id (255 = GCS by convention).
        source_component: Our component id (190 = MAV_COMP_ID_MISSIONPLANNER).
        link_lost_s: No vehicle HEARTBEAT for this long means the link is lost.
    """

    def __init__(
        self,
        conn: Any,
        endpoint: Endpoint,
        *,
        source_system: int = 255,
        source_component: int = 190,
        tlog: TlogWriter | None = None,
        link_lost_s: float = 5.0,
        target_system: int | None = None,
    ) -> None:
        self._conn = conn
        self.endpoint = endpoint
        self.source_system = source_system
        self.source_component = source_component
        self.link_lost_s = float(link_lost_s)
        self.target_system: int = target_system or 0
        self.target_component: int = 0
        self._want_system = target_system
        self._tlog = tlog
        self._send_lock = threading.Lock()
        self._subs_lock = threading.Lock()
        self._subs: dict[int, tuple[str | None, Callback]] = {}
        self._sub_id = 0
        self._event_subs: dict[str, dict[int, Callable[[], None]]] = {"lost": {}, "recovered": {}}
        self._stop = threading.Event()
        self._hb_due = threading.Event()  # a vehicle HEARTBEAT arrived: answer it
        self._hb_times: collections.deque[float] = collections.deque(maxlen=11)
        self._got_vehicle = threading.Event()
        self._last_vehicle_hb = 0.0  # monotonic
        self._link_ok = False
        self._state_lock = threading.Lock()
        self._last: dict[str, Any] = {}
        self._cmd_locks: dict[int, threading.Lock] = {}
        self.stats = {
            "received": 0,
            "sent": 0,
            "bad_data": 0,
            "bytes_bad": 0,
            "gcs_heartbeats": 0,
            "reconnects": 0,
        }
        self.closed = False
        self.signing = False
        """True when MAVLink 2 signing is on (outgoing signed, unsigned incoming dropped)."""
        self._reader = threading.Thread(target=self._read_loop, name="mavlink-reader")
        self._ticker = threading.Thread(target=self._tick_loop, name="mavlink-heartbeat")

    # --- construction ----------------------------------------------------------------------------
    @classmethod
    def connect(
        cls,
        url: str,
        *,
        timeout_s: float = 10.0,
        source_system: int = 255,
        source_component: int = 190,
        tlog_path: str | os.PathLike | None = None,
        signing_key: str | os.PathLike | bytes | None = None,
        link_lost_s: float = 5.0,
        target_system: int | None = None,
    ) -> Link:
        """Open ``url`` and wait for a vehicle HEARTBEAT.

        Args:
            url: ``tcp:HOST:PORT``, ``udpin:HOST:PORT``, ``udpout:HOST:PORT``, ``tcpin:HOST:PORT``
                or a serial device ``/dev/ttyUSB0:57600`` (see :func:`parse_endpoint`).
            timeout_s: Total time allowed to open the endpoint and hear the vehicle, seconds.
                A refused TCP connect is retried within it (SITL may still be starting).
            source_system: Our MAVLink system id.
            source_component: Our MAVLink component id.
            tlog_path: Write every message received and sent to this ``.tlog`` file.
            signing_key: MAVLink 2 signing: a key file path (see :func:`load_signing_key`) or the
                32-byte key. Outgoing messages are signed; incoming unsigned or badly signed
                messages are dropped (RADIO_STATUS from a local radio excepted).
            link_lost_s: No vehicle HEARTBEAT for this long = link lost, seconds.
            target_system: Only accept this vehicle system id (default: the first vehicle heard).

        Returns:
            The connected :class:`Link`, reader and heartbeat threads running.

        Raises:
            InputError: The URL or the key file is invalid.
            LinkError: The endpoint cannot be opened or no vehicle HEARTBEAT arrived within
                ``timeout_s``; the message names the endpoint and what was heard instead.
        """
        ep = parse_endpoint(url)
        key = None
        if signing_key is not None:
            key = signing_key if isinstance(signing_key, bytes) else load_signing_key(signing_key)
            if len(key) != 32:
                raise InputError("signing key must be 32 bytes")
        deadline = time.monotonic() + float(timeout_s)
        conn = open_connection(ep, deadline, source_system, source_component)
        # Always MAVLink 2, independent of pymavlink's MAVLINK20 environment switch.
        conn.mav = MAV.MAVLink(conn, srcSystem=source_system, srcComponent=source_component)
        conn.mav.robust_parsing = True
        conn.WIRE_PROTOCOL_VERSION = "2.0"
        conn.first_byte = False
        if key is not None:
            conn.setup_signing(
                key,
                sign_outgoing=True,
                allow_unsigned_callback=lambda _mav, msg_id: (
                    msg_id == MAV.MAVLINK_MSG_ID_RADIO_STATUS
                ),
            )
        tlog = None
        try:
            tlog = TlogWriter(tlog_path) if tlog_path else None
        except OSError as exc:
            conn.close()
            raise InputError(f"tlog {tlog_path}: cannot write it ({exc.strerror or exc})") from None
        link = cls(
            conn,
            ep,
            source_system=source_system,
            source_component=source_component,
            tlog=tlog,
            link_lost_s=link_lost_s,
            target_system=target_system,
        )
        link.signing = key is not None
        link._reader.start()
        link._ticker.start()
        remaining = max(0.0, deadline - time.monotonic())
        if not link._got_vehicle.wait(remaining):
            why = link._silence_reason()
            link.close()
            raise LinkError(
                f"no vehicle HEARTBEAT from {ep.url} within {float(timeout_s):g} s{why}"
            )
        log.info(
            "connected to %s: vehicle sysid %d compid %d",
            ep.url,
            link.target_system,
            link.target_component,
        )
        return link

    def _silence_reason(self) -> str:
        s = self.stats
        mav = getattr(self._conn, "mav", None)
        rejected = getattr(getattr(mav, "signing", None), "reject_count", 0) + getattr(
            getattr(mav, "signing", None), "badsig_count", 0
        )
        if self.signing and rejected:
            return (
                f" ({rejected} messages had no valid signature: is the vehicle signing with "
                "this key?)"
            )
        if s["received"] == 0 and s["bad_data"]:
            return (
                f" (received {s['bytes_bad']} bytes that are not MAVLink: wrong baud rate or "
                "not a MAVLink port?)"
            )
        if s["gcs_heartbeats"] and s["received"] == s["gcs_heartbeats"]:
            return " (only ground-station heartbeats were heard)"
        if s["received"]:
            return f" ({s['received']} MAVLink messages, but none a vehicle HEARTBEAT)"
        return " (nothing received)"

    # --- properties ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The endpoint URL."""
        return self.endpoint.url

    @property
    def link_ok(self) -> bool:
        """True while vehicle heartbeats arrive at least every ``link_lost_s`` seconds."""
        return self._link_ok

    def vehicle_heartbeat_hz(self) -> float | None:
        """Vehicle HEARTBEATs per wall-clock second over the last ten (None before three).

        A vehicle sends 1 Hz in its own time: a simulator or SITL sped up N times sends N Hz, so
        this tells how fast the vehicle's clock runs (for timeouts it counts, FS_GCS_TIMEOUT).
        """
        times = list(self._hb_times)
        if len(times) < 3 or times[-1] <= times[0]:
            return None
        return (len(times) - 1) / (times[-1] - times[0])

    @property
    def seconds_since_heartbeat(self) -> float:
        """Seconds since the last vehicle HEARTBEAT (inf before the first)."""
        if not self._last_vehicle_hb:
            return float("inf")
        return time.monotonic() - self._last_vehicle_hb

    @property
    def mav(self) -> Any:
        """The pymavlink ``MAVLink`` encoder; use its ``*_encode`` methods to build messages."""
        return self._conn.mav

    def last(self, msg_type: str) -> Any | None:
        """The most recent message of ``msg_type`` from the vehicle, or None."""
        with self._state_lock:
            return self._last.get(msg_type)

    # --- sending ---------------------------------------------------------------------------------
    def send(self, msg: Any) -> None:
        """Send a pymavlink message (thread-safe); it is also written to the tlog.

        Build messages with ``link.mav.<name>_encode(...)``. Sending on a closed link is a no-op.
        """
        if self.closed:
            return
        with self._send_lock:
            try:
                self._conn.mav.send(msg)
            except OSError as exc:
                log.debug("send failed: %s", exc)
                return
            self.stats["sent"] += 1
            if self._tlog is not None:
                self._tlog.write(msg.get_msgbuf())

    # --- threads ---------------------------------------------------------------------------------
    def _read_loop(self) -> None:
        conn = self._conn
        while not self._stop.is_set():
            try:
                fd = getattr(conn, "fd", None)
                if fd is None:
                    time.sleep(0.05)
                else:
                    try:
                        readable, _, _ = select.select([fd], [], [], 0.2)
                    except (OSError, ValueError):
                        if self._stop.is_set():
                            return
                        raise PeerClosed("the connection was closed") from None
                    if not readable:
                        continue
                for _ in range(1000):
                    msg = conn.recv_msg()
                    if msg is None:
                        break
                    self._handle(msg)
            except PeerClosed as exc:
                if self._stop.is_set():
                    return
                self._reconnect(str(exc))
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("MAVLink reader error on %s", self.url)
                self._stop.wait(0.2)

    def _reconnect(self, why: str) -> None:
        """Re-open a closed TCP connection, every second until it works or the link is closed."""
        log.warning("%s: %s; reconnecting", self.url, why)
        conn = self._conn
        with self._send_lock:
            conn.close()
        if self._link_ok:
            self._link_ok = False
            self._fire("lost")
        if not isinstance(conn, TcpConnection):
            self._stop.wait(1.0)
            return
        conn._connect_timeout_s = 1.0
        while not self._stop.is_set():
            try:
                with self._send_lock:
                    conn.do_connect()
                    conn.mav.buf = bytearray()
                    conn.mav.buf_index = 0
                self.stats["reconnects"] += 1
                log.info("%s: TCP connection re-established", self.url)
                return
            except OSError:
                self._stop.wait(1.0)

    def _handle(self, msg: Any) -> None:
        mtype = msg.get_type()
        if mtype == "BAD_DATA":
            self.stats["bad_data"] += 1
            self.stats["bytes_bad"] += len(getattr(msg, "data", b"") or b"")
            return
        now = time.time()
        if self._tlog is not None:
            self._tlog.write(msg.get_msgbuf(), now)
        src = msg.get_srcSystem()
        if mtype == "HEARTBEAT":
            if not self._is_vehicle_heartbeat(msg):
                self.stats["gcs_heartbeats"] += 1
                self.stats["received"] += 1
                return
            if not self.target_system:
                if self._want_system and src != self._want_system:
                    return
                self.target_system = src
                self.target_component = msg.get_srcComponent()
            if src == self.target_system and msg.get_srcComponent() == self.target_component:
                self._last_vehicle_hb = time.monotonic()
                self._hb_times.append(self._last_vehicle_hb)
                # answer every vehicle heartbeat (see _tick_loop)
                self._hb_due.set()
                if not self._link_ok:
                    self._link_ok = True
                    if self._got_vehicle.is_set():
                        log.warning("%s: link recovered", self.url)
                        self._fire("recovered")
                    self._got_vehicle.set()
        self.stats["received"] += 1
        if not self.target_system or src != self.target_system:
            return
        with self._state_lock:
            self._last[mtype] = msg
        with self._subs_lock:
            subs = list(self._subs.values())
        for want, cb in subs:
            if want is None or want == mtype:
                try:
                    cb(msg)
                except Exception:
                    log.exception("subscriber for %s failed", want or "all messages")

    @staticmethod
    def _is_vehicle_heartbeat(msg: Any) -> bool:
        if msg.get_srcComponent() == MAV.MAV_COMP_ID_GIMBAL:
            return False
        if msg.type in _NOT_A_VEHICLE_TYPES:
            return False
        return msg.autopilot != MAV.MAV_AUTOPILOT_INVALID

    def _tick_loop(self) -> None:
        """Send the GCS HEARTBEAT at 1 Hz and also once per vehicle HEARTBEAT (at most 50 Hz).

        The vehicle's GCS failsafe (FS_GCS_TIMEOUT) counts in vehicle time: a simulator or SITL
        sped up N times sends N heartbeats per second and needs N of ours per second, or a
        5 s failsafe fires while the ground station is alive. A real vehicle sends 1 Hz.
        """
        next_hb = 0.0
        last_sent = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            answer = self._hb_due.is_set() and now - last_sent >= 0.02
            if now >= next_hb or answer:
                self._hb_due.clear()
                last_sent = now
                next_hb = now + GCS_HEARTBEAT_PERIOD_S
                self.send(
                    self.mav.heartbeat_encode(
                        MAV.MAV_TYPE_GCS, MAV.MAV_AUTOPILOT_INVALID, 0, 0, MAV.MAV_STATE_ACTIVE
                    )
                )
                if self._tlog is not None:
                    self._tlog.flush()
            if (
                self._link_ok
                and self._last_vehicle_hb
                and now - self._last_vehicle_hb > self.link_lost_s
            ):
                self._link_ok = False
                log.warning(
                    "%s: link lost (no vehicle HEARTBEAT for %.1f s)", self.url, self.link_lost_s
                )
                self._fire("lost")
            self._hb_due.wait(0.1)
            if self._hb_due.is_set() and time.monotonic() - last_sent < 0.02:
                self._stop.wait(0.02)

    # --- closing ---------------------------------------------------------------------------------
    def close(self, timeout_s: float = 3.0) -> None:
        """Stop both threads (joined with ``timeout_s``), close the connection and the tlog.

        Idempotent. Messages already received stay in the tlog.
        """
        if self.closed:
            return
        self.closed = True
        self._stop.set()
        self._hb_due.set()
        for t in (self._reader, self._ticker):
            if t.is_alive() and t is not threading.current_thread():
                t.join(timeout_s)
                if t.is_alive():
                    log.warning("%s did not stop within %.1f s", t.name, timeout_s)
        with self._send_lock, contextlib.suppress(Exception):
            self._conn.close()
        if self._tlog is not None:
            self._tlog.close()

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Link({self.url!r}, vehicle {self.target_system}/{self.target_component}, "
            f"{'ok' if self._link_ok else 'lost'})"
        )
