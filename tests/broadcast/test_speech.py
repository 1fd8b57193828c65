"""Speech synthesis with pyttsx3 on espeak-ng: real WAVs, Mandarin read as Mandarin, every quirk."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest
from speech_helpers import REPO_ROOT, run_python

from broadcast.audio import read_wav, rms
from broadcast.errors import SpeechError
from broadcast.reminders import reminder_text
from broadcast.settings import BroadcastSettings
from broadcast.speech import Synthesizer, english_fallback, phonemes
from detection.alerts import Alert
from groundstation.config import load_config

UNMASKED_RED = Alert(kind="unmasked", t_s=0.0, colour="red", colour_zh="红色")
GATHERING = Alert(kind="gathering", t_s=0.0, count=6)


def _assert_speech_wav(path, text, *, per_unit_s, units):
    """A real spoken sentence: RIFF mono 16-bit 22050 Hz, clearly not silent, plausible length."""
    assert path.read_bytes()[:4] == b"RIFF"
    samples, rate = read_wav(path)
    assert samples.ndim == 1 and rate == 22050
    assert rms(samples) > 0.02, f"silent WAV for {text!r}"
    seconds = len(samples) / rate
    lo, hi = per_unit_s
    assert lo * units <= seconds <= hi * units + 1.0, f"{seconds:.2f} s for {units} units"
    # speech has pauses and loud parts: the loudest 100 ms window is far above the quietest
    win = rate // 10
    frames = samples[: len(samples) // win * win].astype(np.float64).reshape(-1, win)
    energy = np.sqrt((frames**2).mean(axis=1))
    assert energy.max() > 20 * (energy.min() + 1)


@pytest.mark.parametrize("alert", [UNMASKED_RED, GATHERING], ids=["unmasked", "gathering"])
def test_mandarin_reminder(synth, alert):
    text = reminder_text(alert, "zh")
    wav = synth.synthesize(text, "zh")
    hanzi = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    # Mandarin at 150 wpm: roughly 0.15-0.6 s per syllable (one character = one syllable)
    _assert_speech_wav(wav, text, per_unit_s=(0.15, 0.6), units=hanzi)


@pytest.mark.parametrize("alert", [UNMASKED_RED, GATHERING], ids=["unmasked", "gathering"])
def test_english_reminder(synth, alert):
    text = reminder_text(alert, "en")
    wav = synth.synthesize(text, "en")
    words = len(text.split())
    # 150 words per minute = 0.4 s per word, with punctuation pauses
    _assert_speech_wav(wav, text, per_unit_s=(0.2, 0.9), units=words)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs the espeak-ng program")
@pytest.mark.parametrize("alert", [UNMASKED_RED, GATHERING], ids=["unmasked", "gathering"])
def test_mandarin_reminder_has_no_english_fallback(alert):
    text = reminder_text(alert, "zh")
    ph = phonemes(text, "cmn-latn-pinyin")
    assert ph.strip() and "(en)" not in ph
    # the plain cmn voice is the trap audio.md warns about: it is not the configured one
    assert BroadcastSettings().voices.zh.voice == "cmn-latn-pinyin"


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs the espeak-ng program")
def test_english_fallback_is_detected():
    assert english_fallback("hello 你好", "cmn-latn-pinyin")
    assert not english_fallback("你好", "cmn-latn-pinyin")


def test_cache_hit_needs_no_synthesis(tmp_path):
    cache = tmp_path / "cache"
    with Synthesizer(cache_dir=cache) as first:
        wav = first.synthesize("请您佩戴好口罩。", "zh")
    before = (wav.stat().st_mtime_ns, wav.read_bytes())
    second = Synthesizer(cache_dir=cache)
    assert second.cached("请您佩戴好口罩。", "zh") == wav
    assert second.synthesize("请您佩戴好口罩。", "zh") == wav
    assert second._proc is None, "a cached sentence must not start the speech worker"
    assert (wav.stat().st_mtime_ns, wav.read_bytes()) == before
    # the key covers voice and rate: another rate is another file
    slow = BroadcastSettings.model_validate({"voices": {"zh": {"rate_wpm": 110}}})
    assert Synthesizer(slow, cache_dir=cache).cache_path("请您佩戴好口罩。", "zh") != wav


def test_cache_key_uses_the_normalised_text(synth):
    assert synth.cache_path("保持1米", "zh") == synth.cache_path("保持一米", "zh")


def test_each_utterance_gets_its_own_audio_and_earlier_files_stay(synth):
    """pyttsx3 keeps the last path and text: the worker resets them between utterances."""
    a = synth.synthesize("第一句话，请戴口罩。", "zh")
    a_bytes = a.read_bytes()
    b = synth.synthesize("Second sentence, a different one with more words in it.", "en")
    c = synth.synthesize("第三句。", "zh")
    assert len({a, b, c}) == 3
    assert a.read_bytes() == a_bytes
    lengths = [len(read_wav(p)[0]) for p in (a, b, c)]
    assert lengths[1] > lengths[2] and lengths[0] > lengths[2]


def test_switching_voices_back_and_forth(synth):
    """Each utterance is spoken with its language's voice, after any number of switches."""
    for i in range(3):
        for lang, text in (("zh", f"这是第{i + 4}次测试。"), ("en", f"Test number {i + 4}.")):
            synth.synthesize(text, lang)
            assert synth._voice_ids[lang].endswith(synth.voice_for(lang).voice)


