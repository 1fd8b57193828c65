"""WAV helpers: read and write 16-bit PCM, loudness, the chime played before speech.

Audio is handled as mono ``int16`` numpy arrays with a sample rate in Hz; espeak-ng (through
pyttsx3) writes RIFF mono 22050 Hz 16-bit (``../shared/notes/audio.md``).
"""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np

from missions.errors import InputError


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read a 16-bit PCM WAV file.

    Args:
        path: RIFF/WAVE file, PCM 16-bit, any number of channels.

    Returns:
        ``(samples, rate_hz)``: ``int16`` array of shape ``(frames,)`` for mono or
        ``(frames, channels)`` otherwise.

    Raises:
        missions.errors.InputError: Missing file, not a WAV file, or not 16-bit PCM.
    """
    p = Path(path)
    try:
        with wave.open(str(p), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            data = w.readframes(w.getnframes())
    except FileNotFoundError:
        raise InputError(f"{p}: WAV file not found") from None
    except (wave.Error, EOFError, OSError) as exc:
        raise InputError(f"{p}: not a readable WAV file: {exc}") from None
    if width != 2:
        raise InputError(f"{p}: expected 16-bit PCM, got {8 * width}-bit samples")
    samples = np.frombuffer(data, dtype="<i2").astype(np.int16)
    if channels > 1:
        samples = samples[: len(samples) - len(samples) % channels].reshape(-1, channels)
    return samples, rate


def write_wav(path: str | os.PathLike, samples: np.ndarray, rate_hz: int) -> Path:
    """Write ``int16`` samples (mono ``(frames,)`` or ``(frames, channels)``) as a PCM WAV.

    The file is written to a temporary name and renamed, so a reader never sees half a file.

    Returns:
        The path written.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    s = np.asarray(samples, dtype=np.int16)
    channels = 1 if s.ndim == 1 else s.shape[1]
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(int(rate_hz))
        w.writeframes(s.astype("<i2").tobytes())
    os.replace(tmp, p)
    return p


def duration_s(samples: np.ndarray, rate_hz: int) -> float:
    """Duration of ``samples`` in seconds."""
    return float(len(samples)) / float(rate_hz)


def rms(samples: np.ndarray) -> float:
    """Root mean square of int16 samples, as a fraction of full scale (0..1)."""
    if len(samples) == 0:
        return 0.0
    x = np.asarray(samples, dtype=np.float64) / 32768.0
    return float(np.sqrt(np.mean(x * x)))


def chime(rate_hz: int, *, volume: float = 0.5) -> np.ndarray:
    """A two-tone attention chime (E6 then C6, 0.25 s each, soft attack/decay) plus 0.2 s silence.

    Args:
        rate_hz: Sample rate of the speech it precedes.
        volume: Peak amplitude as a fraction of full scale.

    Returns:
        ``int16`` mono samples, about 0.7 s.
    """
    tone_n = int(0.25 * rate_hz)
    t = np.arange(tone_n) / rate_hz
    env = np.minimum(1.0, t / 0.01) * np.exp(-4.0 * t)
    tones = [np.sin(2 * np.pi * f * t) * env for f in (1318.5, 1046.5)]
    gap = np.zeros(int(0.2 * rate_hz))
    x = np.concatenate([tones[0], tones[1], gap]) * volume * 32767
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def apply_volume(samples: np.ndarray, volume: float) -> np.ndarray:
    """Scale int16 samples by ``volume`` (0..1); 1.0 returns them unchanged (bit-exact)."""
    if volume >= 1.0:
        return np.asarray(samples, dtype=np.int16)
    x = np.asarray(samples, dtype=np.float64) * max(0.0, volume)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)
