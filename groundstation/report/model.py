"""What a flight log says, whatever it was read from: the :class:`FlightLog`.

Every loader (:mod:`~groundstation.report.tlog`, :mod:`~groundstation.report.dataflash`,
:mod:`~groundstation.report.recording`) fills the same structure, so that the summary, the
coverage, the plots and the HTML page do not care where the data came from.

Times are UNIX seconds of the log's clock (the ground station's clock for a tlog or a recording,
GPS time for a DataFlash log). Altitudes are metres above home; positions WGS-84 degrees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Track:
    """Vehicle positions in time order (arrays of equal length N).

    Attributes:
        t_s: (N,) UNIX seconds.
        lat_deg: (N,) latitude, degrees.
        lon_deg: (N,) longitude, degrees.
        alt_m: (N,) altitude above home, metres (GLOBAL_POSITION_INT.relative_alt,
            DataFlash POS.RelHomeAlt).
        yaw_deg: (N,) heading, degrees clockwise from north (NaN when unknown).
        vehicle_time_s: (N,) the autopilot's own clock (time since boot, seconds; NaN when
            unknown). Differs in rate from ``t_s`` on a sped-up simulator.
    """

    t_s: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    alt_m: np.ndarray
    yaw_deg: np.ndarray
    vehicle_time_s: np.ndarray

    @classmethod
    def empty(cls) -> Track:
        """A track with no samples."""
        z = np.zeros(0)
        return cls(z, z.copy(), z.copy(), z.copy(), z.copy(), z.copy())

    @classmethod
    def from_rows(cls, rows: list[tuple]) -> Track:
        """Build from ``(t_s, lat, lon, alt_m, yaw_deg, vehicle_time_s)`` rows, sorted by time."""
        if not rows:
            return cls.empty()
        a = np.array(rows, dtype=float).reshape(-1, 6)
        a = a[np.argsort(a[:, 0], kind="stable")]
        return cls(a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4], a[:, 5])

    def __len__(self) -> int:
        return len(self.t_s)

    def select(self, mask: np.ndarray) -> Track:
        """The samples where ``mask`` is true."""
        return Track(
            self.t_s[mask],
            self.lat_deg[mask],
            self.lon_deg[mask],
            self.alt_m[mask],
            self.yaw_deg[mask],
            self.vehicle_time_s[mask],
        )


@dataclass
class BatterySeries:
    """Battery samples in time order (arrays of equal length N; NaN where a field is unknown).

    Attributes:
        t_s: (N,) UNIX seconds.
        remaining_pct: (N,) remaining charge, percent (SYS_STATUS/BATTERY_STATUS
            battery_remaining, DataFlash BAT.RemPct).
        voltage_v: (N,) pack voltage, volts.
        consumed_mah: (N,) charge drawn since boot, mAh (BATTERY_STATUS.current_consumed,
            DataFlash BAT.CurrTot).
    """

    t_s: np.ndarray
    remaining_pct: np.ndarray
    voltage_v: np.ndarray
    consumed_mah: np.ndarray

    @classmethod
    def from_rows(cls, rows: list[tuple]) -> BatterySeries:
        """Build from ``(t_s, remaining_pct, voltage_v, consumed_mah)`` rows (None -> NaN)."""
        clean = [tuple(math.nan if v is None else float(v) for v in r) for r in rows]
        if not clean:
            z = np.zeros(0)
            return cls(z, z.copy(), z.copy(), z.copy())
        a = np.array(clean, dtype=float).reshape(-1, 4)
        a = a[np.argsort(a[:, 0], kind="stable")]
        return cls(a[:, 0], a[:, 1], a[:, 2], a[:, 3])

    def __len__(self) -> int:
        return len(self.t_s)


@dataclass(frozen=True)
class ModeChange:
    """The flight mode from ``t_s`` on (``AUTO``, ``GUIDED``, ``RTL``...; ArduCopter names)."""

    t_s: float
    mode: str


@dataclass(frozen=True)
class ArmChange:
    """The vehicle armed (True) or disarmed (False) at ``t_s``."""

    t_s: float
    armed: bool


@dataclass(frozen=True)
class LinkLoss:
    """A time without telemetry from the vehicle.

    Attributes:
        start_s: UNIX seconds of the last message before the silence (or the ``link_lost`` event).
        end_s: When telemetry came back; None when it never did before the log ended.
        source: How it was found: ``events`` (the recorder's link_lost/link_recovered),
            ``gap`` (no vehicle message for longer than the link-loss timeout in a tlog),
            ``failsafe`` (DataFlash ERR subsystem FAILSAFE_GCS).
    """

    start_s: float
    end_s: float | None
    source: str

    @property
    def duration_s(self) -> float | None:
        """Length of the loss, seconds; None while it never ended."""
        return None if self.end_s is None else max(0.0, self.end_s - self.start_s)


@dataclass(frozen=True)
class StatusMessage:
    """A text the autopilot sent (STATUSTEXT, DataFlash MSG) or an event of the recorder."""

    t_s: float
    text: str
    severity: str = "info"


@dataclass
class FlightLog:
    """One flight as read from a recording, a tlog or a DataFlash log.

    Attributes:
        source: The path that was read.
        kind: ``recording``, ``tlog`` or ``dataflash``.
        track: Positions.
        battery: Battery samples.
        modes: Flight mode changes, in time order (the first is the mode at the log start).
        arming: Arm/disarm changes, in time order.
        link_losses: Times without telemetry.
        messages: Autopilot texts and recorder events, in time order.
        home: ``(lat_deg, lon_deg, alt_m AMSL)`` of home when the log says (HOME_POSITION,
            DataFlash ORGN type 1, the recording manifest); else None.
        vehicle_type: ``copter``, ``plane``... when known.
        track_source: Which stream the track came from (``GLOBAL_POSITION_INT``, ``POS``,
            ``telemetry.jsonl``...).
        missing: What this input lacks or where it was cut, one human sentence each.
        notes: Other things the reader should know (clock ratio of a sped-up sim...).
        bytes_read: Bytes of the input that were usable (for truncated files).
        bytes_total: Size of the input.
    """

    source: str
    kind: str
    track: Track = field(default_factory=Track.empty)
    battery: BatterySeries = field(default_factory=lambda: BatterySeries.from_rows([]))
    modes: list[ModeChange] = field(default_factory=list)
    arming: list[ArmChange] = field(default_factory=list)
    link_losses: list[LinkLoss] = field(default_factory=list)
    messages: list[StatusMessage] = field(default_factory=list)
    home: tuple[float, float, float] | None = None
    vehicle_type: str | None = None
    track_source: str = ""
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    bytes_read: int | None = None
    bytes_total: int | None = None

    @property
    def start_s(self) -> float | None:
        """First time anything happened in the log (None for an empty log)."""
        times = self._times()
        return min(times) if times else None

    @property
    def end_s(self) -> float | None:
        """Last time anything happened in the log."""
        times = self._times()
        return max(times) if times else None

    def _times(self) -> list[float]:
        out: list[float] = []
        for arr in (self.track.t_s, self.battery.t_s):
            if len(arr):
                out += [float(arr[0]), float(arr[-1])]
        for seq in (self.modes, self.arming, self.messages):
            if seq:
                out += [seq[0].t_s, seq[-1].t_s]
        return out

    def mode_at(self, t_s: np.ndarray) -> np.ndarray:
        """Flight mode at each time (object array of str; ``""`` before the first mode)."""
        t = np.asarray(t_s, float)
        out = np.full(t.shape, "", dtype=object)
        if not self.modes:
            return out
        starts = np.array([m.t_s for m in self.modes])
        names = np.array([m.mode for m in self.modes], dtype=object)
        idx = np.searchsorted(starts, t, side="right") - 1
        ok = idx >= 0
        out[ok] = names[idx[ok]]
        return out

    def armed_at(self, t_s: np.ndarray) -> np.ndarray:
        """Armed state at each time (bool array). Unknown (no arming data) counts as armed."""
        t = np.asarray(t_s, float)
        if not self.arming:
            return np.ones(t.shape, bool)
        starts = np.array([a.t_s for a in self.arming])
        states = np.array([a.armed for a in self.arming], bool)
        idx = np.searchsorted(starts, t, side="right") - 1
        out = np.zeros(t.shape, bool)
        ok = idx >= 0
        out[ok] = states[idx[ok]]
        # before the first change the state is the opposite of that change
        out[~ok] = not states[0]
        return out

    def home_or_first_fix(self) -> tuple[float, float] | None:
        """Home ``(lat, lon)``: the logged home, else the first position while armed, else first."""
        if self.home is not None:
            return self.home[0], self.home[1]
        if not len(self.track):
            return None
        armed = self.armed_at(self.track.t_s)
        i = int(np.argmax(armed)) if armed.any() else 0
        return float(self.track.lat_deg[i]), float(self.track.lon_deg[i])


def add_mode(modes: list[ModeChange], t_s: float, mode: str) -> None:
    """Append a mode change unless the mode is the current one."""
    if not modes or modes[-1].mode != mode:
        modes.append(ModeChange(float(t_s), mode))


def add_arming(arming: list[ArmChange], t_s: float, armed: bool) -> None:
    """Append an arm/disarm change unless the state is the current one."""
    if not arming or arming[-1].armed != bool(armed):
        arming.append(ArmChange(float(t_s), bool(armed)))
