#!/usr/bin/env bash
# Install everything dronepatrol and its tests need on Debian 12 (or similar) with Python >= 3.10.
# Idempotent: when everything is there already it only checks (a few seconds) and changes nothing.
#   - Debian packages: the list in scripts/apt-packages.txt (the only list); apt runs only when
#     one of them is missing.
#   - Python packages: every requirement from pyproject.toml (scripts/install_python.py); pip runs
#     only when one is missing. torch/torchvision first, the releases this machine kind keeps on
#     disk for Python 3.11.
# Python: $PYTHON when set; else python3, or a .venv in the checkout when python3 is Debian's
# externally managed one (PEP 668). scripts/python.sh prints the interpreter chosen.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
while read -r pkg; do
  pkg="${pkg%%#*}"
  pkg="${pkg//[[:space:]]/}"
  [ -n "$pkg" ] || continue
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != "installed" ]; then
    missing+=("$pkg")
  fi
done < scripts/apt-packages.txt

if [ ${#missing[@]} -eq 0 ]; then
  echo "debian packages: up to date"
elif command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  echo "debian packages missing: ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
else
  echo "warning: no apt-get; install these yourself: ${missing[*]}" >&2
fi

PY=$(scripts/python.sh)
"$PY" scripts/install_python.py
