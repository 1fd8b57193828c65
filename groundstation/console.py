"""The operator's console of a patrol: lines, and a status line rewritten in place on a terminal."""

from __future__ import annotations

import sys
import threading
import time


class Console:
    """Lines for the operator, and a status line rewritten in place on a terminal.

    Thread-safe: workers and the main thread print through it.
    """

    def __init__(self, stream=None, tty: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self._lock = threading.Lock()
        self._status = ""
        self._last_plain = 0.0

    def line(self, text: str) -> None:
        """Print one line (above the status line on a terminal)."""
        with self._lock:
            if self.tty and self._status:
                self.stream.write("\r\x1b[K")
            self.stream.write(text + "\n")
            if self.tty and self._status:
                self.stream.write(self._status)
            self.stream.flush()

    def status(self, text: str) -> None:
        """Show the status line (a terminal: in place; otherwise a line every 15 s)."""
        with self._lock:
            if self.tty:
                self._status = text
                self.stream.write("\r\x1b[K" + text)
                self.stream.flush()
            elif time.monotonic() - self._last_plain >= 15.0:
                self._last_plain = time.monotonic()
                self.stream.write(f"status: {text}\n")
                self.stream.flush()

    def done(self) -> None:
        """End the status line."""
        with self._lock:
            if self.tty and self._status:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            self._status = ""
