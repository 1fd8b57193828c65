"""Telemetry messages of the simulated vehicle and ArduPilot's stream groups.

Field conventions follow the MAVLink common message set (https://mavlink.io/en/messages/common.html)
and what ArduCopter fills in (GCS_Common.cpp ``send_*`` functions): positions in degE7, altitudes
in mm (AMSL and relative to home), velocities in cm/s NED, headings in cdeg, battery in mV/cA.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from pymavlink.dialects.v20 import ardupilotmega as mavlink

if TYPE_CHECKING:  # pragma: no cover
    from sim.vehicle import Vehicle

ID = {
    "HEARTBEAT": mavlink.MAVLINK_MSG_ID_HEARTBEAT,
    "SYS_STATUS": mavlink.MAVLINK_MSG_ID_SYS_STATUS,
    "SYSTEM_TIME": mavlink.MAVLINK_MSG_ID_SYSTEM_TIME,
    "GPS_RAW_INT": mavlink.MAVLINK_MSG_ID_GPS_RAW_INT,
    "ATTITUDE": mavlink.MAVLINK_MSG_ID_ATTITUDE,
    "LOCAL_POSITION_NED": mavlink.MAVLINK_MSG_ID_LOCAL_POSITION_NED,
    "GLOBAL_POSITION_INT": mavlink.MAVLINK_MSG_ID_GLOBAL_POSITION_INT,
    "MISSION_CURRENT": mavlink.MAVLINK_MSG_ID_MISSION_CURRENT,
    "GPS_GLOBAL_ORIGIN": mavlink.MAVLINK_MSG_ID_GPS_GLOBAL_ORIGIN,
    "VFR_HUD": mavlink.MAVLINK_MSG_ID_VFR_HUD,
    "BATTERY_STATUS": mavlink.MAVLINK_MSG_ID_BATTERY_STATUS,
    "AUTOPILOT_VERSION": mavlink.MAVLINK_MSG_ID_AUTOPILOT_VERSION,
    "EKF_STATUS_REPORT": mavlink.MAVLINK_MSG_ID_EKF_STATUS_REPORT,
    "HOME_POSITION": mavlink.MAVLINK_MSG_ID_HOME_POSITION,
    "FENCE_STATUS": mavlink.MAVLINK_MSG_ID_FENCE_STATUS,
}
"""Messages the simulator can send on request or as a stream."""

STREAM_GROUPS: dict[int, tuple[int, ...]] = {
    mavlink.MAV_DATA_STREAM_EXTENDED_STATUS: (
        ID["SYS_STATUS"],
        ID["MISSION_CURRENT"],
        ID["GPS_RAW_INT"],
        ID["FENCE_STATUS"],  # only while the fence is enabled, as ArduCopter
    ),
    mavlink.MAV_DATA_STREAM_POSITION: (ID["GLOBAL_POSITION_INT"], ID["LOCAL_POSITION_NED"]),
    mavlink.MAV_DATA_STREAM_EXTRA1: (ID["ATTITUDE"],),
    mavlink.MAV_DATA_STREAM_EXTRA2: (ID["VFR_HUD"],),
    mavlink.MAV_DATA_STREAM_EXTRA3: (
        ID["SYSTEM_TIME"],
        ID["BATTERY_STATUS"],
        ID["EKF_STATUS_REPORT"],
    ),
}
"""REQUEST_DATA_STREAM stream id -> messages (ArduCopter's SRn_ groups, GCS_Mavlink.cpp)."""

DEFAULT_INTERVALS_S = {ID["HEARTBEAT"]: 1.0}
"""What a fresh ArduCopter streams before any stream is requested: HEARTBEAT only, no SYS_STATUS
and no position until the GCS asks (ArduCopter SITL 4.7, ../shared/notes/ardupilot.md)."""

FIRMWARE_VERSION = (4, 7, 0)
CAPABILITIES = 0xFBEF
"""AUTOPILOT_VERSION.capabilities of ArduCopter SITL 4.7 (measured): MISSION_FLOAT, PARAM_FLOAT,
MISSION_INT, COMMAND_INT, PARAM_ENCODE_C_CAST, FTP, SET_ATTITUDE_TARGET, SET_POSITION_TARGET_*,
TERRAIN, COMPASS_CALIBRATION, MAVLINK2, MISSION_FENCE, MISSION_RALLY..."""
FLIGHT_CUSTOM_VERSION = b"90700977"
"""AUTOPILOT_VERSION.flight_custom_version: the git hash of the measured SITL build."""

_SENSORS = (
    mavlink.MAV_SYS_STATUS_SENSOR_3D_GYRO
    | mavlink.MAV_SYS_STATUS_SENSOR_3D_ACCEL
    | mavlink.MAV_SYS_STATUS_SENSOR_3D_MAG
    | mavlink.MAV_SYS_STATUS_SENSOR_ABSOLUTE_PRESSURE
    | mavlink.MAV_SYS_STATUS_SENSOR_GPS
    | mavlink.MAV_SYS_STATUS_SENSOR_ANGULAR_RATE_CONTROL
    | mavlink.MAV_SYS_STATUS_SENSOR_ATTITUDE_STABILIZATION
    | mavlink.MAV_SYS_STATUS_SENSOR_YAW_POSITION
    | mavlink.MAV_SYS_STATUS_SENSOR_Z_ALTITUDE_CONTROL
    | mavlink.MAV_SYS_STATUS_SENSOR_XY_POSITION_CONTROL
    | mavlink.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS
    | mavlink.MAV_SYS_STATUS_AHRS
    | mavlink.MAV_SYS_STATUS_SENSOR_BATTERY
)


def _ms(v: Vehicle) -> int:
    return int(v.t * 1000.0) & 0xFFFFFFFF


def send(mav: mavlink.MAVLink, msg_id: int, v: Vehicle) -> bool:
    """Send one telemetry message about ``v`` on ``mav``.

    Args:
        mav: The channel's pymavlink encoder.
        msg_id: MAVLink message id (one of :data:`ID`).
        v: The vehicle.

    Returns:
        False when the message is not supported (or not available yet, like HOME_POSITION before
        home is set).
    """
    if msg_id == ID["HEARTBEAT"]:
        mav.heartbeat_send(
            mavlink.MAV_TYPE_QUADROTOR,
            mavlink.MAV_AUTOPILOT_ARDUPILOTMEGA,
            v.base_mode,
            int(v.mode),
            v.system_status,
        )
    elif msg_id == ID["GLOBAL_POSITION_INT"]:
        lat, lon = v.lat_lon() if v.gps_fix else (0.0, 0.0)
        hdg = int(round(v.yaw_deg * 100.0)) % 36000
        mav.global_position_int_send(
            _ms(v),
            int(round(lat * 1e7)),
            int(round(lon * 1e7)),
            int(round(v.alt_amsl_m * 1000.0)),
            int(round(v.relative_alt_m * 1000.0)),
            int(round(v.vy * 100.0)),
            int(round(v.vx * 100.0)),
            int(round(-v.vz * 100.0)),
            hdg,
        )
    elif msg_id == ID["ATTITUDE"]:
        yaw = math.radians(v.yaw_deg)
        if yaw > math.pi:
            yaw -= 2 * math.pi
        mav.attitude_send(
            _ms(v),
            math.radians(v.roll_deg),
            math.radians(v.pitch_deg),
            yaw,
            0.0,
            0.0,
            math.radians(v.yaw_rate_dps),
        )
    elif msg_id == ID["VFR_HUD"]:
        throttle = 0
        if v.armed:
            throttle = 15 if v.landed else int(min(100, 38 + 2 * v.groundspeed + 8 * max(0, v.vz)))
        mav.vfr_hud_send(
            v.groundspeed,
            v.groundspeed,
            int(round(v.yaw_deg)) % 360,
            throttle,
            v.alt_amsl_m,
            v.vz,
        )
    elif msg_id == ID["SYS_STATUS"]:
        b = v.battery
        health = _SENSORS
        prearm = mavlink.MAV_SYS_STATUS_PREARM_CHECK
        present = _SENSORS | prearm
        enabled = _SENSORS | prearm
        if v.prearm_failure() is None:
            health |= prearm
        if not v.gps_fix:
            health &= ~mavlink.MAV_SYS_STATUS_SENSOR_GPS
        if v.fence_enabled:
            present |= mavlink.MAV_SYS_STATUS_GEOFENCE
            enabled |= mavlink.MAV_SYS_STATUS_GEOFENCE
            if not v._fence_breaches:
                health |= mavlink.MAV_SYS_STATUS_GEOFENCE
        mav.sys_status_send(
            present,
            enabled,
            health,
            150,
            int(b.voltage_v * 1000.0),
            int(b.current_a * 100.0),
            int(round(b.remaining * 100.0)),
            0,
            0,
            0,
            0,
            0,
            0,
        )
    elif msg_id == ID["BATTERY_STATUS"]:
        b = v.battery
        cells = [min(65534, int(b.voltage_v * 1000.0))] + [65535] * 9
        mav.battery_status_send(
            0,
            mavlink.MAV_BATTERY_FUNCTION_UNKNOWN,
            mavlink.MAV_BATTERY_TYPE_LIPO,
            32767,
            cells,
            int(b.current_a * 100.0),
            int(b.consumed_mah),
            int(b.consumed_mah * b.settings.cells * 3.7 * 36 / 1000.0),
            int(round(b.remaining * 100.0)),
            0,
            mavlink.MAV_BATTERY_CHARGE_STATE_OK,
            [0, 0, 0, 0],
            0,
            0,
        )
    elif msg_id == ID["GPS_RAW_INT"]:
        fix = 6 if v.gps_fix else 1
        lat, lon = v.lat_lon() if v.gps_fix else (0.0, 0.0)
        cog = int(round(math.degrees(math.atan2(v.vx, v.vy)) * 100.0)) % 36000
        mav.gps_raw_int_send(
            int(v.t * 1e6),
            fix,
            int(round(lat * 1e7)),
            int(round(lon * 1e7)),
            int(round(v.alt_amsl_m * 1000.0)),
            121 if v.gps_fix else 65535,
            200 if v.gps_fix else 65535,
            int(round(v.groundspeed * 100.0)),
            cog if v.groundspeed > 0.2 else 0,
            10 if v.gps_fix else 0,
        )
    elif msg_id == ID["HOME_POSITION"]:
        if v.home is None:
            return False
        lat, lon, alt = v.home
        hx, hy = v.home_xy
        mav.home_position_send(
            int(round(lat * 1e7)),
            int(round(lon * 1e7)),
            int(round(alt * 1000.0)),
            hy,
            hx,
            -(alt - v.origin_alt_m),
            [1.0, 0.0, 0.0, 0.0],
            0.0,
            0.0,
            0.0,
            int(v.t * 1e6),
        )
    elif msg_id == ID["GPS_GLOBAL_ORIGIN"]:
        if not v.ekf_ready:
            return False
        mav.gps_global_origin_send(
            int(round(v.frame.lat0_deg * 1e7)),
            int(round(v.frame.lon0_deg * 1e7)),
            int(round(v.origin_alt_m * 1000.0)),
            int(v.t * 1e6),
        )
    elif msg_id == ID["FENCE_STATUS"]:
        if not v.fence_enabled:
            return False
        mask = v.fence_breaches
        kind = mavlink.FENCE_BREACH_NONE
        if mask & 1:
            kind = mavlink.FENCE_BREACH_MAXALT
        elif mask & 8:
            kind = mavlink.FENCE_BREACH_MINALT
        elif mask:
            kind = mavlink.FENCE_BREACH_BOUNDARY
        mav.fence_status_send(
            1 if mask else 0,
            v.fence_breach_count & 0xFFFF,
            kind,
            int(v.fence_breach_t * 1000.0) & 0xFFFFFFFF,
        )
    elif msg_id == ID["MISSION_CURRENT"]:
        ex = v.mission
        total = max(0, v.lists.mission_count - 1)
        mav.mission_current_send(
            ex.current_seq,
            total,
            ex.mission_state,
            1 if int(v.mode) == 3 else 0,
        )
    elif msg_id == ID["EKF_STATUS_REPORT"]:
        mav.ekf_status_report_send(v.ekf_flags, 0.02, 0.03, 0.02, 0.02, 0.0, 0.0)
    elif msg_id == ID["LOCAL_POSITION_NED"]:
        mav.local_position_ned_send(_ms(v), v.y, v.x, -v.z, v.vy, v.vx, -v.vz)
    elif msg_id == ID["SYSTEM_TIME"]:
        mav.system_time_send(int(time.time() * 1e6), _ms(v))
    elif msg_id == ID["AUTOPILOT_VERSION"]:
        major, minor, patch = FIRMWARE_VERSION
        version = (major << 24) | (minor << 16) | (patch << 8) | mavlink.FIRMWARE_VERSION_TYPE_DEV
        mav.autopilot_version_send(
            CAPABILITIES,
            version,
            0,
            0,
            0,
            list(FLIGHT_CUSTOM_VERSION),
            [0] * 8,
            [0] * 8,
            0x1209,
            0x5740,
            0,
        )
    else:
        return False
    return True
