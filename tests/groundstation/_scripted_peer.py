"""A scripted MAVLink peer for tests about bytes on the wire (garbage, silence, signing, exact
protocol corner cases a simulator cannot be steered into deterministically)."""

from __future__ import annotations

import socket
import threading


class Peer:
    """A one-client TCP server on 127.0.0.1 that runs ``script(sock, stop)`` for the client."""

    def __init__(self, script):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.port = self.srv.getsockname()[1]
        self.stop = threading.Event()
        self.received = bytearray()
        self._script = script
        self._t = threading.Thread(target=self._run)
        self._t.start()

    def _run(self):
        self.srv.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.srv.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(0.05)
                self._script(self, conn)
            return

    def read(self, conn) -> None:
        try:
            data = conn.recv(65536)
            if data:
                self.received.extend(data)
        except (TimeoutError, OSError):
            pass

    def close(self):
        self.stop.set()
        self._t.join(5)
        self.srv.close()
