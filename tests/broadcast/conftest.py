"""Fixtures of the broadcast tests: a speech synthesizer with a private cache (the subprocess
runner for sounddevice under a test ALSA configuration is in ``speech_helpers.py``)."""

from __future__ import annotations

import pytest

from broadcast.settings import BroadcastSettings
from broadcast.speech import Synthesizer


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """A started-on-demand Synthesizer with the default voices and a cache of its own."""
    s = Synthesizer(BroadcastSettings(), cache_dir=tmp_path_factory.mktemp("speech-cache"))
    yield s
    s.close()