def test_threads_share_one_synthesizer(synth):
    texts = [
        (f"线程{i}号，请戴口罩。", "zh") if i % 2 else (f"Thread {i}.", "en") for i in range(8)
    ]
    out: dict[int, object] = {}
    errors = []

    def work(i):
        try:
            out[i] = synth.synthesize(*texts[i])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and len(out) == len(texts) and len(set(out.values())) == len(texts)
    for p in out.values():
        samples, _ = read_wav(p)
        assert rms(samples) > 0.02


def test_absent_voice_is_a_clear_error(tmp_path):
    s = BroadcastSettings.model_validate({"voices": {"en": {"voice": "en-xx-nope"}}})
    with Synthesizer(s, cache_dir=tmp_path) as synth:
        with pytest.raises(SpeechError) as err:
            synth.check()
        msg = str(err.value)
        assert "en-xx-nope" in msg and "broadcast.voices.en.voice" in msg and "\n" not in msg
        with pytest.raises(SpeechError, match="refused voice 'en-xx-nope'"):
            synth.synthesize("hello", "en")
        # the worker survives a refused voice: the next utterance uses the right voice
        assert rms(read_wav(synth.synthesize("你好。", "zh"))[0]) > 0.02


def test_check_reports_the_voices(synth):
    voices = synth.check()
    assert voices["zh"].endswith("cmn-latn-pinyin") and voices["en"].endswith("en-us")


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs the espeak-ng program")
def test_check_rejects_a_mandarin_template_read_as_english(tmp_path):
    s = BroadcastSettings.model_validate({"texts": {"zh": {"unmasked": "{person}, please mask"}}})
    with Synthesizer(s, cache_dir=tmp_path) as synth, pytest.raises(SpeechError) as err:
        synth.check()
    assert "broadcast.texts.zh.unmasked" in str(err.value)


def test_missing_espeak_is_a_clear_error(tmp_path):
    """Without libespeak-ng the worker cannot start: one line saying what to install."""
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import ctypes\n"
        "_load = ctypes.cdll.LoadLibrary\n"
        "def _no_espeak(name, *a, **k):\n"
        "    if 'espeak' in str(name):\n"
        "        raise OSError(f'{name}: cannot open shared object file')\n"
        "    return _load(name, *a, **k)\n"
        "ctypes.cdll.LoadLibrary = _no_espeak\n",
        encoding="utf-8",
    )
    code = f"""
        import sys
        from broadcast.speech import Synthesizer
        from broadcast.errors import SpeechError
        try:
            Synthesizer(cache_dir={str(tmp_path / "c")!r}).synthesize("你好", "zh")
        except SpeechError as exc:
            print("ERROR:", exc)
            sys.exit(0)
        sys.exit("no error")
    """
    r = run_python(code, {"PYTHONPATH": f"{hide}:{REPO_ROOT}"})
    line = r.stdout.strip()
    assert line.startswith("ERROR: espeak-ng is not installed") and "\n" not in line


def test_worker_output_never_reaches_stdout(tmp_path, capfd):
    """pyttsx3 prints 'Audio saved to ...' on stdout; the worker filters it out."""
    with Synthesizer(cache_dir=tmp_path) as synth:
        synth.synthesize("Quiet please.", "en")
        synth.synthesize("安静。", "zh")
    out, err = capfd.readouterr()
    assert "Audio saved" not in out and "Audio saved" not in err


def test_timeout_kills_the_worker_and_the_next_call_recovers(tmp_path):
    s = BroadcastSettings(synth_timeout_s=1e-6)
    with Synthesizer(s, cache_dir=tmp_path) as synth:
        with pytest.raises(SpeechError, match="did not finish"):
            synth.synthesize("这是一句相当长的句子，" * 150, "zh")
        synth.settings = BroadcastSettings()
        assert rms(read_wav(synth.synthesize("恢复了。", "zh"))[0]) > 0.02


def test_close_ends_the_worker(tmp_path):
    synth = Synthesizer(cache_dir=tmp_path)
    synth.synthesize("Bye.", "en")
    proc = synth._proc
    assert proc is not None and proc.poll() is None
    synth.close()
    assert proc.poll() is not None


def test_empty_text_and_unknown_language(synth):
    with pytest.raises(SpeechError, match="empty"):
        synth.synthesize("   ", "zh")
    with pytest.raises(Exception, match="'fr'"):
        synth.synthesize("bonjour", "fr")


def test_voice_settings_override_one_key(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("broadcast:\n  voices:\n    zh: {rate_wpm: 120}\n", encoding="utf-8")
    cfg = load_config(f)
    assert cfg.broadcast.voices.zh.voice == "cmn-latn-pinyin"
    assert cfg.broadcast.voices.zh.rate_wpm == 120
