"""The uploaded geofence made to act on the vehicle (``groundstation.geofence``, ``dronepatrol
fly``), and a real breach in flight, against the built-in simulator (ArduCopter 4.7 fence
behaviour: FENCE_ENABLE/FENCE_TYPE/FENCE_ACTION, "Polygon fence breached" and RTL)."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from dataclasses import replace

import pytest
from testkit import REPO_ROOT, run_cli

from detection.alerts import AlertKind
from groundstation import mission_transfer as mt
from groundstation.cli.fly import StatusPrinter
from groundstation.geofence import (
    GeofenceError,
    configure_geofence,
    patrol_fence_type,
    planned_ceiling_m,
)
from groundstation.link import Link
from groundstation.safety import safety_alert, safety_alert_kind, safety_message
from groundstation.vehicle import UnknownParameterError, Vehicle
from missions.formats.qgc_json import write_plan
from missions.geo import distance_m, offset
from missions.items import (
    MAV_CMD_DO_CHANGE_SPEED,
    MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
    MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
    MAV_CMD_NAV_RALLY_POINT,
    MAV_CMD_NAV_RETURN_TO_LAUNCH,
    MAV_CMD_NAV_TAKEOFF,
    MAV_CMD_NAV_WAYPOINT,
    MAV_FRAME_GLOBAL,
    MAV_FRAME_GLOBAL_RELATIVE_ALT,
    MAV_MISSION_TYPE_FENCE,
    MissionItem,
)
from missions.settings import FenceSettings
from sim.settings import SimSettings

HOME = (41.79, 123.43)
HALF_SIDE_M = 120.0
"""The inclusion fence is a square of 240 m around home: smaller than ArduCopter's 300 m circle
would matter for, big enough for the test sorties."""


def _at(north_m: float, east_m: float, origin=HOME) -> tuple[float, float]:
    lat, lon = offset(origin[0], origin[1], 0.0, north_m)
    return offset(lat, lon, 90.0, east_m)


def _square(center_ne: tuple[float, float], half_m: float, command: int) -> list[MissionItem]:
    n0, e0 = center_ne
    corners = [(-half_m, -half_m), (-half_m, half_m), (half_m, half_m), (half_m, -half_m)]
    return [
        MissionItem(
            seq=0,
            frame=MAV_FRAME_GLOBAL,
            command=command,
            param1=4,
            x=_at(n0 + n, e0 + e)[0],
            y=_at(n0 + n, e0 + e)[1],
            mission_type=MAV_MISSION_TYPE_FENCE,
        )
        for n, e in corners
    ]


def district_fence() -> list[MissionItem]:
    """An inclusion square around home and one no-fly exclusion square inside it."""
    items = _square((0.0, 0.0), HALF_SIDE_M, MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION)
    items += _square((70.0, -70.0), 15.0, MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION)
    return [it.with_seq(i) for i, it in enumerate(items)]


def sortie(waypoints_ne: list[tuple[float, float]], alt_m: float = 20.0) -> list[MissionItem]:
    """home, take-off, speed 8 m/s, the waypoints (north, east metres from home), RTL."""
    items = [
        MissionItem(seq=0, frame=MAV_FRAME_GLOBAL, command=MAV_CMD_NAV_WAYPOINT, x=HOME[0],
                    y=HOME[1], z=50.0),
        MissionItem(seq=1, frame=MAV_FRAME_GLOBAL_RELATIVE_ALT, command=MAV_CMD_NAV_TAKEOFF,
                    x=HOME[0], y=HOME[1], z=alt_m),
        MissionItem(seq=2, frame=0, command=MAV_CMD_DO_CHANGE_SPEED, param1=1, param2=8.0,
                    param3=-1),
    ]  # fmt: skip
    for n, e in waypoints_ne:
        lat, lon = _at(n, e)
        items.append(
            MissionItem(
                seq=len(items),
                frame=MAV_FRAME_GLOBAL_RELATIVE_ALT,
                command=MAV_CMD_NAV_WAYPOINT,
                x=lat,
                y=lon,
                z=alt_m,
            )
        )
    items.append(MissionItem(seq=len(items), frame=0, command=MAV_CMD_NAV_RETURN_TO_LAUNCH))
    return items


def _sim(sim_factory, speedup: float = 30.0, **params):
    return sim_factory(settings=SimSettings(ready_delay_s=2), speedup=speedup, params=params)


def _params(sim, *names: str) -> dict[str, float]:
    with sim.lock:
        return {n: sim.vehicle.params[n] for n in names}


def _fence_on_sim(sim) -> list[MissionItem]:
    with sim.lock:
        return list(sim.vehicle.lists.fence)


FENCE_PARAMS = ("FENCE_ENABLE", "FENCE_TYPE", "FENCE_ALT_MAX", "FENCE_ACTION")


# --- pure helpers ------------------------------------------------------------------------------------


def test_patrol_fence_type_drops_the_circle_and_keeps_min_altitude():
    assert patrol_fence_type(7) == 5  # ArduCopter default: alt max + circle + polygon
    assert patrol_fence_type(3) == 5
    assert patrol_fence_type(0) == 5
    assert patrol_fence_type(15) == 13  # min-alt bit kept
    assert patrol_fence_type(8) == 13


def test_planned_ceiling_counts_missions_rally_and_takeoff():
    mission = sortie([(10.0, 10.0)], alt_m=40.0)
    high = replace(mission[3], z=65.0)
    amsl = MissionItem(
        seq=5, frame=MAV_FRAME_GLOBAL, command=MAV_CMD_NAV_WAYPOINT, x=HOME[0], y=HOME[1], z=130.0
    )
    rally = [
        MissionItem(seq=0, frame=MAV_FRAME_GLOBAL_RELATIVE_ALT, command=MAV_CMD_NAV_RALLY_POINT,
                    x=HOME[0], y=HOME[1], z=70.0, mission_type=2)
    ]  # fmt: skip
    assert planned_ceiling_m([mission]) == 40.0  # home (seq 0, AMSL 50) does not count
    assert planned_ceiling_m([mission], takeoff_alt_m=45.0) == 45.0
    assert planned_ceiling_m([[*mission[:3], high]]) == 65.0
    assert planned_ceiling_m([mission, rally]) == 70.0
    assert planned_ceiling_m([[*mission, amsl]]) == 40.0  # AMSL item skipped without home
    assert planned_ceiling_m([[*mission, amsl]], home_amsl_m=50.0) == 80.0


class _NoFenceFirmware:
    """A vehicle whose firmware has no FENCE_* parameters (built without AP_FENCE)."""

    class _Link:
        link_ok = True
        url = "tcp:127.0.0.1:1"

    link = _Link()

    def get_param(self, name, timeout_s=1.0, retries=3):
        """Every FENCE_* name is unknown to this firmware."""
        raise UnknownParameterError(f"the vehicle has no parameter {name}", name)

    set_param = get_param


def test_a_firmware_without_fence_parameters_is_a_one_line_error():
    with pytest.raises(GeofenceError) as err:
        configure_geofence(_NoFenceFirmware(), FenceSettings(), 40.0)
    msg = str(err.value)
    assert "reading FENCE_TYPE" in msg and "fence.enable_on_vehicle: false" in msg
    assert "\n" not in msg


# --- against the simulator ---------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_configure_geofence_enables_polygon_and_altitude_fence(sim_factory):
    sim = _sim(sim_factory)
    assert _params(sim, *FENCE_PARAMS) == {  # ArduCopter's defaults: uploaded fence inactive
        "FENCE_ENABLE": 0.0, "FENCE_TYPE": 7.0, "FENCE_ALT_MAX": 100.0, "FENCE_ACTION": 1.0,
    }  # fmt: skip
    fence = district_fence()
    lines: list[str] = []
    with Link.connect(sim.url, timeout_s=30) as link:
        vehicle = Vehicle(link)
        mt.upload_and_verify(link, fence, MAV_MISSION_TYPE_FENCE)
        report = configure_geofence(vehicle, FenceSettings(), 40.0, say=lines.append)
        vehicle.close()
    assert _params(sim, *FENCE_PARAMS) == {
        "FENCE_ENABLE": 1.0, "FENCE_TYPE": 5.0, "FENCE_ALT_MAX": 100.0, "FENCE_ACTION": 1.0,
    }  # fmt: skip
    onboard = _fence_on_sim(sim)
    assert len(onboard) == len(fence)
    # fence items read back with autocontinue 0 (ArduCopter 4.7, measured)
    assert all(
        replace(a, autocontinue=0).same_on_wire(b) for a, b in zip(fence, onboard, strict=True)
    )
    assert [str(c) for c in report.changes] == [
        "FENCE_TYPE 7 -> 5 (polygon, max altitude; the circle around home is off)",
        "FENCE_ENABLE 0 -> 1 (enabled)",
    ]
    assert report.enabled and (report.fence_type, report.alt_max_m, report.action) == (5, 100, 1)
    assert any("FENCE_ALT_MAX stays 100 m" in ln and "never lowers" in ln for ln in lines)
    assert lines[-1] == (
        "fence enabled: FENCE_TYPE 5 (polygon, max altitude), FENCE_ALT_MAX 100 m, "
        "FENCE_ACTION 1 (RTL or LAND)"
    )


@pytest.mark.timeout(120)
def test_alt_max_is_only_raised_min_alt_kept_and_action_applied(sim_factory):
    sim = _sim(sim_factory, FENCE_TYPE=15, FENCE_ALT_MAX=60, FENCE_ACTION=0)
    with Link.connect(sim.url, timeout_s=30) as link:
        vehicle = Vehicle(link, request_telemetry=False)
        mt.upload_and_verify(link, district_fence(), MAV_MISSION_TYPE_FENCE)
        first = configure_geofence(vehicle, FenceSettings(alt_max_margin_m=10.0), 120.0)
        assert _params(sim, *FENCE_PARAMS) == {
            "FENCE_ENABLE": 1.0, "FENCE_TYPE": 13.0, "FENCE_ALT_MAX": 130.0, "FENCE_ACTION": 1.0,
        }  # fmt: skip
        assert [(c.name, c.old, c.new) for c in first.changes] == [
            ("FENCE_TYPE", 15, 13),
            ("FENCE_ALT_MAX", 60, 130),
            ("FENCE_ACTION", 0, 1),
            ("FENCE_ENABLE", 0, 1),
        ]
        # A lower survey never lowers FENCE_ALT_MAX; nothing else to change either.
        second = configure_geofence(vehicle, FenceSettings(action="land"), 40.0)
        assert [(c.name, c.old, c.new) for c in second.changes] == [("FENCE_ACTION", 1, 2)]
        assert _params(sim, "FENCE_ALT_MAX", "FENCE_ACTION") == {
            "FENCE_ALT_MAX": 130.0,
            "FENCE_ACTION": 2.0,
        }
        report_only = configure_geofence(vehicle, FenceSettings(action="report"), 40.0)
        assert report_only.action == 0
        assert any("does NOT turn back" in n for n in report_only.notes)
        kept = configure_geofence(vehicle, FenceSettings(action="keep"), 40.0)
        assert kept.changes == [] and kept.action == 0
        vehicle.close()


@pytest.mark.timeout(120)
def test_enable_on_vehicle_false_leaves_the_vehicle_alone_and_says_so(sim_factory):
    sim = _sim(sim_factory)
    lines: list[str] = []
    with Link.connect(sim.url, timeout_s=30) as link:
        vehicle = Vehicle(link, request_telemetry=False)
        mt.upload_and_verify(link, district_fence(), MAV_MISSION_TYPE_FENCE)
        report = configure_geofence(
            vehicle, FenceSettings(enable_on_vehicle=False), 40.0, say=lines.append
        )
        vehicle.close()
    assert not report.enabled and report.changes == []
    assert _params(sim, "FENCE_ENABLE", "FENCE_TYPE") == {"FENCE_ENABLE": 0.0, "FENCE_TYPE": 7.0}
    assert lines == [
        "warning: fence.enable_on_vehicle is false: the vehicle's FENCE_ENABLE is 0: "
        "the uploaded fence does nothing"
    ]


@pytest.mark.timeout(300)
def test_breach_in_flight_makes_the_vehicle_rtl_and_raises_a_geofence_alert(sim_factory):
    """The API sequence a patrol runs; mid-survey the vehicle is pushed out of the inclusion
    polygon, as wind or a GPS glitch would (a test-only teleport under ``sim.lock``). A GUIDED
    goto beyond the fence is no way to get there: ArduCopter, and the simulator, refuse such a
    target (``ModeGuided::set_destination`` -> ``AC_Fence::check_destination_within_fence``)."""
    sim = _sim(sim_factory, speedup=30.0)
    out = io.StringIO()
    printer = StatusPrinter(stream=out, tty=False)
    alerts = []
    modes: list[str] = []
    with Link.connect(sim.url, timeout_s=30) as link:
        vehicle = Vehicle(link)
        vehicle.on_event(printer.on_vehicle_event)

        def on_event(ev):
            """Vehicle events -> safety alerts, as the patrol does."""
            if ev.kind == "mode":
                modes.append(ev.data["mode"])
            kind = safety_alert_kind(ev.kind, ev.data)
            if kind is not None:
                pose = vehicle.pose
                alerts.append(
                    safety_alert(kind, safety_message(kind, ev.data), lat_deg=pose.lat_deg,
                                 lon_deg=pose.lon_deg, t_s=ev.t_s)
                )  # fmt: skip

        vehicle.on_event(on_event)
        mt.upload_and_verify(link, district_fence(), MAV_MISSION_TYPE_FENCE)
        configure_geofence(vehicle, FenceSettings(), 20.0, say=printer.event)
        lawnmower = [(n, e) for n in (-90.0, -60.0, -30.0) for e in (-90.0, 90.0)]
        mt.upload_and_verify(link, sortie(lawnmower), 0)
        vehicle.start_mission(20.0, arm_timeout_s=60)
        vehicle.wait_until(
            lambda s: s.mode == "AUTO" and (s.mission_seq or 0) >= 4, 60, "the survey"
        )
        assert not alerts  # flying inside the fence raises nothing
        outside = _at(0.0, HALF_SIDE_M + 60.0)
        with sim.lock:
            v = sim.vehicle
            v.x, v.y = v.local_of(*outside)
        s = vehicle.wait_until(lambda s: s.mode == "RTL", 30, "RTL after the breach")
        assert s.armed
        s = vehicle.wait_landed_disarmed(timeout_s=120)
        home = s.home
        assert distance_m(s.pose.lat_deg, s.pose.lon_deg, home.lat_deg, home.lon_deg) < 3
        vehicle.close()
    geofence = [a for a in alerts if a.kind is AlertKind.GEOFENCE]
    # the breach, then (back inside on the way home) "Fence breach cleared", which
    # safety_alert_kind files under GEOFENCE as well
    assert [a.message for a in geofence if "breached" in a.message] == ["Polygon fence breached"]
    a = geofence[0]
    assert a.source == "vehicle" and a.message == "Polygon fence breached"
    assert a.lat_deg is not None and a.lon_deg is not None  # where the vehicle was
    assert modes[-1] == "RTL" and "AUTO" in modes
    text = out.getvalue()
    assert "GEOFENCE: Polygon fence breached" in text
    assert text.index("GEOFENCE: Polygon fence breached") < text.index("mode RTL")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_fly_cli_enables_the_fence_and_a_waypoint_beyond_it_ends_in_rtl(sim_factory, tmp_path):
    """``dronepatrol fly`` with a .plan whose third waypoint lies outside its own fence: the
    fence is enabled before take-off, ArduCopter flies AUTO towards the waypoint (it does not
    check mission waypoints against the fence), breaches the polygon and returns home. (The
    pre-flight ``fence`` check refuses such a mission; ``--force-unsafe fence`` flies it, to see
    that the vehicle's own fence still holds.)"""
    sim = _sim(sim_factory, speedup=30.0)
    fence = district_fence()
    beyond_east_m = HALF_SIDE_M + 130.0
    mission = sortie([(60.0, 0.0), (0.0, beyond_east_m), (-60.0, 0.0)])
    plan = write_plan(tmp_path / "beyond.plan", mission, fence)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "groundstation.cli",
            "fly",
            str(plan),
            "--connect",
            sim.url,
            "--force-unsafe",
            "fence",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    max_east_m = 0.0
    try:
        while proc.poll() is None:
            pose = sim.true_pose()
            east = distance_m(HOME[0], HOME[1], HOME[0], pose.lon_deg)
            if pose.lon_deg > HOME[1]:
                max_east_m = max(max_east_m, east)
            time.sleep(0.05)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    # the breach ended the sortie early: fly says so and fails
    assert proc.returncode == 1, stderr + stdout
    assert stderr.strip().splitlines()[-1].startswith("error: sortie 1/1 (")
    assert "landed before finishing its mission" in stderr
    assert "fence: FENCE_TYPE 7 -> 5 (polygon, max altitude; the circle around home is off)" in (
        stdout
    )
    assert "fence: FENCE_ENABLE 0 -> 1 (enabled)" in stdout
    assert "fence enabled: FENCE_TYPE 5 (polygon, max altitude)" in stdout
    assert stdout.index("fence enabled") < stdout.index("\narmed\n")
    assert "GEOFENCE: Polygon fence breached" in stdout
    assert stdout.index("GEOFENCE: Polygon fence breached") < stdout.rindex("mode RTL")
    assert "landed and disarmed" in stdout
    line = stdout.split("items reached:")[1].splitlines()[0]
    reached = [int(v) for v in line.split(",") if v.strip()]
    assert 3 in reached and not {4, 5, 6} & set(reached)  # waypoint 4 (beyond) never reached
    # the vehicle turned back at the fence (+ braking distance), far from the waypoint beyond
    assert HALF_SIDE_M < max_east_m < HALF_SIDE_M + 50.0
    assert _params(sim, "FENCE_ENABLE", "FENCE_TYPE") == {"FENCE_ENABLE": 1.0, "FENCE_TYPE": 5.0}
    onboard = _fence_on_sim(sim)
    # fence items read back with autocontinue 0 (ArduCopter 4.7, measured)
    assert all(
        replace(a, autocontinue=0).same_on_wire(b) for a, b in zip(fence, onboard, strict=True)
    )
    with sim.lock:
        v = sim.vehicle
        assert not v.armed and v.landed
        assert distance_m(*v.lat_lon(), v.home[0], v.home[1]) < 3


@pytest.mark.timeout(300)
def test_fly_cli_takes_fence_settings_from_the_config(sim_factory, tmp_path):
    """``--set fence.*`` reaches the vehicle; FENCE_ALT_MAX covers the highest planned item."""
    sim = _sim(sim_factory, speedup=40.0)
    mission = sortie([(40.0, 0.0), (40.0, 40.0)])
    mission[4] = replace(mission[4], z=95.0)  # one waypoint higher than ArduCopter's 100 m - 10
    plan = write_plan(tmp_path / "high.plan", mission, district_fence())
    r = run_cli(
        "fly", str(plan), "--connect", sim.url,
        "--set", "fence.alt_max_margin_m=7", "--set", "fence.action=land",
        timeout=250,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr + r.stdout
    assert "fence: FENCE_ALT_MAX 100 -> 102 (planned 95 m + 7 m margin)" in r.stdout
    assert "fence: FENCE_ACTION 1 -> 2 (LAND)" in r.stdout
    assert "fence breached" not in r.stdout  # 95 m is inside the raised altitude fence
    assert _params(sim, *FENCE_PARAMS) == {
        "FENCE_ENABLE": 1.0, "FENCE_TYPE": 5.0, "FENCE_ALT_MAX": 102.0, "FENCE_ACTION": 2.0,
    }  # fmt: skip


def test_fly_cli_rejects_an_unknown_fence_action(tmp_path):
    plan = write_plan(tmp_path / "p.plan", sortie([(40.0, 0.0)]), district_fence())
    r = run_cli("fly", str(plan), "--connect", "tcp:127.0.0.1:9", "--set", "fence.action=loiter")
    assert r.returncode == 2, r.stderr + r.stdout
    assert r.stderr.startswith("error:") and "fence.action" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
