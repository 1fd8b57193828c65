"""The fleet part of ``dronepatrol replay`` (``docs/fleet.md``): every vehicle, every video.

A fleet recording (:mod:`groundstation.fleet_recording`) replays as the live fleet looked:

* each vehicle's states from its own ``vehicles/<sysid>/telemetry.jsonl``, tagged with its
  system id and pushed with :meth:`OverlayHub.push_vehicle` (a numbered marker and trail each);
* each vehicle's events in the log, prefixed ``drone N:``;
* each vehicle's video index (:attr:`ReplayTimeline.videos`): the replay decodes the frames of
  the vehicle the page selected (:attr:`OverlayHub.video_vehicle`, set by the live page's own
  switch, ``POST /api/video?vehicle=N`` from ``static/fleet.js``), the first one until then.

The merged alerts, the fleet's events and the reminders come from the top level, as for a
single recording.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from groundstation.recording import finite_number, iter_jsonl


def read_frame_index(rec) -> list:
    """A recording's video index: the frames of its ``video/frames.jsonl`` whose segment file
    exists, in time order.

    Args:
        rec: The :class:`~groundstation.recording.Recording` (single, or one vehicle's).

    Returns:
        :class:`~groundstation.replay.FrameRef` list (UNIX seconds, segment, index in it, global
        index); lines without a time, with an unknown segment or bad numbers are skipped.
    """
    from groundstation.replay import FrameRef

    existing = {s.name for s in rec.segments()}
    out = []
    for f in iter_jsonl(rec.path("frames")):
        t = finite_number(f.get("t_s"))
        seg = f.get("segment")
        if t is None or seg not in existing:
            continue
        with contextlib.suppress(TypeError, ValueError):
            out.append(
                FrameRef(t, str(seg), int(f.get("segment_frame", 0)), int(f.get("frame_index", 0)))
            )
    out.sort(key=lambda fr: fr.t_s)
    return out


def load_fleet(tl, vehicles: list[tuple[int | str, Path]]) -> None:
    """Add a fleet's vehicles to the timeline ``tl`` (a :class:`~groundstation.replay.ReplayTimeline`).

    Args:
        tl: The timeline being loaded (its top-level alerts, events and reminders are read by
            :func:`~groundstation.replay.load_timeline`).
        vehicles: ``(sysid, folder)`` per vehicle, from
            :func:`groundstation.fleet_recording.fleet_vehicles`.

    Each state gets ``vehicle`` (its system id), each event line ``drone N:``; ``tl.videos``
    gets every vehicle's ``(video_dir, frames)``, and ``tl.video_dir`` / ``tl.frames`` are the
    first vehicle's (what a page shows before it selects a vehicle). A vehicle without video
    has an empty frame list.
    """
    from groundstation.recording import Recording
    from groundstation.replay import _state_from_telemetry
    from groundstation.report.recording import event_severity, event_text

    for sysid, sub in vehicles:
        for r in iter_jsonl(sub / "telemetry.jsonl"):
            st = _state_from_telemetry(r)
            if st is not None:
                st[1]["vehicle"] = sysid
                tl.states.append(st)
        for e in iter_jsonl(sub / "events.jsonl"):
            t = finite_number(e.get("t_s"))
            if t is not None and e.get("kind") not in ("start", "stop"):
                tl.logs.append((t, f"drone {sysid}: {event_text(e)}", event_severity(e)))
        rec = Recording.open(sub)
        tl.videos[sysid] = (rec.path("video"), read_frame_index(rec))
    if vehicles:
        tl.video_dir, tl.frames = tl.videos[vehicles[0][0]]
        tl.frames = list(tl.frames)
    if tl.videos and not any(frames for _, frames in tl.videos.values()):
        tl.missing.append("no video frames from any vehicle")
    else:
        for sysid, (_, frames) in tl.videos.items():
            if not frames:
                tl.missing.append(f"drone {sysid}: no video frames")


def push_state(hub, st: dict) -> None:
    """A state to the hub: a fleet vehicle's (tagged ``vehicle``) with ``push_vehicle`` (the
    first one pushed becomes the video vehicle when none is selected), else ``push_state``."""
    if "vehicle" in st:
        st = dict(st)
        vid = st.pop("vehicle")
        if hub.video_vehicle is None:
            hub.video_vehicle = vid
        hub.push_vehicle(vid, **st)
    else:
        hub.push_state(**st)
