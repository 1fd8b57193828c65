"""Connection URLs and the pymavlink connection behind them (TCP with bounded connect, UDP, serial)."""

from __future__ import annotations

import contextlib
import errno
import logging
import select
import socket
import time
from dataclasses import dataclass
from typing import Any

from pymavlink import mavutil

from groundstation.link.errors import LinkError
from missions.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoint:
    """A parsed connection URL.

    Attributes:
        url: The URL as given.
        kind: ``tcp``, ``tcpin``, ``udpin``, ``udpout``, ``udpbcast`` or ``serial``.
        host: Host (network kinds) or device path (serial).
        port: TCP/UDP port, or the baud rate for serial.
    """

    url: str
    kind: str
    host: str
    port: int

    @property
    def is_network(self) -> bool:
        """True for TCP and UDP endpoints."""
        return self.kind != "serial"


_NETWORK_PREFIXES = ("tcp", "tcpin", "udpin", "udpout", "udpbcast", "udp")


def parse_endpoint(url: str) -> Endpoint:
    """Parse a connection URL.

    Accepted forms (those of MAVProxy/pymavlink): ``tcp:HOST:PORT``, ``tcpin:HOST:PORT``,
    ``udpin:HOST:PORT``, ``udpout:HOST:PORT``, ``udpbcast:HOST:PORT``, ``udp:HOST:PORT`` (= udpin),
    and serial devices ``/dev/ttyUSB0:57600``, ``/dev/ttyACM0,115200``, ``COM3:57600`` (baud
    defaults to 57600, the usual telemetry radio rate).

    Args:
        url: The URL.

    Returns:
        The :class:`Endpoint`.

    Raises:
        InputError: The URL is not one of the forms above (the message names it).
    """
    text = str(url).strip()
    if text == "sitl":
        raise InputError(
            "connection 'sitl' names an ArduPilot SITL to start: the CLI starts it for "
            "--connect sitl (sim.sitl.start_sitl()) and connects to its URL"
        )
    if text == "sim":
        raise InputError(
            "connection 'sim' names the embedded simulator: start it with sim.start_sim() "
            "(the CLI does this for --connect sim) and connect to its URL"
        )
    head, _, rest = text.partition(":")
    if head in _NETWORK_PREFIXES and rest:
        host, sep, port_text = rest.rpartition(":")
        if not sep or not host:
            raise InputError(f"connection URL {text!r}: expected {head}:HOST:PORT")
        try:
            port = int(port_text)
        except ValueError:
            raise InputError(
                f"connection URL {text!r}: port {port_text!r} is not a number"
            ) from None
        if not 0 <= port <= 65535:
            raise InputError(f"connection URL {text!r}: port {port} is out of range 0..65535")
        kind = "udpin" if head == "udp" else head
        return Endpoint(text, kind, host, port)
    if text.startswith("/") or text.upper().startswith("COM"):
        device, baud = text, 57600
        for sep in (",", ":"):
            if sep in text:
                device, _, baud_text = text.rpartition(sep)
                try:
                    baud = int(baud_text)
                except ValueError:
                    raise InputError(
                        f"connection URL {text!r}: baud rate {baud_text!r} is not a number"
                    ) from None
                break
        return Endpoint(text, "serial", device, baud)
    raise InputError(
        f"connection URL {text!r} is not understood: use tcp:HOST:PORT, udpin:HOST:PORT, "
        "udpout:HOST:PORT or a serial device like /dev/ttyUSB0:57600"
    )


class PeerClosed(Exception):
    """The TCP peer closed the connection."""


