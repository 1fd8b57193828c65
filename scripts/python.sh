#!/usr/bin/env bash
# Print the Python interpreter dronepatrol's scripts use: $PYTHON when set; else python3, unless
# it is Debian's externally managed Python (PEP 668), then .venv/bin/python of this checkout
# (made here when missing, with python3-venv from scripts/apt-packages.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; exit 0; fi
if [ -x .venv/bin/python ]; then echo "$PWD/.venv/bin/python"; exit 0; fi
managed=$(python3 -c 'import os, sysconfig; print(os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))')
if [ "$managed" = "True" ]; then
  python3 -m venv .venv >&2
  echo "$PWD/.venv/bin/python"
else
  command -v python3
fi
