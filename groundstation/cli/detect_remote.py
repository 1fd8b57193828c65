"""``dronepatrol detect SOURCE --publish mqtt://...``: detection on another machine.

Runs the detection pipeline and publishes every frame's results and every alert to an MQTT
broker with QoS 1 (:class:`detection.remote.bus.ResultPublisher`), for a patrol whose config
says ``detection.remote`` (``docs/remote-detection.md``).

Where the poses come from: the realistic set-up is a companion computer on the drone, with the
camera and a MAVLink telemetry link of its own (``--connect``, e.g. the autopilot's second
serial port). Each frame is then projected with the vehicle's pose at its capture time, and the
detector geotags and finds gatherings itself, as the in-process pipeline does. ``SOURCE`` may be
``sim``: the simulated camera renders the config's scene from the telemetry pose, which is how a
test or a demo runs "the drone's camera" in another process (the embedded simulator of a patrol
serves a companion on ``sim.udp_port``: ``--connect udpout:127.0.0.1:PORT``). Without
``--connect`` the fixed pose of ``--alt``/``--pitch``/``--lat``/``--lon`` is used, as by plain
``detect``.
"""

from __future__ import annotations

import contextlib
import signal
import tempfile
import time
from pathlib import Path


def sim_camera(cfg, pose_fn):
    """The simulated camera over the config's scene (``sim.scene``), posed by ``pose_fn``.

    Args:
        cfg: The validated config.
        pose_fn: Returns the vehicle's current pose (from telemetry), or None while unknown.

    Returns:
        A live :class:`sim.camera.SimCamera` at ``sim.scene.fps`` that attaches the pose it
        rendered from to each frame.
    """
    from sim.camera import PinholeCamera, SceneRenderer, SimCamera
    from sim.scene import Scene, person_sprites

    sc = cfg.sim.scene
    scene = Scene(sc, cfg.sim.home.lat_deg, cfg.sim.home.lon_deg)
    person_sprites()
    _ = scene.ground  # generated now, not on the first frame
    renderer = SceneRenderer(
        scene,
        PinholeCamera.from_settings(cfg.camera),
        noise=sc.noise,
        billboard=sc.billboard,
        seed=sc.seed,
    )
    return SimCamera(renderer, pose_fn, fps=sc.fps, attach_pose=True)


def scaled_detection(det, k: float):
    """``detection`` settings with the world durations (``persist_s``, ``cooldown_s``) divided
    by the simulator's speed-up ``k``, as the patrol does (``groundstation.patrol``)."""
    g = det.gathering
    return det.model_copy(
        update={
            "gathering": g.model_copy(
                update={"persist_s": g.persist_s / k, "cooldown_s": g.cooldown_s / k}
            )
        }
    )


