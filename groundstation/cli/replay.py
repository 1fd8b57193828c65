"""``dronepatrol replay``: PLACEHOLDER registered by the foundation; replaced by the issue that builds it."""

from __future__ import annotations

import argparse


def register(sub, common: argparse.ArgumentParser) -> None:
    """Add the ``replay`` subcommand (placeholder)."""
    p = sub.add_parser("replay", parents=[common], help="(not built yet)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Placeholder: fails with a clear message."""
    from missions.errors import DronePatrolError

    raise DronePatrolError("'dronepatrol replay' is not built yet")
