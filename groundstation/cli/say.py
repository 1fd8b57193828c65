"""``dronepatrol say``: speak a text or an alert's reminder on the loudspeaker, or save it as WAV."""

from __future__ import annotations

import argparse
import re
import sys
import textwrap

from detection.colour_names import accepted_colours
from groundstation.cli import HelpFormatter, add_config_args, config_from_args

_EPILOG = """\
examples:
  dronepatrol say "穿红色衣服的这位市民，请您佩戴好口罩" --lang zh
  dronepatrol say "Please keep 1 metre apart" --lang en --out reminder.wav
  dronepatrol say --alert unmasked --colour red --lang zh --device "USB Audio"
  dronepatrol say --alert gathering --place 中山路         # every language in broadcast.languages
  dronepatrol say --list-devices
  dronepatrol say --check                                 # espeak-ng, voices and output device

Digits, times and percentages are read as words (2024年 -> 二零二四年, 14:30 -> 十四点三十分,
85% -> 百分之八十五). Without --out the speech is played on the output device (broadcast.device
or --device); with --out it is saved (several languages: one after the other in one file) and
played only when --device is given too. When it cannot be played (no sound card, device
unplugged) the command says so in one line, names the WAV it kept, and exits with status 1.
--colour takes the clothing colours detection reports, in English or Chinese:
{colours}.
"""

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def register(sub, common: argparse.ArgumentParser) -> None:
    """Add the ``say`` subcommand."""
    p = sub.add_parser(
        "say",
        parents=[common],
        help="speak a reminder on the loudspeaker (zh/en) or save it as WAV",
        description=(
            "Speak TEXT, or the reminder of an alert kind, with pyttsx3/espeak-ng "
            "(Mandarin voice cmn-latn-pinyin) on the loudspeaker output device."
        ),
        epilog=_EPILOG.format(colours=textwrap.fill(accepted_colours(), 96)),
        formatter_class=HelpFormatter,
    )
    p.add_argument("text", nargs="?", help="the sentence to say (one language)")
    p.add_argument(
        "--lang",
        choices=["zh", "en"],
        help="language; default: zh when TEXT has Chinese characters, else en; "
        "for --alert every language of broadcast.languages",
    )
    p.add_argument(
        "--alert",
        choices=["gathering", "unmasked", "mask_incorrect"],
        help="say the configured reminder for this alert kind instead of TEXT",
    )
    p.add_argument(
        "--colour",
        "--color",
        dest="colour",
        help="clothing colour for --alert, English or Chinese (red, 红色, 红...)",
    )
    p.add_argument("--place", help="place name for the {place} slot")
    p.add_argument("--count", type=int, default=5, help="people in the gathering ({count})")
    p.add_argument("--out", metavar="FILE.wav", help="save the speech to this WAV file")
    p.add_argument("--device", help="output device name or index (overrides broadcast.device)")
    p.add_argument("--volume", type=float, help="volume 0..1 (overrides broadcast.volume)")
    p.add_argument("--no-chime", action="store_true", help="no chime before the speech")
    p.add_argument("--list-devices", action="store_true", help="list output devices and exit")
    p.add_argument(
        "--check", action="store_true", help="check espeak-ng, the voices and the output device"
    )
    p.add_argument("--cache-dir", metavar="DIR", help="speech WAV cache folder")
    add_config_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``dronepatrol say``; returns the exit status."""
    from missions.errors import InputError

    if args.list_devices:
        return _list_devices()
    overrides = {
        "broadcast.device": args.device,
        "broadcast.volume": args.volume,
        "broadcast.chime": False if args.no_chime else None,
        "broadcast.cache_dir": args.cache_dir,
    }
    cfg = config_from_args(args, overrides).broadcast
    if args.check:
        return _check(cfg, explicit_device=args.device is not None)
    if args.alert and args.text:
        raise InputError("give either TEXT or --alert, not both")
    if not args.alert and not (args.text and args.text.strip()):
        raise InputError("nothing to say: give TEXT, --alert KIND, --list-devices or --check")
    if args.count < 0:
        raise InputError(f"--count must be 0 or more, got {args.count}")
    if not args.alert and (args.colour or args.place):
        raise InputError("--colour and --place fill an alert's reminder: give --alert KIND")

    from broadcast.normalize import normalize_text
    from broadcast.speech import MAX_TEXT_CHARS

    if args.text and len(args.text) > MAX_TEXT_CHARS:
        raise InputError(
            f"the text has {len(args.text):,} characters; at most {MAX_TEXT_CHARS:,} are spoken "
            "at once: split it"
        )
    if args.alert:
        utterances = _alert_utterances(args, cfg)
    else:
        lang = args.lang or ("zh" if _CJK.search(args.text) else "en")
        if lang == "en" and _CJK.search(args.text):
            raise InputError(
                "the text has Chinese characters but --lang en: use --lang zh "
                "(speak one language per utterance)"
            )
        utterances = [(lang, normalize_text(args.text, lang))]
    return _speak(args, cfg, utterances)


def _alert_utterances(args, cfg) -> list[tuple[str, str]]:
    from broadcast.reminders import reminder_text
    from detection.alerts import Alert, AlertKind
    from detection.colour_names import COLOUR_NAMES_ZH, parse_colour

    colour = colour_zh = None
    if args.colour is not None:  # the same known colour in every language, or an error
        colour = parse_colour(args.colour, "--colour")
        colour_zh = COLOUR_NAMES_ZH[colour]
    alert = Alert(
        kind=AlertKind(args.alert),
        t_s=0.0,
        colour=colour,
        colour_zh=colour_zh,
        count=args.count,
        message="dronepatrol say",
        source="cli",
    )
    langs = [args.lang] if args.lang else list(cfg.languages)
    return [(lang, reminder_text(alert, lang, cfg.texts, place=args.place)) for lang in langs]


def _speak(args, cfg, utterances: list[tuple[str, str]]) -> int:
    """Synthesise, then save (``--out``) and/or play; not playing what was to be played is an
    :class:`AudioDeviceError` (exit status 1) naming the WAV that keeps the speech."""
    import numpy as np

    from broadcast.audio import read_wav, write_wav
    from broadcast.errors import AudioDeviceError
    from broadcast.playback import Player
    from broadcast.speech import Synthesizer

    # The problem is reported once, below, not also as a log line.
    player = Player(device=cfg.device, volume=cfg.volume, chime=cfg.chime, log_failures=False)
    if args.device is not None:
        player.check()  # an explicit device that does not exist is an error
    with Synthesizer(cfg) as synth:
        wavs = [(lang, text, synth.synthesize(text, lang)) for lang, text in utterances]
    for lang, text, _ in wavs:
        print(f"[{lang}] {text}")
    if args.out:
        parts = []
        rate = 22050
        for i, (_, _, wav) in enumerate(wavs):
            samples, rate = read_wav(wav)
            if i:
                parts.append(np.zeros(rate // 2, dtype=np.int16))
            parts.append(samples)
        out = write_wav(args.out, np.concatenate(parts), rate)
        print(f"saved {out}")
        if args.device is None:
            return 0
    try:
        for i, (lang, _, wav) in enumerate(wavs):
            result = player.play(wav, chime_first=cfg.chime and i == 0).wait()
            if not result.played:
                kept = str(out) if args.out else ", ".join(str(w) for _, _, w in wavs)
                raise AudioDeviceError(f"not played: {result.error}; the speech is kept in {kept}")
            print(f"played [{lang}] on {result.device!r} ({result.duration_s:.1f} s)")
    finally:
        player.close()
    return 0


def _list_devices() -> int:
    from broadcast.playback import _SD_ERROR, list_devices

    devices = list_devices()
    if not devices:
        print(_SD_ERROR or "no audio output device (no sound card or sound server)")
        return 1
    for d in devices:
        mark = "*" if d["default"] else " "
        print(
            f"{mark} {d['index']:>3}  {d['name']}  ({d['hostapi']}, {d['channels']} ch, "
            f"{d['default_samplerate']:.0f} Hz)"
        )
    return 0


def _check(cfg, *, explicit_device: bool) -> int:
    from broadcast.errors import AudioDeviceError
    from broadcast.playback import Player
    from broadcast.speech import Synthesizer

    with Synthesizer(cfg) as synth:
        voices = synth.check()
    for lang, voice in voices.items():
        print(f"voice {lang}: {voice} ok")
    player = Player(device=cfg.device, volume=cfg.volume, chime=cfg.chime)
    try:
        print(f"output device: {player.check()}")
    except AudioDeviceError as exc:
        if explicit_device or cfg.device is not None:
            raise
        print(f"warning: {exc}: reminders will be recorded but not played", file=sys.stderr)
    return 0
