#!/usr/bin/env bash
# README Quick start, first command: install what is missing (scripts/install.sh, seconds when
# all is there), then run the demo patrol on the embedded simulator. Extra arguments go to
# `dronepatrol patrol` (e.g. --connect sitl, --set sim.speedup=10).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
PY=$(scripts/python.sh)
exec "$PY" -m groundstation.cli patrol --config configs/demo.yaml "$@"
