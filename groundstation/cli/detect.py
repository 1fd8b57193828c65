"""``dronepatrol detect``: run the crowd and mask detection pipeline on a video, photos or a stream."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from groundstation.cli import HelpFormatter, add_config_args, config_from_args

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".m4v")

EPILOG = """\
examples:
  dronepatrol detect clip.mp4 --alt 30 --pitch -90 --hfov 80 --out annotated.mp4 --alerts alerts.jsonl
  dronepatrol detect photos/ --alt 16 --pitch -45 --hfov 70 --lat 41.79 --lon 123.43 --alerts a.jsonl --snapshots snaps/
  dronepatrol detect rtsp://192.0.2.10:8554/cam --alt 40 --max-seconds 60 --alerts live.jsonl
  dronepatrol detect 0 --tiling off          # first local camera
  dronepatrol detect photos/ --alt 40 --pitch -90 --json > results.jsonl   # one JSON object per photo

  # detection on another machine (docs/remote-detection.md): a companion computer with the
  # camera and its own telemetry link publishes to an MQTT broker; the patrol says
  # detection.remote: mqtt://192.0.2.5:1883. For the simulator, "sim" renders its scene:
  dronepatrol detect sim --config configs/demo.yaml --connect udpout:127.0.0.1:14550 --publish mqtt://127.0.0.1:1883

  # one photo alone raises gathering alerts, given the pose it was taken from (run in the checkout):
  dronepatrol detect ../shared/data/real/aerial/visdrone_vid_dusk_square_dance.jpg --alt 16 --pitch -45 --hfov 70
  dronepatrol detect ../shared/data/real/crowd/sht_partA_IMG_4.jpg --alt 4 --pitch -20 --hfov 60

The camera pose (--alt height above ground, --pitch gimbal pitch, --hfov lens, --yaw heading) is
used for every frame; give --lat/--lon to geotag alerts (without them positions are in metres
only). A camera index or stream that cannot be opened, or gives no first frame, is an error at
once; a live stream that drops later is reopened by itself.

