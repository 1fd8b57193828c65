"""``dronepatrol recordings``: list recordings, delete expired ones, export the access log."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from groundstation.cli import HelpFormatter, add_config_args, config_from_args

_EPILOG = """\
examples:
  dronepatrol recordings list                        # every recording, its age, expired or not
  dronepatrol recordings prune                       # dry run: what would be deleted
  dronepatrol recordings prune --yes                 # delete recordings older than retention_days
  dronepatrol recordings prune --days 7 --yes        # a shorter retention this once
  dronepatrol recordings delete recordings/20261207-131210 --yes   # erase one recording
  dronepatrol recordings access-log --csv > views.csv             # who looked at which snapshot

Age counts from when a recording started. A recording in progress (its patrol still running) is
never deleted. See docs/privacy.md.
"""


def register(sub, common: argparse.ArgumentParser) -> None:
    """Add the ``recordings`` subcommand."""
    p = sub.add_parser(
        "recordings",
        parents=[common],
        help="list recordings, delete expired ones (retention), export the access log",
        description=(
            "Manage the flight recordings under recording.dir: list them with their age, delete "
            "those older than recording.retention_days (dry run unless --yes), erase one, and "
            "export the access log of alert snapshots."
        ),
        epilog=_EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument("action", choices=["list", "prune", "delete", "access-log"])
    p.add_argument("folder", nargs="?", type=Path, help="the recording to erase (delete)")
    p.add_argument("--dir", type=Path, default=None, help="recordings folder (recording.dir)")
    p.add_argument(
        "--days", type=float, default=None, help="retention in days (recording.retention_days)"
    )
    p.add_argument("--yes", action="store_true", help="really delete (default: dry run)")
    p.add_argument("--csv", action="store_true", help="access-log: CSV instead of JSON Lines")
    add_config_args(p)
    p.set_defaults(func=run)


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def run(args: argparse.Namespace) -> int:
    """Run the action; returns 0, or 1 when a deletion failed."""
    from groundstation.overlay.access_log import ACCESS_LOG_NAME, read_access_log
    from groundstation.retention import delete_recording, expired_recordings, list_recordings
    from missions.errors import InputError

    cfg = config_from_args(args, {"recording.dir": args.dir, "recording.retention_days": args.days})
    root = Path(cfg.recording.dir)
    days = cfg.recording.retention_days
    if args.action == "list":
        recs = list_recordings(root)
        for a in recs:
            state = "in progress" if a.in_progress else ("EXPIRED" if a.age_days > days else "kept")
            print(f"{a.folder.name}  {a.age_days:6.1f} days  {_mib(a.size_bytes):>10s}  {state}")
        print(f"{len(recs)} recording(s) in {root}, retention {days:g} days")
        return 0
    if args.action == "access-log":
        rows = read_access_log(root / ACCESS_LOG_NAME)
        if args.csv:
            import csv

            keys = ["t", "who", "client", "alert_id", "granted", "source"]
            w = csv.DictWriter(sys.stdout, fieldnames=keys, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
        else:
            for r in rows:
                print(json.dumps(r, ensure_ascii=False))
        return 0
    if args.action == "delete":
        if args.folder is None:
            raise InputError("recordings delete: name the recording folder to erase")
        if not args.yes:
            print(f"dry run: would delete {args.folder} (add --yes to delete)")
            return 0
        try:
            delete_recording(args.folder)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        print(f"deleted {args.folder}")
        return 0
    # prune
    if args.folder is not None:
        raise InputError("recordings prune takes no folder: use --dir for the recordings folder")
    old = expired_recordings(root, days)
    skipped = [a for a in list_recordings(root) if a.in_progress and a.age_days > days]
    for a in skipped:
        print(f"kept {a.folder.name}: recording in progress")
    if not old:
        print(f"no recording in {root} is older than {days:g} days")
        return 0
    total = sum(a.size_bytes for a in old)
    if not args.yes:
        for a in old:
            print(f"would delete {a.folder.name} ({a.age_days:.1f} days, {_mib(a.size_bytes)})")
        print(
            f"dry run: {len(old)} recording(s), {_mib(total)}, older than {days:g} days; "
            "add --yes to delete them"
        )
        return 0
    failed = 0
    for a in old:
        try:
            delete_recording(a.folder)
        except (OSError, ValueError) as exc:
            failed += 1
            print(f"cannot delete {a.folder}: {exc}", file=sys.stderr)
            continue
        print(f"deleted {a.folder.name} ({a.age_days:.1f} days, {_mib(a.size_bytes)})")
    print(f"deleted {len(old) - failed} of {len(old)} expired recording(s) in {root}")
    return 1 if failed else 0
