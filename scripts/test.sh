#!/usr/bin/env bash
# README Quick start, second command (and what .ci/run runs): install what is missing
# (scripts/install.sh, seconds when all is there), then the test suite. Extra arguments go to
# pytest (e.g. tests/missions -q, or -m sitl with ARDUPILOT_SITL set).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
PY=$(scripts/python.sh)
exec "$PY" -m pytest "$@"