A folder of photos is judged photo by photo (no tracking, no persistence), all with the one pose
given. Each frame's people are also estimated where the detector saturates (CSRNet crowd
density, detection.density). A frame whose people are smaller than the model finds (its envelope,
docs/detection.md) is reported as outside the envelope, not as "0 people". A photo raises a
gathering alert on its own when people stand close together ON THE
GROUND (detection.gathering: at least 5, each within 2 m of the next), and ground positions come
from the pose: it must be the pose the photo was taken from. The square-dance frame above was taken by a drone about 16 m up looking
45 deg down; the ballroom crowd photo from about 4 m up looking 20 deg down. A drone pose
(--alt 25 --pitch -45) given to a photo taken from a few metres up spreads its people over far
too much ground: no gathering.
"""


def register(sub, common: argparse.ArgumentParser) -> None:
    """Add the ``detect`` subcommand."""
    p = sub.add_parser(
        "detect",
        parents=[common],
        help="detect gatherings and unmasked people in a video, photos or a stream",
        description=(
            "Find people (YOLO), track them, project them onto the ground, flag gatherings "
            "(DBSCAN in metres, persisting) and unmasked faces; write alerts as JSON lines, "
            "an annotated video and snapshot crops."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    p.add_argument("source", metavar="SOURCE", help="video file, photo folder, camera index or URL")
    p.add_argument("--model", metavar="M", help="person weights (.pt, .onnx, OpenVINO folder)")
    p.add_argument("--face-model", metavar="F", help="face-mask weights (.onnx)")
    p.add_argument("--alt", type=float, default=30.0, help="camera height above ground, m")
    p.add_argument(
        "--pitch",
        type=float,
        default=None,
        help="gimbal pitch, deg (-90 nadir); default camera.gimbal_pitch_deg",
    )
    p.add_argument(
        "--hfov",
        type=float,
        default=None,
        help="horizontal field of view, deg; default camera.hfov_deg",
    )
    p.add_argument(
        "--yaw", type=float, default=0.0, help="camera heading, deg clockwise from north"
    )
    p.add_argument("--lat", type=float, default=None, help="camera latitude, deg (geotags alerts)")
    p.add_argument("--lon", type=float, default=None, help="camera longitude, deg")
    p.add_argument(
        "--tiling",
        choices=["auto", "on", "off"],
        default=None,
        help="tiled inference (default detection.tiling)",
    )
    p.add_argument("--conf", type=float, default=None, help="person confidence threshold")
    p.add_argument(
        "--out",
        metavar="FILE",
        type=Path,
        help="annotated video (.mp4) or, for photos, a folder of annotated images",
    )
    p.add_argument("--alerts", metavar="FILE", type=Path, help="write alerts as JSON lines")
    p.add_argument(
        "--blur",
        choices=["faces", "persons", "off"],
        default=None,
        help="what --out hides (privacy.blur; default faces, see docs/privacy.md)",
    )
    p.add_argument("--snapshots", metavar="DIR", type=Path, help="write a JPEG crop per alert")
    p.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per frame on stdout (human-readable lines go to stderr)",
    )
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    p.add_argument(
        "--max-seconds", type=float, default=None, help="stop after this long (live sources)"
    )
    r = p.add_argument_group("detection on another machine (docs/remote-detection.md)")
    r.add_argument(
        "--publish",
        metavar="URL",
        help="publish results and alerts (QoS 1) to mqtt://HOST[:PORT][/PREFIX]",
    )
    r.add_argument(
        "--connect",
        metavar="MAVLINK",
        help="the vehicle's telemetry (tcp:, udpout:, udpin:, serial): poses for every frame; "
        "needed by SOURCE sim",
    )
    r.add_argument(
        "--connect-timeout", type=float, default=120.0, help="wait this long for the vehicle, s"
    )
    r.add_argument("--vehicle", default="1", help="vehicle id in the topics")
    r.add_argument(
        "--drain-s",
        type=float,
        default=30.0,
        help="at the end, wait this long for queued messages to reach the broker, s",
    )
    add_config_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run detection; returns 0 (also when interrupted after writing what was found)."""
    import cv2

    from detection.errors import SourceError
    from detection.sources import FrameTimeout, open_source
    from missions.errors import InputError
    from missions.geo import Pose, check_lat_lon

    overrides = {
        "detection.model": args.model,
        "detection.mask.face_model": args.face_model,
        "detection.tiling": args.tiling,
        "detection.conf": args.conf,
        "camera.hfov_deg": args.hfov,
        "camera.gimbal_pitch_deg": args.pitch,
        "privacy.blur": args.blur,
    }
    cfg = config_from_args(args, overrides)
    if cfg.privacy.blur == "off" and args.out is not None:
        from detection.privacy import OFF_WARNING

        print(OFF_WARNING, file=sys.stderr)
    if (args.lat is None) != (args.lon is None):
        raise InputError("give both --lat and --lon, or neither")
    geotag = args.lat is not None
    if geotag:
        check_lat_lon(args.lat, args.lon, "--lat/--lon")
    if args.alt <= 0:
        raise InputError(f"--alt {args.alt}: the camera height above ground must be positive")
    if args.publish or args.connect or args.source == "sim":
        from groundstation.cli.detect_remote import run as run_remote

        return run_remote(args, cfg)

    if args.json:  # stdout carries JSON only: Ultralytics logs its model loading there
        import os

        os.environ.setdefault("YOLO_VERBOSE", "False")
    source = open_source(args.source)
    say = (lambda *a, **k: print(*a, file=sys.stderr, **k)) if args.json else print
    out_file = None
    outside_said = False
    alerts_fh = None
    writer = None
    n_frames = 0
    counts: dict[str, int] = {}
    max_persons = 0
    t_begin = time.monotonic()
    progress = None
    pipe = None
    try:
        from detection.pipeline import DetectionPipeline  # torch/Ultralytics: after the source

        pipe = DetectionPipeline(
            cfg.detection,
            cfg.camera,
            stills=source.is_stills,
            snapshot_dir=args.snapshots,
            geotag=geotag,
            fps=source.fps,
            privacy=cfg.privacy,
        )
        if args.alerts is not None:
            args.alerts.parent.mkdir(parents=True, exist_ok=True)
            alerts_fh = args.alerts.open("a", encoding="utf-8")
        out_folder = None
        if args.out is not None:
            if source.is_stills and args.out.suffix.lower() not in VIDEO_SUFFIXES:
                out_folder = args.out
                out_folder.mkdir(parents=True, exist_ok=True)
            else:
                out_file = args.out
                out_file.parent.mkdir(parents=True, exist_ok=True)
        if sys.stderr.isatty() and source.frame_count:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            progress = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                transient=True,
            )
            progress.start()
            task = progress.add_task("detect", total=source.frame_count)
        while True:
            if args.max_frames is not None and n_frames >= args.max_frames:
                break
            if args.max_seconds is not None and time.monotonic() - t_begin >= args.max_seconds:
                break
            try:
                frame = source.read(timeout_s=10.0)
            except FrameTimeout as exc:
                print(f"warning: {exc}", file=sys.stderr)
                continue
            if frame is None:
                break
            pose = frame.pose or Pose(
                t_s=frame.t_s,
                lat_deg=args.lat if geotag else 0.0,
                lon_deg=args.lon if geotag else 0.0,
                alt_m=args.alt,
                yaw_deg=args.yaw % 360.0,
                gimbal_pitch_deg=cfg.camera.gimbal_pitch_deg,
            )
            result = pipe.process(frame.image, frame.t_s, pose, frame.index)
            n_frames += 1
            name = f" {frame.path.name}" if frame.path is not None else ""
            env = result.envelope
            if env is not None and not env.inside and (source.is_stills or not outside_said):
                say(
                    f"frame {frame.index}{name}: outside the model's envelope ({env.describe()}); "
                    f"{len(result.raw_detections)} found is not a count of the people there"
                )
                outside_said = True
            elif source.is_stills:
                say(
                    f"frame {frame.index}{name}: {len(result.raw_detections)} person box(es), "
                    f"about {result.people_estimate:.0f} people"
                )
            if args.json:
                print(json.dumps(frame_json(result, frame, geotag)), flush=True)
            max_persons = max(max_persons, len(result.persons))
            for alert in result.alerts:
                counts[alert.kind.value] = counts.get(alert.kind.value, 0) + 1
                if alerts_fh is not None:
                    alerts_fh.write(alert.to_json() + "\n")
                    alerts_fh.flush()
                where = (
                    f" at {alert.lat_deg:.6f},{alert.lon_deg:.6f}"
                    if alert.lat_deg is not None
                    else ""
                )
                colour = f" ({alert.colour}/{alert.colour_zh})" if alert.colour else ""
                say(
                    f"frame {frame.index}{name}: {alert.kind.value} count={alert.count}{where}{colour}",
                    flush=True,
                )
            if out_folder is not None:
                name = (
                    frame.path.stem if frame.path else f"frame_{frame.index:06d}"
                ) + "_annotated.jpg"
                cv2.imwrite(str(out_folder / name), result.annotate(frame.image))
            elif out_file is not None:
                annotated = result.annotate(frame.image)
                if writer is None:
                    h, w = annotated.shape[:2]
                    fps = source.fps or (1.0 if source.is_stills else 10.0)
                    writer = cv2.VideoWriter(
                        str(out_file), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h)
                    )
                    if not writer.isOpened():
                        raise SourceError(f"{out_file}: cannot write a video here")
                    size = (w, h)
                if (annotated.shape[1], annotated.shape[0]) != size:
                    annotated = cv2.resize(annotated, size)
                writer.write(annotated)
            if progress is not None:
                progress.update(task, advance=1)
    except KeyboardInterrupt:
        print("interrupted: stopping, files written so far are kept", file=sys.stderr)
    finally:
        if progress is not None:
            progress.stop()
        source.close()
        if writer is not None:
            writer.release()
        if alerts_fh is not None:
            alerts_fh.close()
        if pipe is not None:
            pipe.close()
    elapsed = max(1e-6, time.monotonic() - t_begin)
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no alerts"
    say(
        f"{n_frames} frame(s) in {elapsed:.1f} s ({n_frames / elapsed:.1f} frames/s), "
        f"up to {max_persons} person(s) per frame; {summary}"
    )
    if args.alerts is not None:
        say(f"alerts: {args.alerts}")
    if out_file is not None or (args.out is not None):
        say(f"annotated: {args.out}")
    return 0


