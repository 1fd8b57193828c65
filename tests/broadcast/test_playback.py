"""Playback through sounddevice into an ALSA file sink: what is played is what was synthesised.

sounddevice reads the ALSA configuration when it is imported, so each test runs its playback in
a fresh interpreter with the sink's environment (``broadcast.testing.alsa_file_sink_env``).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from speech_helpers import run_python

from broadcast.audio import apply_volume, chime, read_wav
from broadcast.playback import Player
from broadcast.testing import alsa_file_sink_env, alsa_no_device_env, find_in, played_wavs


@pytest.fixture(scope="module")
def speech(synth):
    """A real Mandarin and English reminder WAV."""
    return {
        "zh": synth.synthesize("穿红色衣服的这位市民，请您佩戴好口罩。", "zh"),
        "en": synth.synthesize("The person in red, please wear your mask.", "en"),
    }


def _play(env, wavs, *, device=None, volume=1.0, chime_on=False):
    code = f"""
        import json
        from broadcast.playback import Player
        player = Player(device={device!r}, volume={volume!r}, chime={chime_on!r})
        out = []
        for wav in {[str(w) for w in wavs]!r}:
            pb = player.play(wav)
            r = pb.wait(120)
            out.append({{"played": r.played, "device": r.device, "error": r.error,
                        "duration_s": r.duration_s, "started": r.started_s is not None}})
        player.close()
        print(json.dumps(out))
    """
    r = run_python(code, env)
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_played_audio_equals_synthesized_audio(tmp_path, speech):
    sink = tmp_path / "sink"
    results = _play(alsa_file_sink_env(sink), [speech["zh"], speech["en"]])
    assert [r["played"] for r in results] == [True, True]
    assert results[0]["device"] == "default" and results[0]["error"] is None
    played = played_wavs(sink)
    assert len(played) == 2
    for (samples, rate), lang in zip(played, ("zh", "en"), strict=True):
        expected, expected_rate = read_wav(speech[lang])
        # the sink takes the stream as opened (22050 Hz mono int16): no resampling, so the
        # comparison is exact, sample for sample, apart from PortAudio's priming silence
        assert rate == expected_rate == 22050 and samples.ndim == 1
        assert find_in(samples, expected) is not None


def test_chime_and_volume_are_exactly_what_render_says(tmp_path, speech):
    sink = tmp_path / "sink"
    results = _play(alsa_file_sink_env(sink), [speech["zh"]], volume=0.5, chime_on=True)
    assert results[0]["played"]
    [(samples, _)] = played_wavs(sink)
    speech_samples, rate = read_wav(speech["zh"])
    expected = apply_volume(np.concatenate([chime(rate), speech_samples]), 0.5)
    rendered, _ = Player(volume=0.5, chime=True).render(speech["zh"])
    assert np.array_equal(rendered, expected)
    assert find_in(samples, expected) is not None
    assert results[0]["duration_s"] == pytest.approx(len(expected) / rate)


def test_device_by_name_and_index(tmp_path, speech):
    sink = tmp_path / "sink"
    env = alsa_file_sink_env(sink)
    assert _play(env, [speech["en"]], device="default")[0]["played"]
    assert _play(env, [speech["en"]], device=0)[0]["played"]
    assert len(played_wavs(sink)) == 2


def test_unknown_device_is_reported_not_raised_while_playing(tmp_path, speech):
    sink = tmp_path / "sink"
    [r] = _play(alsa_file_sink_env(sink), [speech["en"]], device="USB Loudspeaker")
    assert r["played"] is False and "USB Loudspeaker" in r["error"] and "default" in r["error"]
    assert played_wavs(sink) == []


def test_check_raises_for_an_unknown_device(tmp_path):
    code = """
        from broadcast.playback import Player
        from broadcast.errors import AudioDeviceError
        print(Player().check())
        try:
            Player(device="USB Loudspeaker").check()
        except AudioDeviceError as exc:
            print("ERROR:", exc)
    """
    r = run_python(code, alsa_file_sink_env(tmp_path))
    first, second = r.stdout.strip().splitlines()
    assert first == "default"
    assert second.startswith("ERROR: output device 'USB Loudspeaker' not usable")
    assert "outputs: 0: default" in second


def test_no_device_warns_once_and_returns_at_once_unless_told_not_to_log(tmp_path, speech):
    code = f"""
        import logging, json
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
        from broadcast.playback import Player, list_devices
        if list_devices():
            print(json.dumps("has a sound card"))
            raise SystemExit(0)
        player = Player()
        results = []
        for _ in range(3):
            pb = player.play({str(speech["zh"])!r})
            assert pb.done.is_set()          # no device: the handle is finished at once
            r = pb.wait(1)
            results.append([r.played, r.device, r.duration_s > 0])
        quiet = Player(log_failures=False).play({str(speech["zh"])!r}).wait(1)
        results.append([quiet.played, quiet.error])  # reported in the result, not logged
        print(json.dumps(results))
    """
    r = run_python(code, alsa_no_device_env(tmp_path))
    if json.loads(r.stdout.strip()) == "has a sound card":
        pytest.skip("this machine has a sound card: cannot simulate its absence")
    results = json.loads(r.stdout.strip())
    assert results[:3] == [[False, None, True]] * 3
    assert results[3] == [False, "no audio output device (no sound card or sound server)"]
    warnings = [line for line in r.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1
    assert "no audio output device" in warnings[0] and "recorded but not played" in warnings[0]


def test_render_rejects_an_array_without_rate():
    with pytest.raises(ValueError, match="rate_hz"):
        Player().render(np.zeros(10, dtype=np.int16))
    with pytest.raises(ValueError, match="volume"):
        Player(volume=2.0)


def test_find_in_is_exact():
    x = (np.sin(np.arange(2000) / 7) * 8000).astype(np.int16)
    played = np.concatenate([np.zeros(955, np.int16), x, np.zeros(300, np.int16)])
    assert find_in(played, x) == 955
    damaged = played.copy()
    damaged[1500] += 1
    assert find_in(damaged, x) is None
    noisy = played.copy()
    noisy[10] = 5
    assert find_in(noisy, x) is None
