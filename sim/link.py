"""Transport of the simulator's MAVLink endpoint: TCP server, UDP socket, fault injection.

Like ArduPilot SITL, a TCP port serves one client at a time and accepts the next one after the
previous disconnects; a UDP port answers whoever sent the last datagram. Each peer is a
:class:`Channel` with its own MAVLink sequence numbers, parser and stream rates (ArduPilot keeps
stream rates per serial port).

Fault injection (:class:`FaultInjector`) acts per MAVLink packet in both directions: loss,
duplication, reordering (a packet is held back and released after the next one), one-way latency,
and a link cut that drops everything for N wall-clock seconds.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import itertools
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pymavlink.dialects.v20 import ardupilotmega as mavlink

MAX_PENDING_BYTES = 4 * 1024 * 1024
"""A TCP client that lets this much output pile up is disconnected."""
REORDER_HOLD_MAX_S = 0.5
"""A held-back packet is released after this long even if no other packet follows."""


@dataclass
class FaultState:
    """Current fault settings (probabilities 0..1, latency in ms, cut end as monotonic time)."""

    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    latency_ms: float = 0.0
    cut_until: float = 0.0


class FaultInjector:
    """Shared fault settings of one simulator; thread-safe setters for the test thread.

    Args:
        loss: Drop probability per packet.
        duplicate: Duplication probability per packet.
        reorder: Probability that a packet is held back behind the next one.
        latency_ms: Added one-way delay.
        seed: Random seed (None = nondeterministic).
    """

    def __init__(
        self,
        loss: float = 0.0,
        duplicate: float = 0.0,
        reorder: float = 0.0,
        latency_ms: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self.state = FaultState(loss, duplicate, reorder, latency_ms)
        self.rng = random.Random(seed)
        self._lock = threading.Lock()
        self.stats = {"dropped": 0, "duplicated": 0, "reordered": 0}

    def set(
        self,
        loss: float | None = None,
        duplicate: float | None = None,
        reorder: float | None = None,
        latency_ms: float | None = None,
    ) -> None:
        """Change some settings (None keeps the current value).

        Raises:
            ValueError: A probability is outside [0, 1] or the latency is negative.
        """
        for name, value in (("loss", loss), ("duplicate", duplicate), ("reorder", reorder)):
            if value is not None and not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"fault {name} must be within 0..1, got {value}")
        if latency_ms is not None and float(latency_ms) < 0:
            raise ValueError(f"fault latency_ms must be >= 0, got {latency_ms}")
        with self._lock:
            s = self.state
            self.state = FaultState(
                s.loss if loss is None else float(loss),
                s.duplicate if duplicate is None else float(duplicate),
                s.reorder if reorder is None else float(reorder),
                s.latency_ms if latency_ms is None else float(latency_ms),
                s.cut_until,
            )

    def cut(self, seconds: float) -> None:
        """Drop every packet in both directions for ``seconds`` of wall time."""
        with self._lock:
            s = self.state
            self.state = FaultState(
                s.loss, s.duplicate, s.reorder, s.latency_ms, time.monotonic() + float(seconds)
            )

    @property
    def active(self) -> bool:
        """True when any fault is configured (fast path otherwise)."""
        s = self.state
        return bool(s.loss or s.duplicate or s.reorder or s.latency_ms or s.cut_until)


class DelayLine:
    """Packets (bytes or messages) on their way through the faulty link, in release order."""

    def __init__(self, faults: FaultInjector) -> None:
        self.faults = faults
        self._heap: list[tuple[float, int, object]] = []
        self._counter = itertools.count()
        self._held: tuple[object, float] | None = None

    def push(self, item: object, now: float) -> None:
        """Pass one packet through the faults."""
        s = self.faults.state
        stats = self.faults.stats
        if s.cut_until:
            if now < s.cut_until:
                stats["dropped"] += 1
                return
            self.faults.state = FaultState(s.loss, s.duplicate, s.reorder, s.latency_ms, 0.0)
        rng = self.faults.rng
        if s.loss and rng.random() < s.loss:
            stats["dropped"] += 1
            return
        release = now + s.latency_ms / 1000.0
        copies = 2 if s.duplicate and rng.random() < s.duplicate else 1
        stats["duplicated"] += copies - 1
        if s.reorder and self._held is None and rng.random() < s.reorder:
            self._held = (item, now + REORDER_HOLD_MAX_S)
            stats["reordered"] += 1
            return
        for _ in range(copies):
            heapq.heappush(self._heap, (release, next(self._counter), item))
        if self._held is not None:
            held, _ = self._held
            self._held = None
            heapq.heappush(self._heap, (release, next(self._counter), held))

    def pop_due(self, now: float) -> list[object]:
        """Packets whose release time has come, in order."""
        if self._held is not None and now >= self._held[1]:
            heapq.heappush(self._heap, (now, next(self._counter), self._held[0]))
            self._held = None
        out = []
        while self._heap and self._heap[0][0] <= now:
            out.append(heapq.heappop(self._heap)[2])
        return out

    def next_due(self) -> float | None:
        """Monotonic time of the next release, or None when empty."""
        times = []
        if self._heap:
            times.append(self._heap[0][0])
        if self._held is not None:
            times.append(self._held[1])
        return min(times) if times else None

    def clear(self) -> None:
        """Forget everything in flight."""
        self._heap.clear()
        self._held = None


class Channel:
    """One MAVLink peer of the vehicle.

    Args:
        name: ``"tcp"`` or ``"udp"`` (for logs).
        sysid: The vehicle's system id (component 1, MAV_COMP_ID_AUTOPILOT1).
        faults: Shared fault settings.
        raw_send: Writes bytes to the peer; returns False when the peer is gone.

    Attributes:
        mav: pymavlink encoder (``mav.<message>_send(...)`` queues a packet through the faults).
        streams: MAVLink message id -> interval in simulated seconds (0 = off).
        next_due: Message id -> simulated time of the next send.
    """

    def __init__(
        self, name: str, sysid: int, faults: FaultInjector, raw_send: Callable[[bytes], bool]
    ) -> None:
        self.name = name
        self.faults = faults
        self._raw_send = raw_send
        self.mav = mavlink.MAVLink(self, srcSystem=sysid, srcComponent=1)
        self._parser = mavlink.MAVLink(None)
        self._parser.robust_parsing = True
        self.out = DelayLine(faults)
        self.inp = DelayLine(faults)
        self.streams: dict[int, float] = {}
        self.next_due: dict[int, float] = {}
        self.connected = False

    # pymavlink calls write() from mav.send(); the packet goes through the faults.
    def write(self, buf: bytes) -> None:
        """Queue one packed packet for sending (called by pymavlink)."""
        if not self.connected:
            return
        if not self.faults.active:
            self._raw_send(bytes(buf))
            return
        self.out.push(bytes(buf), time.monotonic())

    def feed(self, data: bytes, now: float) -> None:
        """Parse received bytes; complete messages enter the incoming delay line."""
        try:
            msgs = self._parser.parse_buffer(data) or []
        except mavlink.MAVError:
            return
        for msg in msgs:
            if msg.get_type() == "BAD_DATA":
                continue
            if self.faults.active:
                self.inp.push(msg, now)
            else:
                heapq.heappush(self.inp._heap, (now, next(self.inp._counter), msg))

    def flush(self, now: float) -> None:
        """Send outgoing packets whose time has come."""
        for buf in self.out.pop_due(now):
            self._raw_send(buf)

    def reset(self) -> None:
        """Forget partial input and queued packets (peer changed)."""
        self._parser = mavlink.MAVLink(None)
        self._parser.robust_parsing = True
        self.out.clear()
        self.inp.clear()


class TcpServer:
    """A TCP listening socket on 127.0.0.1 serving one client at a time.

    Args:
        port: Port to bind (0 = a free port).

    Raises:
        OSError: The port cannot be bound (in use, no permission).
    """

    def __init__(self, port: int) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(4)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.client: socket.socket | None = None
        self.pending = bytearray()

    def accept(self) -> socket.socket | None:
        """Accept a waiting client if none is connected."""
        if self.client is not None:
            return None
        try:
            sock, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError):
            return None
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client = sock
        self.pending.clear()
        return sock

    def send(self, data: bytes) -> bool:
        """Send to the client without blocking; excess is kept and flushed later."""
        if self.client is None:
            return False
        self.pending += data
        return self.flush_pending()

    def flush_pending(self) -> bool:
        """Try to send buffered bytes; False (and disconnect) on error or overflow."""
        if self.client is None:
            return False
        while self.pending:
            try:
                n = self.client.send(self.pending)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.drop_client()
                return False
            del self.pending[:n]
        if len(self.pending) > MAX_PENDING_BYTES:
            self.drop_client()
            return False
        return True

    def recv(self) -> bytes | None:
        """Bytes from the client; b"" when nothing is ready; None when it disconnected."""
        if self.client is None:
            return None
        try:
            data = self.client.recv(65536)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                return b""
            self.drop_client()
            return None
        if not data:
            self.drop_client()
            return None
        return data

    def drop_client(self) -> None:
        """Close the client connection (the port accepts the next one)."""
        if self.client is not None:
            with contextlib.suppress(OSError):
                self.client.close()
        self.client = None
        self.pending.clear()

    def close(self) -> None:
        """Close client and listener."""
        self.drop_client()
        self.listener.close()


class UdpServer:
    """A UDP socket on 127.0.0.1 replying to the address of the last datagram received.

    Args:
        port: Port to bind (0 = a free port).
    """

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", port))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.peer: tuple[str, int] | None = None

    def recv(self) -> tuple[bytes, tuple[str, int]] | None:
        """One datagram and its sender, or None when nothing is ready."""
        try:
            return self.sock.recvfrom(65536)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            return None

    def send(self, data: bytes) -> bool:
        """Send to the current peer (dropped silently when none or the socket is full)."""
        if self.peer is None:
            return False
        try:
            self.sock.sendto(data, self.peer)
        except OSError:
            return False
        return True

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()
