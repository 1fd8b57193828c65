"""The flight recorder: folder layout, manifest, JSON Lines, video segments, and SIGKILL safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from detection.alerts import Alert, AlertKind
from groundstation.recording import (
    FORMAT_NAME,
    FlightRecorder,
    JsonlWriter,
    Recording,
    SegmentedVideoWriter,
    iter_jsonl,
)
from missions.errors import InputError


def frame(i: int, w: int = 320, h: int = 240) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[:, : (i * 7) % w] = (40, 160, 220)
    return img


def test_folder_layout_and_manifest(tmp_path):
    rec = FlightRecorder(
        tmp_path, name="demo", connection="sim", home={"lat_deg": 41.79, "lon_deg": 123.43}
    )
    folder = rec.folder
    assert folder.parent == tmp_path and folder.name.endswith("-demo")
    for sub in ("video", "private/snapshots", "broadcasts", "plan"):
        assert (folder / sub).is_dir()
    m = json.loads((folder / "manifest.json").read_text())
    assert m["format"] == FORMAT_NAME and m["version"] == 1
    assert m["complete"] is False and m["ended_utc"] is None
    assert m["home"] == {"lat_deg": 41.79, "lon_deg": 123.43}
    assert m["files"]["alerts"] == "alerts.jsonl"
    snap = rec.snapshot_dir / "gathering_000001_abc.jpg"
    snap.write_bytes(b"\xff\xd8\xff\xd9")
    rec.alert(Alert(kind=AlertKind.GATHERING, t_s=1.0, count=5, snapshot=str(snap)))
    rec.telemetry({"t_s": 1.0, "mode": "AUTO", "pose": None})
    rec.broadcast({"t_s": 2.0, "alert_id": "x", "wav": str(rec.broadcast_dir / "a.wav")})
    rec.event("hold", lat_deg=1.0)
    rec.close("landed", summary={"distance_m": 12.5})
    m = json.loads((folder / "manifest.json").read_text())
    assert m["complete"] is True and m["end_reason"] == "landed"
    assert m["summary"] == {"distance_m": 12.5}
    assert m["counts"]["alerts"] == 1 and m["counts"]["telemetry"] == 1
    r = Recording.open(folder)
    assert r.complete
    [alert] = r.alerts()
    assert alert.snapshot == "private/snapshots/gathering_000001_abc.jpg"
    assert r.broadcasts()[0]["wav"] == "broadcasts/a.wav"
    kinds = [e["kind"] for e in r.events()]
    assert kinds == ["start", "hold", "stop"]
    rec.close()  # idempotent


def test_two_recordings_in_the_same_second_get_two_folders(tmp_path):
    a = FlightRecorder(tmp_path, video=False, clock=lambda: 1_800_000_000.0)
    b = FlightRecorder(tmp_path, video=False, clock=lambda: 1_800_000_000.0)
    assert a.folder != b.folder and b.folder.name.endswith("-2")
    a.close()
    b.close()


def test_unwritable_record_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot create the recording folder"):
        FlightRecorder(blocker / "sub", video=False)


def test_iter_jsonl_tolerates_real_world_files(tmp_path, caplog):
    p = tmp_path / "x.jsonl"
    p.write_bytes(
        b'\xef\xbb\xbf{"a": 1}\r\n\r\n{"a": 2}\r\nnot json\n{"a": 3}\n{"a": 4, "b": [1, 2'
    )
    assert [d["a"] for d in iter_jsonl(p)] == [1, 2, 3]
    assert "skipped a line" in caplog.text
    assert list(iter_jsonl(tmp_path / "missing.jsonl")) == []


def test_jsonl_writer_repairs_a_cut_last_line(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"a": 1}\n{"a": 2, "b"')
    w = JsonlWriter(p)
    w.write({"a": 3})
    w.close()
    assert [d["a"] for d in iter_jsonl(p)] == [1, 3]


@pytest.mark.parametrize("ffmpeg", [None, ""], ids=["mpegts", "mjpeg"])
def test_video_segments_hold_every_frame_written(tmp_path, ffmpeg):
    if ffmpeg is None and not __import__("shutil").which("ffmpeg"):
        pytest.skip("needs ffmpeg")
    w = SegmentedVideoWriter(tmp_path / "video", segment_s=0.5, fps=10, ffmpeg=ffmpeg)
    t0 = time.time()
    n = 0
    for i in range(24):
        while not w.write(frame(i), t0 + i * 0.05, i, {"alt_m": 20.0}):
            time.sleep(0.01)  # the queue was full: retry, this test wants every frame
        n += 1
    w.close()
    assert w.written == n == 24
    rec = Recording(tmp_path, {})
    index = rec.frames()
    assert [f["frame_index"] for f in index] == list(range(24))
    assert len(rec.segments()) == len({f["segment"] for f in index}) >= 2
    decoded = sum(sum(1 for _ in rec.read_segment(s)) for s in rec.segments())
    assert decoded == 24
    # frame i of the index is the segment_frame-th frame of its segment
    seg = index[-1]["segment"]
    frames = list(rec.read_segment(seg))
    img = frames[index[-1]["segment_frame"]]
    expected = frame(23)
    assert img.shape == expected.shape
    assert np.abs(img.astype(int) - expected.astype(int)).mean() < 12


WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from groundstation.recording import FlightRecorder
    from detection.alerts import Alert, AlertKind
    rec = FlightRecorder(sys.argv[1], segment_s=1.0, video_fps=10, connection="sim")
    print(rec.folder, flush=True)
    i = 0
    while True:
        img = np.full((240, 320, 3), (i * 5) % 255, np.uint8)
        rec.video_frame(img, time.time(), i, {"alt_m": 20.0})
        rec.telemetry({"t_s": time.time(), "i": i, "mode": "AUTO"})
        if i % 10 == 0:
            rec.alert(Alert(kind=AlertKind.GATHERING, t_s=time.time(), count=5))
            rec.event("marker", i=i)
        i += 1
        time.sleep(0.05)
    """
)


@pytest.mark.slow
def test_sigkill_leaves_a_readable_recording(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        folder = proc.stdout.readline().strip()
        assert folder, "the writer did not start"
        deadline = time.monotonic() + 60
        # wait until at least two video segments exist and some frames are indexed
        while time.monotonic() < deadline:
            frames = list(iter_jsonl(os.path.join(folder, "video", "frames.jsonl")))
            if len(frames) >= 25 and len({f["segment"] for f in frames}) >= 2:
                break
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    time.sleep(1.0)  # the ffmpeg child sees its pipe close and finishes the segment
    rec = Recording.open(folder)
    assert rec.manifest["format"] == FORMAT_NAME
    assert rec.complete is False
    assert "clean end (manifest complete: false)" in rec.missing()
    telemetry = rec.telemetry()
    assert len(telemetry) >= 25
    assert [t["i"] for t in telemetry] == list(range(len(telemetry)))
    assert len(rec.alerts()) >= 3
    assert [e["kind"] for e in rec.events()][:2] == ["start", "marker"]
    index = rec.frames()
    decoded = sum(sum(1 for _ in rec.read_segment(s)) for s in rec.segments())
    # every frame indexed before the kill can be decoded (the one in flight may be lost)
    assert decoded >= len(index) - 1 >= 24
