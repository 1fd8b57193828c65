"""The speech worker process: owns the one pyttsx3 engine (espeak-ng driver) of the system.

Started by :class:`broadcast.speech.Synthesizer` as ``python -m broadcast._tts_worker``. It reads
one JSON request per line on stdin and answers one JSON line on the protocol pipe (the original
stdout; the process's stdout proper is redirected to stderr with pyttsx3's ``Audio saved to ...``
lines dropped). Requests::

    {"op": "voices"}                               -> {"ok": true, "voices": [{"id", "name"}]}
    {"op": "synth", "text", "voice", "rate_wpm", "out", "timeout_s"}
                                                   -> {"ok": true, "voice_id", "frames"}
    {"op": "quit"}                                 -> exits

Errors answer ``{"ok": false, "error": "one line"}``. After a timeout the worker answers and exits
(the engine's state is unknown); the parent restarts it on the next request.

Every pyttsx3 2.99 quirk in ``../shared/notes/audio.md`` is handled here:

* exactly one engine per process (this process exists for it);
* ``runAndWait()`` returns before the WAV exists when the proxy was busy, and otherwise blocks
  (no timeout) until synthesis ends, even cancelling it through a stale stop flag: every save is
  queued behind a busy proxy so ``runAndWait`` only starts it; completion is the
  ``finished-utterance`` callback, the end of the driver's callback and the output file, awaited
  with a timeout (and the parent kills the process if anything hangs anyway);
* one ``save_to_file`` per ``runAndWait``;
* the driver keeps the last output path and text: both are reset after every utterance, so no
  later call can overwrite an earlier WAV or repeat the last text;
* a refused voice only reaches the ``error`` callback and synthesis would go on with the old
  voice: the callback and the engine's current voice are both checked before synthesis;
* ``say()`` shells out to ``aplay``: never called (``Engine.say`` is replaced by a guard);
* ``Audio saved to ...`` on stdout: filtered out.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path


class _DropSavedLines:
    """A text stream that drops pyttsx3's ``Audio saved to ...`` lines and forwards the rest."""

    def __init__(self, target) -> None:
        self._target = target
        self._partial = ""

    def write(self, s: str) -> int:
        """Forward every complete line except ``Audio saved to ...``; keep a partial line.

        Args:
            s: Text written by pyttsx3 or the driver (may hold several or part of a line).

        Returns:
            ``len(s)``, as :meth:`io.TextIOBase.write` does (the whole text is consumed).
        """
        self._partial += s
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            if not line.startswith("Audio saved to "):
                self._target.write(line + "\n")
        return len(s)

    def flush(self) -> None:
        """Flush the target stream (a kept partial line stays buffered until its newline)."""
        self._target.flush()


