"""``dronepatrol detect``: PLACEHOLDER registered by the foundation; replaced by the issue that builds it."""

from __future__ import annotations

import argparse


def register(sub, common: argparse.ArgumentParser) -> None:
    """Add the ``detect`` subcommand (placeholder)."""
    p = sub.add_parser("detect", parents=[common], help="(not built yet)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Placeholder: fails with a clear message."""
    from missions.errors import DronePatrolError

    raise DronePatrolError("'dronepatrol detect' is not built yet")
