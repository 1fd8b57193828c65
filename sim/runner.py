"""Start and stop simulated vehicles: :func:`start_sim` and :class:`SimHandle`.

Each simulator runs in one non-daemon worker thread that sleeps in ``selectors`` until the next
physics tick or network event, so an idle vehicle at speed-up 1 costs well under 5 % of a core
(``benchmarks/sim_cpu.py`` measures it). The physics advances in fixed simulated steps of at most
50 ms; the wall-clock tick rate is 20 Hz at speed-up 1 and 50 Hz from speed-up 2.5 up.
"""

from __future__ import annotations

import contextlib
import logging
import math
import selectors
import socket
import threading
import time
from dataclasses import dataclass

from missions.errors import DronePatrolError, InputError
from missions.geo import Pose
from missions.settings import GeoPoint
from sim.endpoint import Endpoint
from sim.link import Channel, FaultInjector, TcpServer, UdpServer
from sim.params import ParameterStore
from sim.settings import FaultSettings, SimSettings
from sim.vehicle import Vehicle

log = logging.getLogger(__name__)

MAX_SUBSTEP_S = 0.05
"""Largest simulated time step of the physics, seconds."""


class SimError(DronePatrolError):
    """The simulator cannot start (port in use, bad argument)."""


@dataclass(frozen=True)
class _Snapshot:
    mono: float
    t_sim: float
    lat: float
    lon: float
    alt_rel: float
    amsl: float
    roll: float
    pitch: float
    yaw: float
    ve: float
    vn: float
    vu: float
    yaw_rate: float


def tick_interval_s(speedup: float) -> float:
    """Wall-clock seconds between physics ticks for a speed-up (20 Hz at 1x, 50 Hz from 2.5x)."""
    return min(0.05, max(0.02, 0.05 / speedup))


