"""``FramePrefetcher``: the patrol reads the simulated camera one frame ahead, on a thread."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from detection.sources import Frame, FrameSource, FrameTimeout, SourceError
from groundstation.patrol import FramePrefetcher


class CountingSource(FrameSource):
    """Gives ``n`` frames (then None), counting how many were read; optionally fails once."""

    name = "counting"

    def __init__(self, n: int, fail_at: int | None = None, timeout_at: int | None = None):
        self.n = n
        self.fail_at = fail_at
        self.timeout_at = timeout_at
        self.reads = 0

    def read(self, timeout_s: float = 5.0):
        i = self.reads
        self.reads += 1
        if i == self.timeout_at:
            raise FrameTimeout("slow")
        if i == self.fail_at:
            raise SourceError("camera unplugged")
        if i >= self.n:
            return None
        return Frame(image=np.zeros((2, 2, 3), np.uint8), t_s=float(i), index=i)


def test_frames_arrive_in_order_then_none_and_the_thread_ends():
    stop = threading.Event()
    src = CountingSource(5, timeout_at=2)  # a FrameTimeout inside is retried, not forwarded
    pre = FramePrefetcher(src, stop).start()
    got = []
    while (frame := pre.read(timeout_s=2.0)) is not None:
        got.append(frame.t_s)
    assert got == [0.0, 1.0, 3.0, 4.0]  # read 2 timed out; read 5 is the end
    pre.thread.join(timeout=2.0)
    assert not pre.thread.is_alive()


def test_at_most_one_frame_waits_ahead_of_the_consumer():
    stop = threading.Event()
    src = CountingSource(100)
    pre = FramePrefetcher(src, stop).start()
    time.sleep(0.5)  # the consumer is busy: the reader must not run ahead
    # one frame in the queue, one read and blocked on the full queue
    assert src.reads <= 2
    first = pre.read(timeout_s=1.0)
    assert first.index == 0
    stop.set()
    pre.thread.join(timeout=2.0)
    assert not pre.thread.is_alive()


def test_a_source_error_is_raised_on_the_consumer_thread():
    stop = threading.Event()
    pre = FramePrefetcher(CountingSource(5, fail_at=1), stop).start()
    assert pre.read(timeout_s=1.0).index == 0
    with pytest.raises(SourceError, match="camera unplugged"):
        pre.read(timeout_s=1.0)
    stop.set()
    pre.thread.join(timeout=3.0)
    assert not pre.thread.is_alive()


def test_no_frame_within_the_timeout_is_a_frame_timeout():
    stop = threading.Event()

    class Silent(FrameSource):
        name = "silent"

        def read(self, timeout_s: float = 5.0):
            time.sleep(timeout_s)
            raise FrameTimeout("nothing")

    pre = FramePrefetcher(Silent(), stop, timeout_s=0.1).start()
    with pytest.raises(FrameTimeout, match="no frame from silent within 0.3 s"):
        pre.read(timeout_s=0.3)
    stop.set()
    pre.thread.join(timeout=2.0)
    assert not pre.thread.is_alive()