def frame_json(result, frame, geotag: bool) -> dict:
    """One frame's result as a JSON-ready dict (``detect --json``).

    Keys: ``frame`` (index), ``file`` (photo name or null), ``t_s``, ``persons`` (boxes:
    ``xyxy`` pixels, ``confidence``, ``track_id``, ``lat_deg``/``lon_deg``, ``mask``),
    ``people_estimate`` (boxes + crowd density, rounded to 0.1), ``gatherings`` (``count``
    boxes, ``people_estimate``, ``lat_deg``, ``lon_deg``, ``radius_m``), ``faces`` (count per
    mask label), ``envelope`` (expected person size against the model's envelope, ``inside``),
    ``tiled``, ``gsd_cm_px`` and ``alerts`` (kind, count, lat/lon).
    """
    from detection.faces import MaskLabel

    def geo(lat, lon):
        """(lat, lon) in degrees to 7 decimals (about 1 cm), or (None, None) without a geotag."""
        return (round(lat, 7), round(lon, 7)) if geotag and lat is not None else (None, None)

    persons = []
    faces = {label.value: 0 for label in MaskLabel}
    for p in result.persons:
        lat, lon = geo(p.lat_deg, p.lon_deg)
        persons.append(
            {
                "xyxy": [round(float(v), 1) for v in p.xyxy],
                "confidence": round(p.confidence, 3),
                "track_id": p.track_id,
                "lat_deg": lat,
                "lon_deg": lon,
                "mask": p.mask.value,
            }
        )
        if p.face_xyxy is not None:
            faces[p.mask.value] += 1
    gatherings = []
    for g in result.gatherings:
        lat, lon = geo(*(g.centroid_lat_lon or (None, None)))
        gatherings.append(
            {
                "count": g.count,
                "people_estimate": round(max(g.count, g.people_estimate), 1),
                "lat_deg": lat,
                "lon_deg": lon,
                "radius_m": round(g.radius_m, 2),
            }
        )
    alerts = []
    for a in result.alerts:
        lat, lon = geo(a.lat_deg, a.lon_deg)
        alerts.append({"kind": a.kind.value, "count": a.count, "lat_deg": lat, "lon_deg": lon})
    return {
        "frame": result.frame_index,
        "file": frame.path.name if frame.path is not None else None,
        "t_s": round(result.t_s, 3),
        "persons": persons,
        "people_estimate": round(result.people_estimate, 1),
        "gatherings": gatherings,
        "faces": faces,
        "envelope": result.envelope.to_dict() if result.envelope is not None else None,
        "tiled": result.tiled,
        "gsd_cm_px": round(result.gsd_cm_px, 2) if result.gsd_cm_px is not None else None,
        "alerts": alerts,
    }
