"""The announcer: alerts in, reminders out of the loudspeaker, one at a time.

:class:`Announcer` takes :class:`~detection.alerts.Alert` objects from the detection loop
(:meth:`Announcer.submit` never blocks) and speaks their reminders on its own worker thread:

* **priority**: a priority queue, by ``broadcast.priority`` (gathering before unmasked before
  mask_incorrect), then first come first served;
* **cooldown per place**: no reminder within ``cooldown_place_m`` metres of a place spoken to
  (or queued) within ``cooldown_s`` seconds, whatever the kind; alerts without a position fall
  back to one reminder per kind per ``cooldown_s``;
* **cooldown per track**: a reminder whose people (track ids) were, at least half of them,
  addressed by the same kind of reminder within ``cooldown_track_s`` is suppressed;
* **maximum age**: a queued reminder not started within ``max_age_s`` of its submission is
  dropped (the person has walked on); the queue holds at most ``max_queue`` reminders;
* **no overlap**: one worker plays one utterance at a time and waits for its end;
* **repeat**: each reminder is spoken ``repeat`` times, in every language of
  ``broadcast.languages``, ``repeat_gap_s`` apart, with the chime before the first utterance.

Every utterance is reported as a :class:`BroadcastRecord` to ``on_broadcast`` (the flight
recorder writes them to ``broadcasts.jsonl``, see ``docs/recording.md``), whether it reached a
loudspeaker (``played``) or not (no output device). Each :meth:`submit` returns a
:class:`Ticket` whose ``done`` event is set when that alert's reminder has been spoken (or
dropped): the patrol holds the drone over a gathering until then.

Times: ``clock`` (default ``time.monotonic``) measures ages and cooldowns and may be a fake clock
in tests; ``wall_clock`` (``time.time``) stamps the records with UNIX time.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from broadcast.audio import write_wav
from broadcast.reminders import reminder_text
from broadcast.settings import BroadcastSettings
from detection.alerts import Alert, AlertKind
from missions.geo import distance_m

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BroadcastRecord:
    """One utterance that went to the loudspeaker (one line of ``broadcasts.jsonl``).

    Attributes:
        t_s: UNIX time when playback started, seconds.
        alert_id: :attr:`Alert.id` of the alert it answers.
        text: The sentence spoken (normalised).
        language: ``"zh"`` or ``"en"``.
        duration_s: Length of the audio played (chime included), seconds.
        device: Output device name, or None when there was none.
        wav: Path of the WAV holding exactly the samples played (in ``wav_dir`` when the
            announcer has one, else the speech cache file).
        played: True when the audio reached an output device to the end.
    """

    t_s: float
    alert_id: str
    text: str
    language: str
    duration_s: float
    device: str | None
    wav: str
    played: bool

    def to_dict(self) -> dict:
        """The record as a JSON-ready dict (the keys of ``broadcasts.jsonl``)."""
        return asdict(self)

    def to_json(self) -> str:
        """One JSON line (UTF-8 text kept unescaped, no trailing newline)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))


@dataclass
class Ticket:
    """What became of one submitted alert.

    A ticket is truthy when the alert was queued and falsy when it was suppressed at once.

    Attributes:
        alert: The alert.
        accepted: True when queued.
        reason: ``queued``, or why not: ``cooldown_place``, ``cooldown_track``,
            ``cooldown_kind``, ``not_spoken`` (a kind without reminder or left out of
            ``broadcast.priority``), ``disabled``, ``queue_full``, ``stopped``.
        outcome: None while pending; then ``spoken``, ``suppressed``, ``stale`` (older than
            ``max_age_s`` when its turn came), ``dropped`` (pushed out of a full queue),
            ``failed`` (synthesis failed; see ``error``) or ``cancelled`` (announcer stopped).
        records: The :class:`BroadcastRecord` of each utterance spoken for it.
        submitted_s: ``clock()`` at submission.
        first_audio_s: ``time.monotonic()`` when its first utterance started playing.
        done: Set when the outcome is final.
    """

    alert: Alert
    accepted: bool
    reason: str
    place: str | None = None
    outcome: str | None = None
    error: str | None = None
    records: list[BroadcastRecord] = field(default_factory=list)
    submitted_s: float = 0.0
    first_audio_s: float | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def __bool__(self) -> bool:
        return self.accepted

    def wait(self, timeout_s: float) -> bool:
        """Wait until the reminder has been spoken (or dropped); True when done in time."""
        return self.done.wait(timeout_s)

    def _finish(self, outcome: str, error: str | None = None) -> None:
        self.outcome = outcome
        self.error = error
        self.done.set()


