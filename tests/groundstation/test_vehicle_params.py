"""The parameter protocol client (PARAM_REQUEST_READ / PARAM_SET -> PARAM_VALUE) against the
built-in simulator, whose parameter table and PARAM_SET handling follow ArduCopter 4.7."""

from __future__ import annotations

import pytest

from groundstation.link import MAV, Link
from groundstation.vehicle import (
    ParameterError,
    UnknownParameterError,
    Vehicle,
)
from groundstation.vehicle.params import check_param_name, stored_value
from missions.errors import InputError
from sim.settings import SimSettings


def _connect(sim):
    link = Link.connect(sim.url, timeout_s=30)
    return link, Vehicle(link, request_telemetry=False)


def _sim_param(sim, name: str) -> float:
    with sim.lock:
        return sim.vehicle.params[name]


def test_stored_value_follows_the_parameter_type():
    assert stored_value("FENCE_TYPE", 5, MAV.MAV_PARAM_TYPE_INT8) == 5.0
    assert stored_value("FENCE_ALT_MAX", 123.4, MAV.MAV_PARAM_TYPE_REAL32) == pytest.approx(
        123.4, rel=1e-7
    )
    assert stored_value("FENCE_ALT_MAX", 123.4, MAV.MAV_PARAM_TYPE_REAL32) != 123.4  # float32
    with pytest.raises(InputError, match=r"FENCE_TYPE is INT8 \(-128\.\.127\): 300"):
        stored_value("FENCE_TYPE", 300, MAV.MAV_PARAM_TYPE_INT8)
    with pytest.raises(InputError, match="FENCE_TYPE is INT8: 5.5 is not a whole number"):
        stored_value("FENCE_TYPE", 5.5, MAV.MAV_PARAM_TYPE_INT8)
    with pytest.raises(InputError, match="not a finite number"):
        stored_value("FENCE_ALT_MAX", float("nan"), MAV.MAV_PARAM_TYPE_REAL32)
    assert check_param_name(" fence_enable ") == "FENCE_ENABLE"
    for bad in ("", "A_NAME_LONGER_THAN_16", "FENCE\u00e9"):
        with pytest.raises(InputError, match="param_id"):
            check_param_name(bad)


@pytest.mark.timeout(120)
def test_get_and_set_round_trip(sim_factory):
    sim = sim_factory(settings=SimSettings(ready_delay_s=2), speedup=20)
    link, vehicle = _connect(sim)
    with link:
        pv = vehicle.read_param("FENCE_ALT_MAX")
        assert (pv.name, pv.value, pv.type_name, pv.is_integer) == (
            "FENCE_ALT_MAX",
            100.0,
            "REAL32",
            False,
        )
        assert pv.count == len(sim.vehicle.params)
        t = vehicle.read_param("fence_type")  # case-insensitive, ArduPilot names are upper case
        assert (t.value, t.type_name, t.is_integer) == (7.0, "INT8", True)

        done = vehicle.set_param("FENCE_ALT_MAX", 123.4)
        assert done.value == pytest.approx(123.4, rel=1e-6)
        assert _sim_param(sim, "FENCE_ALT_MAX") == done.value
        assert vehicle.get_param("FENCE_ALT_MAX") == done.value

        assert vehicle.set_param("FENCE_TYPE", 5).value == 5.0
        assert _sim_param(sim, "FENCE_TYPE") == 5.0
        assert vehicle.set_param("RTL_ALT", 3000).value == 3000.0  # INT32
        assert _sim_param(sim, "RTL_ALT") == 3000.0
        assert vehicle.params.cached("RTL_ALT").value == 3000.0
        vehicle.close()


@pytest.mark.timeout(120)
def test_unknown_parameter_is_a_one_line_error_naming_it(sim_factory):
    sim = sim_factory(settings=SimSettings(ready_delay_s=2), speedup=20)
    link, vehicle = _connect(sim)
    with link:
        # ArduCopter 4.7 renamed SYSID_THISMAV to MAV_SYSID: never rely on one name existing.
        with pytest.raises(UnknownParameterError) as err:
            vehicle.get_param("SYSID_THISMAV", timeout_s=0.3, retries=2)
        msg = str(err.value)
        assert "SYSID_THISMAV" in msg and "no PARAM_VALUE after 3" in msg and "\n" not in msg
        assert err.value.name == "SYSID_THISMAV"
        assert vehicle.get_param("MAV_SYSID") == sim.sysid

        with pytest.raises(UnknownParameterError, match="no parameter FENCE_ENABLED"):
            vehicle.set_param("FENCE_ENABLED", 1, timeout_s=0.3, retries=1)
        assert _sim_param(sim, "FENCE_ENABLE") == 0.0  # nothing written under another name
        vehicle.close()


@pytest.mark.timeout(120)
def test_refused_writes_name_the_parameter_and_the_vehicle_reason(sim_factory):
    sim = sim_factory(settings=SimSettings(ready_delay_s=2), speedup=20)
    link, vehicle = _connect(sim)
    with link:
        before = _sim_param(sim, "MIS_TOTAL")
        with pytest.raises(ParameterError) as err:
            vehicle.set_param("MIS_TOTAL", 42)
        msg = str(err.value)
        assert "MIS_TOTAL" in msg and "not accepted" in msg and "keeps" in msg
        assert "Param write denied (MIS_TOTAL)" in msg and "\n" not in msg
        assert _sim_param(sim, "MIS_TOTAL") == before

        # A value the type cannot hold is refused before anything is sent
        # (ArduPilot would truncate 5.5 to 5 and clamp 300 to 127).
        with pytest.raises(InputError, match="FENCE_TYPE is INT8"):
            vehicle.set_param("FENCE_TYPE", 300)
        with pytest.raises(InputError, match="whole number"):
            vehicle.set_param("FENCE_TYPE", 5.5)
        assert _sim_param(sim, "FENCE_TYPE") == 7.0
        vehicle.close()


@pytest.mark.timeout(180)
def test_set_param_gets_through_a_lossy_link(sim_factory):
    """PARAM_SET and PARAM_REQUEST_READ are repeated until a PARAM_VALUE arrives."""
    sim = sim_factory(settings=SimSettings(ready_delay_s=2), speedup=20, seed=7)
    link, vehicle = _connect(sim)
    with link:
        sim.set_faults(loss=0.3, duplicate=0.1)
        for value in (110.0, 120.0, 130.0, 140.0, 150.0):
            assert vehicle.set_param("FENCE_ALT_MAX", value, timeout_s=0.3, retries=12).value == (
                value
            )
            assert _sim_param(sim, "FENCE_ALT_MAX") == value
        sim.set_faults(loss=0.0, duplicate=0.0)
        assert sim.fault_stats["dropped"] > 0
        vehicle.close()
