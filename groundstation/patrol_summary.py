"""What a patrol did: :class:`PatrolSummary` (printed at the end, the manifest's ``summary``).

Split out of :mod:`groundstation.patrol` (which re-exports both names).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class PatrolSummary:
    """What a patrol did (printed at the end, stored as the manifest's ``summary``).

    Attributes:
        end_reason: ``landed``, ``interrupted`` or ``error: ...``.
        sorties_planned, sorties_flown: Sortie counts (flown = took off).
        distance_m: Horizontal distance flown while armed, metres (from telemetry).
        flight_time_s: Time armed, vehicle clock, seconds.
        airborne_s: Flight time as ``dronepatrol report`` counts it: armed and more than 1 m
            above home, between consecutive telemetry samples, ground-station clock, seconds.
        wall_time_s: Wall-clock duration of the whole job, seconds.
        speedup: Vehicle time / wall time (the embedded simulator's speed-up, else 1).
        alerts_by_kind: Alert kind -> count.
        broadcasts: Utterances spoken (one per language and repeat).
        broadcasts_played: Of those, the ones that reached an output device.
        holds: Holds over a place (to confirm or to speak).
        frames: Video frames processed by detection.
        recording: The recording folder, or None.
        overlay_url: The live overlay's address, or None.
    """

    end_reason: str = "error"
    sorties_planned: int = 0
    sorties_flown: int = 0
    distance_m: float = 0.0
    flight_time_s: float = 0.0
    airborne_s: float = 0.0
    wall_time_s: float = 0.0
    speedup: float = 1.0
    alerts_by_kind: dict[str, int] = field(default_factory=dict)
    broadcasts: int = 0
    broadcasts_played: int = 0
    holds: int = 0
    frames: int = 0
    recording: str | None = None
    overlay_url: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict (the manifest's ``summary``)."""
        return asdict(self)

    def format(self) -> str:
        """The multi-line summary the CLI prints."""
        alerts = ", ".join(f"{k} {v}" for k, v in sorted(self.alerts_by_kind.items())) or "none"
        sim = f" (simulator at speed-up {self.speedup:g})" if self.speedup != 1 else ""
        lines = [
            f"patrol ended: {self.end_reason}",
            f"  sorties           {self.sorties_flown} of {self.sorties_planned} flown",
            f"  distance flown    {self.distance_m:,.0f} m",
            f"  flight time       {_duration(self.airborne_s)} airborne (armed, > 1 m above "
            "home), ground-station clock, as the report counts it"
            + (
                f"; {_duration(self.airborne_s * self.speedup)} on the vehicle clock"
                if self.speedup != 1
                else ""
            ),
            f"  time armed        {_duration(self.flight_time_s)}, vehicle clock",
            f"  patrol took       {_duration(self.wall_time_s)} wall-clock, start to end{sim}",
            f"  alerts            {alerts}",
            f"  reminders         {self.broadcasts} made, {self.broadcasts_played} played on the loudspeaker",
            f"  holds             {self.holds}",
            f"  frames analysed   {self.frames}",
        ]
        if self.recording:
            lines.append(f"  recording         {self.recording}")
        return "\n".join(lines)


def _duration(seconds: float) -> str:
    s = int(round(max(0.0, seconds)))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"