@dataclass
class _Spoken:
    """A place/track addressed (or about to be): what cooldowns are measured against."""

    kind: str
    lat_deg: float | None
    lon_deg: float | None
    track_ids: frozenset[int]
    t_s: float
    ticket: Ticket


class Announcer:
    """Queues alerts and speaks their reminders on a worker thread, one at a time.

    Args:
        settings: The ``broadcast`` config section.
        synthesizer: A :class:`broadcast.speech.Synthesizer` (``synthesize(text, lang)`` → WAV).
        player: A :class:`broadcast.playback.Player` (``play(wav, chime_first=)`` → handle with
            ``wait(timeout_s)`` → result with ``played``, ``device``, ``duration_s``).
        clock: Monotonic seconds for ages and cooldowns (a fake clock in tests).
        on_broadcast: Called with each :class:`BroadcastRecord`, on the worker thread;
            exceptions are logged and do not stop the announcer.
        wav_dir: Where the samples actually played are written, one WAV per utterance; None
            keeps only the speech cache.
        wall_clock: UNIX seconds for :attr:`BroadcastRecord.t_s`.

    Example:
        >>> ann = Announcer(cfg.broadcast, Synthesizer(cfg.broadcast), Player())  # doctest: +SKIP
        >>> ann.start()
        >>> ticket = ann.submit(alert)
        >>> ticket.wait(60)
        >>> ann.stop(timeout_s=10)
    """

    def __init__(
        self,
        settings: BroadcastSettings,
        synthesizer,
        player,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_broadcast: Callable[[BroadcastRecord], None] | None = None,
        wav_dir: str | Path | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.synthesizer = synthesizer
        self.player = player
        self.clock = clock
        self.wall_clock = wall_clock
        self.on_broadcast = on_broadcast
        self.wav_dir = Path(wav_dir) if wav_dir is not None else None
        self._cond = threading.Condition()
        self._heap: list[tuple[int, int, Ticket]] = []
        self._seq = itertools.count()
        self._history: list[_Spoken] = []
        self._speaking: Ticket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._stopped = False
        self._prewarm: list[tuple[str, str]] = []
        self._n_records = 0

    # -- submission (any thread, never blocks) ------------------------------------------------
    def submit(self, alert: Alert, *, place: str | None = None) -> Ticket:
        """Queue the reminder of ``alert`` unless a cooldown or the settings suppress it.

        Args:
            alert: A detection alert (gathering, unmasked, mask_incorrect); other kinds are not
                spoken.
            place: Place name for the ``{place}`` slot (None: the template's default).

        Returns:
            A :class:`Ticket`, truthy when queued; ``ticket.done`` is set once it is spoken,
            dropped or suppressed.
        """
        now = self.clock()
        kind = AlertKind(alert.kind).value
        with self._cond:
            ticket = Ticket(alert, False, "", place=place, submitted_s=now)
            if self._stopped or self._stopping.is_set():
                return self._reject(ticket, "stopped")
            if not self.settings.enabled:
                return self._reject(ticket, "disabled")
            if kind not in self.settings.priority:
                return self._reject(ticket, "not_spoken")
            reason = self._cooldown(alert, kind, now)
            if reason:
                return self._reject(ticket, reason)
            rank = self.settings.priority.index(kind)
            if len(self._heap) >= self.settings.max_queue:
                worst = max(self._heap, key=lambda e: (e[0], -e[1]))
                if (rank, -now) >= (worst[0], -worst[2].submitted_s):
                    return self._reject(ticket, "queue_full")
                self._heap.remove(worst)
                heapq.heapify(self._heap)
                self._forget(worst[2])
                worst[2]._finish("dropped")
                log.info("queue full: dropped the reminder of alert %s", worst[2].alert.id)
            ticket.accepted, ticket.reason = True, "queued"
            heapq.heappush(self._heap, (rank, next(self._seq), ticket))
            self._history.append(
                _Spoken(kind, alert.lat_deg, alert.lon_deg, frozenset(alert.track_ids), now, ticket)
            )
            self._cond.notify_all()
            return ticket

    def _reject(self, ticket: Ticket, reason: str) -> Ticket:
        ticket.reason = reason
        ticket._finish("suppressed")
        log.debug("alert %s not spoken: %s", ticket.alert.id, reason)
        return ticket

    def _cooldown(self, alert: Alert, kind: str, now: float) -> str | None:
        s = self.settings
        horizon = max(s.cooldown_s, s.cooldown_track_s)
        self._history = [h for h in self._history if now - h.t_s < horizon or not h.ticket.done]
        located = alert.lat_deg is not None and alert.lon_deg is not None
        for h in self._history:
            if now - h.t_s >= s.cooldown_s:
                continue
            if located and h.lat_deg is not None and h.lon_deg is not None:
                d = distance_m(alert.lat_deg, alert.lon_deg, h.lat_deg, h.lon_deg)
                if d <= s.cooldown_place_m:
                    return "cooldown_place"
            elif not located and not alert.track_ids and h.kind == kind and h.lat_deg is None:
                return "cooldown_kind"
        ids = set(alert.track_ids)
        if ids:
            addressed: set[int] = set()
            for h in self._history:
                if h.kind == kind and now - h.t_s < s.cooldown_track_s:
                    addressed |= h.track_ids
            if 2 * len(ids & addressed) >= len(ids):
                return "cooldown_track"
        return None

    def _forget(self, ticket: Ticket) -> None:
        """A reminder that was never spoken does not hold its place in cooldown."""
        self._history = [h for h in self._history if h.ticket is not ticket]

    # -- state ---------------------------------------------------------------------------------
    @property
    def idle(self) -> bool:
        """True when nothing is queued or being spoken."""
        with self._cond:
            return not self._heap and self._speaking is None

    @property
    def pending(self) -> int:
        """Number of queued reminders (not counting the one being spoken)."""
        with self._cond:
            return len(self._heap)

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until :attr:`idle`; True when idle within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._heap or self._speaking is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
            return True

    # -- worker ----------------------------------------------------------------------------------
    def start(self, *, prewarm: bool = True) -> Announcer:
        """Start the worker thread.

        Args:
            prewarm: Synthesise the fixed reminders (each kind, each known colour, each
                language) in the background while idle, so that they play at once later.

        Returns:
            self.
        """
        if self._thread is not None:
            raise RuntimeError("announcer already started")
        if prewarm:
            self._prewarm = self._fixed_texts()
        self._thread = threading.Thread(target=self._run, name="announcer")
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0, *, drain: bool = False) -> bool:
        """Stop the worker: cancel queued reminders and cut the one being spoken.

        Args:
            timeout_s: Longest wait for the worker to end.
            drain: First let the queue be spoken (within ``timeout_s``).

        Returns:
            True when the worker has ended (or never ran).
        """
        deadline = time.monotonic() + timeout_s
        if drain and self._thread is not None:
            self.wait_idle(timeout_s)
        with self._cond:
            self._stopped = True
            self._stopping.set()
            queued, self._heap = self._heap, []
            self._cond.notify_all()
        for _, _, t in queued:
            t._finish("cancelled")
        stop_player = getattr(self.player, "stop", None)
        if stop_player is not None:
            stop_player()
        if self._thread is None:
            return True
        self._thread.join(max(0.0, deadline - time.monotonic()))
        ended = not self._thread.is_alive()
        if not ended:
            log.warning("announcer worker did not stop within %.1f s", timeout_s)
        return ended

    def run_once(self) -> Ticket | None:
        """Speak the next queued reminder in the calling thread (for tests and single-threaded use).

        Returns:
            The ticket handled, or None when the queue is empty.

        Raises:
            RuntimeError: The worker thread is running.
        """
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("run_once() while the worker thread runs")
        ticket = self._next(block=False)
        if ticket is not None:
            self._handle(ticket)
        return ticket

    def _next(self, block: bool) -> Ticket | None:
        with self._cond:
            while not self._heap:
                if not block or self._stopping.is_set() or self._prewarm:
                    return None
                self._cond.wait(0.5)
            _, _, ticket = heapq.heappop(self._heap)
            self._speaking = ticket
            return ticket

    def _run(self) -> None:
        while not self._stopping.is_set():
            ticket = self._next(block=True)
            if ticket is not None:
                self._handle(ticket)
            elif self._prewarm and not self._stopping.is_set():
                text, lang = self._prewarm.pop(0)
                try:
                    self.synthesizer.synthesize(text, lang)
                except Exception as exc:
                    log.warning("could not prepare a reminder (%s): %s", lang, exc)
                    self._prewarm.clear()

    def _handle(self, ticket: Ticket) -> None:
        try:
            self._speak(ticket)
        except Exception as exc:
            log.error("reminder of alert %s failed: %s", ticket.alert.id, exc)
            with self._cond:
                self._forget(ticket)
            ticket._finish("failed", " ".join(str(exc).split()) or type(exc).__name__)
        finally:
            with self._cond:
                self._speaking = None
                self._cond.notify_all()

    def _speak(self, ticket: Ticket) -> None:
        s = self.settings
        age = self.clock() - ticket.submitted_s
        if age > s.max_age_s:
            with self._cond:
                self._forget(ticket)
            log.info("dropped the reminder of alert %s: %.1f s old", ticket.alert.id, age)
            ticket._finish("stale")
            return
        utterances = []
        for lang in s.languages:
            text = reminder_text(ticket.alert, lang, s.texts, place=ticket.place)
            utterances.append((lang, text, self.synthesizer.synthesize(text, lang)))
        first = True
        for r in range(s.repeat):
            if r and self._stopping.wait(s.repeat_gap_s):
                break
            for lang, text, wav in utterances:
                if self._stopping.is_set():
                    break
                record = self._play(ticket, lang, text, wav, first, r)
                first = False
                ticket.records.append(record)
                self._emit(record)
        if self._stopping.is_set() and len(ticket.records) < s.repeat * len(utterances):
            ticket._finish("cancelled")
        else:
            ticket._finish("spoken")

    def _play(self, ticket: Ticket, lang: str, text: str, wav: Path, first: bool, r: int):
        t_wall = self.wall_clock()
        pb = self.player.play(wav, chime_first=first and bool(self.settings.chime))
        started = getattr(getattr(pb, "result", None), "started_s", None)
        if ticket.first_audio_s is None:
            ticket.first_audio_s = started if started is not None else time.monotonic()
            with self._cond:  # cooldowns count from when the place was actually spoken to
                for h in self._history:
                    if h.ticket is ticket:
                        h.t_s = self.clock()
        path = Path(wav)
        if self.wav_dir is not None and getattr(pb, "samples", None) is not None:
            self._n_records += 1
            stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(t_wall))
            name = f"{stamp}-{self._n_records:04d}-{ticket.alert.id}-{lang}-{r + 1}.wav"
            try:
                path = write_wav(self.wav_dir / name, pb.samples, pb.rate_hz)
            except OSError as exc:
                log.error("cannot keep the broadcast WAV in %s: %s", self.wav_dir, exc)
        res = pb.wait()
        return BroadcastRecord(
            t_s=t_wall,
            alert_id=ticket.alert.id,
            text=text,
            language=lang,
            duration_s=round(float(res.duration_s), 3),
            device=res.device,
            wav=str(path),
            played=bool(res.played),
        )

    def _emit(self, record: BroadcastRecord) -> None:
        if self.on_broadcast is None:
            return
        try:
            self.on_broadcast(record)
        except Exception as exc:
            log.error("on_broadcast failed for alert %s: %s", record.alert_id, exc)

    def _fixed_texts(self) -> list[tuple[str, str]]:
        from detection.colour_names import COLOUR_NAMES_ZH

        colours = [None, *COLOUR_NAMES_ZH]
        out = []
        for kind in self.settings.priority:
            for colour in colours if kind != "gathering" else [None]:
                alert = Alert(kind=kind, t_s=0.0, colour=colour)
                for lang in self.settings.languages:
                    out.append((reminder_text(alert, lang, self.settings.texts), lang))
        return list(dict.fromkeys(out))