class TcpConnection(mavutil.mavtcp):
    """``mavutil.mavtcp`` with a bounded connect time, complete writes and EOF reported upward.

    pymavlink's mavtcp connects without a timeout (a black-holed address blocks for minutes), may
    write a packet partially on a full non-blocking socket, and on EOF only prints a line. Here a
    connect honours ``connect_timeout_s``, writes wait (bounded) for the socket, and EOF/reset
    raise :class:`PeerClosed` so the reader thread can report link loss and reconnect.
    """

    def __init__(self, device: str, connect_timeout_s: float, **kwargs: Any) -> None:
        self._connect_timeout_s = max(0.05, connect_timeout_s)
        super().__init__(device, autoreconnect=False, retries=0, **kwargs)

    def do_connect(self) -> None:  # pymavlink hook
        """Connect within ``connect_timeout_s`` (pymavlink has no timeout); non-blocking socket."""
        sock = socket.create_connection(self.destination_addr, timeout=self._connect_timeout_s)
        sock.setblocking(False)
        mavutil.set_close_on_exec(sock.fileno())
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = sock
        if hasattr(self, "fd"):
            self.fd = sock.fileno()

    def handle_disconnect(self) -> None:  # pymavlink hook
        """Report a reset connection instead of reconnecting in place (pymavlink's default).

        Raises:
            PeerClosed: Always.
        """
        raise PeerClosed("connection reset by the vehicle")

    def handle_eof(self) -> None:  # pymavlink hook
        """Report the peer's EOF instead of printing a line (pymavlink's default).

        Raises:
            PeerClosed: Always.
        """
        raise PeerClosed("the vehicle closed the TCP connection")

    def recv(self, n: int | None = None) -> bytes:  # pymavlink hook
        """Like ``mavtcp.recv``, but empty once the socket was closed."""
        if self.port is None:
            return b""
        return super().recv(n)

    def write(self, buf: bytes) -> None:  # pymavlink hook
        """Send the whole packet, waiting up to 2 s for a full socket buffer.

        ``mavtcp.write`` sends once and may leave a partial packet on the wire. A packet that
        still does not fit after 2 s is dropped with a warning; a reset or closed socket is left
        for the reader thread to notice.
        """
        sock = self.port
        if sock is None:
            return
        view = memoryview(buf)
        deadline = time.monotonic() + 2.0
        while view:
            try:
                sent = sock.send(view)
                view = view[sent:]
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    log.warning("TCP send buffer full for 2 s: a %d-byte packet dropped", len(buf))
                    return
                select.select([], [sock], [], remaining)
            except OSError as exc:
                if exc.errno in (errno.ECONNRESET, errno.EPIPE, errno.EBADF, errno.ENOTCONN):
                    return  # the reader thread notices the closed socket
                raise

    def close(self) -> None:  # pymavlink hook
        """Close the socket (idempotent; errors ignored)."""
        if self.port is not None:
            with contextlib.suppress(OSError):
                self.port.close()
            self.port = None


def open_connection(ep: Endpoint, deadline: float, source_system: int, source_component: int):
    """Open the pymavlink connection for ``ep``, retrying a refused TCP connect until ``deadline``."""
    kw = {"source_system": source_system, "source_component": source_component}
    if ep.kind == "tcp":
        last: Exception | None = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                why = describe_socket_error(last) if last else "timed out"
                raise LinkError(f"cannot connect to {ep.url}: {why}")
            try:
                return TcpConnection(f"{ep.host}:{ep.port}", min(remaining, 5.0), **kw)
            except OSError as exc:
                last = exc
                if isinstance(exc, socket.gaierror):
                    raise LinkError(
                        f"cannot connect to {ep.url}: unknown host {ep.host!r}"
                    ) from None
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
    try:
        if ep.kind == "serial":
            return mavutil.mavlink_connection(ep.host, baud=ep.port, **kw)
        if ep.kind == "tcpin":
            return mavutil.mavlink_connection(f"tcpin:{ep.host}:{ep.port}", **kw)
        return mavutil.mavlink_connection(f"{ep.kind}:{ep.host}:{ep.port}", **kw)
    except OSError as exc:
        raise LinkError(f"cannot open {ep.url}: {describe_socket_error(exc)}") from None
    except Exception as exc:  # pyserial raises its own SerialException
        raise LinkError(f"cannot open {ep.url}: {exc}") from None


def describe_socket_error(exc: BaseException) -> str:
    """A short reason for a failed connect, in the operator's words.

    Args:
        exc: The exception ``socket.create_connection`` or pymavlink raised.

    Returns:
        ``connection refused (...)``, ``connect timed out (...)`` or the exception's text.
    """
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing is listening on that port)"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "connect timed out (host unreachable or port filtered)"
    return str(exc) or type(exc).__name__
