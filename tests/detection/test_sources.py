"""Frame sources: video files, photo folders, live streams (latest-frame grabber, reconnect)."""

from __future__ import annotations

import socket
import threading
import time

import cv2
import numpy as np
import pytest
from testkit import run_cli

from detection.errors import SourceError
from detection.sources import (
    FrameTimeout,
    ImageFolderSource,
    StreamSource,
    VideoFileSource,
    is_stream_spec,
    open_source,
)


def _numbered(i: int, size=(96, 64)) -> np.ndarray:
    img = np.zeros((size[1], size[0], 3), np.uint8)
    img[:] = (i * 7 % 256, i * 13 % 256, i * 29 % 256)
    return img


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "clip.mp4"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (96, 64))
    for i in range(25):
        w.write(_numbered(i))
    w.release()
    return path


def test_video_file_gives_every_frame_with_increasing_times(video):
    with open_source(video, start_t_s=1000.0) as src:
        assert isinstance(src, VideoFileSource) and not src.is_live
        assert src.fps == pytest.approx(10.0) and src.frame_count == 25
        frames = list(src)
    assert [f.index for f in frames] == list(range(25))
    times = np.array([f.t_s for f in frames])
    assert times[0] == pytest.approx(1000.0, abs=0.11)
    assert np.allclose(np.diff(times), 0.1, atol=1e-3)
    assert frames[0].image.shape == (64, 96, 3) and frames[0].image.dtype == np.uint8


