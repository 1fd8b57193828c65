"""Benchmark of the archive index: 100 synthetic recordings, first scan and an unchanged rescan.

Targets (issue 17): under 10 s the first time, under 1 s when nothing changed. Printed beside a
baseline from the same run: the time to read the same 100 recordings one by one with the
single-recording report's reader (``build_report``), which is what indexing costs at least.

Usage:
    python benchmarks/archive_index.py [--recordings 100]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "groundstation"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recordings", type=int, default=100)
    args = ap.parse_args()

    from _archive_samples import utc, write_recording

    from detection.alerts import AlertKind
    from groundstation.archive import Archive
    from groundstation.report import build_report

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "recs"
        t0 = utc("2026-09-01T01:00:00")
        folders = [
            write_recording(root, t0 + i * 43200.0, alerts=((AlertKind.GATHERING, 0.5, 3),))
            for i in range(args.recordings)
        ]
        build_report(folders[0])  # warm imports for both figures
        t = time.perf_counter()
        for f in folders:
            build_report(f)
        baseline = time.perf_counter() - t
        with Archive(Path(tmp) / "a.sqlite") as arc:
            t = time.perf_counter()
            first = arc.scan([root])
            t_first = time.perf_counter() - t
            t = time.perf_counter()
            again = arc.scan([root])
            t_again = time.perf_counter() - t
        n = args.recordings
        print(f"recordings: {n} (synthetic, {len(first.added)} indexed, {again.read} re-read)")
        print(f"baseline  read each with build_report: {baseline:7.2f} s")
        print(f"first scan (read + store):             {t_first:7.2f} s   target < 10 s")
        print(f"rescan, nothing changed:               {t_again:7.3f} s   target < 1 s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
