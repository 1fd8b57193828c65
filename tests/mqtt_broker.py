"""A real Eclipse Mosquitto broker on 127.0.0.1 for tests (Debian ``mosquitto``).

Each broker gets a generated ``mosquitto.conf`` (``listener PORT 127.0.0.1``, ``allow_anonymous
true``, persistence in its own folder) and can be stopped and started again on the same port
with the same persistence, as a broker restart in the field. Tests skip with a clear reason when
the binary is absent.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None
)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """One Mosquitto process; :meth:`stop` (SIGTERM: it saves its persistence) and :meth:`start`.

    Args:
        folder: Holds ``mosquitto.conf``, the persistence database and ``mosquitto.log``.
        port: Listener port (default: a free one).
    """

    def __init__(self, folder: Path, port: int | None = None) -> None:
        if MOSQUITTO is None:
            pytest.skip(
                "needs the mosquitto broker (Debian package mosquitto, scripts/apt-packages.txt)"
            )
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.conf = self.folder / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            # as root, mosquitto would switch to the user "mosquitto", who cannot write here
            f"user {getpass.getuser()}\n"
            "persistence true\n"
            f"persistence_location {self.folder}/\n"
            "autosave_interval 1\n"
            f"log_dest file {self.folder}/mosquitto.log\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
        )
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 10.0) -> Broker:
        """Start and wait until the port accepts connections."""
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = self.folder / "mosquitto.log"
                pytest.fail(f"mosquitto exited: {log.read_text() if log.exists() else ''}")
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        pytest.fail(f"mosquitto did not listen on {self.port} within {timeout_s} s")

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM (the broker writes its persistence database) and wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout_s)
        self.proc = None


@pytest.fixture
def broker(tmp_path):
    """A running broker, stopped at teardown."""
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()
