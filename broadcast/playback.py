"""Playback of reminders through sounddevice (PortAudio) to the loudspeaker's output device.

:class:`Player` plays a WAV (optionally after a chime, at a volume) on the configured output
device, by name or index: the device wired to the drone's loudspeaker transmitter. Playback runs
on PortAudio's own thread: :meth:`Player.play` returns a :class:`Playback` handle at once, so the
caller's loop never blocks; :meth:`Playback.wait` waits (with a timeout) when the caller wants to.

With no output device (no sound card: ``query_devices()`` is empty and PortAudio's ``play()``
raises ``Error querying device -1``, ``../shared/notes/audio.md``) the player logs one clear
warning and every playback ends at once with ``played=False``: the audio is still kept for the
flight recording by the caller.

``sounddevice`` is imported on first use, never at import time, so that a test can point ALSA at
a file sink (``ALSA_CONFIG_PATH``, see :mod:`broadcast.testing`) before PortAudio starts.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from broadcast.audio import apply_volume, chime, duration_s, read_wav
from broadcast.errors import AudioDeviceError

log = logging.getLogger(__name__)


@dataclass
class PlaybackResult:
    """What happened to one playback.

    Attributes:
        played: True when the audio went to an output device to the end.
        device: Name of the output device, or None when there was none.
        duration_s: Length of the audio, seconds (chime included).
        started_s: ``time.monotonic()`` when the stream started, or None.
        error: Why it was not played (one line), or None.
    """

    played: bool
    device: str | None
    duration_s: float
    started_s: float | None = None
    error: str | None = None


@dataclass
class Playback:
    """Handle of one playback started by :meth:`Player.play`.

    Attributes:
        samples: The ``int16`` mono samples sent to the device (chime and volume applied).
        rate_hz: Their sample rate.
        done: Set when the playback has ended (played, failed or stopped).
    """

    samples: np.ndarray
    rate_hz: int
    done: threading.Event = field(default_factory=threading.Event)
    result: PlaybackResult | None = None
    _stream: object | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, timeout_s: float | None = None) -> PlaybackResult:
        """Wait until the playback ends; stop it after ``timeout_s``.

        Args:
            timeout_s: Longest wait; default the audio duration plus 10 s (machines under load
                and Bluetooth/USB latency). On timeout the stream is aborted.

        Returns:
            The :class:`PlaybackResult`.
        """
        limit = timeout_s if timeout_s is not None else duration_s(self.samples, self.rate_hz) + 10
        if not self.done.wait(max(0.0, limit)):
            self.stop(error=f"playback did not end within {limit:.1f} s: aborted")
        self._close()
        assert self.result is not None
        return self.result

    def stop(self, error: str = "stopped") -> None:
        """Abort the playback now (the result says ``played=False`` with ``error``)."""
        with self._lock:
            if self.done.is_set():
                return
            stream, self._stream = self._stream, None
            r = self.result
            self.result = PlaybackResult(
                False, r.device if r else None, r.duration_s if r else 0.0, None, error
            )
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception:
                pass
        self.done.set()

    def _close(self) -> None:
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except Exception as exc:
                log.debug("closing the output stream: %s", exc)


_SD = None
_SD_ERROR: str | None = None


def _sounddevice():
    """The sounddevice module, or None (with the reason in ``_SD_ERROR``) when PortAudio is absent."""
    global _SD, _SD_ERROR
    if _SD is None and _SD_ERROR is None:
        try:
            import sounddevice

            _SD = sounddevice
        except (OSError, ImportError) as exc:
            _SD_ERROR = f"PortAudio is not available ({exc}); install libportaudio2"
    return _SD


def list_devices() -> list[dict]:
    """Output devices PortAudio sees.

    Returns:
        One dict per output device: ``index``, ``name``, ``hostapi``, ``channels``,
        ``default_samplerate``, ``default`` (the system default output). Empty without PortAudio
        or a sound card.
    """
    sd = _sounddevice()
    if sd is None:
        return []
    try:
        devices = sd.query_devices()
        default_out = sd.default.device[1]
        apis = sd.query_hostapis()
    except Exception as exc:
        log.debug("query_devices failed: %s", exc)
        return []
    out = []
    for d in devices:
        if d["max_output_channels"] <= 0:
            continue
        out.append(
            {
                "index": d["index"],
                "name": d["name"],
                "hostapi": apis[d["hostapi"]]["name"],
                "channels": d["max_output_channels"],
                "default_samplerate": d["default_samplerate"],
                "default": d["index"] == default_out,
            }
        )
    return out


class Player:
    """Plays WAVs on one output device, never blocking the caller.

    Args:
        device: Output device name (a unique substring, as sounddevice matches it) or index;
            None = the system default output.
        volume: 0..1, applied to the samples (1.0 leaves them bit-exact).
        chime: Play a short two-tone chime before each :meth:`play` (unless told otherwise).
        log_failures: Log one warning per reason when audio cannot be played (no output device,
            stream refused). False for a caller that reports :attr:`PlaybackResult.error`
            itself, such as ``dronepatrol say``, so the user reads the problem once.

    Example:
        >>> player = Player(device="USB Audio", volume=0.8)     # doctest: +SKIP
        >>> result = player.play("reminder.wav").wait()
        >>> result.played
        True
    """

    def __init__(
        self,
        device: str | int | None = None,
        volume: float = 1.0,
        chime: bool = True,
        *,
        log_failures: bool = True,
    ) -> None:
        if not 0.0 <= float(volume) <= 1.0:
            raise ValueError(f"volume must be within 0..1, got {volume}")
        self.device = device
        self.volume = float(volume)
        self.chime = bool(chime)
        self.log_failures = bool(log_failures)
        self._lock = threading.Lock()
        self._current: Playback | None = None
        self._warned: str | None = None

    # -- devices -----------------------------------------------------------------------------
    def resolve(self) -> tuple[int, str]:
        """The output device ``(index, name)`` this player uses.

        Raises:
            AudioDeviceError: No PortAudio, no output device at all, or the configured one is
                absent/ambiguous; one line listing the outputs there are.
        """
        sd = _sounddevice()
        if sd is None:
            raise AudioDeviceError(_SD_ERROR or "PortAudio is not available")
        outputs = list_devices()
        names = ", ".join(f"{d['index']}: {d['name']}" for d in outputs) or "none"
        if not outputs:
            raise AudioDeviceError("no audio output device (no sound card or sound server)")
        spec = self.device
        if spec is None:
            default = next((d for d in outputs if d["default"]), outputs[0])
            return int(default["index"]), str(default["name"])
        if isinstance(spec, str) and spec.strip().isdigit():
            spec = int(spec)
        try:
            info = sd.query_devices(spec, "output")
        except (ValueError, sd.PortAudioError) as exc:
            reason = str(exc).splitlines()[0]
            raise AudioDeviceError(
                f"output device {spec!r} not usable ({reason}); outputs: {names}"
            ) from None
        if info["max_output_channels"] <= 0:
            raise AudioDeviceError(f"device {spec!r} has no output channels; outputs: {names}")
        return int(info["index"]), str(info["name"])

    def check(self) -> str:
        """Verify the output device now (for start-up and the CLI); returns its name.

        Raises:
            AudioDeviceError: See :meth:`resolve`.
        """
        return self.resolve()[1]

    @property
    def available(self) -> bool:
        """True when the configured output device exists."""
        try:
            self.resolve()
        except AudioDeviceError:
            return False
        return True

    # -- playback ----------------------------------------------------------------------------
    def render(
        self, wav: str | os.PathLike | np.ndarray, rate_hz: int | None = None, *, chime_first=None
    ) -> tuple[np.ndarray, int]:
        """The exact samples :meth:`play` sends to the device: chime + audio at the volume.

        Args:
            wav: A WAV path, or mono ``int16`` samples with ``rate_hz``.
            rate_hz: Sample rate of ``wav`` when it is an array.
            chime_first: Override the player's ``chime`` setting for this call.

        Returns:
            ``(samples, rate_hz)``, mono ``int16``.
        """
        if isinstance(wav, np.ndarray):
            if rate_hz is None:
                raise ValueError("rate_hz is required with a sample array")
            samples, rate = np.asarray(wav, dtype=np.int16), int(rate_hz)
        else:
            samples, rate = read_wav(Path(wav))
        if samples.ndim > 1:
            samples = samples.mean(axis=1).round().astype(np.int16)
        use_chime = self.chime if chime_first is None else bool(chime_first)
        if use_chime:
            samples = np.concatenate([chime(rate), samples])
        return apply_volume(samples, self.volume), rate

    def play(
        self,
        wav: str | os.PathLike | np.ndarray,
        rate_hz: int | None = None,
        *,
        chime_first: bool | None = None,
    ) -> Playback:
        """Start playing and return at once (stops a playback still running on this player).

        Args:
            wav: A WAV path, or ``int16`` samples with ``rate_hz``.
            rate_hz: Sample rate of an array.
            chime_first: Override the player's ``chime`` setting for this call.

        Returns:
            A :class:`Playback`; ``.done`` is set and ``.result.played`` is False at once when
            there is no usable output device (logged once as a warning unless
            ``log_failures`` is False; the reason is in ``result.error`` either way).
        """
        samples, rate = self.render(wav, rate_hz, chime_first=chime_first)
        pb = Playback(samples, rate)
        dur = duration_s(samples, rate)
        with self._lock:
            if self._current is not None:
                self._current.stop("interrupted by a new playback")
                self._current._close()
            self._current = pb
            try:
                index, name = self.resolve()
            except AudioDeviceError as exc:
                self._warn_once(str(exc))
                pb.result = PlaybackResult(False, None, dur, None, str(exc))
                pb.done.set()
                return pb
            pb.result = PlaybackResult(False, name, dur)
            try:
                self._start_stream(pb, index, name)
            except Exception as exc:
                msg = f"cannot play on {name!r}: {str(exc).splitlines()[0]}"
                self._warn_once(msg)
                pb.result = PlaybackResult(False, name, dur, None, msg)
                pb.done.set()
        return pb

    def stop(self) -> None:
        """Abort the current playback, if any."""
        with self._lock:
            pb, self._current = self._current, None
        if pb is not None:
            pb.stop()
            pb._close()

    def close(self) -> None:
        """Stop playing and release the output stream."""
        self.stop()

    # -- internals ---------------------------------------------------------------------------
    def _warn_once(self, msg: str) -> None:
        if self.log_failures and self._warned != msg:
            log.warning("%s: reminders are recorded but not played", msg)
            self._warned = msg

    def _start_stream(self, pb: Playback, index: int, name: str) -> None:
        sd = _sounddevice()
        data, rate, channels = pb.samples, pb.rate_hz, 1
        try:  # the WAV's own rate and mono: bit-exact when the device accepts them
            sd.check_output_settings(device=index, samplerate=rate, channels=1, dtype="int16")
        except sd.PortAudioError:  # the device forces its rate and/or a channel count
            info = sd.query_devices(index, "output")
            rate = int(info["default_samplerate"])
            data = _resample(data, pb.rate_hz, rate)
            try:
                sd.check_output_settings(device=index, samplerate=rate, channels=1, dtype="int16")
            except sd.PortAudioError:
                channels = 2
            log.info("device %r plays at %d Hz, %d channel(s): resampled", name, rate, channels)
        frames = data.reshape(-1, 1) if channels == 1 else np.repeat(data.reshape(-1, 1), 2, 1)
        pos = 0

        def callback(outdata, n, _time, _status) -> None:
            """PortAudio callback: copy the next ``n`` frames; zero-fill and stop at the end."""
            nonlocal pos
            chunk = frames[pos : pos + n]
            outdata[: len(chunk)] = chunk
            if len(chunk) < n:
                outdata[len(chunk) :] = 0
                pos += len(chunk)
                raise sd.CallbackStop
            pos += n

        def finished() -> None:
            """PortAudio finished callback: record whether every frame played; signal done."""
            with pb._lock:
                if pb.result is not None and pb.result.error is None:
                    pb.result.played = pos >= len(frames)
                    if not pb.result.played:
                        pb.result.error = "playback ended early"
            pb.done.set()

        stream = sd.OutputStream(
            samplerate=rate,
            device=index,
            channels=channels,
            dtype="int16",
            callback=callback,
            finished_callback=finished,
        )
        pb._stream = stream
        stream.start()
        assert pb.result is not None
        pb.result.started_s = time.monotonic()


def _resample(samples: np.ndarray, src_hz: int, dst_hz: int) -> np.ndarray:
    """Polyphase resampling of int16 mono audio (scipy.signal.resample_poly)."""
    if src_hz == dst_hz:
        return samples
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(src_hz), int(dst_hz))
    y = resample_poly(samples.astype(np.float64), dst_hz // g, src_hz // g)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)
