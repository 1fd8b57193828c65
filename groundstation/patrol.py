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
import signal
import threading
import time
from collections import Counter
from pathlib import Path

from groundstation.console import Console
from groundstation.patrol_detection import PatrolDetectionMixin
from groundstation.patrol_events import PatrolEventsMixin
from groundstation.patrol_flight import TELEMETRY_PERIOD_S, PatrolFlightMixin
from groundstation.patrol_frames import FramePrefetcher
from groundstation.patrol_summary import PatrolSummary, _duration
from groundstation.policy import AlertPolicy
from missions.errors import DronePatrolError, InputError

__all__ = [
    "TELEMETRY_PERIOD_S",
    "Console",
    "FramePrefetcher",
    "Patrol",
    "PatrolSummary",
    "_duration",
    "privacy_warnings",
]

log = logging.getLogger(__name__)


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


# --- the patrol ---------------------------------------------------------------------------------------------


class Patrol(PatrolFlightMixin, PatrolDetectionMixin, PatrolEventsMixin):
    """Runs one patrol from plan to landing (see the module docstring).

    This class holds the set-up (plan, overlay, recording, source, detection, broadcast,
    connection, workers); flying, exit and telemetry are in
    :class:`~groundstation.patrol_flight.PatrolFlightMixin`, detection in
    :class:`~groundstation.patrol_detection.PatrolDetectionMixin`, events and alerts in
    :class:`~groundstation.patrol_events.PatrolEventsMixin`.

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
        self._group_places: list[tuple[float, float]] = []  # candidate gatherings seen (lat, lon)
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
