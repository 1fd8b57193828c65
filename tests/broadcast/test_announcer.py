"""The announcer: priorities, cooldowns per place and track, stale drop, no overlapping speech.

Ages and cooldowns run on a fake clock; the fake player "speaks" each utterance for its WAV's
duration on that clock. The last test runs the real synthesizer and player into an ALSA file sink.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time

import numpy as np
import pytest
from speech_helpers import run_python

from broadcast.announcer import Announcer, BroadcastRecord
from broadcast.audio import read_wav, write_wav
from broadcast.errors import SpeechError
from broadcast.playback import PlaybackResult
from broadcast.settings import BroadcastSettings
from detection.alerts import Alert
from missions.geo import offset

LAT, LON = 41.80, 123.40


class FakeClock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.t

    def advance(self, dt: float) -> None:
        with self._lock:
            self.t += dt


class FakeSynth:
    """Writes a tone whose length grows with the text (0.05 s per character)."""

    def __init__(self, folder) -> None:
        self.folder = folder
        self.calls: list[tuple[str, str]] = []
        self.fail: set[str] = set()

    def synthesize(self, text: str, lang: str):
        self.calls.append((lang, text))
        if any(f in text for f in self.fail):
            raise SpeechError(f"cannot say {text!r}")
        name = hashlib.sha1(f"{lang}{text}".encode()).hexdigest()[:12]
        n = int(0.05 * 22050 * len(text))
        x = (np.sin(np.arange(n) / 5.0) * 6000).astype(np.int16)
        return write_wav(self.folder / f"{name}.wav", x, 22050)


class FakePlayback:
    def __init__(self, player, samples, rate, chime_first):
        self.player, self.samples, self.rate_hz = player, samples, rate
        self.chime_first = chime_first
        dur = len(samples) / rate
        self.result = PlaybackResult(True, "fake", dur, time.monotonic())

    def wait(self, timeout_s=None):
        p = self.player
        if p.block is not None:
            p.block.wait(30)
        elif p.real_s:
            time.sleep(p.real_s)
        p.clock.advance(self.result.duration_s)
        with p.lock:
            p.active -= 1
            p.log.append(("end", p.clock(), time.monotonic()))
        return self.result


class FakePlayer:
    """Counts overlapping playbacks; each lasts its duration on the fake clock."""

    def __init__(self, clock, real_s: float = 0.0) -> None:
        self.clock, self.real_s = clock, real_s
        self.lock = threading.Lock()
        self.active = self.max_active = 0
        self.log: list[tuple] = []
        self.played: list[FakePlayback] = []
        self.block: threading.Event | None = None
        self.stopped = 0

    def play(self, wav, chime_first=None):
        samples, rate = read_wav(wav)
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.log.append(("start", self.clock(), time.monotonic()))
        pb = FakePlayback(self, samples, rate, chime_first)
        self.played.append(pb)
        return pb

    def stop(self):
        self.stopped += 1
        if self.block is not None:
            self.block.set()


def settings(**kw) -> BroadcastSettings:
    base = {"languages": ["zh"], "repeat_gap_s": 0.0}
    base.update(kw)
    return BroadcastSettings.model_validate(base)


def alert(kind="unmasked", east_m=0.0, tracks=(), **kw) -> Alert:
    lat, lon = offset(LAT, LON, 90.0, east_m) if east_m else (LAT, LON)
    return Alert(kind=kind, t_s=1.7e9, lat_deg=lat, lon_deg=lon, track_ids=list(tracks), **kw)


@pytest.fixture
def rig(tmp_path):
    clock = FakeClock()
    synth = FakeSynth(tmp_path)
    player = FakePlayer(clock)
    records: list[BroadcastRecord] = []

    def make(**kw):
        return Announcer(
            settings(**kw),
            synth,
            player,
            clock=clock,
            on_broadcast=records.append,
            wall_clock=lambda: 1.7e9 + clock(),
        )

    make.clock, make.synth, make.player, make.records = clock, synth, player, records
    return make


def test_gathering_is_spoken_before_unmasked_before_mask_incorrect(rig):
    ann = rig()
    tickets = [
        ann.submit(alert("mask_incorrect", 0)),
        ann.submit(alert("unmasked", 100)),
        ann.submit(alert("gathering", 200)),
        ann.submit(alert("unmasked", 300)),
    ]
    assert all(tickets)
    order = [ann.run_once() for _ in range(4)]
    assert [t.alert.kind.value for t in order] == [
        "gathering",
        "unmasked",
        "unmasked",
        "mask_incorrect",
    ]
    assert order[1] is tickets[1] and order[2] is tickets[3]  # same priority: first come first
    assert ann.run_once() is None and ann.idle
    assert all(t.outcome == "spoken" and t.done.is_set() for t in tickets)


def test_place_cooldown_in_metres_and_seconds(rig):
    ann = rig(cooldown_place_m=30.0, cooldown_s=60.0)
    first = ann.submit(alert("unmasked", 0, tracks=[1]))
    near = ann.submit(alert("gathering", 10, tracks=[2, 3, 4]))  # any kind, 10 m away
    far = ann.submit(alert("unmasked", 50, tracks=[5]))
    assert first and not near and far
    assert near.reason == "cooldown_place" and near.outcome == "suppressed" and near.done.is_set()
    rig.clock.advance(15.0)  # waits 15 s in the queue: the place is spoken to at t0 + 15
    spoken_at = rig.clock()
    assert ann.run_once() is first and ann.run_once() is far
    rig.clock.t = spoken_at + 59.0  # 74 s after submission, 59 s after speaking
    again = ann.submit(alert("unmasked", 5, tracks=[6]))
    assert not again and again.reason == "cooldown_place"
    rig.clock.t = spoken_at + 60.5
    assert ann.submit(alert("unmasked", 5, tracks=[6]))


def test_track_cooldown_follows_a_person_who_walks_on(rig):
    ann = rig(cooldown_place_m=30.0, cooldown_s=60.0, cooldown_track_s=120.0)
    assert ann.submit(alert("unmasked", 0, tracks=[7]))
    ann.run_once()
    rig.clock.advance(61.0)  # place cooldown over, track cooldown not
    walked = ann.submit(alert("unmasked", 200, tracks=[7]))
    assert not walked and walked.reason == "cooldown_track"
    assert ann.submit(alert("mask_incorrect", 400, tracks=[7])), "another kind of reminder"
    rig.clock.advance(60.0)
    assert ann.submit(alert("unmasked", 600, tracks=[7]))


def test_gathering_track_cooldown_needs_half_of_the_people(rig):
    ann = rig(cooldown_s=0.0, cooldown_track_s=120.0)
    assert ann.submit(alert("gathering", 0, tracks=[1, 2, 3, 4]))
    assert ann.submit(alert("gathering", 500, tracks=[3, 4, 5, 6, 7])), "2 of 5 addressed"
    same = ann.submit(alert("gathering", 1000, tracks=[1, 2, 3, 9]))
    assert not same and same.reason == "cooldown_track"


def test_alerts_without_position_fall_back_to_a_kind_cooldown(rig):
    ann = rig(cooldown_s=60.0)
    a = Alert(kind="unmasked", t_s=1.7e9)
    assert ann.submit(a)
    b = ann.submit(Alert(kind="unmasked", t_s=1.7e9))
    assert not b and b.reason == "cooldown_kind"
    assert ann.submit(Alert(kind="gathering", t_s=1.7e9))
    assert ann.submit(alert("unmasked", 0)), "a located alert is judged by its place"


def test_stale_reminder_is_dropped_and_frees_its_place(rig):
    ann = rig(max_age_s=20.0)
    t = ann.submit(alert("unmasked", 0))
    rig.clock.advance(20.5)
    assert ann.run_once() is t
    assert t.outcome == "stale" and t.done.is_set() and not t.records
    assert rig.synth.calls == [] and rig.player.played == []
    assert ann.submit(alert("unmasked", 0)), "a dropped reminder does not hold a cooldown"


def test_a_reminder_waiting_behind_others_can_go_stale(rig):
    ann = rig(max_age_s=5.0, cooldown_s=0.0)  # each fake gathering reminder lasts about 1.9 s
    long_gathering = ann.submit(alert("gathering", 0))
    person = ann.submit(alert("unmasked", 100))
    for _ in range(3):
        ann.submit(alert("gathering", 1000 * (_ + 1)))
    done = [ann.run_once() for _ in range(5)]
    assert done[-1] is person and person.outcome == "stale"
    assert long_gathering.outcome == "spoken"


def test_no_overlap_with_many_threads_submitting(tmp_path):
    clock = FakeClock()
    player = FakePlayer(clock, real_s=0.002)
    ann = Announcer(
        settings(languages=["zh", "en"], cooldown_s=0.0, max_age_s=1e9, max_queue=100),
        FakeSynth(tmp_path),
        player,
        clock=clock,
    ).start(prewarm=False)
    tickets = []
    lock = threading.Lock()

    def submit(k):
        for i in range(6):
            t = ann.submit(alert("unmasked" if i % 2 else "gathering", 1000 * (10 * k + i)))
            with lock:
                tickets.append(t)

    threads = [threading.Thread(target=submit, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert ann.wait_idle(120)
    assert ann.stop(10)
    assert len(tickets) == 24 and all(tickets)
    assert all(t.outcome == "spoken" and len(t.records) == 2 for t in tickets)
    assert player.max_active == 1
    kinds = [e[0] for e in player.log]
    assert kinds == ["start", "end"] * 48, "each utterance ends before the next starts"


def test_repeat_languages_and_chime_only_before_the_first_utterance(rig):
    ann = rig(languages=["zh", "en"], repeat=2)
    t = ann.submit(alert("unmasked", 0, colour="red", colour_zh="红色"))
    ann.run_once()
    assert [r.language for r in t.records] == ["zh", "en", "zh", "en"]
    assert [p.chime_first for p in rig.player.played] == [True, False, False, False]
    assert t.records[0].text == "穿红色衣服的这位市民，请您佩戴好口罩。"
    assert t.records[1].text == "The person in red, please wear your mask."
    assert rig.records == t.records
    ann2 = rig(chime=False)
    ann2.submit(alert("unmasked", 5000))
    ann2.run_once()
    assert rig.player.played[-1].chime_first is False


def test_every_broadcast_is_recorded_with_the_audio_played(rig, tmp_path):
    ann = rig(languages=["zh", "en"])
    ann.wav_dir = tmp_path / "broadcasts"
    t = ann.submit(
        alert("gathering", 0, count=8), place={"zh": "中山路", "en": "on Zhongshan Road"}
    )
    ann.run_once()
    assert len(rig.records) == 2
    for rec, pb in zip(rig.records, rig.player.played, strict=True):
        d = json.loads(rec.to_json())
        assert set(d) == {
            "t_s",
            "alert_id",
            "text",
            "language",
            "duration_s",
            "device",
            "wav",
            "played",
        }
        assert d["alert_id"] == t.alert.id and d["played"] is True and d["device"] == "fake"
        assert d["t_s"] > 1.7e9
        samples, _ = read_wav(rec.wav)
        assert rec.wav.startswith(str(tmp_path / "broadcasts"))
        assert np.array_equal(samples, pb.samples)
        assert rec.duration_s == pytest.approx(len(pb.samples) / 22050, abs=1e-3)
    assert rig.records[0].text.startswith("中山路") and "Zhongshan Road" in rig.records[1].text


def test_kinds_not_spoken_disabled_and_priority_subset(rig):
    ann = rig(priority=["gathering"])
    assert ann.submit(alert("unmasked", 0)).reason == "not_spoken"
    assert ann.submit(Alert(kind="link_lost", t_s=0)).reason == "not_spoken"
    assert ann.submit(alert("gathering", 0))
    assert rig(enabled=False).submit(alert("gathering", 0)).reason == "disabled"


def test_full_queue_keeps_the_most_important_and_newest(rig):
    ann = rig(max_queue=2, cooldown_s=0.0)
    old = ann.submit(alert("unmasked", 0))
    rig.clock.advance(1)
    newer = ann.submit(alert("unmasked", 100))
    rig.clock.advance(1)
    g = ann.submit(alert("gathering", 200))
    assert g and old.outcome == "dropped" and old.done.is_set() and newer.outcome is None
    rejected = ann.submit(alert("mask_incorrect", 300))
    assert not rejected and rejected.reason == "queue_full"
    assert ann.pending == 2


def test_synthesis_failure_fails_one_ticket_only(rig):
    ann = rig(cooldown_s=0.0)
    rig.synth.fail.add("佩戴")
    bad = ann.submit(alert("unmasked", 0))
    good = ann.submit(alert("gathering", 500))
    ann.run_once()
    ann.run_once()
    assert good.outcome == "spoken"
    assert bad.outcome == "failed" and "cannot say" in bad.error and bad.done.is_set()


def test_ticket_done_when_the_reminder_has_been_spoken(tmp_path):
    clock = FakeClock()
    player = FakePlayer(clock, real_s=0.01)
    ann = Announcer(settings(languages=["zh", "en"]), FakeSynth(tmp_path), player, clock=clock)
    ann.start(prewarm=False)
    try:
        t = ann.submit(alert("gathering", 0))
        assert t.wait(30)
        assert t.outcome == "spoken" and len(t.records) == 2 and player.active == 0
        assert t.first_audio_s is not None
    finally:
        assert ann.stop(10)


def test_stop_cancels_the_queue_and_cuts_the_current_speech(tmp_path):
    clock = FakeClock()
    player = FakePlayer(clock)
    player.block = threading.Event()  # playback lasts until stopped
    ann = Announcer(settings(cooldown_s=0.0), FakeSynth(tmp_path), player, clock=clock)
    ann.start(prewarm=False)
    speaking = ann.submit(alert("gathering", 0))
    queued = [ann.submit(alert("unmasked", 100 * (i + 1))) for i in range(3)]
    deadline = time.monotonic() + 30
    while not player.played and time.monotonic() < deadline:
        time.sleep(0.01)
    assert player.played, "the first reminder started"
    assert ann.stop(10)
    assert player.stopped >= 1
    assert all(t.outcome == "cancelled" for t in queued)
    assert speaking.done.is_set()
    late = ann.submit(alert("unmasked", 5000))
    assert not late and late.reason == "stopped"


def test_prewarm_synthesises_the_fixed_reminders_while_idle(tmp_path):
    synth = FakeSynth(tmp_path)
    ann = Announcer(settings(languages=["zh", "en"]), synth, FakePlayer(FakeClock()))
    expected = set(ann._fixed_texts())
    assert ("穿红色衣服的这位市民，请您佩戴好口罩。", "zh") in expected
    ann.start(prewarm=True)
    deadline = time.monotonic() + 60
    while len(synth.calls) < len(expected) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ann.stop(10)
    assert {(text, lang) for lang, text in synth.calls} == expected


def test_real_speech_through_the_file_sink(tmp_path):
    """Real synthesizer and player: the sink received exactly the WAVs the records point to."""
    from broadcast.testing import alsa_file_sink_env, find_in, played_wavs

    sink = tmp_path / "sink"
    code = f"""
        import json
        from broadcast.announcer import Announcer
        from broadcast.playback import Player
        from broadcast.settings import BroadcastSettings
        from broadcast.speech import Synthesizer
        from detection.alerts import Alert

        s = BroadcastSettings()
        records = []
        with Synthesizer(s, cache_dir={str(tmp_path / "cache")!r}) as synth:
            synth.check()
            ann = Announcer(s, synth, Player(s.device, s.volume, s.chime),
                            on_broadcast=records.append, wav_dir={str(tmp_path / "wavs")!r})
            ann.start(prewarm=False)
            t = ann.submit(Alert(kind="unmasked", t_s=0, lat_deg=41.8, lon_deg=123.4,
                                 colour="red", colour_zh="红色", track_ids=[3]))
            assert t.wait(120), "reminder not spoken"
            assert ann.stop(10)
        print(json.dumps([r.to_dict() for r in records], ensure_ascii=False))
    """
    r = run_python(code, alsa_file_sink_env(sink))
    records = json.loads(r.stdout.strip().splitlines()[-1])
    assert [(x["language"], x["played"], x["device"]) for x in records] == [
        ("zh", True, "default"),
        ("en", True, "default"),
    ]
    assert records[0]["text"] == "穿红色衣服的这位市民，请您佩戴好口罩。"
    played = played_wavs(sink)
    assert len(played) == 2
    for rec, (samples, rate) in zip(records, played, strict=True):
        kept, kept_rate = read_wav(rec["wav"])
        assert rate == kept_rate and find_in(samples, kept) is not None


def test_without_output_device_the_broadcast_is_recorded_not_played(tmp_path):
    """No sound card: a warning, played=False, and the audio still kept in wav_dir."""
    from broadcast.testing import alsa_no_device_env

    code = f"""
        import json
        from broadcast.announcer import Announcer
        from broadcast.playback import Player, list_devices
        from broadcast.settings import BroadcastSettings
        from broadcast.speech import Synthesizer
        from detection.alerts import Alert

        if list_devices():
            print(json.dumps("has a sound card"))
            raise SystemExit(0)
        s = BroadcastSettings(languages=["zh"])
        records = []
        with Synthesizer(s, cache_dir={str(tmp_path / "cache")!r}) as synth:
            ann = Announcer(s, synth, Player(), on_broadcast=records.append,
                            wav_dir={str(tmp_path / "wavs")!r}).start(prewarm=False)
            t = ann.submit(Alert(kind="gathering", t_s=0, lat_deg=41.8, lon_deg=123.4))
            assert t.wait(120) and t.outcome == "spoken", t
            assert ann.stop(10)
        print(json.dumps([r.to_dict() for r in records], ensure_ascii=False))
    """
    r = run_python(code, alsa_no_device_env(tmp_path))
    out = json.loads(r.stdout.strip().splitlines()[-1])
    if out == "has a sound card":
        pytest.skip("this machine has a sound card: cannot simulate its absence")
    [rec] = out
    assert rec["played"] is False and rec["device"] is None and rec["duration_s"] > 1
    samples, rate = read_wav(rec["wav"])
    assert len(samples) / rate == pytest.approx(rec["duration_s"], abs=1e-3)
    assert "recorded but not played" in r.stderr
