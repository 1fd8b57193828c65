"""Mission execution in AUTO, following ArduPilot's AP_Mission and ArduCopter's mode_auto.cpp.

Semantics reproduced (libraries/AP_Mission/AP_Mission.cpp, ArduCopter/mode_auto.cpp):

* Real items start at seq 1 (0 is home). One navigation command runs at a time; "do" and
  "condition" commands found between two navigation commands start when the earlier one
  completes, one at a time.
* DO_JUMP is resolved while looking for the next command (param1 target, param2 repeat count,
  -1 forever) and is never "reached".
* MISSION_ITEM_REACHED is sent when a command's verify step succeeds (several completed in one
  loop collapse into one message for the last, see :mod:`sim.endpoint`): a NAV_TAKEOFF at its
  altitude, a NAV_WAYPOINT inside WPNAV_RADIUS after its param1 hold time ("Reached command #N"),
  a NAV_LAND or NAV_RETURN_TO_LAUNCH at touchdown, DO_CHANGE_SPEED at once, CONDITION_YAW on
  heading; commands the copter does not know get "Skipping invalid cmd #ID".
* When the mission runs out of navigation commands it is complete: in the air the vehicle loiters
  (still in AUTO); on the ground it disarms and stays in AUTO. MISSION_CURRENT then reads seq 0,
  mission_state COMPLETE.
* A NAV_TAKEOFF started on the ground does not climb unless AUTO_OPTIONS bit 1 is set (ArduCopter
  waits for a throttle raise no GCS gives): the vehicle disarms after DISARM_DELAY. Take off in
  GUIDED first.
* Leaving AUTO stops the mission; entering AUTO again resumes the interrupted navigation command
  (MIS_RESTART = 0), so a ground station can pause in GUIDED/BRAKE and continue at the same item.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pymavlink.dialects.v20 import ardupilotmega as mavlink

from missions.items import MissionItem
from sim.copter import Event

if TYPE_CHECKING:  # pragma: no cover
    from sim.vehicle import Vehicle

MAV_CMD_NAV_LAST = 95
# Commands AP_Mission verifies itself (no MISSION_ITEM_REACHED).
_SELF_VERIFIED = frozenset({211, 183, 181, 184, 182, 202, 203, 206, 208, 215})
# DO commands copter's verify_command completes at once (with MISSION_ITEM_REACHED).
_DO_COMPLETE = frozenset({178, 179, 195, 197, 201, 205, 222, 207, 42600, 189, 188})
_TYPE_NAMES = {
    16: "WP",
    17: "LoitUnlim",
    18: "LoitTurns",
    19: "LoitTime",
    20: "RTL",
    21: "Land",
    22: "Takeoff",
    82: "SplineWP",
    93: "NavDelay",
    112: "CondDelay",
    114: "CondDist",
    115: "CondYaw",
    177: "Jump",
    178: "ChangeSpeed",
    179: "SetHome",
    183: "SetServo",
    181: "SetRelay",
    189: "LandStart",
    201: "SetROI",
    202: "DigiCamCfg",
    203: "DigiCamCtrl",
    205: "MountControl",
    206: "SetCamTrigDst",
    207: "FenceEnable",
}


def is_nav_cmd(command: int) -> bool:
    """True for navigation commands (AP_Mission::is_nav_cmd)."""
    return command <= MAV_CMD_NAV_LAST or command == mavlink.MAV_CMD_NAV_SET_YAW_SPEED


class MissionExecutor:
    """AP_Mission's state machine bound to one :class:`~sim.vehicle.Vehicle`.

    Attributes:
        state: STOPPED, RUNNING or COMPLETE.
        nav_index: Seq of the current navigation command (None before the first).
        waiting_to_start: Set on entering AUTO; the mission starts or resumes on the next update.
    """

    STOPPED, RUNNING, COMPLETE = 0, 1, 2

    def __init__(self, vehicle: Vehicle) -> None:
        self.v = vehicle
        self.state = self.STOPPED
        self.nav_index: int | None = None
        self.nav_cmd: MissionItem | None = None
        self.nav_loaded = False
        self.do_index: int | None = None
        self.do_cmd: MissionItem | None = None
        self.do_loaded = False
        self.do_all_done = False
        self.jumps: dict[int, int] = {}
        self.waiting_to_start = False
        self.force_resume = False
        self.in_rtl = False
        self._reached_at: float | None = None
        self._hold = 0.0
        self._timer_start = 0.0
        self._seen_version = -1
        self._takeoff_needs_throttle = False
        self._last_current: int | None = None

    # ------------------------------------------------------------------ list access
    @property
    def items(self) -> list[MissionItem]:
        """The stored mission (index = seq, 0 = home)."""
        return self.v.lists.mission

    @property
    def total(self) -> int:
        """Number of stored items including home."""
        return len(self.items)

    @property
    def current_seq(self) -> int:
        """MISSION_CURRENT.seq: the current navigation command, 0 before any and after the end
        (ArduCopter 4.7 reads seq 0 with mission_state COMPLETE once the mission has ended)."""
        if self.state == self.COMPLETE:
            return 0
        return self.nav_index or 0

    @property
    def mission_state(self) -> int:
        """MISSION_CURRENT.mission_state (MISSION_STATE enum)."""
        if self.total <= 1:
            return mavlink.MISSION_STATE_NO_MISSION
        if self.state == self.RUNNING:
            return mavlink.MISSION_STATE_ACTIVE
        if self.state == self.COMPLETE:
            return mavlink.MISSION_STATE_COMPLETE
        return (
            mavlink.MISSION_STATE_NOT_STARTED
            if self.nav_index is None
            else mavlink.MISSION_STATE_PAUSED
        )

    def _notify_current(self) -> None:
        if self.nav_index != self._last_current:
            self._last_current = self.nav_index
            self.v.events.append(Event("current"))

    # ------------------------------------------------------------------ AP_Mission public methods
    def enter_auto(self) -> None:
        """Called when the vehicle switches to AUTO (ModeAuto::init)."""
        self.waiting_to_start = True
        self.in_rtl = False
        self._seen_version = self.v.lists.mission_version

    def start(self) -> None:
        """Restart from the first item."""
        self.state = self.RUNNING
        self.reset()
        if not self.advance_nav():
            self.complete()

    def stop(self) -> None:
        """Stop (leaving AUTO); resume() continues with the same navigation command."""
        self.state = self.STOPPED

    def resume(self) -> None:
        """Continue where the mission stopped, restarting the interrupted command."""
        if self.state == self.COMPLETE:
            self.start()
            return
        if self.state == self.STOPPED:
            self.state = self.RUNNING
            if self.nav_index is None:
                self.start()
                return
        if self.nav_index is None or self.nav_index >= self.total:
            self.start()
            return
        if self.do_loaded and self.do_index is not None:
            self.set_current(self.do_index)
        elif self.nav_loaded:
            self.set_current(self.nav_index)

    def start_or_resume(self) -> None:
        """MIS_RESTART = 1 restarts, 0 resumes."""
        if int(self.v.params["MIS_RESTART"]) == 1 and not self.force_resume:
            self.start()
        else:
            self.resume()
            self.force_resume = False

    def reset(self) -> None:
        """Forget progress and jump counters."""
        self.nav_loaded = self.do_loaded = self.do_all_done = False
        self.nav_index = self.do_index = None
        self.nav_cmd = self.do_cmd = None
        self.jumps = {}
        self._notify_current()

    def complete(self) -> None:
        """Mission finished: loiter in the air, disarm on the ground (ModeAuto::exit_mission)."""
        self.state = self.COMPLETE
        self.v.events.append(Event("current"))  # MISSION_CURRENT seq 0, state COMPLETE
        if self.v.mode != 3:
            return
        if not self.v.land_complete:
            self.in_rtl = False
            self.v.nav_hold()
        else:
            self.v._disarm()

    def set_current(self, index: int) -> bool:
        """MISSION_SET_CURRENT / DO_SET_MISSION_CURRENT (AP_Mission::set_current_cmd).

        Returns:
            False when ``index`` is beyond the mission or the mission is empty.
        """
        if index >= self.total or self.total == 1:
            return False
        self.do_index = None
        self.do_loaded = False
        self.do_all_done = False
        self.nav_loaded = False
        if index == 0 or self.state == self.COMPLETE:
            self.jumps = {}
            index = max(1, index)
        if self.state != self.RUNNING:
            while not self.nav_loaded:
                cmd = self.get_next_cmd(index, increment=True)
                if cmd is None:
                    self.nav_index = None
                    self._notify_current()
                    return False
                if is_nav_cmd(cmd.command):
                    self.nav_cmd, self.nav_index, self.nav_loaded = cmd, cmd.seq, True
                elif not self.do_loaded:
                    self.do_cmd, self.do_index, self.do_loaded = cmd, cmd.seq, True
                index = cmd.seq + 1
            if not self.do_loaded:
                self.do_all_done = True
            self.state = self.STOPPED
            self._notify_current()
            return True
        if not self.advance_nav(index):
            self.complete()
            return False
        return True

    def starts_with_takeoff_cmd(self) -> bool:
        """True when the next navigation command is a takeoff (AP_Mission::starts_with_takeoff_cmd)."""
        restart = int(self.v.params["MIS_RESTART"]) == 1
        index = None if restart else self.nav_index
        if index is None:
            index = 1
        for _ in range(16):
            cmd = self.get_next_nav_cmd(index)
            if cmd is None:
                return False
            if cmd.command == mavlink.MAV_CMD_NAV_TAKEOFF:
                return True
            if cmd.command != mavlink.MAV_CMD_NAV_DELAY:
                return False
            index = cmd.seq + 1
        return False

    # ------------------------------------------------------------------ command search
    def get_next_cmd(self, start: int, increment: bool) -> MissionItem | None:
        """Next non-jump command at or after ``start``, following DO_JUMPs."""
        index, jump_index, loops = start, None, 64
        while index < self.total:
            cmd = self.items[index]
            if cmd.command != mavlink.MAV_CMD_DO_JUMP:
                return cmd
            loops -= 1
            if loops < 0:
                return None
            target, times = int(cmd.param1), int(cmd.param2)
            if target >= self.total or target == 0:
                return None
            if not increment and jump_index == index:
                return None
            if jump_index is None:
                jump_index = index
            if times == -1:
                index = target
                continue
            run = self.jumps.get(index, 0)
            if run < times:
                if increment:
                    self.jumps[index] = run + 1
                    self.v.text(6, f"Mission: {index} Jump {run + 1}/{times}")
                index = target
            else:
                index += 1
        return None

    def get_next_nav_cmd(self, start: int) -> MissionItem | None:
        """Next navigation command at or after ``start`` (no jump counting)."""
        index = start
        while index < self.total:
            cmd = self.get_next_cmd(index, increment=False)
            if cmd is None:
                return None
            if is_nav_cmd(cmd.command):
                return cmd
            index = cmd.seq + 1
        return None

    def advance_nav(self, starting_index: int = 0) -> bool:
        """Load and start the next navigation command (AP_Mission::advance_current_nav_cmd)."""
        if self.state != self.RUNNING or self.nav_loaded:
            return False
        self.do_index = None
        self.do_loaded = False
        self.do_all_done = False
        index = starting_index - 1 if starting_index > 0 else self.nav_index
        index = 1 if index is None else index + 1
        loops = 255
        while not self.nav_loaded:
            cmd = self.get_next_cmd(index, increment=True)
            if cmd is None:
                return False
            if is_nav_cmd(cmd.command):
                self.nav_cmd, self.nav_index = cmd, cmd.seq
                self._notify_current()
                if self.start_command(cmd):
                    self.nav_loaded = True
            elif not self.do_loaded:
                self.do_cmd, self.do_index, self.do_loaded = cmd, cmd.seq, True
                self.start_command(cmd)
            else:
                loops -= 1
                if loops <= 0:
                    return False
            index = cmd.seq + 1
        if not self.do_loaded:
            self.do_all_done = True
        return True

    def advance_do(self) -> None:
        """Start the next do/condition command before the next navigation command."""
        if self.state != self.RUNNING or self.do_all_done:
            return
        index = 1 if self.do_index is None else self.do_index + 1
        cmd = None
        if index < self.total:
            cmd = self.get_next_cmd(index, increment=False)
        if cmd is None or is_nav_cmd(cmd.command):
            self.do_all_done = True
            return
        self.do_cmd, self.do_index, self.do_loaded = cmd, cmd.seq, True
        self.start_command(cmd)

    # ------------------------------------------------------------------ update
    def update(self) -> None:
        """Run the mission one step (AP_Mission::update, called from the vehicle step in AUTO)."""
        v = self.v
        if self.waiting_to_start:
            if not v.ekf_ready:
                return
            self.waiting_to_start = False
            self.start_or_resume()
            self._seen_version = v.lists.mission_version
        elif v.lists.mission_version != self._seen_version:
            self._seen_version = v.lists.mission_version
            if (
                self.state == self.RUNNING
                and self.nav_cmd is not None
                and self.nav_cmd.command in (16, 82)
                and self.nav_index is not None
                and self.nav_index < self.total
            ):
                self.nav_loaded = False
                if self.advance_nav(self.nav_index):
                    v.text(2, "Auto mission changed, restarted command")
                else:
                    v.text(2, "Auto mission changed but failed to restart command")
                    self.complete()
                    return
        if self.state != self.RUNNING or self.total == 0:
            return
        if not self.nav_loaded or self.nav_index is None:
            if not self.advance_nav():
                self.complete()
                return
        elif self.verify(self.nav_cmd):
            self.nav_loaded = False
            if not self.advance_nav():
                self.complete()
                return
        if not self.do_loaded:
            self.advance_do()
        elif self.do_cmd is not None and self.verify(self.do_cmd):
            self.do_loaded = False

    # ------------------------------------------------------------------ start / verify
    def _location(self, cmd: MissionItem) -> tuple[float, float, float]:
        """Local target of a positional command; 0,0 means "here" and alt 0 "current altitude"."""
        v = self.v
        if cmd.x == 0.0 and cmd.y == 0.0:
            tx, ty = v._target_xy if v._target_xy is not None else (v.x, v.y)
        else:
            tx, ty = v.local_of(cmd.x, cmd.y)
        if cmd.z == 0.0 and cmd.frame != 0:
            tz = v._target_z if v._target_z is not None else v.z
        else:
            tz = v.z_of_alt(cmd.z, cmd.frame)
        return tx, ty, tz

    def start_command(self, cmd: MissionItem) -> bool:
        """Start a command; False means "cannot run it", and the mission moves on."""
        v = self.v
        c = int(cmd.command)
        v.text(6, f"Mission: {cmd.seq} {_TYPE_NAMES.get(c, str(c))}")
        self._reached_at = None
        self._timer_start = v.t
        if c in _SELF_VERIFIED:
            return True
        if c == mavlink.MAV_CMD_NAV_TAKEOFF:
            self.in_rtl = False
            self._takeoff_needs_throttle = False
            if v.landed and not int(v.params["AUTO_OPTIONS"]) & 2:
                # ArduCopter waits for the pilot to raise the throttle before an AUTO take-off
                # from the ground (AUTO_OPTIONS bit 1 skips that): a GCS-only vehicle stays on
                # the ground at minimum throttle and disarms after DISARM_DELAY (measured, 4.7).
                self._takeoff_needs_throttle = True
                v.nav_goto(v.x, v.y, v.z)
                return True
            _, _, tz = self._location(cmd)
            if cmd.z == 0.0:
                tz = v.z
            if v.landed:
                tz = max(tz, v.z + 1.0)
            v.nav_takeoff(tz)
            return True
        if c in (16, 82, 17, 18, 19):
            self.in_rtl = False
            tx, ty, tz = self._location(cmd)
            v.nav_goto(tx, ty, tz)
            if v.params["WP_YAW_BEHAVIOR"] != 0:
                v.set_yaw_target(None)
            return True
        if c == mavlink.MAV_CMD_NAV_LAND:
            self.in_rtl = False
            if cmd.x == 0.0 and cmd.y == 0.0:
                v.nav_land(None)
            else:
                v.nav_land(v.local_of(cmd.x, cmd.y))
            return True
        if c == mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            self.in_rtl = True
            v.rtl_start()
            return True
        if c == mavlink.MAV_CMD_CONDITION_DELAY or c == mavlink.MAV_CMD_CONDITION_DISTANCE:
            return True
        if c == mavlink.MAV_CMD_CONDITION_YAW:
            angle, rate, direction, relative = cmd.param1, cmd.param2, cmd.param3, cmd.param4
            if relative:
                angle = v.yaw_deg + (angle if direction >= 0 else -angle)
            v.set_yaw_target(angle, rate)
            return True
        if c == mavlink.MAV_CMD_DO_CHANGE_SPEED:
            return v.change_speed(int(cmd.param1), cmd.param2)
        if c == mavlink.MAV_CMD_DO_SET_HOME:
            if cmd.param1 == 1 or (cmd.x == 0.0 and cmd.y == 0.0):
                lat, lon = v.lat_lon()
                v.set_home(lat, lon, v.alt_amsl_m)
            else:
                alt = v.z_of_alt(cmd.z, cmd.frame) + v.origin_alt_m
                v.set_home(cmd.x, cmd.y, alt)
            return True
        if c == mavlink.MAV_CMD_DO_MOUNT_CONTROL:
            v.gimbal_pitch_deg = max(-90.0, min(30.0, cmd.param1))
            return True
        if c == mavlink.MAV_CMD_DO_FENCE_ENABLE:
            v.enable_fence(cmd.param1 >= 1)
            return True
        if c in _DO_COMPLETE:
            return True
        if is_nav_cmd(c):
            v.text(4, f"Skipping unsupported cmd #{c}")
        return False

    def verify(self, cmd: MissionItem | None) -> bool:
        """Has the command completed? Sends MISSION_ITEM_REACHED when it has."""
        if cmd is None:
            return True
        c = int(cmd.command)
        if c in _SELF_VERIFIED:
            return True
        v = self.v
        if v.mode != 3:
            return False
        done = False
        if c == mavlink.MAV_CMD_NAV_TAKEOFF:
            done = (
                not self._takeoff_needs_throttle
                and v.armed
                and v._target_z is not None
                and v.z >= v._target_z - 0.1
            )
        elif c in (16, 82, 19, 18):
            if v.armed and not v.landed and v.reached_target():
                if self._reached_at is None:
                    self._reached_at = v.t
                    hold = cmd.param1 if c in (16, 82, 19) else 0.0
                    if c == 18:
                        hold = cmd.param1 * 2 * math.pi * max(1.0, abs(cmd.param3)) / v.wp_speed
                    if hold > 0 and c in (16, 82):
                        v.text(6, f"Delay {hold:.1f} sec")
                    self._hold = hold
                if v.t - self._reached_at >= self._hold:
                    done = True
                    if c in (16, 82):
                        v.text(6, f"Reached command #{cmd.seq}")
        elif c == mavlink.MAV_CMD_NAV_LOITER_UNLIM:
            done = False
        elif c == mavlink.MAV_CMD_NAV_LAND:
            done = v.land_complete and v._landing
        elif c == mavlink.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            if v.armed:
                v._rtl_update()
            done = v.rtl_complete
        elif c == mavlink.MAV_CMD_CONDITION_DELAY:
            done = v.t - self._timer_start >= cmd.param1
        elif c == mavlink.MAV_CMD_CONDITION_DISTANCE:
            done = v.distance_to_target() <= cmd.param1
        elif c == mavlink.MAV_CMD_CONDITION_YAW:
            done = v.yaw_error_deg() <= 2.0
        elif c in _DO_COMPLETE or c == mavlink.MAV_CMD_DO_SET_HOME:
            done = True
        else:
            v.text(4, f"Skipping invalid cmd #{c}")
            done = True
        if done:
            v.events.append(Event("reached", seq=cmd.seq))
        return done