def run(args, cfg) -> int:
    """Detect and publish until the source ends, ``--max-frames``/``--max-seconds``, Ctrl-C or
    SIGTERM; then deliver what is queued (up to ``--drain-s``) and say what was left.

    Raises:
        InputError: ``sim`` without ``--connect``; a bad broker URL or vehicle id.
        LinkError: No vehicle heartbeat on ``--connect`` within ``--connect-timeout``.
    """
    from detection.remote.bus import ResultPublisher
    from detection.sources import FrameTimeout, open_source
    from missions.errors import InputError
    from missions.geo import Pose

    is_sim = args.source == "sim"
    if is_sim and not args.connect:
        raise InputError(
            "detect sim needs --connect: the simulated camera renders from the vehicle's pose"
        )
    say = print
    publisher = None
    if args.publish:
        publisher = ResultPublisher(
            args.publish,
            args.vehicle,
            detail=f"{args.source} on {cfg.detection.model or 'default model'}",
            on_state=lambda text: say(text, flush=True),
        )
    link = tracker = None
    restore = signal.signal(signal.SIGTERM, _raise_interrupt)
    source = pipe = None
    n = 0
    alerts = 0
    t0 = time.monotonic()
    snapshots = Path(tempfile.mkdtemp(prefix="dronepatrol-detect-"))
    alerts_fh = None
    try:
        # everything slow (the model, the scene) before the vehicle is waited for
        held: list = []  # the telemetry tracker, once connected
        if is_sim:
            source = sim_camera(cfg, lambda: held[0].pose if held else None)
        else:
            source = open_source(args.source)
        from detection.pipeline import DetectionPipeline

        k = float(cfg.sim.speedup) if is_sim else 1.0
        pipe = DetectionPipeline(
            scaled_detection(cfg.detection, k),
            cfg.camera,
            stills=source.is_stills,
            snapshot_dir=snapshots,
            geotag=bool(args.connect or args.lat is not None),
            fps=source.fps or 10.0,
            privacy=cfg.privacy,
        )
        pipe.warm_up()
        import numpy as np

        blank = np.zeros((cfg.camera.image_height_px, cfg.camera.image_width_px, 3), np.uint8)
        pipe.process(blank, time.time(), None, 0)  # the model loads on its first frame
        pipe.reset()
        if publisher is not None:
            publisher.start()
            if not publisher.wait_connected(10.0):
                say(f"warning: broker {publisher.address} not reachable yet: results are queued")
        if args.connect:
            from groundstation.link import Link
            from groundstation.vehicle.tracker import VehicleTracker

            say(f"waiting for the vehicle on {args.connect}", flush=True)
            link = Link.connect(
                args.connect, timeout_s=args.connect_timeout, source_component=191
            )  # MAV_COMP_ID_ONBOARD_COMPUTER
            tracker = VehicleTracker(link, gimbal_pitch_deg=cfg.camera.gimbal_pitch_deg)
            held.append(tracker)
            say(f"telemetry from vehicle {link.target_system} on {link.url}", flush=True)
        if args.alerts is not None:
            args.alerts.parent.mkdir(parents=True, exist_ok=True)
            alerts_fh = args.alerts.open("a", encoding="utf-8")
        say(f"detecting on {source.name}", flush=True)
        t0 = time.monotonic()  # the frame rate counts from the first frame on
        while True:
            if args.max_frames is not None and n >= args.max_frames:
                break
            if args.max_seconds is not None and time.monotonic() - t0 >= args.max_seconds:
                break
            try:
                frame = source.read(timeout_s=2.0)
            except FrameTimeout:
                continue
            if frame is None:
                break
            pose = frame.pose
            if pose is None and tracker is not None:
                pose = tracker.pose_at(frame.t_s, max_age_s=1.0)
            if pose is None and tracker is None:
                pose = Pose(
                    t_s=frame.t_s,
                    lat_deg=args.lat if args.lat is not None else 0.0,
                    lon_deg=args.lon if args.lon is not None else 0.0,
                    alt_m=args.alt,
                    yaw_deg=args.yaw % 360.0,
                    gimbal_pitch_deg=cfg.camera.gimbal_pitch_deg,
                )
            result = pipe.process(frame.image, frame.t_s, pose, frame.index)
            n += 1
            h, w = frame.image.shape[:2]
            if publisher is not None:
                publisher.publish_result(result, w, h)
            for alert in result.alerts:
                alerts += 1
                jpeg = None
                if alert.snapshot:
                    with contextlib.suppress(OSError):
                        jpeg = Path(alert.snapshot).read_bytes()
                if publisher is not None:
                    publisher.publish_alert(alert, jpeg)
                if alerts_fh is not None:
                    alerts_fh.write(alert.to_json() + "\n")
                    alerts_fh.flush()
                where = f" at {alert.lat_deg:.6f},{alert.lon_deg:.6f}" if alert.lat_deg else ""
                state = ""
                if publisher is not None:
                    state = " (published)" if publisher.connected.is_set() else " (queued)"
                say(
                    f"alert {alert.id} {alert.kind.value} count={alert.count}{where}{state}",
                    flush=True,
                )
    except KeyboardInterrupt:
        say("interrupted: stopping", flush=True)
    finally:
        signal.signal(signal.SIGTERM, restore)
        if source is not None:
            source.close()
        if pipe is not None:
            pipe.close()
        if alerts_fh is not None:
            alerts_fh.close()
        left = publisher.close(timeout_s=args.drain_s) if publisher is not None else 0
        if link is not None:
            link.close()
        for p in snapshots.glob("*"):
            p.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            snapshots.rmdir()
    elapsed = max(1e-6, time.monotonic() - t0)
    where = f", {left} not delivered to the broker" if left else ""
    say(f"{n} frame(s) in {elapsed:.1f} s ({n / elapsed:.1f} frames/s), {alerts} alert(s){where}")
    if publisher is not None:
        say(f"published {publisher.sent} message(s) to {publisher.address}")
    return 1 if left else 0


def _raise_interrupt(signum, frame):
    """SIGTERM: stop like Ctrl-C (deliver what is queued first)."""
    raise KeyboardInterrupt