class _Worker:
    def __init__(self) -> None:
        import pyttsx3

        self._engine = pyttsx3.init("espeak")  # the one engine of this process
        self._proxy = self._engine.proxy
        self._driver = self._proxy._driver
        self._finished = threading.Event()
        self._callback_done = threading.Event()
        self._completed = False
        self._errors: list[str] = []
        self._engine.connect("finished-utterance", self._on_finished)
        self._engine.connect("error", self._on_error)
        self._engine.say = self._refuse_say
        # The driver's synthesis callback ends an utterance with notify('finished-utterance'),
        # proxy.setBusy(False), then driver.endLoop(). Wrapping endLoop tells when that callback
        # is completely done, so the next utterance cannot race with its last steps.
        driver_end_loop = self._driver.endLoop

        def end_loop() -> None:
            """Run the driver's ``endLoop``, then flag the synthesis callback as done."""
            driver_end_loop()
            if threading.current_thread() is not threading.main_thread():
                self._callback_done.set()

        self._driver.endLoop = end_loop
        self._proxy.setBusy(False)  # a new proxy starts busy; settle it so voice changes apply now
        self._voice: tuple[str, str] | None = None  # (requested name, engine id)
        self._rate: int | None = None

    # -- callbacks (espeak-ng's synthesis thread) ----------------------------------------------
    def _on_finished(self, name=None, completed=True) -> None:
        self._completed = bool(completed)
        self._finished.set()

    def _on_error(self, name=None, exception=None) -> None:
        self._errors.append(str(exception))

    @staticmethod
    def _refuse_say(*_a, **_k) -> None:
        raise RuntimeError("Engine.say() plays through aplay; the speech worker only saves WAVs")

    # -- helpers -------------------------------------------------------------------------------
    def _reset(self) -> None:
        """Forget the last output path and text (and a stale stop flag) kept by the driver."""
        for attr, value in (
            ("_save_file", None),
            ("_text_to_say", None),
            ("_data_buffer", b""),
            ("_stopping", False),
        ):
            if hasattr(self._driver, attr):
                setattr(self._driver, attr, value)

    def voices(self) -> list[dict]:
        """The voices espeak-ng offers through pyttsx3.

        Returns:
            One ``{"id", "name", "languages"}`` dict per voice (``id`` is what ``synth`` takes).
        """
        out = []
        for v in self._engine.getProperty("voices"):
            out.append({"id": v.id, "name": v.name, "languages": list(v.languages or [])})
        return out

    def _set_voice(self, voice: str, rate: int) -> str:
        """Select voice and rate (the proxy is idle, so the change applies at once) and verify."""
        if self._voice is not None and self._voice[0] == voice and self._rate == rate:
            return self._voice[1]
        self._voice = self._rate = None  # unknown until the change is confirmed
        self._errors.clear()
        self._engine.setProperty("voice", voice)
        self._engine.setProperty("rate", int(rate))
        current = str(self._engine.getProperty("voice") or "").lower()
        if self._errors:
            raise ValueError(f"espeak-ng refused voice {voice!r}: {self._errors[-1]}")
        if not _voice_matches(current, voice):
            raise ValueError(f"voice change to {voice!r} failed: the engine still uses {current!r}")
        self._voice, self._rate = (voice, current), rate
        return current

    def synth(self, text: str, voice: str, rate: int, out: str, timeout_s: float) -> dict:
        """Synthesise ``text`` into the WAV file ``out`` and wait until it is complete.

        Args:
            text: What to say (not blank).
            voice: espeak-ng voice name or id (``cmn-latn-pinyin``, ``en``...).
            rate: Speaking rate, words per minute (pyttsx3's ``rate`` property).
            out: Path of the WAV to write (replaced when it exists).
            timeout_s: Longest wait for the synthesis to finish, seconds.

        Returns:
            ``{"voice_id": engine voice id used, "frames": WAV frame count}``.

        Raises:
            ValueError: Empty text, or espeak-ng refused the voice or did not switch to it.
            TimeoutError: Synthesis did not finish within ``timeout_s`` (the caller exits: the
                engine's state is unknown).
            RuntimeError: Synthesis was interrupted, reported an error or produced no audio.
        """
        if not text.strip():
            raise ValueError("empty text")
        outp = Path(out)
        if outp.exists():
            outp.unlink()
        self._reset()
        voice_id = self._set_voice(voice, rate)
        self._finished.clear()
        self._callback_done.clear()
        self._completed = False
        self._errors.clear()
        # Queue the save behind a busy proxy: runAndWait then pumps [save, endLoop] inside the
        # driver loop, starts the synthesis and returns at once (it would otherwise block
        # without a timeout until the end of synthesis). Completion is awaited below.
        self._proxy.setBusy(True)
        self._engine.save_to_file(text, str(outp))  # one save ...
        self._engine.runAndWait()  # ... per runAndWait
        deadline = time.monotonic() + timeout_s
        while not (self._finished.is_set() and self._callback_done.is_set() and outp.exists()):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"synthesis did not finish within {timeout_s:.0f} s")
            self._finished.wait(min(left, 0.02))
        self._reset()
        if not self._completed:
            raise RuntimeError("synthesis was interrupted")
        if self._errors:
            raise RuntimeError(self._errors[-1])
        import wave

        with wave.open(str(outp), "rb") as w:
            frames = w.getnframes()
        if frames == 0:
            raise RuntimeError("espeak-ng produced no audio")
        return {"voice_id": voice_id, "frames": frames}


def _voice_matches(engine_id: str, requested: str) -> bool:
    """True when espeak-ng's voice identifier (``sit/cmn-latn-pinyin``) is the requested voice."""
    engine_id, requested = engine_id.lower(), requested.lower()
    return engine_id == requested or engine_id.rsplit("/", 1)[-1] == requested.rsplit("/", 1)[-1]


def main() -> int:
    """Serve speech requests on stdin until ``quit`` or EOF (protocol: module docstring).

    Returns:
        The process exit status: 0 after ``quit`` or EOF, 3 when the engine cannot start,
        4 after a synthesis timeout.
    """
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # C-level writes to stdout go to stderr
    sys.stdout = _DropSavedLines(sys.stderr)

    def reply(obj: dict) -> None:
        """Write one JSON answer line on the protocol pipe and flush it."""
        proto.write(json.dumps(obj, ensure_ascii=False) + "\n")
        proto.flush()

    try:
        worker = _Worker()
    except Exception as exc:  # library missing or espeak-ng failing to initialise
        reply({"ok": False, "fatal": True, "error": f"{type(exc).__name__}: {exc}"})
        return 3
    reply({"ok": True, "ready": True, "pid": os.getpid()})
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req.get("op")
            if op == "quit":
                return 0
            if op == "voices":
                reply({"ok": True, "voices": worker.voices()})
            elif op == "synth":
                res = worker.synth(
                    req["text"],
                    req["voice"],
                    int(req["rate_wpm"]),
                    req["out"],
                    float(req.get("timeout_s", 30)),
                )
                reply({"ok": True, **res})
            else:
                reply({"ok": False, "error": f"unknown op {op!r}"})
        except TimeoutError as exc:
            reply({"ok": False, "fatal": True, "error": str(exc)})
            return 4
        except Exception as exc:
            reply({"ok": False, "error": " ".join(str(exc).split()) or type(exc).__name__})
    return 0


if __name__ == "__main__":
    sys.exit(main())