class _SimThread(threading.Thread):
    """The worker: physics ticks, sockets, fault delays, telemetry."""

    def __init__(self, settings: SimSettings, vehicle: Vehicle, faults: FaultInjector) -> None:
        super().__init__(name=f"sim-{settings.sysid}", daemon=False)
        self.settings = settings
        self.vehicle = vehicle
        self.faults = faults
        self.speedup = settings.speedup
        self.lock = threading.RLock()
        self.endpoint = Endpoint(vehicle, settings.sysid, settings.speedup)
        self.tcp = TcpServer(settings.port)
        self.udp: UdpServer | None = None
        try:
            if settings.udp_port is not None:
                self.udp = UdpServer(settings.udp_port)
        except OSError:
            self.tcp.close()
            raise
        self.tcp_channel = Channel("tcp", settings.sysid, faults, self.tcp.send)
        self.endpoint.add_channel(self.tcp_channel)
        self.udp_channel: Channel | None = None
        if self.udp is not None:
            self.udp_channel = Channel("udp", settings.sysid, faults, self.udp.send)
            self.endpoint.add_channel(self.udp_channel)
        self._stop_event = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        self.sel.register(self.tcp.listener, selectors.EVENT_READ, "listen")
        if self.udp is not None:
            self.sel.register(self.udp.sock, selectors.EVENT_READ, "udp")
        self.interval = tick_interval_s(self.speedup)
        sim_per_tick = self.interval * self.speedup
        self.substeps = max(1, math.ceil(sim_per_tick / MAX_SUBSTEP_S - 1e-9))
        self.dt = sim_per_tick / self.substeps
        self.snapshot = self._make_snapshot()
        self.error: BaseException | None = None

    # ------------------------------------------------------------------ lifecycle
    def stop(self) -> None:
        """Ask the loop to finish (returns at once)."""
        self._stop_event.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def run(self) -> None:
        """The thread body: run the loop, keep a crash in ``error``, always close the sockets."""
        try:
            self._loop()
        except BaseException as exc:
            self.error = exc
            log.exception("simulator %s crashed", self.settings.sysid)
        finally:
            self._close()

    def _close(self) -> None:
        with contextlib.suppress(Exception):
            self.sel.close()
        self.tcp.close()
        if self.udp is not None:
            self.udp.close()
        for s in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                s.close()

    # ------------------------------------------------------------------ loop
    def _loop(self) -> None:
        next_tick = time.monotonic()
        channels = [c for c in (self.tcp_channel, self.udp_channel) if c is not None]
        while not self._stop_event.is_set():
            now = time.monotonic()
            deadline = next_tick
            for ch in channels:
                for line in (ch.out, ch.inp):
                    due = line.next_due()
                    if due is not None and due < deadline:
                        deadline = due
            timeout = max(0.0, deadline - now)
            for key, _ in self.sel.select(timeout):
                self._on_ready(key.data)
            now = time.monotonic()
            for ch in channels:
                msgs = ch.inp.pop_due(now)
                if msgs:
                    with self.lock:
                        for msg in msgs:
                            self.endpoint.handle(ch, msg)
            if now >= next_tick:
                n = 0
                while now >= next_tick and n < 5:
                    self._tick(now)
                    next_tick += self.interval
                    n += 1
                if now >= next_tick:  # overloaded: simulated time slows down instead of jumping
                    next_tick = now + self.interval
            now = time.monotonic()
            for ch in channels:
                ch.flush(now)
            if self.tcp.pending:
                self.tcp.flush_pending()
            if self.tcp_channel.connected and self.tcp.client is None:
                # the client went away and a send noticed it first (EPIPE, ECONNRESET): the
                # port must accept the next client, as when a read notices it
                self._on_tcp_closed()

    def _tick(self, now: float) -> None:
        with self.lock:
            v = self.vehicle
            for _ in range(self.substeps):
                v.step(self.dt)
            self.endpoint.after_tick(now)
            self.snapshot = self._make_snapshot()

    def _make_snapshot(self) -> _Snapshot:
        v = self.vehicle
        lat, lon = v.lat_lon()
        return _Snapshot(
            time.monotonic(), v.t, lat, lon, v.relative_alt_m, v.alt_amsl_m,
            v.roll_deg, v.pitch_deg, v.yaw_deg, v.vx, v.vy, v.vz, v.yaw_rate_dps,
        )  # fmt: skip

    def _on_ready(self, what: str) -> None:
        now = time.monotonic()
        if what == "wake":
            with contextlib.suppress(OSError):
                self._wake_r.recv(4096)
        elif what == "listen":
            sock = self.tcp.accept()
            if sock is not None:
                self.sel.unregister(self.tcp.listener)
                self.sel.register(sock, selectors.EVENT_READ, "client")
                self.tcp_channel.reset()
                self.tcp_channel.connected = True
                log.info("sim %s: TCP client connected", self.settings.sysid)
        elif what == "client":
            data = self.tcp.recv()
            if data is None:
                self._on_tcp_closed()
            elif data:
                self.tcp_channel.feed(data, now)
        elif what == "udp" and self.udp is not None and self.udp_channel is not None:
            while True:
                got = self.udp.recv()
                if got is None:
                    break
                data, addr = got
                if self.udp.peer != addr:
                    self.udp.peer = addr
                    self.udp_channel.reset()
                self.udp_channel.connected = True
                self.udp_channel.feed(data, now)

    def _on_tcp_closed(self) -> None:
        for key in list(self.sel.get_map().values()):
            if key.data == "client":
                with contextlib.suppress(Exception):
                    self.sel.unregister(key.fileobj)
        self.tcp.drop_client()
        self.tcp_channel.connected = False
        self.tcp_channel.reset()
        with contextlib.suppress(KeyError, ValueError):
            self.sel.register(self.tcp.listener, selectors.EVENT_READ, "listen")
        log.info("sim %s: TCP client disconnected; accepting the next one", self.settings.sysid)


