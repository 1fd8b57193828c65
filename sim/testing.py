"""pytest plugin: a vehicle to fly in integration tests, built-in simulator or real SITL.

Registered from ``tests/conftest.py`` with ``pytest_plugins = ["sim.testing"]``.

Fixtures:
    vehicle_endpoint: A :class:`VehicleEndpoint` (``.url``, ``.kind``, ``.speedup``, ``.sysid``).
        The built-in simulator by default (speed-up ``DRONEPATROL_SIM_SPEEDUP`` or 20); a real
        ArduPilot SITL when ``ARDUPILOT_SITL`` names an ``arducopter`` binary (with
        ``ARDUPILOT_DEFAULTS`` a copter.parm). Options per test with the marker
        ``@pytest.mark.vehicle(speedup=30, params={"FS_GCS_ENABLE": 1}, ready_delay_s=2)``
        (``params`` are applied at boot on the built-in sim; tests needing them on SITL must
        set them over MAVLink).
    sim_factory: ``make(**start_sim_kwargs) -> SimHandle``; every simulator made is stopped at
        teardown. Always the built-in simulator (for fault injection, several vehicles...).

Marker ``sitl``: added to every test that uses ``vehicle_endpoint`` (SITL-capable: they run on the
built-in simulator, or on the real binary with ``ARDUPILOT_SITL``; ``pytest -m sitl`` selects
them). A test marked ``sitl`` by hand without that fixture is skipped without a binary.

Helpers:
    requires_sitl(): skip the calling test unless a real SITL is configured.
    requires_builtin(endpoint): skip unless ``endpoint.kind == "builtin"``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from sim.runner import SimHandle, start_sim
from sim.sitl import sitl_binary, start_sitl

DEFAULT_TEST_SPEEDUP = 20.0
FAST_READY_DELAY_S = 3.0
"""Simulated seconds until a test vehicle is armable (the product default is 42.8 s, as SITL)."""


@dataclass
class VehicleEndpoint:
    """Where a test connects, and what is behind it.

    Attributes:
        url: pymavlink connection string (``tcp:127.0.0.1:PORT``).
        kind: ``"builtin"`` or ``"sitl"``.
        speedup: Simulated seconds per wall second.
        sysid: The vehicle's MAVLink system id.
        handle: The :class:`~sim.runner.SimHandle` or :class:`~sim.sitl.SitlHandle`.
    """

    url: str
    kind: str
    speedup: float
    sysid: int
    handle: object = field(repr=False)

    def wall_s(self, sim_seconds: float) -> float:
        """Wall seconds that ``sim_seconds`` of simulated time take (for timeouts)."""
        return sim_seconds / self.speedup


def requires_sitl() -> None:
    """Skip the calling test unless ``ARDUPILOT_SITL`` names a SITL binary."""
    if sitl_binary() is None:
        pytest.skip(SITL_SKIP_REASON)


def requires_builtin(endpoint: VehicleEndpoint) -> None:
    """Skip unless the endpoint is the built-in simulator."""
    if endpoint.kind != "builtin":
        pytest.skip("checks a built-in simulator feature")


def pytest_configure(config) -> None:
    """Register the ``vehicle`` marker read by :func:`vehicle_endpoint`."""
    config.addinivalue_line(
        "markers",
        "vehicle(speedup=..., params=..., ready_delay_s=...): options of the vehicle_endpoint fixture",
    )


SITL_SKIP_REASON = "needs a real ArduPilot SITL: set ARDUPILOT_SITL to an 'arducopter' binary"


def pytest_collection_modifyitems(config, items) -> None:
    """The ``sitl`` marker: every test using ``vehicle_endpoint`` is SITL-capable and gets it (it
    runs on the built-in simulator, or on the real binary when ``ARDUPILOT_SITL`` names one:
    ``ARDUPILOT_SITL=... pytest -m sitl`` runs exactly those). A test marked ``sitl`` by hand
    without that fixture needs the real binary and is skipped, with the reason, without one."""
    have_binary = sitl_binary() is not None
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "vehicle_endpoint" in fixtures:
            if item.get_closest_marker("sitl") is None:
                item.add_marker(pytest.mark.sitl)
        elif item.get_closest_marker("sitl") is not None and not have_binary:
            item.add_marker(pytest.mark.skip(reason=SITL_SKIP_REASON))


def _speedup_default() -> float:
    raw = os.environ.get("DRONEPATROL_SIM_SPEEDUP", "")
    try:
        return float(raw) if raw else DEFAULT_TEST_SPEEDUP
    except ValueError:
        return DEFAULT_TEST_SPEEDUP


@pytest.fixture
def vehicle_endpoint(request) -> Iterator[VehicleEndpoint]:
    """A vehicle to connect to over MAVLink (see module docstring)."""
    marker = request.node.get_closest_marker("vehicle")
    opts = dict(marker.kwargs) if marker else {}
    speedup = float(opts.pop("speedup", _speedup_default()))
    if sitl_binary() is not None:
        handle = start_sitl(speedup=speedup)
        try:
            yield VehicleEndpoint(handle.url, "sitl", speedup, handle.sysid, handle)
        finally:
            handle.stop()
        return
    from sim.settings import SimSettings

    settings = SimSettings(ready_delay_s=float(opts.pop("ready_delay_s", FAST_READY_DELAY_S)))
    sim = start_sim(settings, port=0, speedup=speedup, **opts)
    try:
        yield VehicleEndpoint(sim.url, "builtin", speedup, sim.sysid, sim)
    finally:
        sim.stop()


@pytest.fixture
def sim_factory() -> Iterator[Callable[..., SimHandle]]:
    """Factory of built-in simulators (port 0 by default), all stopped at teardown."""
    made: list[SimHandle] = []

    def make(**kwargs) -> SimHandle:
        """``start_sim(**kwargs)`` (port 0 by default, armable after 3 simulated s unless
        ``settings`` says otherwise), remembered to be stopped at teardown."""
        kwargs.setdefault("port", 0)
        if kwargs.get("settings") is None:
            from sim.settings import SimSettings

            kwargs["settings"] = SimSettings(ready_delay_s=FAST_READY_DELAY_S)
        handle = start_sim(**kwargs)
        made.append(handle)
        return handle

    yield make
    for handle in made:
        handle.stop()
