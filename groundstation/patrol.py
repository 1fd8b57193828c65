"""The main job: plan, fly, watch, speak, show and record a patrol (``dronepatrol patrol``).

:class:`Patrol` composes the packages (``../shared/DESIGN.md``):

1. **plan** the district (``missions.planner.plan_from_config``) and write the plan files into the
   recording;
2. **connect**: start the embedded simulator in-process (``connection.url: sim``) or open the
   vehicle's link; the link writes the recording's tlog;
3. per sortie: **upload and verify** fence and rally (first sortie) and the mission, then GUIDED ->
   arm -> take off -> AUTO (``groundstation.vehicle.Vehicle.start_mission``), until the vehicle has
   landed and disarmed;
4. meanwhile, on their own threads: **detection** on the video source (``sim`` = the simulated
   camera), each frame paired with the pose from telemetry at its timestamp; **telemetry** to the
   recording and the overlay (10 Hz); **reminders** (``broadcast.announcer.Announcer``); the **live
   overlay** (``groundstation.overlay``);
5. the **alert policy** runs on the main thread, the only one that commands the vehicle.

Threads never block each other: detection only queues requests for the main thread, telemetry
only reads snapshots, and every worker has a stop event and is joined with a timeout.

Time: with the embedded simulator at speed-up N, vehicle time runs N times faster than the wall
clock. Durations that describe the world (the policy's ``hover_s``/``confirm_s``/``revisit_s``, the
gathering detector's ``persist_s`` and ``cooldown_s``) are vehicle time and are divided by N for
the wall-clock parts. The tracker's memory and the gathering detector's ``gap_s`` tolerate missed
frames, which come at wall-clock pace: they are not scaled. Reminder audio plays in real time.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from groundstation.console import Console
from groundstation.policy import AlertPolicy, PolicyRequest
from missions.errors import DronePatrolError, InputError

log = logging.getLogger(__name__)

TELEMETRY_PERIOD_S = 0.1
"""Telemetry sampling period for the recording and the overlay (wall clock), seconds."""


def privacy_warnings(cfg, record_dir: Path | None = None) -> list[str]:
    """Lines ``patrol`` (and any command that serves recordings) prints at start: blurring off,
    expired recordings present (``docs/privacy.md``)."""
    from detection.privacy import OFF_WARNING
    from groundstation.retention import expired_warning

    out = [OFF_WARNING] if cfg.privacy.blur == "off" else []
    w = expired_warning(record_dir or cfg.recording.dir, cfg.recording.retention_days)
    if w:
        out.append(w)
    return out


# --- results ----------------------------------------------------------------------------------------------


@dataclass
class PatrolSummary:
    """What a patrol did (printed at the end, stored as the manifest's ``summary``).

    Attributes:
        end_reason: ``landed``, ``interrupted`` or ``error: ...``.
        sorties_planned, sorties_flown: Sortie counts (flown = took off).
        distance_m: Horizontal distance flown while armed, metres (from telemetry).
        flight_time_s: Time armed, vehicle clock, seconds.
        airborne_s: Flight time as ``dronepatrol report`` counts it: armed and more than 1 m
            above home, between consecutive telemetry samples, ground-station clock, seconds.
        wall_time_s: Wall-clock duration of the whole job, seconds.
        speedup: Vehicle time / wall time (the embedded simulator's speed-up, else 1).
        alerts_by_kind: Alert kind -> count.
        broadcasts: Utterances spoken (one per language and repeat).
        broadcasts_played: Of those, the ones that reached an output device.
        holds: Holds over a place (to confirm or to speak).
        frames: Video frames processed by detection.
        recording: The recording folder, or None.
        overlay_url: The live overlay's address, or None.
    """

    end_reason: str = "error"
    sorties_planned: int = 0
    sorties_flown: int = 0
    distance_m: float = 0.0
    flight_time_s: float = 0.0
    airborne_s: float = 0.0
    wall_time_s: float = 0.0
    speedup: float = 1.0
    alerts_by_kind: dict[str, int] = field(default_factory=dict)
    broadcasts: int = 0
    broadcasts_played: int = 0
    holds: int = 0
    frames: int = 0
    recording: str | None = None
    overlay_url: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict (the manifest's ``summary``)."""
        return asdict(self)

    def format(self) -> str:
        """The multi-line summary the CLI prints."""
        alerts = ", ".join(f"{k} {v}" for k, v in sorted(self.alerts_by_kind.items())) or "none"
        sim = f" (simulator at speed-up {self.speedup:g})" if self.speedup != 1 else ""
        lines = [
            f"patrol ended: {self.end_reason}",
            f"  sorties           {self.sorties_flown} of {self.sorties_planned} flown",
            f"  distance flown    {self.distance_m:,.0f} m",
            f"  flight time       {_duration(self.airborne_s)} airborne (armed, > 1 m above "
            "home), ground-station clock, as the report counts it"
            + (
                f"; {_duration(self.airborne_s * self.speedup)} on the vehicle clock"
                if self.speedup != 1
                else ""
            ),
            f"  time armed        {_duration(self.flight_time_s)}, vehicle clock",
            f"  patrol took       {_duration(self.wall_time_s)} wall-clock, start to end{sim}",
            f"  alerts            {alerts}",
            f"  reminders         {self.broadcasts} made, {self.broadcasts_played} played on the loudspeaker",
            f"  holds             {self.holds}",
            f"  frames analysed   {self.frames}",
        ]
        if self.recording:
            lines.append(f"  recording         {self.recording}")
        return "\n".join(lines)


def _duration(seconds: float) -> str:
    s = int(round(max(0.0, seconds)))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


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


# --- the patrol ---------------------------------------------------------------------------------------------


class Patrol:
    """Runs one patrol from plan to landing (see the module docstring).

    Args:
        cfg: The validated :class:`groundstation.config.Config`.
        record_dir: Parent folder of the recording (default ``recording.dir``).
        name: Suffix of the recording folder name.
        console: Where operator messages go (default stdout).

    Example:
        >>> from groundstation.config import load_config
        >>> summary = Patrol(load_config("configs/demo.yaml")).run()  # doctest: +SKIP
        >>> print(summary.format())
    """

    def __init__(
        self,
        cfg,
        *,
        record_dir: str | Path | None = None,
        name: str | None = None,
        console: Console | None = None,
        force_unsafe: frozenset[str] = frozenset(),
    ) -> None:
        self.cfg = cfg
        self.force_unsafe = frozenset(force_unsafe)
        self.preflight = None
        self.record_dir = Path(record_dir) if record_dir is not None else Path(cfg.recording.dir)
        self.name = name
        self.console = console or Console()
        self.embedded = cfg.connection.url == "sim"
        # connection.url: sitl starts a real ArduCopter SITL with the sim section's home and
        # speed-up; the simulated camera then renders the scene from SITL's telemetry pose.
        self.sitl = cfg.connection.url == "sitl"
        self.scale = float(cfg.sim.speedup) if (self.embedded or self.sitl) else 1.0
        self.policy = cfg.policy
        self.summary = PatrolSummary(speedup=self.scale)
        self.plan = None
        self.recorder = None
        self.hub = None
        self.live_video = None  # the officers' video (groundstation.overlay.live_video)
        self.server = None
        self.alert_store = None
        self._store_follower = None
        self.pipeline = None
        self.remote = None  # groundstation.remote_detection.RemoteDetection (detection.remote)
        self.source = None
        self.source_spec: str | None = None
        self.airspace = None
        self.pack = None  # the vehicle's pack (BATT_CAPACITY), when known
        self.scene = None
        self._renderer = None
        self.synth = None
        self.announcer = None
        self.sim = None
        self.link = None
        self.vehicle = None
        self.sortie = 0
        self.sortie_items: list = []
        self.phase = "starting"
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.alert_policy = AlertPolicy(self, cfg.policy)
        self._alerts = Counter()
        self._lock = threading.Lock()
        self.frames_processed = 0
        self._fps = 0.0
        self._last_candidate: tuple[float, float, float] | None = None
        self.following: tuple[float, float, float] | None = None  # monotonic, lat, lon
        self.faces_known = True
        """False when the simulated people were meant to have real faces but none were found."""
        self._seen: list[tuple[float, float, float, str]] = []  # monotonic, lat, lon, mask
        self._last_look_wish: tuple[float, float, float] | None = None  # lat, lon, monotonic
        self._armed_since: float | None = None
        self._armed_s = 0.0
        self._distance_m = 0.0
        self._airborne_s = 0.0
        self._airborne_prev_t: float | None = None
        self._last_xy: tuple[float, float] | None = None
        self._unsub = []
        self.shared_services = False
        """True for one vehicle of a fleet: the announcer and the overlay server belong to the
        fleet (:mod:`groundstation.fleet`) and are not stopped with this patrol."""

    # -- time ------------------------------------------------------------------------------------------

    def wall(self, vehicle_s: float) -> float:
        """Vehicle-clock seconds -> wall-clock seconds."""
        return vehicle_s / self.scale

    # -- public ----------------------------------------------------------------------------------------

    def run(self) -> PatrolSummary:
        """Fly the patrol.

        Returns:
            The :class:`PatrolSummary` (also written into the recording's manifest).

        Raises:
            DronePatrolError: Planning, connection, upload, arming or another step failed; the
                vehicle got a command first (RTL, or disarm on the ground) and the recording
                was closed with ``end_reason: "error: ..."``.
            KeyboardInterrupt: Never: Ctrl-C (and SIGTERM) commands RTL and returns a summary
                with ``end_reason == "interrupted"``.
        """
        started = time.monotonic()
        reason = "error"
        error: BaseException | None = None
        restore = self._install_sigterm()
        try:
            self._prepare()
            self._connect()
            self._start_workers()
            self._fly()
            reason = "landed"
        except KeyboardInterrupt:
            reason = "interrupted"
            self.console.done()
            self.console.line("interrupted: returning the vehicle to launch")
            self._command_on_exit("interrupted")
        except BaseException as exc:
            error = exc
            reason = f"error: {exc}"
            self.console.done()
            with contextlib.suppress(Exception):
                self._command_on_exit("error")
        finally:
            self.summary.wall_time_s = time.monotonic() - started
            self._shutdown(reason)
            restore()
        if error is not None:
            raise error
        return self.summary

    # -- setup --------------------------------------------------------------------------------------------

    def _install_sigterm(self):
        """SIGTERM behaves like Ctrl-C (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def on_term(signum, frame):
            """SIGTERM handler: raise KeyboardInterrupt in the main thread."""
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, on_term)
        return lambda: signal.signal(signal.SIGTERM, previous)

    def set_phase(self, phase: str) -> None:
        """Set the patrol phase (``planning``, ``upload``, ``takeoff``, ``survey``, ``hold``...), show it."""
        self.phase = phase
        if self.hub is not None:
            self.hub.push_state(phase=phase)

    def _prepare(self) -> None:
        """Plan, open the recording and the overlay, load the detector and the speech engine:
        everything that can fail on bad input happens before the vehicle is touched."""
        from groundstation.holds import Airspace
        from groundstation.overlay import OverlayHub
        from groundstation.recording import FlightRecorder
        from missions.formats import write_plan_outputs
        from missions.planner import plan_from_config

        cfg = self.cfg
        self.set_phase("planning")
        if cfg.overlay.enabled:
            from groundstation.overlay import check_bind

            check_bind(cfg.overlay.host, cfg.overlay.token)
        if cfg.detection.source == "sim" and not (self.embedded or self.sitl):
            raise InputError(
                "detection.source 'sim' (the simulated camera) needs connection.url: sim or sitl"
            )
        if cfg.area.district is None:
            raise InputError("no district to patrol: set area.district in the config")
        cfg = self._planning_config()
        plan = plan_from_config(cfg)
        self.plan = plan
        st = plan.stats
        self.summary.sorties_planned = len(plan.sorties)
        self.airspace = Airspace.from_plan(plan, use_fence=cfg.fence.enabled)
        self.console.line(
            f"plan: {plan.area.name}: {len(plan.sorties)} sortie(s), route {st.route_length_m:,.0f} m, "
            f"about {_duration(st.flight_time_s)} of flight, coverage {st.coverage_pct:.1f} %, "
            f"GSD {st.gsd_cm_px:.1f} cm/px"
        )
        for w in plan.warnings:
            self.console.line(f"warning: {w}")
        for w in privacy_warnings(cfg, self.record_dir):
            self.console.line(w)
        # The overlay's port and the video source are checked before the recording folder is
        # made: a clash or a bad source leaves nothing behind.
        self.hub = OverlayHub(title=f"dronepatrol · {plan.area.name}")
        from groundstation.timezones import page_zone

        self.hub.timezone = page_zone(cfg.display.timezone)
        self._set_map()
        self.hub.push_state(sortie=0, sorties=len(plan.sorties), phase="starting")
        self._start_overlay()

        self._open_source()
        home = {
            "lat_deg": plan.home.lat_deg,
            "lon_deg": plan.home.lon_deg,
            "alt_m": plan.home.alt_m,
        }
        self.recorder = FlightRecorder(
            self.record_dir,
            name=self.name,
            config=cfg,
            connection=cfg.connection.url,
            home=home,
            segment_s=cfg.recording.segment_s,
            video_fps=cfg.sim.scene.fps,
            video=cfg.recording.video,
        )
        self.summary.recording = str(self.recorder.folder)
        self.console.line(f"recording: {self.recorder.folder}")
        self._open_alert_store()
        if self.server is not None and self.server.access_log is not None:
            self.server.access_log.source = self.recorder.folder.name
        write_plan_outputs(plan, self.recorder.plan_dir)
        self.recorder.update(speedup=self.scale, policy=self.policy.alert_policy)

        self._load_detection()
        self._start_broadcast()

    def _planning_config(self):
        """The config to plan with: with SITL, sorties that fit the pack it really has."""
        cfg = self.cfg
        if self.sitl and cfg.sorties.endurance_min > cfg.sitl.endurance_min:
            # plan from the pack the vehicle really has, not the embedded simulator's
            self.console.line(
                f"plan: SITL's battery ({cfg.sitl.battery_mah:g} mAh at about "
                f"{cfg.sitl.flight_current_a:g} A in flight) lasts {cfg.sitl.endurance_min:.1f} "
                f"min: sorties.endurance_min {cfg.sorties.endurance_min:g} -> "
                f"{cfg.sitl.endurance_min:.1f}"
            )
            cfg = cfg.model_copy(
                update={
                    "sorties": cfg.sorties.model_copy(
                        update={"endurance_min": round(cfg.sitl.endurance_min, 2)}
                    )
                }
            )
        return cfg

    def _start_overlay(self) -> None:
        """Serve the live overlay of ``self.hub`` when ``overlay.enabled``."""
        cfg = self.cfg
        if not cfg.overlay.enabled:
            return
        from groundstation.overlay import OverlayServer
        from groundstation.overlay.access_log import ACCESS_LOG_NAME, AccessLog
        from groundstation.overlay.tls import resolve_tls

        tls = resolve_tls(
            cfg.overlay.tls_cert,
            cfg.overlay.tls_key,
            folder=self.record_dir / "tls",
            host=cfg.overlay.host,
        )
        self.server = OverlayServer(
            self.hub,
            host=cfg.overlay.host,
            port=cfg.overlay.port,
            token=cfg.overlay.token,
            bind_hint="use --overlay-port or --no-overlay",
            officers=cfg.overlay.officers,
            basemap=cfg.overlay.basemap,
            tls=tls,
            access_log=AccessLog(self.record_dir / ACCESS_LOG_NAME),
        ).start()
        self.summary.overlay_url = self.server.url
        self.console.line(f"live overlay: {self.server.url}")

    def _open_alert_store(self) -> None:
        """Share alerts and officers' acknowledgements through ``alerts.sqlite`` beside the
        recordings, where a running ``dronepatrol serve`` picks them up (docs/overlay.md)."""
        from groundstation.serve import DB_NAME, AlertStore, StoreFollower

        try:
            self.alert_store = AlertStore(self.record_dir / DB_NAME)
        except DronePatrolError as exc:  # the page still works, acknowledgements in memory
            self.console.line(f"warning: {exc}; acknowledgements are not kept")
            return
        name = self.recorder.folder.name
        self.hub.attach_store(self.alert_store, recording=name)
        self._store_follower = StoreFollower(
            self.alert_store, self.hub, recording=name, alerts=False
        ).start()

    def refresh_map(self) -> None:
        """Redraw the page's map and sortie count after the plan changed (re-planned for the
        vehicle's battery, :func:`groundstation.battery_budget.fit_patrol_plan`)."""
        self._set_map()
        self.hub.push_state(sorties=len(self.plan.sorties))

    def _set_map(self) -> None:
        from shapely.geometry import Polygon, mapping

        plan = self.plan
        area = plan.area
        district = Polygon(
            area.polygon_geo.exterior.coords, [h.exterior.coords for h in area.holes_geo]
        )
        routes = []
        for s in plan.sorties:
            if len(s.path_local):
                ll = plan.frame.to_geo_array(s.path_local)
                routes.append([(float(a), float(b)) for a, b in ll])
        fence = mapping(plan.fence_geo) if self.cfg.fence.enabled else None
        risk_map = getattr(plan, "risk_map", None)
        self.hub.set_map(
            district=mapping(district),
            route=routes,
            fence=fence,
            home=(plan.home.lat_deg, plan.home.lon_deg),
            tile_url=self.cfg.overlay.tile_url,
            risk=risk_map.to_geojson() if risk_map is not None else None,
        )

    def _open_source(self) -> None:
        cfg = self.cfg
        if cfg.detection.remote:  # a remote detector publishes; it also stands in for the pipeline
            from groundstation.remote_detection import RemoteDetection

            self.console.line(f"detection: remote, through {cfg.detection.remote}")
            self.remote = self.pipeline = RemoteDetection(
                self, cfg.detection.remote, cfg.detection.remote_vehicle
            ).start()
            return
        spec = cfg.detection.source
        if spec is None and (self.embedded or self.sitl):
            spec = "sim"
        if spec is not None and spec.strip().lower() == "none":
            spec = None
        self.source_spec = spec
        if spec is None:
            self.console.line(
                "warning: no video source (detection.source): flying without detection"
            )
            return
        if spec == "sim":
            if not (self.embedded or self.sitl):
                raise InputError(
                    "detection.source 'sim' (the simulated camera) needs connection.url: sim or sitl"
                )
            self._open_sim_camera()
            return  # the SimCamera needs the simulator: made in _connect
        from detection.sources import open_source

        self.source = open_source(spec)
        self.console.line(f"video: {self.source.name}")

    def _open_sim_camera(self, scene=None) -> None:
        """The simulated camera's renderer over ``scene`` (default: a new scene from ``sim.scene``
        around ``sim.home``; a fleet passes one scene shared by every vehicle)."""
        from sim.camera import PinholeCamera, SceneRenderer
        from sim.scene import Scene, person_sprites

        cfg = self.cfg
        sc = cfg.sim.scene
        if scene is None:
            scene = Scene(sc, cfg.sim.home.lat_deg, cfg.sim.home.lon_deg)
        person_sprites()
        _ = scene.ground  # generated now (about a second), not during the flight
        self._renderer = SceneRenderer(
            scene,
            PinholeCamera.from_settings(cfg.camera),
            noise=sc.noise,
            billboard=sc.billboard,
            seed=sc.seed,
        )
        self.scene = scene
        dressed = [p for p in scene.people if p.mask is not None]
        self.faces_known = self._renderer.faces_available or not dressed
        if dressed and not self._renderer.faces_available:
            self.console.line(
                "warning: sim: no face-mask photos (sim.scene.faces_dir, or "
                "../shared/data/real/masks): people keep faces too small to judge; "
                "the close look is skipped"
            )
        groups = ", ".join(f"{g.name} ({g.count})" for g in sc.groups) or "no groups"
        self.console.line(
            f"video: simulated camera, {len(scene.people)} people in the scene ({groups})"
        )

    def _load_detection(self) -> None:
        if self.source_spec is None:
            return

        from detection.pipeline import DetectionPipeline
        from missions.geo import LocalFrame

        det = self.cfg.detection
        g = det.gathering
        k = self.scale
        # World durations (how long a group must stay, how long before the same place alerts
        # again) are vehicle time. The tracker's memory and the gathering detector's gap
        # tolerance are about missed frames, and frames come at wall-clock pace: not scaled.
        scaled = det.model_copy(
            update={
                "gathering": g.model_copy(
                    update={"persist_s": g.persist_s / k, "cooldown_s": g.cooldown_s / k}
                ),
            }
        )
        fps = self.cfg.sim.scene.fps if self.source_spec == "sim" else (self.source.fps or 10.0)
        self.pipeline = DetectionPipeline(
            scaled,
            self.cfg.camera,
            snapshot_dir=self.recorder.snapshot_dir,
            frame=LocalFrame(self.plan.home.lat_deg, self.plan.home.lon_deg),
            fps=fps,
            privacy=self.cfg.privacy,
        )
        self.pipeline.warm_up()
        self.console.line(f"detection: {self.cfg.detection.model or 'default model'} loaded")

    def _start_broadcast(self) -> None:
        b = self.cfg.broadcast
        if not b.enabled or self.policy.alert_policy == "log_only":
            self.console.line("reminders: off")
            return
        from broadcast.announcer import Announcer
        from broadcast.errors import AudioDeviceError
        from broadcast.playback import Player
        from broadcast.speech import Synthesizer

        self.synth = Synthesizer(b)
        self.synth.check()
        player = Player(b.device, b.volume, b.chime)
        try:
            device = player.check()
            self.console.line(f"reminders: {', '.join(b.languages)} on '{device}'")
        except AudioDeviceError as exc:
            self.console.line(
                f"warning: no loudspeaker output ({exc}); reminders are kept in the recording"
            )
            # said once here; each reminder's "not played" stays in broadcasts.jsonl
            player.log_failures = False
        # The gathering reminder is synthesised now (cached across runs), so that it plays at
        # once; other reminders are synthesised when first needed rather than all in the
        # background during the flight, where they would take CPU time from detection.
        from broadcast.reminders import reminder_text
        from detection.alerts import Alert, AlertKind

        for lang in b.languages:
            text = reminder_text(Alert(kind=AlertKind.GATHERING, t_s=0.0), lang, b.texts)
            self.synth.synthesize(text, lang)
        self.announcer = Announcer(
            b,
            self.synth,
            player,
            on_broadcast=self._on_broadcast,
            wav_dir=self.recorder.broadcast_dir,
        ).start(prewarm=False)

    def _connect(self) -> None:
        from groundstation.link import Link
        from groundstation.vehicle import Vehicle

        cfg = self.cfg
        self.set_phase("connecting")
        url = cfg.connection.url
        if self.embedded:
            import sim

            self.sim = sim.start_sim(cfg.sim, port=0, speedup=cfg.sim.speedup)
            self.sim.gimbal_pitch_deg = cfg.camera.gimbal_pitch_deg
            url = self.sim.url
            self.console.line(
                f"embedded simulator on {url} (speed-up {cfg.sim.speedup:g}, home "
                f"{cfg.sim.home.lat_deg:.6f}, {cfg.sim.home.lon_deg:.6f})"
            )
        elif self.sitl:
            from groundstation.cli.mission_transfer import start_configured_sitl

            self.sim = start_configured_sitl(cfg)  # stopped with the patrol (SitlHandle.stop)
            url = self.sim.url
            self.console.line(f"ArduPilot SITL on {url} (speed-up {cfg.sim.speedup:g})")
        self.link = Link.connect(
            url,
            timeout_s=cfg.connection.heartbeat_timeout_s,
            signing_key=cfg.connection.signing_key,
            link_lost_s=cfg.connection.link_lost_s,
            tlog_path=self.recorder.tlog_path,
        )
        self.vehicle = Vehicle(
            self.link,
            gimbal_pitch_deg=cfg.camera.gimbal_pitch_deg,
            low_battery_pct=self.policy.low_battery_pct,
        )
        self._unsub.append(self.vehicle.on_event(self._on_vehicle_event))
        self.recorder.event("connected", url=self.link.url, sysid=self.link.target_system)
        self.console.line(f"connected to {self.link.url} (vehicle {self.link.target_system})")
        if self.sitl:
            from groundstation.cli.mission_transfer import wait_armable

            self.console.line("waiting for SITL to become armable (EKF using GPS)")
            wait_armable(self.link, self.wall(cfg.sitl.armable_timeout_s) + 30.0)
        if self.source_spec == "sim":
            from sim.camera import SimCamera

            vehicle = self.vehicle
            pose_fn = (lambda: vehicle.pose) if self.sitl else self.sim.true_pose
            self.source = SimCamera(self._renderer, pose_fn, fps=cfg.sim.scene.fps)

    def _start_workers(self) -> None:
        workers = [("telemetry", self._telemetry_loop)]
        if self.source is not None and self.pipeline is not None:
            workers.append(("detection", self._detection_loop))
        if self.remote is not None:
            workers.append(("remote-detection", self.remote.run))
        for name, target in workers:
            t = threading.Thread(target=target, name=f"patrol-{name}")
            t.start()
            self._threads.append(t)

    # -- flying -----------------------------------------------------------------------------------------

    def _fly(self) -> None:
        from groundstation.battery_budget import fit_patrol_plan
        from groundstation.preflight import Preflight, vehicle_home

        self.pack = fit_patrol_plan(self)  # the vehicle's BATT_CAPACITY, before any check
        n = len(self.plan.sorties)
        # pre-flight checks on every sortie before anything is uploaded, then the GCS failsafe
        self.preflight = Preflight(self.cfg.safety, self.force_unsafe, self.log)
        for i, sortie in enumerate(self.plan.sorties, 1):
            self.preflight.mission(
                sortie.items,
                fence=self.plan.fence_items,
                home=vehicle_home(self.vehicle),
                where=f"sortie {i}",
            )
        self.preflight.gcs_failsafe(self.vehicle, embedded=self.embedded)
        for i, sortie in enumerate(self.plan.sorties, 1):
            if i > 1:
                self._between_sorties(i, n)
            self._fly_sortie(i, n, sortie)

    def _between_sorties(self, i: int, n: int) -> None:
        swap = getattr(self.sim, "swap_battery", None) if self.sim is not None else None
        if callable(swap):
            swap()
            self.console.line(f"sortie {i}/{n}: simulator battery swapped")
        elif self.sitl and self.vehicle.reset_battery():
            self.console.line(
                f"sortie {i}/{n}: SITL battery reset to 100 % (MAV_CMD_BATTERY_RESET)"
            )
        elif sys.stdin.isatty() and sys.stdout.isatty():
            input(f"swap the battery, then press Enter to fly sortie {i}/{n} (Ctrl-C to stop) ")
        self.alert_policy.low_battery = False

    def _configure_geofence(self) -> None:
        """Enable the uploaded fence on the vehicle (FENCE_TYPE, FENCE_ALT_MAX over every sortie's
        highest item, FENCE_ACTION, FENCE_ENABLE) as ``dronepatrol fly`` does; see
        :func:`groundstation.geofence.configure_geofence`.

        Raises:
            GeofenceError: A parameter or MAV_CMD_DO_FENCE_ENABLE was refused.
        """
        from groundstation.geofence import configure_geofence, planned_ceiling_m

        plan, cfg = self.plan, self.cfg
        home = self.vehicle.state().home
        ceiling = planned_ceiling_m(
            [s.items for s in plan.sorties] + [plan.rally_items],
            takeoff_alt_m=cfg.survey.takeoff_alt_m or cfg.survey.alt_m,
            home_amsl_m=home.alt_m if home is not None else None,
        )
        report = configure_geofence(self.vehicle, cfg.fence, ceiling, say=self.log)
        self.recorder.event(
            "geofence",
            enabled=report.enabled,
            fence_type=report.fence_type,
            alt_max_m=report.alt_max_m,
            action=report.action,
            changes=[str(c) for c in report.changes],
        )

    def _fly_sortie(self, i: int, n: int, sortie) -> None:
        from groundstation import mission_transfer as mt
        from groundstation.vehicle import VehicleTimeoutError
        from missions.items import (
            MAV_CMD_DO_CHANGE_SPEED,
            MAV_CMD_NAV_TAKEOFF,
            MAV_CMD_NAV_WAYPOINT,
        )

        plan = self.plan
        self.sortie = i
        self.sortie_items = sortie.items
        self.hub.push_state(sortie=i, sorties=n)
        self.set_phase("upload")
        link = self.link
        if i == 1:
            for what, items, mtype in (
                ("fence", plan.fence_items, 1),
                ("rally", plan.rally_items, 2),
            ):
                if items:
                    mt.upload_and_verify(link, items, mtype)
                    self.recorder.event("mission_uploaded", mission_type=what, count=len(items))
                    self.log(f"{what}: {len(items)} items uploaded and verified")
            if plan.fence_items:
                self._configure_geofence()
        onboard = mt.upload_and_verify(link, sortie.items, 0)
        if self.preflight is not None:
            from groundstation.preflight import vehicle_home

            self.preflight.mission(
                onboard,
                fence=plan.fence_items,
                home=vehicle_home(self.vehicle),
                where=f"sortie {i} (on the vehicle)",
            )
        self.recorder.event(
            "mission_uploaded", mission_type="mission", count=len(sortie.items) - 1, sortie=i
        )
        self.log(f"sortie {i}/{n}: mission of {len(sortie.items) - 1} items uploaded and verified")
        wps = [it.seq for it in sortie.items if it.command == MAV_CMD_NAV_WAYPOINT]
        self.alert_policy.survey_seqs = (min(wps), max(wps)) if wps else (0, -1)
        speeds = [it.param2 for it in sortie.items if it.command == MAV_CMD_DO_CHANGE_SPEED]
        self.alert_policy.survey_speed_m_s = (
            float(speeds[0]) if speeds and speeds[0] > 0 else self.cfg.survey.speed_m_s
        )
        takeoff = next(
            (it.z for it in sortie.items[1:] if it.command == MAV_CMD_NAV_TAKEOFF and it.z > 0),
            self.cfg.survey.takeoff_alt_m or self.cfg.survey.alt_m,
        )
        self.set_phase("takeoff")
        self.recorder.event("sortie_start", sortie=i, sorties=n, takeoff_alt_m=takeoff)
        self.alert_policy.close_look.new_sortie()
        self.log(f"sortie {i}/{n}: GUIDED, arm, take off to {takeoff:g} m, then AUTO")
        self.summary.sorties_flown = i
        start_pct, t_start = self.vehicle.state().battery.remaining_pct, time.monotonic()
        self.vehicle.start_mission(float(takeoff), arm_timeout_s=max(60.0, 60.0 / self.scale))
        self.set_phase("survey")
        timeout = self.wall(3.0 * sortie.flight_time_s + 600.0) + 60.0
        deadline = time.monotonic() + timeout
        while True:
            s = self.vehicle.state()
            if not s.armed and s.on_ground:
                break
            self._update_phase(s)
            if time.monotonic() > deadline:
                raise VehicleTimeoutError(
                    f"sortie {i}: still flying after {timeout:.0f} s ({s.summary().strip()})"
                )
            req = self.alert_policy.next_request(0.2)
            if req is not None:
                self.alert_policy.handle(req)
        self.console.done()
        self.recorder.event("sortie_end", sortie=i)
        self.set_phase("landed")
        self.log(f"sortie {i}/{n}: landed and disarmed")
        self._battery_advice(i, start_pct, t_start)

    def _battery_advice(self, i: int, start_pct: float | None, t_start: float) -> None:
        """Say what sortie ``i`` took from the pack and whether the next one fits at that rate
        (:class:`groundstation.battery_budget.SortieConsumption`)."""
        from groundstation.battery_budget import SortieConsumption

        end_pct = self.vehicle.state().battery.remaining_pct
        if start_pct is None or end_pct is None:
            return
        used = SortieConsumption(start_pct, end_pct, (time.monotonic() - t_start) * self.scale)
        nxt = self.plan.sorties[i].flight_time_s if i < len(self.plan.sorties) else None
        self.log(f"sortie {i}: {used.advice(nxt, self.cfg.sorties.reserve_pct)}")
        self.recorder.event(
            "battery_used",
            sortie=i,
            start_pct=start_pct,
            end_pct=end_pct,
            full_pack_min=used.full_pack_min,
        )

    def _update_phase(self, s) -> None:
        if self.phase in ("survey", "rtl"):
            returning = s.mode in ("RTL", "LAND") or (
                s.mode == "AUTO"
                and s.mission_seq is not None
                and s.mission_seq > self.alert_policy.survey_seqs[1] > 0
            )
            want = "rtl" if returning else "survey"
            if want != self.phase:
                self.set_phase(want)

    # -- exit --------------------------------------------------------------------------------------------

    def _command_on_exit(self, why: str) -> None:
        """Never leave the vehicle without a command: RTL when flying (LAND if RTL is refused),
        disarm when armed on the ground."""
        v = self.vehicle
        if v is None:
            return
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            if self.recorder is not None:
                self.recorder.event("interrupted" if why == "interrupted" else "error")
            s = v.state()
            if not s.armed:
                return
            if s.on_ground or (s.pose is not None and s.pose.alt_m < 0.5):
                with contextlib.suppress(DronePatrolError):
                    v.disarm()
                    self.console.line("the vehicle was armed on the ground: disarmed")
                return
            for what in ("rtl", "land"):
                try:
                    getattr(v, what)()
                    self.console.line(
                        f"{what.upper()} commanded: the vehicle is in {v.state().mode}"
                    )
                    if self.recorder is not None:
                        self.recorder.event(what, reason=why)
                    return
                except DronePatrolError as exc:
                    self.console.line(f"could not command {what.upper()}: {exc}")
            self.console.line("no command accepted: the vehicle's own failsafes apply")
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _shutdown(self, reason: str) -> None:
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self.stopping.set()
            if self.source is not None:
                with contextlib.suppress(Exception):
                    self.source.close()
            for t in self._threads:
                t.join(15.0)
                if t.is_alive():
                    log.warning("%s did not stop within 15 s", t.name)
            if self.pipeline is not None:
                self.pipeline.close()  # the crowd density worker
            if self.announcer is not None and not self.shared_services:
                self.announcer.stop(timeout_s=10.0)
            if self.synth is not None and not self.shared_services:
                with contextlib.suppress(Exception):
                    self.synth.close()
            if self.vehicle is not None and self.recorder is not None:
                # the last word: the state at the end (landed and disarmed, or RTL commanded)
                with contextlib.suppress(Exception):
                    self._sample_telemetry()
            for unsub in self._unsub:
                unsub()
            if self.vehicle is not None:
                self.vehicle.close()
            if self.link is not None:
                self.link.close()
            if self.sim is not None:
                self.sim.stop()
            with self._lock:
                self.summary.end_reason = reason
                self.summary.frames = self.frames_processed
                self.summary.distance_m = self._distance_m
                armed = self._armed_s + (
                    time.monotonic() - self._armed_since if self._armed_since else 0.0
                )
                self.summary.flight_time_s = armed * self.scale
                self.summary.airborne_s = round(self._airborne_s, 1)
                self.summary.alerts_by_kind = dict(self._alerts)
            if self.recorder is not None:
                self.recorder.close(reason, self.summary.to_dict())
            if self.server is not None and not self.shared_services:
                self.server.stop()
            if self._store_follower is not None:
                self._store_follower.stop()
            if self.alert_store is not None:
                self.alert_store.close()
            self.console.done()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    # -- workers ------------------------------------------------------------------------------------------

    def _telemetry_loop(self) -> None:
        last_status = 0.0
        while not self.stopping.wait(TELEMETRY_PERIOD_S):
            try:
                s = self._sample_telemetry()
                now = time.monotonic()
                if now - last_status >= 0.5:
                    last_status = now
                    self.console.status(f"{s.summary()}  {self.phase}  det {self._fps:.1f} fps")
            except Exception:
                log.exception("telemetry sample failed")

    def _sample_telemetry(self):
        """Record one vehicle-state sample, push it to the overlay, sum distance and time
        armed. Returns the :class:`groundstation.vehicle.VehicleState`."""
        from missions.geo import distance_m

        s = self.vehicle.state()
        pose = s.pose
        now = time.monotonic()
        with self._lock:
            if s.armed and self._armed_since is None:
                self._armed_since = now
            elif not s.armed and self._armed_since is not None:
                self._armed_s += now - self._armed_since
                self._armed_since = None
            # the report's flight time: armed and above 1 m, summed between consecutive samples
            airborne = bool(s.armed) and pose is not None and (pose.alt_m or 0.0) > 1.0
            if airborne and self._airborne_prev_t is not None and s.t_s is not None:
                self._airborne_s += max(0.0, float(s.t_s) - self._airborne_prev_t)
            self._airborne_prev_t = float(s.t_s) if airborne and s.t_s is not None else None
            if pose is not None:
                xy = (pose.lat_deg, pose.lon_deg)
                if s.armed and self._last_xy is not None:
                    self._distance_m += distance_m(*self._last_xy, *xy)
                self._last_xy = xy if s.armed else None
        b = s.battery
        self.recorder.telemetry(
            {
                "t_s": s.t_s,
                "pose": pose.to_dict() if pose is not None else None,
                "mode": s.mode,
                "armed": s.armed,
                "groundspeed_m_s": round(s.groundspeed_m_s, 2),
                "battery_pct": b.remaining_pct,
                "battery_v": b.voltage_v,
                "mission_seq": s.mission_seq,
                "mission_count": s.mission_count,
                "link_ok": s.link_ok,
                "sortie": self.sortie,
                "phase": self.phase,
            }
        )
        state = {
            "t_s": s.t_s,
            "mode": s.mode,
            "armed": s.armed,
            "groundspeed_m_s": s.groundspeed_m_s,
            "battery_pct": b.remaining_pct,
            "battery_v": b.voltage_v,
            "link_ok": s.link_ok,
            "mission_seq": s.mission_seq,
            "mission_count": s.mission_count or (len(self.sortie_items) - 1 or None),
            "detection_fps": round(self._fps, 1),
        }
        if pose is not None:
            state.update(
                lat_deg=pose.lat_deg, lon_deg=pose.lon_deg, alt_m=pose.alt_m, yaw_deg=pose.yaw_deg
            )
        self.hub.push_state(**state)
        return s

    def _pose_for(self, t_s: float):
        """The pose at ``t_s`` from telemetry, waiting briefly for telemetry to cover it so
        that the pose is interpolated rather than extrapolated."""
        deadline = time.monotonic() + 0.25
        while not self.stopping.is_set():
            latest = self.vehicle.pose
            if latest is not None and latest.t_s >= t_s:
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        return self.vehicle.pose_at(t_s, max_age_s=1.0)

    def _detection_loop(self) -> None:
        from detection.errors import SourceError
        from detection.sources import FrameTimeout

        failures = 0
        window: list[float] = []
        frames = self.source
        live = self._start_live_video()
        if self.source_spec == "sim" or getattr(self.source, "is_live", False):
            # the sim camera renders only what is asked for unless watched; a real camera runs
            frames = FramePrefetcher(
                self.source, self.stopping, live=live, latest=self.source_spec != "sim"
            ).start()
            self._threads.append(frames.thread)
        while not self.stopping.is_set():
            try:
                frame = frames.read(timeout_s=1.0)
            except FrameTimeout:
                continue
            except SourceError as exc:
                self.log(f"video source: {exc}", level="warning")
                self.stopping.wait(1.0)
                continue
            if frame is None:
                if self.stopping.is_set():
                    break
                if getattr(self.source, "is_live", False):
                    self.stopping.wait(0.1)
                    continue
                self.log("the video source ended: detection stops", level="warning")
                break
            pose = self._pose_for(frame.t_s)
            try:
                result = self.pipeline.process(frame.image, frame.t_s, pose, frame.index)
                annotated = result.annotate(frame.image)
            except Exception as exc:
                failures += 1
                log.exception("detection failed on frame %d", frame.index)
                if failures >= 20:
                    self.log(f"detection stopped after repeated failures: {exc}", level="error")
                    break
                continue
            failures = 0
            now = time.monotonic()
            window = [t for t in window if now - t < 5.0] + [now]
            with self._lock:
                self.frames_processed += 1
                self._fps = (
                    (len(window) - 1) / max(1e-3, now - window[0]) if len(window) > 1 else 0.0
                )
            live.update(result, frame.image)
            if frames is self.source:  # no camera thread: the video shows the analysed frames
                live.offer(frame)
            self.recorder.video_frame(
                annotated, frame.t_s, frame.index, pose.to_dict() if pose is not None else None
            )
            for g in result.gatherings:
                if g.centroid_lat_lon is not None and not g.alerted:
                    self.following = (now, *g.centroid_lat_lon)
            for alert in result.alerts:
                self._on_alert(alert)
            if pose is not None and self.policy.alert_policy == "hover_and_speak":
                self._look_for_candidates(result)
                self._note_faces(result, now)

    def _start_live_video(self):
        """The officers' video: camera frames with the latest detections drawn, drawn and
        encoded only while a client watches (:mod:`groundstation.overlay.live_video`)."""
        from groundstation.overlay.live_video import LiveVideo

        self.live_video = LiveVideo(self.hub, self.cfg.privacy, self.stopping).start()
        self._threads.append(self.live_video.thread)
        return self.live_video

    def _note_faces(self, result, now: float) -> None:
        """Remember the people of this frame with their mask labels (for the close look) and
        ask for a close look at a person alone whose face is too small."""
        from groundstation.closelook import look_wanted

        seen = [
            (now, p.lat_deg, p.lon_deg, p.mask.value)
            for p in result.persons
            if p.lat_deg is not None
        ]
        with self._lock:
            self._seen = [x for x in self._seen if now - x[0] < 1.0] + seen
        cl = self.policy.close_look
        if not cl.enabled or not self.faces_known or self.pipeline.face_detector is None:
            return
        det = self.cfg.detection
        for p in look_wanted(result, min_face_px=det.mask.min_face_px, eps_m=det.gathering.eps_m):
            if self.alert_policy.close_look.seen_before(p.lat_deg, p.lon_deg):
                continue
            last = self._last_look_wish
            if last is not None and now - last[2] < 5.0:
                from missions.geo import distance_m

                if distance_m(p.lat_deg, p.lon_deg, last[0], last[1]) < cl.match_m:
                    continue
            self._last_look_wish = (p.lat_deg, p.lon_deg, now)
            self.recorder.event(
                "close_look_wanted",
                lat_deg=p.lat_deg,
                lon_deg=p.lon_deg,
                track_id=p.track_id,
                frame_index=result.frame_index,
            )
            self.alert_policy.submit(
                PolicyRequest("close_look", now, p.lat_deg, p.lon_deg, track_id=p.track_id)
            )

    def mask_label_near(self, lat: float, lon: float, radius_m: float) -> str | None:
        """The settled mask label of a person seen in the last second within ``radius_m`` of a
        place (``masked``/``unmasked``/``incorrect`` first), ``unknown``, or None (nobody)."""
        from missions.geo import distance_m

        now = time.monotonic()
        with self._lock:
            near = [
                m
                for t, a, b, m in self._seen
                if now - t < 1.0 and distance_m(a, b, lat, lon) <= radius_m
            ]
        if not near:
            return None
        settled = [m for m in near if m != "unknown"]
        return settled[-1] if settled else "unknown"

    def _look_for_candidates(self, result) -> None:
        """People seen close together (raw detections, before tracking) -> a candidate place."""
        from groundstation.holds import candidate_place
        from missions.geo import distance_m

        dets = result.raw_detections
        if not len(dets) or self.pipeline.local_frame is None:
            return
        g = self.cfg.detection.gathering
        found = candidate_place(
            dets.data["xy_m"], self.pipeline.local_frame, eps_m=g.eps_m, min_people=g.min_people
        )
        if found is None:
            return
        lat, lon, count = found
        now = time.monotonic()
        last = self._last_candidate
        if last is not None and now - last[2] < 2.0 and distance_m(lat, lon, last[0], last[1]) < 15:
            return
        self._last_candidate = (lat, lon, now)
        self.recorder.event(
            "candidate", lat_deg=lat, lon_deg=lon, count=count, frame_index=result.frame_index
        )
        self.alert_policy.submit(PolicyRequest("candidate", now, lat, lon, count=count))

    # -- events and alerts (any thread) -------------------------------------------------------------------------

    def log(self, text: str, level: str = "info") -> None:
        """One line on the console (prefixed with ``level`` unless info) and in the overlay's log."""
        self.console.line(text if level == "info" else f"{level}: {text}")
        if self.hub is not None:
            self.hub.push_log(text, level=level)

    def _publish_alert(self, alert) -> None:
        risk_map = getattr(self.plan, "risk_map", None)
        if risk_map is not None and alert.risk is None and alert.lat_deg is not None:
            alert.risk = risk_map.classify(alert.lat_deg, alert.lon_deg, self.plan.frame)
        snapshot = alert.snapshot
        self.recorder.alert(alert)
        self.hub.push_alert(alert, snapshot=snapshot)
        with self._lock:
            self._alerts[alert.kind.value] += 1

    def _on_alert(self, alert) -> None:
        """A detection alert: record, show, then the policy decides."""
        self._publish_alert(alert)
        self._act_on_alert(alert)

    def _act_on_alert(self, alert) -> None:
        """Say an alert on the console and the overlay's log, and hand it to the policy."""
        from detection.alerts import AlertKind

        where = f" at {alert.lat_deg:.6f}, {alert.lon_deg:.6f}" if alert.lat_deg is not None else ""
        what = (
            f"{alert.count} people gathered"
            if alert.kind == AlertKind.GATHERING
            else alert.message or alert.kind.value
        )
        self.log(f"ALERT {alert.kind.value}: {what}{where}", level="warning")
        if self.policy.alert_policy == "log_only":
            return
        if alert.kind == AlertKind.GATHERING and self.policy.alert_policy == "hover_and_speak":
            self.alert_policy.submit(
                PolicyRequest(
                    "alert", time.monotonic(), alert.lat_deg, alert.lon_deg, alert, alert.count
                )
            )
        else:
            self.alert_policy.speak(alert)

    def _on_vehicle_event(self, ev) -> None:
        """Vehicle events (link reader thread): record, show, raise safety alerts."""
        from groundstation.safety import safety_alert, safety_alert_kind, safety_message

        d = ev.data
        if ev.kind == "mission_current":
            return
        self.recorder.event(ev.kind, t_s=ev.t_s, **d)
        kind = safety_alert_kind(ev.kind, d)
        if kind is not None:
            pose = self.vehicle.pose if self.vehicle is not None else None
            message = safety_message(kind, d, link_lost_s=self.cfg.connection.link_lost_s)
            alert = safety_alert(
                kind,
                message,
                lat_deg=pose.lat_deg if pose is not None else None,
                lon_deg=pose.lon_deg if pose is not None else None,
                t_s=ev.t_s,
            )
            self._publish_alert(alert)
            level = "info" if kind.value == "link_recovered" else "error"
            self.log(f"{kind.value.upper().replace('_', ' ')}: {message}", level=level)
            if kind.value == "battery_low":
                self.alert_policy.submit(PolicyRequest("low_battery", time.monotonic()))
        elif ev.kind == "mode":
            self.log(f"mode {d['mode']}")
        elif ev.kind in ("armed", "disarmed"):
            self.log(ev.kind)
        elif ev.kind == "statustext" and d["severity"] <= 4:
            self.log(f"vehicle: {d['text']}", level="warning")

    def _on_broadcast(self, record) -> None:
        """A reminder utterance was played (announcer thread)."""
        self.recorder.broadcast(record)
        with self._lock:
            self.summary.broadcasts += 1
            if record.played:
                self.summary.broadcasts_played += 1
        where = f"on {record.device}" if record.played else "not played: no output device"
        self.log(f"reminder ({record.language}, {record.duration_s:.1f} s, {where}): {record.text}")