class SimHandle:
    """A running simulated vehicle.

    Use as a context manager or call :meth:`stop`. Several handles may run at once on different
    ports and system ids.

    Attributes:
        url: What to connect to, e.g. ``"tcp:127.0.0.1:5760"`` (pymavlink connection string).
        port: The TCP port.
        udp_port: The UDP port, or None.
        udp_url: ``"udpout:127.0.0.1:PORT"`` for pymavlink, or None.
        sysid: MAVLink system id.
        vehicle: The :class:`~sim.vehicle.Vehicle` model (owned by the simulator thread: hold
            :attr:`lock` while touching it).
        lock: Re-entrant lock the simulator holds while it steps or handles a message.
        settings: The effective settings.
    """

    def __init__(self, settings: SimSettings, thread: _SimThread, faults: FaultInjector) -> None:
        self.settings = settings
        self._thread = thread
        self._faults = faults
        self.port = thread.tcp.port
        self.url = f"tcp:127.0.0.1:{self.port}"
        self.udp_port = thread.udp.port if thread.udp is not None else None
        self.udp_url = f"udpout:127.0.0.1:{self.udp_port}" if self.udp_port is not None else None
        self.sysid = settings.sysid
        self.vehicle = thread.vehicle
        self.lock = thread.lock
        self.speedup = settings.speedup

    def __repr__(self) -> str:
        return f"SimHandle(url={self.url!r}, sysid={self.sysid}, speedup={self.speedup})"

    def __enter__(self) -> SimHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True while the simulator thread is alive."""
        return self._thread.is_alive()

    @property
    def error(self) -> BaseException | None:
        """The exception that ended the simulator thread, if it crashed."""
        return self._thread.error

    @property
    def sim_time_s(self) -> float:
        """Simulated seconds since the vehicle booted."""
        return self._thread.snapshot.t_sim

    @property
    def gimbal_pitch_deg(self) -> float:
        """Camera pitch relative to the horizon, degrees (-90 = straight down, the default)."""
        return self.vehicle.gimbal_pitch_deg

    @gimbal_pitch_deg.setter
    def gimbal_pitch_deg(self, value: float) -> None:
        """Set the camera pitch, degrees, clamped to [-90, 30]."""
        self.vehicle.gimbal_pitch_deg = max(-90.0, min(30.0, float(value)))

    def true_pose(self) -> Pose:
        """The vehicle's true pose now (no telemetry delay or loss), for the simulated camera.

        The last physics state is extrapolated with its velocity to the present instant.

        Returns:
            :class:`missions.geo.Pose` with ``t_s = time.time()``, altitude above home, attitude
            in degrees and the handle's gimbal pitch.
        """
        s = self._thread.snapshot
        now_mono = time.monotonic()
        dt = min(0.25, max(0.0, (now_mono - s.mono) * self.speedup))
        lat = s.lat + s.vn * dt / 111_320.0
        lon = s.lon + s.ve * dt / (111_320.0 * max(0.01, math.cos(math.radians(s.lat))))
        alt = max(s.alt_rel + s.vu * dt, s.alt_rel if s.vu >= 0 else -1e9)
        return Pose(
            t_s=time.time(),
            lat_deg=lat,
            lon_deg=lon,
            alt_m=alt,
            roll_deg=s.roll,
            pitch_deg=s.pitch,
            yaw_deg=(s.yaw + s.yaw_rate * dt) % 360.0,
            gimbal_pitch_deg=self.vehicle.gimbal_pitch_deg,
            amsl_m=s.amsl + s.vu * dt,
            extra={"sim_time_s": s.t_sim + dt, "zoom": self.vehicle.zoom},
        )

    def set_faults(
        self,
        loss: float | None = None,
        duplicate: float | None = None,
        reorder: float | None = None,
        latency_ms: float | None = None,
    ) -> None:
        """Change injected link faults (None keeps a value; probabilities 0..1).

        Raises:
            InputError: A value is out of range.
        """
        try:
            self._faults.set(loss, duplicate, reorder, latency_ms)
        except ValueError as exc:
            raise InputError(str(exc)) from None

    @property
    def fault_stats(self) -> dict[str, int]:
        """Packets dropped, duplicated and reordered by fault injection so far (both directions)."""
        return dict(self._faults.stats)

    def cut_link(self, seconds: float) -> None:
        """Drop every packet in both directions for ``seconds`` of wall time (TCP stays open)."""
        self._faults.cut(seconds)

    def swap_battery(self) -> bool:
        """Swap in a fully charged battery (ground and disarmed only), for multi-sortie patrols.

        Returns:
            True when swapped, False when the vehicle is armed or in the air.
        """
        with self.lock:
            return self.vehicle.swap_battery()

    def wait_ready(self, timeout_s: float = 60.0) -> bool:
        """Block until the simulated EKF is ready (arming allowed) or ``timeout_s`` wall seconds.

        Returns:
            True when ready.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.vehicle.ekf_ready:
                return True
            if not self.running:
                return False
            time.sleep(0.02)
        return self.vehicle.ekf_ready

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the simulator thread and close its sockets (idempotent).

        Raises:
            SimError: The thread did not finish within ``timeout_s``.
        """
        self._thread.stop()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                raise SimError(f"simulator on port {self.port} did not stop within {timeout_s} s")
        _RUNNING.discard(self)


_RUNNING: set[SimHandle] = set()


def _stop_all_at_exit() -> None:
    for handle in list(_RUNNING):
        with contextlib.suppress(Exception):
            handle.stop(timeout_s=2.0)


# Stop forgotten simulators before the interpreter waits for non-daemon threads (the hook
# concurrent.futures uses); fall back to atexit on interpreters without it.
_register = getattr(threading, "_register_atexit", None)
if _register is not None:
    _register(_stop_all_at_exit)
else:  # pragma: no cover
    import atexit

    atexit.register(_stop_all_at_exit)


def _home_point(home) -> GeoPoint:
    if home is None or isinstance(home, GeoPoint):
        return home
    if isinstance(home, dict):
        return GeoPoint(**home)
    if isinstance(home, str):
        parts = [p for p in home.replace(",", " ").split() if p]
        home = [float(p) for p in parts]
    values = list(home)
    if len(values) not in (2, 3):
        raise InputError(f"home must be LAT,LON or LAT,LON,ALT, got {home!r}")
    return GeoPoint(
        lat_deg=values[0], lon_deg=values[1], alt_m=values[2] if len(values) == 3 else 0.0
    )


def start_sim(
    settings: SimSettings | None = None,
    *,
    port: int | None = None,
    udp_port: int | None = None,
    speedup: float | None = None,
    home=None,
    sysid: int | None = None,
    faults=None,
    params: dict | None = None,
    seed: int | None = None,
) -> SimHandle:
    """Start a simulated ArduCopter with a MAVLink endpoint on 127.0.0.1.

    Args:
        settings: Base settings (``sim`` config section); defaults to :class:`SimSettings`.
        port: TCP port (0 = a free one); overrides ``settings.port``.
        udp_port: Also serve UDP on this port (0 = a free one).
        speedup: Simulated time runs this many times faster than wall time.
        home: Start position: :class:`GeoPoint`, dict, ``(lat, lon[, alt_amsl])`` or "LAT,LON,ALT".
        sysid: MAVLink system id (also the MAV_SYSID parameter).
        faults: :class:`~sim.settings.FaultSettings` or a dict of its fields.
        params: ArduCopter parameters to set at boot, on top of ``settings.params``.
        seed: Seed of the fault injector's random numbers (None = random).

    Returns:
        The running :class:`SimHandle`.

    Raises:
        SimError: The port cannot be bound.
        InputError: A setting or parameter name is invalid.
    """
    base = settings or SimSettings()
    data = base.model_dump()
    for key, value in (
        ("port", port),
        ("udp_port", udp_port),
        ("speedup", speedup),
        ("sysid", sysid),
    ):
        if value is not None:
            data[key] = value
    from pydantic import ValidationError

    try:
        if home is not None:
            data["home"] = _home_point(home).model_dump()
        if faults is not None:
            data["faults"] = (
                faults.model_dump() if isinstance(faults, FaultSettings) else dict(faults)
            )
        data["params"] = {**base.params, **(params or {})}
        eff = SimSettings(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(f"sim setting {where}: {first['msg']}") from None
    param_values = {k.upper(): v for k, v in eff.params.items()}
    param_values["MAV_SYSID"] = eff.sysid
    param_values["SIM_SPEEDUP"] = eff.speedup
    try:
        store = ParameterStore(param_values)
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None
    injector = FaultInjector(
        eff.faults.loss, eff.faults.duplicate, eff.faults.reorder, eff.faults.latency_ms, seed
    )
    vehicle = Vehicle(eff, store)
    try:
        thread = _SimThread(eff, vehicle, injector)
    except OSError as exc:
        where = f"127.0.0.1:{eff.port}" + (f" / udp {eff.udp_port}" if eff.udp_port else "")
        raise SimError(f"cannot listen on {where}: {exc.strerror or exc}") from None
    handle = SimHandle(eff, thread, injector)
    thread.start()
    _RUNNING.add(handle)
    return handle
