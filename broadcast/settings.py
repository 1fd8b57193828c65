"""Settings of the loudspeaker reminders (config section ``broadcast``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from missions.settings import StrictModel


class BroadcastSettings(StrictModel):
    """Voice reminders: language, voices, output device, cooldowns."""

    enabled: bool = True
    languages: list[Literal["zh", "en"]] = Field(default_factory=lambda: ["zh", "en"])
    """Languages spoken for each reminder, in order (one language per utterance)."""
    device: str | int | None = None
    """Output device (name or index) wired to the loudspeaker transmitter; None = default."""
    volume: float = Field(default=1.0, ge=0, le=1)
    chime: bool = True
    cooldown_place_m: float = Field(default=30.0, ge=0)
    cooldown_s: float = Field(default=60.0, ge=0)
    max_age_s: float = Field(default=20.0, gt=0)
    repeat: int = Field(default=1, ge=1)
