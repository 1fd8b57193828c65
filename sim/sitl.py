"""Launch a real ArduPilot SITL ``arducopter`` binary as a drop-in for the embedded simulator.

Used by ``dronepatrol sim --sitl`` and the ``vehicle_endpoint`` pytest fixture when the
environment variable ``ARDUPILOT_SITL`` names an ``arducopter`` binary (``ARDUPILOT_DEFAULTS``
may name a ``copter.parm`` defaults file, as in ArduPilot's Tools/autotest/default_params).

SITL serves MAVLink on TCP ``5760 + 10 * instance`` for ``--serial0 tcp:0`` (ports up to 1000 in
``tcp:N`` are offsets from that base, libraries/AP_HAL_SITL/UARTDriver.cpp), so the launcher picks
an instance whose ports are free. SITL exits when its parent process dies: keep the launching
process alive for as long as the vehicle is needed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from missions.errors import ConfigError, DronePatrolError

ENV_BINARY = "ARDUPILOT_SITL"
ENV_DEFAULTS = "ARDUPILOT_DEFAULTS"


class SitlError(DronePatrolError):
    """The SITL binary is missing, cannot start or does not open its MAVLink port."""


def sitl_binary() -> Path | None:
    """The ``arducopter`` binary named by ``ARDUPILOT_SITL``, or None when unset."""
    value = os.environ.get(ENV_BINARY, "").strip()
    return Path(value) if value else None


def _port_free(port: int, kind: int = socket.SOCK_STREAM) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_instance(start: int = 1, stop: int = 200) -> int:
    """A SITL instance number whose TCP ports (5760/5762/5763 + 10 I) and RC UDP port are free.

    Raises:
        SitlError: None in [start, stop).
    """
    for instance in range(start, stop):
        base = 5760 + 10 * instance
        tcp_ok = all(_port_free(base + k) for k in (0, 2, 3))
        if tcp_ok and _port_free(5501 + 10 * instance, socket.SOCK_DGRAM):
            return instance
    raise SitlError(f"no free SITL instance between {start} and {stop}")


class SitlHandle:
    """A running ArduPilot SITL process.

    Attributes:
        url: ``"tcp:127.0.0.1:PORT"`` of serial0.
        port: TCP port of serial0.
        instance: SITL instance number (-I).
        sysid: MAVLink system id (SITL default 1 unless the defaults change it).
        speedup: The --speedup passed.
        proc: The ``subprocess.Popen``.
        workdir: Folder holding eeprom.bin and logs.
    """

    kind = "sitl"

    def __init__(
        self,
        proc: subprocess.Popen,
        port: int,
        instance: int,
        speedup: float,
        workdir: Path,
        own_dir: bool,
    ):
        self.proc = proc
        self.port = port
        self.url = f"tcp:127.0.0.1:{port}"
        self.instance = instance
        self.sysid = 1
        self.speedup = speedup
        self.workdir = workdir
        self._own_dir = own_dir

    def __enter__(self) -> SitlHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True while the process runs."""
        return self.proc.poll() is None

    def stop(self, timeout_s: float = 5.0) -> None:
        """Terminate SITL (SIGTERM, then SIGKILL after ``timeout_s``) and remove its temp folder."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout_s)
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_sitl(
    binary: str | Path | None = None,
    defaults: str | Path | None = None,
    *,
    home: tuple[float, float, float] = (41.79, 123.43, 50.0),
    speedup: float = 1.0,
    instance: int | None = None,
    workdir: str | Path | None = None,
    model: str = "quad",
    wait_s: float = 30.0,
) -> SitlHandle:
    """Start ``arducopter`` SITL with its MAVLink serial0 on a free TCP port of 127.0.0.1.

    Args:
        binary: Path of ``arducopter`` (default: ``$ARDUPILOT_SITL``).
        defaults: Parameter defaults file (default: ``$ARDUPILOT_DEFAULTS`` when set).
        home: ``(lat_deg, lon_deg, alt_amsl_m)`` start position.
        speedup: SITL ``--speedup``.
        instance: ``-I`` instance (default: the first with free ports).
        workdir: Where eeprom.bin and logs go (default: a temp folder removed on stop).
        model: SITL physics model (``quad``).
        wait_s: How long to wait for the TCP port to accept connections.

    Returns:
        :class:`SitlHandle`.

    Raises:
        ConfigError: No binary configured, or the binary/defaults file does not exist.
        SitlError: The process exits or its port does not open within ``wait_s``.
    """
    exe = Path(binary) if binary else sitl_binary()
    if exe is None:
        raise ConfigError(f"no SITL binary: set {ENV_BINARY} to the path of 'arducopter'")
    if not exe.is_file():
        raise ConfigError(f"{ENV_BINARY}={exe}: no such file")
    defaults = defaults or os.environ.get(ENV_DEFAULTS) or None
    if defaults and not Path(defaults).is_file():
        raise ConfigError(f"{ENV_DEFAULTS}={defaults}: no such file")
    inst = free_instance() if instance is None else instance
    port = 5760 + 10 * inst
    own_dir = workdir is None
    wd = Path(tempfile.mkdtemp(prefix="dronepatrol-sitl-")) if own_dir else Path(workdir)
    wd.mkdir(parents=True, exist_ok=True)
    lat, lon, alt = home
    cmd = [
        str(exe),
        "--model", model,
        "--speedup", f"{speedup:g}",
        "--home", f"{lat},{lon},{alt},0",
        "-I", str(inst),
        "--serial0", "tcp:0",
        "-w",
    ]  # fmt: skip
    if defaults:
        cmd += ["--defaults", str(Path(defaults).resolve())]
    # SITL's output goes to a file, not a pipe nobody reads while it runs (a full pipe would
    # block it); the last line of stderr explains an exit at start.
    err_path = wd / "sitl-stderr.txt"
    with open(err_path, "wb") as err_file:
        proc = subprocess.Popen(
            cmd, cwd=wd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err_file
        )
    handle = SitlHandle(proc, port, inst, speedup, wd, own_dir)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = err_path.read_bytes().decode(errors="replace").strip()
            handle.stop()
            last = err.splitlines()[-1] if err else f"exit status {proc.returncode}"
            raise SitlError(f"SITL {exe} exited at start: {last}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            # SITL serves one client per port: the probe connection closes at once.
            return handle
        time.sleep(0.2)
    handle.stop()
    raise SitlError(f"SITL {exe} did not open 127.0.0.1:{port} within {wait_s} s")
