"""Benchmark of the loudspeaker reminders: synthesis time per sentence, alert-to-playback latency.

Prints:

* synthesis time of each reminder sentence (zh and en, uncached), its audio length and the
  real-time factor (synthesis time / audio time);
* the time from ``Announcer.submit(alert)`` to the start of playback (PortAudio stream started)
  for a cached reminder (target < 100 ms) and, for comparison, an uncached one.

Without ``--real-device`` the audio goes to an ALSA file sink in a temporary folder (the machine
needs no sound card); the variable is set before sounddevice is imported.

Usage:
    python benchmarks/broadcast.py [--runs 20] [--real-device]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _stats(values_ms: list[float]) -> str:
    v = sorted(values_ms)
    p95 = v[min(len(v) - 1, int(round(0.95 * (len(v) - 1))))]
    return (
        f"min {v[0]:7.1f}  median {statistics.median(v):7.1f}  p95 {p95:7.1f}  max {v[-1]:7.1f} ms"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=20, help="alerts per latency measurement")
    ap.add_argument("--real-device", action="store_true", help="play on the real default output")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="dronepatrol-bench-"))
    if not args.real_device:
        from broadcast.testing import alsa_file_sink_env

        os.environ.update(alsa_file_sink_env(work / "sink"))

    from broadcast.announcer import Announcer
    from broadcast.audio import read_wav
    from broadcast.playback import Player
    from broadcast.reminders import reminder_text
    from broadcast.settings import BroadcastSettings
    from broadcast.speech import Synthesizer
    from detection.alerts import Alert

    settings = BroadcastSettings(cooldown_s=0.0, cooldown_track_s=0.0, max_age_s=600.0)
    alerts = {
        "gathering": Alert(kind="gathering", t_s=0, count=6),
        "unmasked red": Alert(kind="unmasked", t_s=0, colour="red", colour_zh="红色"),
        "mask_incorrect": Alert(kind="mask_incorrect", t_s=0, colour="blue"),
    }

    print("== synthesis per sentence (uncached, pyttsx3 + espeak-ng in the speech worker)")
    with Synthesizer(settings, cache_dir=work / "cache-synth") as synth:
        t0 = time.perf_counter()
        synth.check(texts=False)
        print(f"worker start + voice check: {1000 * (time.perf_counter() - t0):.0f} ms")
        for name, alert in alerts.items():
            for lang in ("zh", "en"):
                text = reminder_text(alert, lang)
                times = []
                for i in range(3):
                    synth.cache_path(text, lang).unlink(missing_ok=True)
                    t0 = time.perf_counter()
                    wav = synth.synthesize(text, lang)
                    times.append(time.perf_counter() - t0)
                    if i < 2:
                        wav.unlink()
                samples, rate = read_wav(wav)
                audio_s = len(samples) / rate
                best = min(times)
                print(
                    f"{lang} {name:15s} {len(text):3d} chars  audio {audio_s:5.2f} s  "
                    f"synthesis {1000 * best:6.1f} ms (best of 3)  RTF {best / audio_s:.3f}"
                )

    print(f"\n== alert -> playback start ({args.runs} alerts each, chime on, zh then en)")
    player = Player(device=settings.device, volume=settings.volume, chime=settings.chime)
    print(f"output device: {player.check()}")
    for label, cached in (("cached reminder", True), ("uncached reminder", False)):
        cache = work / f"cache-{label.split()[0]}"
        with Synthesizer(settings, cache_dir=cache) as synth:
            synth.check(texts=False)
            if cached:
                for lang in settings.languages:
                    synth.synthesize(reminder_text(alerts["unmasked red"], lang), lang)
            ann = Announcer(settings, synth, player).start(prewarm=False)
            latencies = []
            try:
                for i in range(args.runs):
                    if not cached:
                        for p in cache.glob("*.wav"):
                            p.unlink()
                    alert = Alert(
                        kind="unmasked",
                        t_s=time.time(),
                        colour="red",
                        colour_zh="红色",
                        lat_deg=41.8 + i * 0.01,
                        lon_deg=123.4,
                    )
                    t0 = time.monotonic()
                    ticket = ann.submit(alert)
                    if not ticket.wait(120) or ticket.first_audio_s is None:
                        print(f"reminder {i} not spoken: {ticket.outcome} {ticket.error}")
                        return 1
                    latencies.append(1000 * (ticket.first_audio_s - t0))
            finally:
                ann.stop(10)
        print(f"{label:18s} {_stats(latencies)}")
        if cached:
            p95 = sorted(latencies)[
                min(len(latencies) - 1, int(round(0.95 * (len(latencies) - 1))))
            ]
            verdict = "met" if p95 < 100 else "NOT met"
            print(f"{'':18s} target < 100 ms (p95): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
