"""``dronepatrol say`` as a user runs it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from broadcast.audio import apply_volume, chime, read_wav, rms
from broadcast.testing import alsa_file_sink_env, alsa_no_device_env, find_in, played_wavs
from tests.conftest import run_cli


def test_help_has_examples():
    r = run_cli("say", "--help")
    assert r.returncode == 0
    assert "examples:" in r.stdout and "--alert unmasked --colour red --lang zh" in r.stdout


def test_text_to_wav_file(tmp_path):
    out = tmp_path / "r.wav"
    r = run_cli(
        "say", "请在14:30前离开，保持1米距离", "--lang", "zh", "--out", str(out),
        "--cache-dir", str(tmp_path / "c"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "[zh] 请在十四点三十分前离开，保持一米距离" in r.stdout
    assert "Audio saved" not in r.stdout
    samples, rate = read_wav(out)
    assert rate == 22050 and rms(samples) > 0.02


def test_alert_reminder_in_all_configured_languages(tmp_path):
    out = tmp_path / "r.wav"
    r = run_cli(
        "say", "--alert", "unmasked", "--colour", "red", "--out", str(out),
        "--cache-dir", str(tmp_path / "c"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "[zh] 穿红色衣服的这位市民，请您佩戴好口罩。" in r.stdout
    assert "[en] The person in red, please wear your mask." in r.stdout
    assert len(read_wav(out)[0]) > 22050 * 3


def test_played_through_the_sink_with_chime(tmp_path):
    cache = tmp_path / "c"
    sink = tmp_path / "sink"
    r = run_cli(
        "say", "--alert", "unmasked", "--colour", "红色", "--lang", "zh", "--device", "default",
        "--cache-dir", str(cache), env=alsa_file_sink_env(sink),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "played [zh] on 'default'" in r.stdout
    [(played, _)] = played_wavs(sink)
    [speech] = list(cache.glob("zh-*.wav"))
    samples, rate = read_wav(speech)
    expected = apply_volume(np.concatenate([chime(rate), samples]), 1.0)
    assert find_in(played, expected) is not None


def test_list_devices(tmp_path):
    r = run_cli("say", "--list-devices", env=alsa_file_sink_env(tmp_path))
    assert r.returncode == 0 and "default" in r.stdout


def test_unknown_device_is_a_one_line_error(tmp_path):
    r = run_cli("say", "hello", "--device", "Nope Speaker", env=alsa_file_sink_env(tmp_path))
    assert r.returncode != 0
    assert r.stderr.startswith("error: output device 'Nope Speaker' not usable")
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_no_device_is_one_line_naming_the_kept_speech(tmp_path):
    cache = tmp_path / "c"
    r = run_cli("say", "hello", "--cache-dir", str(cache), env=alsa_no_device_env(tmp_path))
    if r.returncode == 0 and "played [en]" in r.stdout:
        pytest.skip("this machine has a sound card: cannot simulate its absence")
    assert r.returncode == 1
    assert r.stdout.strip() == "[en] hello"
    # Once: not also as a "WARNING broadcast.playback" log line and a "warning:" line.
    [line] = r.stderr.strip().splitlines()
    head, _, kept = line.partition("; the speech is kept in ")
    assert head == "error: not played: no audio output device (no sound card or sound server)"
    samples, rate = read_wav(kept)
    assert Path(kept).parent == cache and rate == 22050 and rms(samples) > 0.02


def test_no_device_with_out_saves_and_succeeds_silently(tmp_path):
    out = tmp_path / "r.wav"
    r = run_cli(
        "say", "hello", "--out", str(out), "--cache-dir", str(tmp_path / "c"),
        env=alsa_no_device_env(tmp_path),
    )  # fmt: skip
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.splitlines() == ["[en] hello", f"saved {out}"]
    assert rms(read_wav(out)[0]) > 0.02


@pytest.mark.parametrize("lang", [["--lang", "zh"], ["--lang", "en"], []])
def test_unknown_colour_is_a_one_line_error_listing_the_names(lang):
    r = run_cli("say", "--alert", "unmasked", "--colour", "purplish", *lang)
    assert r.returncode == 2 and r.stdout == ""
    [line] = r.stderr.strip().splitlines()
    assert line.startswith("error: --colour 'purplish': unknown colour; use one of black/黑色, ")
    assert "purple/紫色" in line and "brown/棕色" in line


def test_colour_in_either_language_is_the_same_person_in_both(tmp_path):
    r = run_cli(
        "say", "--alert", "unmasked", "--colour", "紫", "--out", str(tmp_path / "r.wav"),
        "--cache-dir", str(tmp_path / "c"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "[zh] 穿紫色衣服的这位市民，请您佩戴好口罩。" in r.stdout
    assert "[en] The person in purple, please wear your mask." in r.stdout
    r = run_cli("say", "hello", "--colour", "red")
    assert r.returncode == 2 and "give --alert KIND" in r.stderr


def test_bad_input(tmp_path):
    r = run_cli("say", "你好", "--lang", "en")
    assert r.returncode == 2 and "use --lang zh" in r.stderr
    r = run_cli("say", "hi", "--alert", "unmasked")
    assert r.returncode == 2 and "either TEXT or --alert" in r.stderr
    r = run_cli("say")
    assert r.returncode == 2 and "nothing to say" in r.stderr


def test_check(tmp_path):
    r = run_cli("say", "--check", "--cache-dir", str(tmp_path), env=alsa_file_sink_env(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "voice zh: sit/cmn-latn-pinyin ok" in r.stdout and "output device: default" in r.stdout
