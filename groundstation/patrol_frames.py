"""Frames for the patrol's detection, read one ahead on a thread of their own
(:class:`FramePrefetcher`).

Split out of :mod:`groundstation.patrol` (which re-exports it).
"""

from __future__ import annotations

import contextlib
import queue
import threading


class FramePrefetcher:
    """Reads frames from a video source on a thread of its own, one frame ahead of the consumer.

    The simulated camera renders each frame inside ``read()`` (about 40 ms at 1280x720, as long
    as detection itself); on its own thread the rendering of the next frame runs beside the
    analysis of the current one, on the other core. At most one frame waits (never a backlog):
    a frame is at most one analysis old when it is taken, and its ``t_s`` still pairs it with the
    pose of the moment it was rendered.

    With a ``live`` video (:class:`groundstation.overlay.live_video.LiveVideo`) every frame read
    is offered to it; while a client watches, the camera runs at its own rate and the frame
    waiting for detection is replaced by each newer one (detection takes the latest). With
    ``latest`` that is always so: a real camera's grabber reads every frame anyway, and
    detection must never get a frame older than the newest.

    Args:
        source: A :class:`detection.sources.FrameSource`.
        stopping: Set to stop the thread (it also ends after the source's last frame).
        timeout_s: Timeout of each ``source.read``, seconds.
        live: The officers' live video, or None.
        latest: Read continuously and keep only the newest frame for detection.
    """

    def __init__(
        self,
        source,
        stopping: threading.Event,
        timeout_s: float = 1.0,
        live=None,
        *,
        latest: bool = False,
    ) -> None:
        self.source = source
        self.timeout_s = timeout_s
        self.live = live
        self.latest = latest
        self._stopping = stopping
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self.thread = threading.Thread(target=self._run, name="patrol-frames")

    def start(self) -> FramePrefetcher:
        """Start the reading thread; returns self."""
        self.thread.start()
        return self

    def _run(self) -> None:
        from detection.sources import FrameTimeout

        while not self._stopping.is_set():
            try:
                item = self.source.read(timeout_s=self.timeout_s)
            except FrameTimeout:
                continue
            except Exception as exc:  # forwarded to the consumer, which decides
                item = exc
            if self.live is not None and item is not None and not isinstance(item, Exception):
                self.live.offer(item)
            while not self._stopping.is_set():
                running = self.latest or (self.live is not None and self.live.watched())
                if running and item is not None:
                    self._replace(item)  # the camera runs at its rate for the video
                    break
                try:
                    self._queue.put(item, timeout=0.2)
                    break
                except queue.Full:
                    continue
            if item is None:  # end of the source, or closed
                return
            if isinstance(item, Exception):
                self._stopping.wait(1.0)

    def _replace(self, item) -> None:
        """Queue ``item`` in place of the frame waiting, if any (this thread is the only
        producer, so the queue has room after the drain)."""
        with contextlib.suppress(queue.Empty):
            self._queue.get_nowait()
        self._queue.put_nowait(item)

    def read(self, timeout_s: float = 1.0):
        """The next frame (the source's ``read`` contract).

        Returns:
            A :class:`detection.sources.Frame`, or None at the end of the source.

        Raises:
            FrameTimeout: No frame within ``timeout_s``.
            SourceError: The source failed (raised again here, on the consumer's thread).
        """
        from detection.sources import FrameTimeout

        try:
            item = self._queue.get(timeout=timeout_s)
        except queue.Empty:
            raise FrameTimeout(f"no frame from {self.source.name} within {timeout_s:g} s") from None
        if isinstance(item, Exception):
            raise item
        return item
