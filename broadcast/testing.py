"""Test helpers: an ALSA file sink that records what the loudspeaker would have played.

A machine without a sound card (CI) has no output device. ALSA's ``file`` plugin gives it one: a
``default`` PCM that writes every stream to a WAV file and discards the sound
(``../shared/notes/audio.md``). PortAudio reads the ALSA configuration when ``sounddevice`` is
imported, so the environment must be set before that: run the code under test in a subprocess
with :func:`alsa_file_sink_env`.

Every stream opened on the sink gets a file of its own: ``played.wav``, then ``played.wav.0001``,
``played.wav.0002``... (``truncate false``); probing a device opens an empty one.
:func:`played_wavs` returns the non-empty ones in order. PortAudio writes some silence (its
buffer priming) before the audio: :func:`find_in` locates the expected samples, exactly.

Example:
    >>> env = alsa_file_sink_env(tmp_path)                       # doctest: +SKIP
    >>> subprocess.run([sys.executable, "-m", "groundstation.cli", "say", "你好", "--lang", "zh"],
    ...                env={**os.environ, **env}, check=True)
    >>> [(samples, rate)] = played_wavs(tmp_path)
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from broadcast.audio import read_wav

SYSTEM_ALSA_CONF = "/usr/share/alsa/alsa.conf"
PLAYED_NAME = "played.wav"


def alsa_file_sink_env(directory: str | os.PathLike, *, played_name: str = PLAYED_NAME) -> dict:
    """Write an ALSA config whose default output records to ``directory/played.wav``.

    Args:
        directory: Folder for ``alsa-file-sink.conf`` and the played WAVs (created).
        played_name: Base name of the played files.

    Returns:
        Environment variables to add to a subprocess's environment
        (``ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:DIR/alsa-file-sink.conf``). They must be
        in place before ``sounddevice`` is imported in that process.
    """
    d = Path(directory).resolve()
    d.mkdir(parents=True, exist_ok=True)
    played = d / played_name
    conf = d / "alsa-file-sink.conf"
    conf.write_text(
        "# ALSA default output = a WAV file per stream (dronepatrol tests)\n"
        "pcm.!default {\n"
        "    type file\n"
        '    slave.pcm "null"\n'
        f'    file "{played}"\n'
        '    format "wav"\n'
        "    truncate false\n"
        "}\n",
        encoding="utf-8",
    )
    return {"ALSA_CONFIG_PATH": f"{SYSTEM_ALSA_CONF}:{conf}"}


def alsa_no_device_env(directory: str | os.PathLike) -> dict:
    """Environment under which the ALSA default output is a sound card that does not exist.

    On a machine without sound card this leaves PortAudio with no output device at all, as in the
    field when the loudspeaker's USB adapter is unplugged. (Cards that do exist are still
    listed by PortAudio: check ``list_devices()`` before relying on it.) An empty ALSA config
    cannot be used: alsa-lib aborts the process.

    Returns:
        ``{"ALSA_CONFIG_PATH": ...}``; set it before ``sounddevice`` is imported.
    """
    d = Path(directory).resolve()
    d.mkdir(parents=True, exist_ok=True)
    conf = d / "alsa-no-device.conf"
    conf.write_text(
        "# default output = a card that does not exist (dronepatrol tests)\n"
        "pcm.!default { type hw card 99 }\n"
        "ctl.!default { type hw card 99 }\n",
        encoding="utf-8",
    )
    return {"ALSA_CONFIG_PATH": f"{SYSTEM_ALSA_CONF}:{conf}"}


def played_files(directory: str | os.PathLike, *, played_name: str = PLAYED_NAME) -> list[Path]:
    """The WAV files the sink wrote, in the order the streams were opened (empty ones skipped)."""
    d = Path(directory)
    pattern = re.compile(re.escape(played_name) + r"(?:\.(\d+))?$")
    found = []
    for p in d.iterdir():
        m = pattern.fullmatch(p.name)
        if m and p.is_file():
            found.append((int(m.group(1) or 0), p))
    out = []
    for _, p in sorted(found):
        try:
            samples, _ = read_wav(p)
        except Exception:
            continue
        if len(samples):
            out.append(p)
    return out


def played_wavs(directory: str | os.PathLike) -> list[tuple[np.ndarray, int]]:
    """``(samples, rate_hz)`` of every non-empty stream the sink recorded, in order."""
    return [read_wav(p) for p in played_files(directory)]


def find_in(played: np.ndarray, expected: np.ndarray) -> int | None:
    """Offset at which ``expected`` appears sample for sample in ``played``, else None.

    Only silence (zeros) may surround it: PortAudio primes the device with silence and pads
    the last buffer with zeros.

    Args:
        played: Mono ``int16`` samples the sink recorded.
        expected: Mono ``int16`` samples that should have been played.

    Returns:
        The offset in samples, or None when the audio differs in any sample.
    """
    played = np.asarray(played).reshape(-1)
    expected = np.asarray(expected).reshape(-1)
    nz_e = np.flatnonzero(expected)
    nz_p = np.flatnonzero(played)
    if len(nz_e) == 0 or len(nz_p) == 0:
        return None
    off = int(nz_p[0] - nz_e[0])
    if off < 0 or off + len(expected) > len(played):
        return None
    if not np.array_equal(played[off : off + len(expected)], expected):
        return None
    rest = np.concatenate([played[:off], played[off + len(expected) :]])
    return off if not rest.any() else None