def test_image_folder_reads_stills_in_name_order_and_skips_broken_files(tmp_path):
    for name in ("b.jpg", "a.png"):
        cv2.imwrite(str(tmp_path / name), _numbered(3))
    (tmp_path / "c.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "notes.txt").write_text("ignored")
    src = open_source(str(tmp_path))
    assert isinstance(src, ImageFolderSource) and src.is_stills and src.frame_count == 3
    frames = list(src)
    assert [f.path.name for f in frames] == ["a.png", "b.jpg"]
    assert [p.name for p in src.skipped] == ["c.jpg"]


@pytest.mark.parametrize(
    ("spec", "msg"),
    [
        ("/nonexistent/clip.mp4", "not found"),
        ("ftp://host/x", "unsupported URL scheme"),
        ("", "empty"),
    ],
)
def test_bad_sources_are_one_line_errors(spec, msg):
    with pytest.raises(SourceError, match=msg) as err:
        open_source(spec)
    assert "\n" not in str(err.value)


def test_not_a_video_and_empty_folder(tmp_path):
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(SourceError, match="not a video"):
        open_source(bad)
    with pytest.raises(SourceError, match="no photos"):
        open_source(tmp_path / ".." / tmp_path.name)


def test_stream_specs():
    assert is_stream_spec("0") and is_stream_spec("rtsp://user:pw@10.0.0.1/s")
    assert is_stream_spec("udp://@:5600") and is_stream_spec("HTTP://cam/mjpeg")
    assert not is_stream_spec("clip.mp4") and not is_stream_spec("C:/video.mp4")


class FakeCapture:
    """A capture that produces numbered frames at ``fps`` and fails after ``fail_after`` reads."""

    def __init__(self, fps=200.0, fail_after=None, start=0):
        self.fps, self.fail_after, self.n, self.start = fps, fail_after, 0, start
        self.released = False

    def isOpened(self):
        return True

    def read(self):
        time.sleep(1.0 / self.fps)
        if self.fail_after is not None and self.n >= self.fail_after:
            return False, None
        self.n += 1
        return True, _numbered(self.start + self.n)

    def get(self, prop):
        return self.fps if prop == cv2.CAP_PROP_FPS else 0.0

    def release(self):
        self.released = True


def test_slow_consumer_gets_the_latest_frame_and_stale_ones_are_dropped():
    src = StreamSource("fake://cam", opener=lambda: FakeCapture(fps=200.0))
    try:
        f1 = src.read(timeout_s=5)
        time.sleep(0.3)  # a slow detector: ~60 frames arrive meanwhile
        f2 = src.read(timeout_s=5)
        assert f2.index - f1.index > 10
        assert src.dropped >= f2.index - f1.index - 1 - 2
        assert f2.t_s >= f1.t_s and abs(time.time() - f2.t_s) < 5
        f3 = src.read(timeout_s=5)
        assert f3.index > f2.index  # never the same frame twice
    finally:
        src.close()
    assert not src._thread.is_alive()
    assert src.read(timeout_s=0.1) is None


def test_reconnects_with_backoff_after_the_stream_drops():
    opened = []

    def opener():
        opened.append(time.monotonic())
        return FakeCapture(fps=500.0, fail_after=5, start=100 * len(opened))

    src = StreamSource("fake://drops", opener=opener, reconnect_min_s=0.05, reconnect_max_s=0.2)
    try:
        deadline = time.monotonic() + 10
        while len(opened) < 4 and time.monotonic() < deadline:
            src.read(timeout_s=5)
        assert len(opened) >= 4 and src.reconnects >= 3
        gaps = np.diff(opened)
        assert gaps[0] >= 0.05 and all(g >= 0.05 for g in gaps)  # every reopen waited
    finally:
        src.close()
    assert not src._thread.is_alive()


class Dead(FakeCapture):
    """A capture that never opens (wrong camera index, refused URL)."""

    def isOpened(self):
        return False


def test_a_source_that_cannot_be_opened_at_start_fails_at_once_without_retrying():
    opens = []

    def opener():
        opens.append(1)
        return Dead()

    # Retrying until the first-frame timeout would end in "no frame within 60 s" instead.
    with pytest.raises(SourceError) as err:
        StreamSource("fake://dead", opener=opener, first_frame_timeout_s=60)
    assert "fake://dead: cannot open the stream" in str(err.value) and "\n" not in str(err.value)
    assert len(opens) == 1  # a wrong index/URL is not retried

    with pytest.raises(SourceError, match=r"camera 7: cannot be opened \(no such camera"):
        StreamSource("7", opener=Dead, first_frame_timeout_s=60)

    # Opened, but not one frame: also a start failure, not a dropped link.
    src = StreamSource("fake://empty", opener=lambda: FakeCapture(fail_after=0),
                       first_frame_timeout_s=0)  # fmt: skip
    src._thread.join(60)
    assert (
        src.start_error == "fake://empty: opened, but gave no frame (read failed or stream ended)"
    )
    assert src.reconnects == 0
    with pytest.raises(SourceError, match="gave no frame"):
        src.read(timeout_s=0.1)
    src.close()


def test_a_stream_that_dropped_after_frames_keeps_reconnecting_through_failed_reopens():
    opens = []

    def opener():
        opens.append(1)
        n = len(opens)
        if n == 1:
            return FakeCapture(fps=500.0, fail_after=3, start=100)  # works, then drops
        if n <= 4:
            return Dead()  # the link is still down: reopening fails three times
        return FakeCapture(fps=500.0, start=1000)  # back

    src = StreamSource("fake://flaky", opener=opener, reconnect_min_s=0.01, reconnect_max_s=0.05)
    try:
        while len(opens) < 5:
            frame = src.read(timeout_s=30)
            assert frame is not None, f"the source ended after a drop: {src.last_error}"
        frame = src.read(timeout_s=30)  # frames flow again after the failed reopens
        assert frame is not None and src.start_error is None
        assert src.reconnects >= 4
    finally:
        src.close()
    assert not src._thread.is_alive()


def test_a_stalled_read_times_out():
    class Stalls(FakeCapture):
        def read(self):
            if self.n == 0:
                self.n += 1
                return True, _numbered(1)
            stop.wait(10)  # a stalled network read (until the test releases it)
            return False, None

    stop = threading.Event()
    src = StreamSource("fake://stall", opener=Stalls, reconnect=False)
    try:
        assert src.read(timeout_s=2).index == 0
        with pytest.raises(FrameTimeout):
            src.read(timeout_s=0.2)
    finally:
        stop.set()
        src.close()


def test_real_capture_through_the_grabber_ends_when_the_file_ends(video):
    src = StreamSource(str(video), opener=lambda: cv2.VideoCapture(str(video)), reconnect=False)
    frames = []
    while (f := src.read(timeout_s=5)) is not None:
        frames.append(f)
    src.close()
    assert 1 <= len(frames) <= 25
    assert all(b.index > a.index for a, b in zip(frames, frames[1:], strict=False))


def _closed_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("99", "error: camera 99: cannot be opened (no such camera, or it is in use)"),
        (
            "rtsp://127.0.0.1:{port}/live",
            "error: rtsp://127.0.0.1:{port}/live: cannot open the stream",
        ),
    ],
)
def test_cli_camera_or_stream_that_cannot_be_opened_is_one_line_without_opencv_logs(spec, expected):
    port = _closed_loopback_port()
    r = run_cli("detect", spec.format(port=port), "--max-seconds", "3")
    assert r.returncode == 2
    # One line: no "[ WARN:0@1.5] global cap_v4l.cpp ..." from OpenCV, no "[tcp @ 0x...]" from
    # FFmpeg, no reconnect warnings, no "no frame within 15 s".
    assert r.stderr.startswith(expected.format(port=port)), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
