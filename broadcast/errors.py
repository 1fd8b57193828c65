"""Errors of the loudspeaker reminders (one line each, see :mod:`missions.errors`)."""

from __future__ import annotations

from missions.errors import DronePatrolError


class SpeechError(DronePatrolError):
    """Speech synthesis is impossible or failed.

    Raised when espeak-ng (``libespeak-ng.so.1``) is missing, a configured voice is absent, a voice
    change is refused, or one synthesis fails or times out. The message names the voice/language.
    """


class AudioDeviceError(DronePatrolError):
    """The requested output device does not exist or cannot play (the message lists the outputs)."""
