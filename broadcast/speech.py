"""Speech synthesis: pyttsx3 on espeak-ng, to WAV files, cached.

:class:`Synthesizer` turns one sentence in one language into a RIFF WAV (mono, 22050 Hz, 16-bit)
with the voice configured for that language (``broadcast.voices``; Mandarin ``cmn-latn-pinyin``).
Files are cached by text, voice and rate, so a fixed reminder plays at once the second time.

Design: the pyttsx3 engine lives in a dedicated worker process (:mod:`broadcast._tts_worker`),
one per :class:`Synthesizer`, fed one request at a time under a lock. A process rather than a
thread because (see ``docs/broadcast.md``):

* ``runAndWait()`` has no timeout and can block forever; only a process can be killed and
  restarted when synthesis hangs, so every wait here has a timeout;
* pyttsx3 allows only one working engine per process (a second one silently saves nothing):
  a process of its own guarantees that whatever else the host process loads;
* pyttsx3 prints ``Audio saved to ...`` on stdout: it stays in the worker, filtered out;
* espeak-ng runs in C through ctypes callbacks on its own thread: a crash cannot take the ground
  station down.

The cost is one process start (about 0.3 s) and one pipe round trip per uncached sentence.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import selectors
import shutil
import subprocess
import sys
import threading
import time
import uuid
import weakref
from pathlib import Path

from broadcast.audio import read_wav
from broadcast.errors import SpeechError
from broadcast.normalize import normalize_text
from broadcast.settings import BroadcastSettings, VoiceSettings
from missions.errors import InputError

log = logging.getLogger(__name__)

ENGINE_TAG = "pyttsx3-espeak-ng/1"
"""Part of every cache key; bump it when the synthesis pipeline changes its output."""

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/dronepatrol/speech`` (``~/.cache/dronepatrol/speech``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dronepatrol" / "speech"


def phonemes(text: str, voice: str, *, timeout_s: float = 30.0) -> str:
    """espeak-ng's phoneme transcription of ``text`` (``espeak-ng -v VOICE -q -x TEXT``).

    A language switch shows as ``(en)`` ... ``(cmn)``: Mandarin text that contains ``(en)`` is
    (partly) read as English.

    Args:
        text: The sentence.
        voice: espeak-ng voice name, e.g. ``cmn-latn-pinyin``.
        timeout_s: Give up after this long.

    Returns:
        The phoneme text printed by espeak-ng.

    Raises:
        SpeechError: The ``espeak-ng`` program is missing, fails or times out.
    """
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SpeechError("the espeak-ng program is not installed (Debian package espeak-ng)")
    try:
        r = subprocess.run(
            [exe, "-v", voice, "-q", "-x", "--", text],
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        raise SpeechError(
            f"espeak-ng -x timed out after {timeout_s:.0f} s (voice {voice})"
        ) from None
    if r.returncode != 0:
        msg = (r.stderr or r.stdout).strip().splitlines()
        raise SpeechError(f"espeak-ng -v {voice} failed: {msg[0] if msg else r.returncode}")
    return r.stdout


def english_fallback(text: str, voice: str) -> bool:
    """True when espeak-ng switches to English for part of ``text`` with ``voice`` (``(en)``)."""
    return "(en)" in phonemes(text, voice)


MAX_TEXT_CHARS = 2000
"""Longest text synthesised in one utterance, characters (espeak-ng crashed with SIGSEGV on a
40 kB text; a reminder is a sentence or two)."""


class Synthesizer:
    """Text → WAV with pyttsx3/espeak-ng, one language per utterance, cached, thread-safe.

    Args:
        settings: The ``broadcast`` config section (voices, rates, ``synth_timeout_s``,
            ``cache_dir``); None uses the defaults.
        cache_dir: Folder of cached WAVs; overrides ``settings.cache_dir``; default
            :func:`default_cache_dir`.

    Use as a context manager or call :meth:`close` to stop the speech worker process.

    Example:
        >>> with Synthesizer() as synth:                        # doctest: +SKIP
        ...     synth.check()
        ...     wav = synth.synthesize("请您佩戴好口罩。", "zh")
    """

    def __init__(
        self, settings: BroadcastSettings | None = None, cache_dir: str | os.PathLike | None = None
    ) -> None:
        self.settings = settings or BroadcastSettings()
        self.cache_dir = Path(cache_dir or self.settings.cache_dir or default_cache_dir())
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._buf = b""
        self._finalizer: weakref.finalize | None = None
        self._voice_ids: dict[str, str] = {}

    # -- public ------------------------------------------------------------------------------
    def voice_for(self, lang: str) -> VoiceSettings:
        """The configured voice of ``lang``.

        Raises:
            missions.errors.InputError: Unknown language.
        """
        try:
            return getattr(self.settings.voices, lang)
        except AttributeError:
            raise InputError(f"unknown language {lang!r}: expected 'zh' or 'en'") from None

    def cache_path(self, text: str, lang: str, *, normalize: bool = True) -> Path:
        """Where the WAV of ``text`` in ``lang`` is (or will be) cached.

        The key is SHA-256 of (engine tag, voice, rate, normalised text).
        """
        v = self.voice_for(lang)
        spoken = normalize_text(text, lang) if normalize else text
        key = json.dumps([ENGINE_TAG, v.voice, v.rate_wpm, spoken], ensure_ascii=False)
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
        safe_voice = "".join(c if c.isalnum() or c in "-_" else "_" for c in v.voice)
        return self.cache_dir / f"{lang}-{safe_voice}-{v.rate_wpm}-{digest}.wav"

    def cached(self, text: str, lang: str) -> Path | None:
        """The cached WAV of ``text`` in ``lang``, or None when it has not been synthesised."""
        p = self.cache_path(text, lang)
        return p if p.is_file() else None

    def check(self, *, texts: bool = True) -> dict[str, str]:
        """Start-up check: espeak-ng is there, every configured voice exists and speaks.

        For each language in ``settings.languages``: the voice is installed, a short sentence
        (the ``person`` template) is synthesised with it, and, when the ``espeak-ng`` program is
        available and ``texts`` is true, no Mandarin template falls back to English (``(en)``).

        Returns:
            Language → espeak-ng voice identifier (``{"zh": "sit/cmn-latn-pinyin", ...}``).

        Raises:
            SpeechError: espeak-ng missing, a voice absent or refused, a Mandarin template read
                partly as English; one line naming the language and config key.
        """
        with self._lock:
            voices = self._request({"op": "voices"})["voices"]
        ids = [str(v["id"]).lower() for v in voices]
        names = {str(v["id"]).lower().rsplit("/", 1)[-1] for v in voices}
        names |= {str(v["name"]).lower() for v in voices}
        out: dict[str, str] = {}
        for lang in self.settings.languages:
            v = self.voice_for(lang)
            if v.voice.lower() not in names and v.voice.lower() not in ids:
                import difflib

                close = difflib.get_close_matches(v.voice.lower(), sorted(names), n=3)
                hint = f"; close: {', '.join(close)}" if close else ""
                raise SpeechError(
                    f"espeak-ng voice '{v.voice}' for language '{lang}' "
                    f"(broadcast.voices.{lang}.voice) is not installed{hint}"
                )
            self.synthesize(getattr(self.settings.texts, lang).person, lang)
            out[lang] = self._voice_ids.get(lang, v.voice)
        if texts and "zh" in self.settings.languages and shutil.which("espeak-ng"):
            zh = self.settings.texts.zh
            voice = self.voice_for("zh").voice
            for key in (
                "gathering",
                "unmasked",
                "mask_incorrect",
                "person_colour",
                "person_colours",
                "person",
            ):
                sample = getattr(zh, key).format(
                    person=zh.person, colour="红色", lower="黑色", place=zh.place, count="五"
                )
                if english_fallback(normalize_text(sample, "zh"), voice):
                    raise SpeechError(
                        f"broadcast.texts.zh.{key} is partly read as English by espeak-ng "
                        f"(voice {voice}): write it in Chinese only"
                    )
        return out

    def synthesize(self, text: str, lang: str, *, normalize: bool = True) -> Path:
        """The WAV of ``text`` spoken in ``lang`` (from the cache when there).

        Args:
            text: One sentence in one language; digits are normalised to words first unless
                ``normalize`` is False.
            lang: ``"zh"`` or ``"en"``.

        Returns:
            Path of the cached WAV (RIFF mono 22050 Hz 16-bit). Do not modify it; copy it.

        Raises:
            SpeechError: Synthesis failed or timed out (``settings.synth_timeout_s``), the voice
                is absent, espeak-ng is missing, or the text is empty.
            missions.errors.InputError: Unknown language.
        """
        if len(str(text)) > MAX_TEXT_CHARS:
            raise SpeechError(
                f"the {lang} text has {len(str(text)):,} characters; at most {MAX_TEXT_CHARS:,} "
                "are spoken in one utterance (a loudspeaker reminder is a sentence or two)"
            )
        spoken = normalize_text(text, lang) if normalize else str(text)
        if not spoken.strip():
            raise SpeechError(f"nothing to say: the {lang} text is empty")
        path = self.cache_path(spoken, lang, normalize=False)
        if path.is_file():
            return path
        v = self.voice_for(lang)
        with self._lock:
            if path.is_file():  # made while we waited for the lock
                return path
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_dir / f".tmp-{uuid.uuid4().hex}.wav"
            t0 = time.perf_counter()
            try:
                res = self._request(
                    {
                        "op": "synth",
                        "text": spoken,
                        "voice": v.voice,
                        "rate_wpm": v.rate_wpm,
                        "out": str(tmp),
                        "timeout_s": self.settings.synth_timeout_s,
                    },
                    what=f"{lang} synthesis with voice '{v.voice}'",
                )
                samples, _ = read_wav(tmp)
                if len(samples) == 0:
                    raise SpeechError(f"espeak-ng produced no audio for the {lang} text")
                os.replace(tmp, path)
            except InputError as exc:
                raise SpeechError(f"espeak-ng wrote a bad WAV: {exc}") from None
            finally:
                tmp.unlink(missing_ok=True)
            self._voice_ids[lang] = str(res.get("voice_id", v.voice))
            log.debug("synthesised %s %r in %.3f s", lang, spoken, time.perf_counter() - t0)
        return path

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the speech worker (it is restarted by the next :meth:`synthesize`)."""
        with self._lock:
            self._stop_worker(timeout_s)

    def __enter__(self) -> Synthesizer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- worker process ----------------------------------------------------------------------
    def _start_worker(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p
        )
        env["PYTHONIOENCODING"] = "utf-8"
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "broadcast._tts_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
        except OSError as exc:
            raise SpeechError(f"cannot start the speech worker: {exc}") from None
        self._buf = b""
        self._finalizer = weakref.finalize(self, _kill, self._proc)
        ready = self._read_reply(self.settings.synth_timeout_s + 30, "speech worker start")
        if not ready.get("ok"):
            self._stop_worker(2.0)
            raise SpeechError(_explain(ready.get("error", "unknown error")))

    def _stop_worker(self, timeout_s: float) -> None:
        proc, self._proc = self._proc, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if proc is None:
            return
        try:
            if proc.poll() is None and proc.stdin:
                proc.stdin.write(b'{"op": "quit"}\n')
                proc.stdin.flush()
        except OSError:
            pass
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout_s)
        for f in (proc.stdin, proc.stdout):
            if f:
                f.close()

    def _request(self, req: dict, what: str = "speech worker request") -> dict:
        """Send one request and wait for its answer (caller holds the lock)."""
        for attempt in (1, 2):
            if self._proc is None or self._proc.poll() is not None:
                self._stop_worker(2.0)
                self._start_worker()
            assert self._proc is not None and self._proc.stdin is not None
            try:
                self._proc.stdin.write((json.dumps(req, ensure_ascii=False) + "\n").encode())
                self._proc.stdin.flush()
            except OSError:
                if attempt == 2:
                    raise SpeechError(f"{what}: the speech worker died") from None
                self._stop_worker(2.0)
                continue
            reply = self._read_reply(self.settings.synth_timeout_s + 5, what)
            if reply.get("fatal"):
                self._stop_worker(2.0)
            if not reply.get("ok"):
                raise SpeechError(f"{what} failed: {_explain(reply.get('error', '?'))}")
            return reply
        raise SpeechError(f"{what}: the speech worker died")  # pragma: no cover

    def _read_reply(self, timeout_s: float, what: str) -> dict:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._stop_worker(1.0)
                    raise SpeechError(f"{what} timed out after {timeout_s:.0f} s (worker killed)")
                if not sel.select(timeout=min(left, 1.0)):
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    code = proc.poll()
                    self._stop_worker(1.0)
                    raise SpeechError(f"{what}: the speech worker exited (status {code})")
                self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        try:
            return json.loads(line.decode("utf-8"))
        except ValueError:
            self._stop_worker(1.0)
            raise SpeechError(f"{what}: garbled answer from the speech worker") from None


def _explain(error: str) -> str:
    low = error.lower()
    if "espeak" in low and ("do not have" in low or "cannot" in low or "not installed" in low):
        return (
            "espeak-ng is not installed (libespeak-ng.so.1 not found): "
            "install the Debian package espeak-ng"
        )
    if "no module named 'pyttsx3'" in low:
        return "pyttsx3 is not installed (pip install pyttsx3)"
    return error


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=5)
