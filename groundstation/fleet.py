"""A fleet: several vehicles patrol one district from one ground station (``docs/fleet.md``).

:class:`FleetPatrol` is the coordinator. It plans the split of the district
(:func:`missions.fleet.plan_fleet_from_config`: one part per vehicle, balanced flight time, an
altitude layer per vehicle for transits), then runs one :class:`VehiclePatrol` per vehicle on a
thread of its own. A :class:`VehiclePatrol` is the single-vehicle
:class:`groundstation.patrol.Patrol` (its upload with verification, pre-flight checks,
take-off, alert policy, detection and telemetry) given its part of the plan and the fleet's shared
services:

* **one recording folder**: the fleet's ``manifest.json`` (with a ``fleet`` section),
  ``alerts.jsonl`` (merged alerts), ``events.jsonl``, ``broadcasts.jsonl`` and ``plan/``; and
  ``vehicles/<sysid>/``, each a complete single-vehicle recording (``flight.tlog``,
  ``telemetry.jsonl``, its own events, raw alerts, video, plan) that ``replay`` and ``report``
  read as they read any recording;
* **one picture**: alerts go through :class:`groundstation.fleet_alerts.AlertMerger` (the same
  gathering seen by two drones is one alert with two sightings; only the first sighting makes a
  vehicle hold and speak); the overlay shows every vehicle and its route, the video of the
  vehicle selected on the page;
* **one loudspeaker queue** (the announcer) and one alert store.

With ``connection.url: sim`` each vehicle is an embedded simulator of its own (system id 1, 2...,
home = its part's home), and each has its own simulated camera over one shared scene. With
``sitl``, SITL instances ``-I 0``, ``-I 1``... Take-offs are staggered by ``fleet.stagger_s``
(vehicle clock). A vehicle that fails or lands early leaves a remainder, measured from the
mission items it reached and reported; with ``fleet.reassign`` it is planned for and flown by
another vehicle after that vehicle's current sortie (:mod:`groundstation.fleet_reassign`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import asdict, dataclass, field

from groundstation.fleet_reassign import Reassigner
from groundstation.fleet_recording import VEHICLES_DIR
from groundstation.fleet_vehicle import FleetStopped, VehicleHubView, VehiclePatrol
from groundstation.patrol import Patrol, PatrolSummary, _duration
from missions.errors import InputError

log = logging.getLogger(__name__)


__all__ = [
    "FleetPatrol",
    "FleetSummary",
    "VehicleHubView",
    "VehiclePatrol",
    "VehicleResult",
    "is_fleet",
]

# --- the fleet ----------------------------------------------------------------------------------------------


@dataclass
class VehicleResult:
    """What one vehicle of a fleet did (``FleetSummary.vehicles``).

    Attributes:
        sysid: MAVLink system id.
        end_reason: Its patrol's end (``landed``, ``interrupted``, ``error: ...``).
        sorties_planned, sorties_completed: Its part's sorties; completed = flown past the last
            survey waypoint.
        uncovered_sorties: Sorties of its part it did not complete.
        flight_time_s: Time armed, vehicle clock, seconds.
        airborne_s: Airborne time as the report counts it, ground-station clock, seconds.
        distance_m: Distance flown, metres.
        frames: Frames analysed by its detection.
        recording: Its folder inside the fleet's recording (``vehicles/<sysid>``).
        remainder_m2: Ground of its part it left uncovered, m² (None: it completed its part).
        extra_sorties, extra_completed: Sorties of other vehicles' remainders handed to it,
            and how many of them it completed.
        extra_from: System ids of the vehicles whose remainders it was given.
    """

    sysid: int
    end_reason: str = "error"
    sorties_planned: int = 0
    sorties_completed: int = 0
    uncovered_sorties: list[int] = field(default_factory=list)
    flight_time_s: float = 0.0
    airborne_s: float = 0.0
    distance_m: float = 0.0
    frames: int = 0
    recording: str = ""
    remainder_m2: float | None = None
    extra_sorties: int = 0
    extra_completed: int = 0
    extra_from: list[int] = field(default_factory=list)


@dataclass
class FleetSummary(PatrolSummary):
    """A fleet patrol's summary: the totals of :class:`PatrolSummary`, one
    :class:`VehicleResult` per vehicle, the alerts' sightings, and the ground handed over or
    left uncovered (:class:`groundstation.fleet_reassign.Reassigner`: ``reassignments``,
    ``uncovered``)."""

    vehicles: list[VehicleResult] = field(default_factory=list)
    sightings_merged: int = 0
    reassignments: list[dict] = field(default_factory=list)
    uncovered: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready dict (the fleet manifest's ``summary``)."""
        return asdict(self)

    def format(self) -> str:
        """The multi-line summary the CLI prints."""
        lines = [super().format()]
        if self.sightings_merged:
            lines.append(
                f"  merged sightings  {self.sightings_merged} (an alert seen again, by the same "
                "or another vehicle)"
            )
        for v in self.vehicles:
            unc = ""
            if v.uncovered_sorties:
                nums = ", ".join(map(str, v.uncovered_sorties))
                left = "" if v.remainder_m2 is None else f" ({v.remainder_m2:,.0f} m² left)"
                to = [r["to"] for r in self.reassignments if r["from"] == v.sysid == r["origin"]]
                if v.remainder_m2 is None or any(u["origin"] == v.sysid for u in self.uncovered):
                    unc = f", NOT covered: sortie(s) {nums}{left}"
                elif to:
                    by = ", ".join(f"drone {t}" for t in to)
                    unc = f", sortie(s) {nums} unfinished{left}: re-assigned to {by}"
                else:
                    unc = f", sortie(s) {nums} unfinished{left}: nothing worth a flight"
            extra = (
                f" + {v.extra_completed} of {v.extra_sorties} re-assigned sortie(s) (from "
                f"{', '.join(f'drone {s}' for s in v.extra_from)})"
                if v.extra_sorties
                else ""
            )
            lines.append(
                f"  drone {v.sysid:<3}        {v.end_reason}: {v.sorties_completed} of "
                f"{v.sorties_planned} sortie(s) completed{extra}, {v.distance_m:,.0f} m, "
                f"{_duration(v.airborne_s)} airborne, {v.frames} frames{unc}"
            )
        for r in self.reassignments:
            by = "" if r["from"] == r["origin"] else f" (left by drone {r['from']})"
            lines.append(
                f"  re-assigned       {r['area_m2']:,.0f} m² of drone {r['origin']}'s part{by} "
                f"to drone {r['to']}: {r['sorties']} sortie(s), {r['status']}"
            )
        for u in self.uncovered:
            area = "ground" if u.get("area_m2") is None else f"{u['area_m2']:,.0f} m²"
            by = "" if u["vehicle"] == u["origin"] else f" (left by drone {u['vehicle']})"
            lines.append(
                f"  NOT covered       {area} of drone {u['origin']}'s part{by}: {u['reason']}"
            )
        return "\n".join(lines)


class FleetPatrol(Patrol):
    """Patrols one district with several vehicles (see the module docstring).

    It is a :class:`Patrol` without a vehicle of its own: the shared overlay, recording, alert
    store and announcer are the single patrol's, and :meth:`run` flies the vehicles.

    Args:
        cfg: The validated config; ``fleet.count`` (or ``fleet.vehicles``) gives the vehicles.
        record_dir, name, console, force_unsafe: As :class:`Patrol`.
    """

    def __init__(self, cfg, **kwargs) -> None:
        super().__init__(cfg, **kwargs)
        self.summary = FleetSummary(speedup=self.scale)
        self.fleet_plan = None
        self.vehicles: list[VehiclePatrol] = []
        self.merger = None
        self.reassigner = None
        self.aborting = threading.Event()
        self.takeoff_events: list[threading.Event] = []
        self.ended_events: list[threading.Event] = []
        self._statuses: dict[str, str] = {}
        self._status_lock = threading.Lock()
        self._shared_scene = None

    # -- public ---------------------------------------------------------------------------------------

    def run(self) -> FleetSummary:
        """Fly every vehicle's part.

        Returns:
            The :class:`FleetSummary` (also the fleet manifest's ``summary``).

        Raises:
            DronePatrolError: Planning or preparing failed (nothing flew). A vehicle's failure
                does not raise: it is its ``end_reason``, its part is reported uncovered.
        """
        started = time.monotonic()
        reason = "error"
        error: BaseException | None = None
        restore = self._install_sigterm()
        try:
            self._prepare_fleet()
            reason = self._fly_fleet()
        except KeyboardInterrupt:
            reason = "interrupted"
            self.console.done()
            self.console.line("interrupted: returning every vehicle to launch")
            self._abort_all()
        except BaseException as exc:
            error = exc
            reason = f"error: {exc}"
            self.console.done()
            self._abort_all()
        finally:
            self.summary.wall_time_s = time.monotonic() - started
            self._collect()
            self._shutdown(reason)
            restore()
        if error is not None:
            raise error
        return self.summary

    def scene_for(self, vehicle: VehiclePatrol):
        """The one scene every simulated camera renders (made on first use)."""
        if self._shared_scene is None:
            from sim.scene import Scene

            sim = self.cfg.sim
            self._shared_scene = Scene(sim.scene, sim.home.lat_deg, sim.home.lon_deg)
        return self._shared_scene

    def publish_alert(self, alert, vehicle: VehiclePatrol | None = None) -> bool:
        """Merge an alert into the fleet's picture: record it in ``alerts.jsonl`` and show it.

        Returns:
            True when it is a new alert, False when it was merged into one raised before (the
            merged alert, with the new sighting, is written and shown again).
        """
        sysid = vehicle.sysid if vehicle is not None else 0
        result = self.merger.add(alert, sysid)
        merged = result.alert
        snapshot = merged.snapshot
        self.recorder.alert(merged)
        self.hub.push_alert(merged, snapshot=snapshot, store=result.new)
        with self._lock:
            if result.new:
                self._alerts[merged.kind.value] += 1
            else:
                self.summary.sightings_merged += 1
        if not result.new:
            self.recorder.event(
                "alert_sighting",
                alert_id=merged.id,
                vehicle=sysid,
                sighting_id=alert.id,
                sightings=len(merged.sightings),
            )
        return result.new

    # -- setup -----------------------------------------------------------------------------------------

    def _vehicle_configs(self, n: int) -> list:
        """Per-vehicle configs: system id, home, instance, url, video and camera."""
        cfg = self.cfg
        out = []
        for k in range(n):
            v = cfg.fleet.vehicles[k] if k < len(cfg.fleet.vehicles) else None
            sysid = (v.sysid if v and v.sysid else None) or (k + 1)
            part = self.fleet_plan.parts[k]
            home = part.home
            sim = cfg.sim.model_copy(
                update={
                    "sysid": sysid,
                    "home": cfg.sim.home.model_copy(
                        update={"lat_deg": home.lat_deg, "lon_deg": home.lon_deg}
                    ),
                }
            )
            update = {
                "sim": sim,
                "sitl": cfg.sitl.model_copy(update={"instance": (cfg.sitl.instance or 0) + k}),
                "overlay": cfg.overlay.model_copy(update={"enabled": False}),
            }
            if v is not None and v.url:
                update["connection"] = cfg.connection.model_copy(update={"url": v.url})
            if v is not None and v.video:
                update["detection"] = cfg.detection.model_copy(update={"source": v.video})
            if v is not None and v.camera:
                from missions.settings import CameraSettings

                try:
                    update["camera"] = CameraSettings.model_validate(
                        {**cfg.camera.model_dump(), **v.camera}
                    )
                except ValueError as exc:
                    raise InputError(f"fleet.vehicles[{k}].camera: {exc}") from None
            out.append((sysid, cfg.model_copy(update=update)))
        ids = [s for s, _ in out]
        if len(set(ids)) != len(ids):
            raise InputError(f"fleet: two vehicles have the same system id ({ids})")
        urls = [c.connection.url for _, c in out if c.connection.url not in ("sim", "sitl")]
        if len(set(urls)) != len(urls):
            raise InputError(
                f"fleet: several vehicles connect to the same address ({', '.join(urls)}): give "
                "each vehicle its own url in fleet.vehicles"
            )
        return out

    def _prepare_fleet(self) -> None:
        from groundstation.fleet_alerts import AlertMerger
        from groundstation.overlay import OverlayHub
        from groundstation.recording import FlightRecorder
        from groundstation.timezones import page_zone
        from missions.fleet import plan_fleet_from_config
        from missions.formats import write_plan_outputs

        cfg = self.cfg
        fl = cfg.fleet
        n = fl.size
        self.set_phase("planning")
        if cfg.overlay.enabled:
            from groundstation.overlay import check_bind

            check_bind(cfg.overlay.host, cfg.overlay.token)
        if cfg.area.district is None:
            raise InputError("no district to patrol: set area.district in the config")
        homes = None
        if any(v.home for v in fl.vehicles):
            homes = [(fl.vehicles[k].home if k < len(fl.vehicles) else None) for k in range(n)]
        self.fleet_plan = plan_fleet_from_config(
            self._planning_config(), n, homes=homes, layer_separation_m=fl.layer_separation_m
        )
        parts = self.fleet_plan.parts
        vcfgs = self._vehicle_configs(n)  # bad per-vehicle settings fail before anything is made
        self.merger = AlertMerger(fl.merge_radius_m, fl.merge_window_s)
        if fl.reassign:
            self.console.line(
                "fleet.reassign: a vehicle's unfinished part goes to the healthy vehicle that "
                "reaches it first, after that vehicle's current sortie"
            )
        self.summary.sorties_planned = sum(len(p.plan.sorties) for p in parts)
        for p in parts:
            st = p.plan.stats
            self.console.line(
                f"plan: part {p.index + 1} of {n}: {len(p.plan.sorties)} sortie(s), route "
                f"{st.route_length_m:,.0f} m, about {_duration(p.flight_time_s)} of flight, "
                f"transits at {p.transit_alt_m:g} m"
            )
            for w in p.plan.warnings:
                self.console.line(f"warning: part {p.index + 1}: {w}")
        for w in getattr(self.fleet_plan, "warnings", []) or []:
            self.console.line(f"warning: {w}")
        self.hub = OverlayHub(title=f"dronepatrol · fleet of {n}")
        self.hub.timezone = page_zone(cfg.display.timezone)
        self.plan = parts[0].plan
        self._set_fleet_map()
        self._start_overlay()
        first = parts[0].plan.home
        self.recorder = FlightRecorder(
            self.record_dir,
            name=self.name,
            config=cfg,
            connection=cfg.connection.url,
            home={"lat_deg": first.lat_deg, "lon_deg": first.lon_deg, "alt_m": first.alt_m},
            video=False,
        )
        self.summary.recording = str(self.recorder.folder)
        self.console.line(f"recording: {self.recorder.folder}")
        self._open_alert_store()
        if self.server is not None and self.server.access_log is not None:
            self.server.access_log.source = self.recorder.folder.name
        self._write_fleet_plan()
        for p in parts:
            write_plan_outputs(p.plan, self.recorder.plan_dir / f"part-{p.index + 1}")
        self._start_broadcast()
        self.reassigner = Reassigner(self)
        for k, (sysid, vcfg) in enumerate(vcfgs):
            vp = VehiclePatrol(vcfg, self, k, sysid, parts[k])
            self.vehicles.append(vp)
            vp._prepare()
            self.reassigner.register(vp)
        self.hub.video_vehicle = self.vehicles[0].sysid
        self.recorder.update(
            speedup=self.scale,
            policy=self.policy.alert_policy,
            fleet={
                "count": n,
                "vehicles": [
                    {
                        "sysid": vp.sysid,
                        "folder": f"{VEHICLES_DIR}/{vp.sysid}",
                        "connection": vp.cfg.connection.url,
                        "home": [vp.plan.home.lat_deg, vp.plan.home.lon_deg],
                        "transit_alt_m": vp.part.transit_alt_m,
                        "flight_time_s": vp.part.flight_time_s,
                        "sorties": len(vp.plan.sorties),
                    }
                    for vp in self.vehicles
                ],
                "merge_radius_m": fl.merge_radius_m,
                "merge_window_s": fl.merge_window_s,
                "reassign": fl.reassign,
            },
        )

    def _write_fleet_plan(self) -> None:
        """``plan/area.geojson`` (the whole district, which ``report`` measures coverage on) and
        ``plan/fleet.json`` (the split: :meth:`missions.fleet.FleetPlan.to_dict`)."""
        import json

        from shapely.geometry import Polygon, mapping

        area = self.fleet_plan.area
        district = Polygon(
            area.polygon_geo.exterior.coords, [h.exterior.coords for h in area.holes_geo]
        )
        fc = {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"name": area.name},
                    "geometry": mapping(district),
                }
            ],
        }
        plan_dir = self.recorder.plan_dir
        (plan_dir / "area.geojson").write_text(json.dumps(fc), encoding="utf-8")
        (plan_dir / "fleet.json").write_text(
            json.dumps(self.fleet_plan.to_dict(), indent=1, default=str), encoding="utf-8"
        )

    def _set_fleet_map(self) -> None:
        """District, every vehicle's route (one colour per vehicle on the page), fence, homes."""
        import shapely
        from shapely.geometry import Polygon, mapping

        parts = self.fleet_plan.parts
        area = self.fleet_plan.area  # the whole district, not the first vehicle's part
        district = Polygon(
            area.polygon_geo.exterior.coords, [h.exterior.coords for h in area.holes_geo]
        )
        routes, owners = [], []
        plans = [(k, p.plan) for k, p in enumerate(parts)]
        plans += [(vp.index, j.plan) for vp in self.vehicles for j in list(vp.jobs)[1:]]
        for k, plan in plans:
            for s in plan.sorties:
                if len(s.path_local):
                    ll = plan.frame.to_geo_array(s.path_local)
                    routes.append([(float(a), float(b)) for a, b in ll])
                    owners.append(k)
        # each vehicle has its own part's fence (and remainders': joint fences): draw all
        fences = shapely.union_all([plan.fence_geo for _, plan in plans])
        fence = mapping(fences) if self.cfg.fence.enabled else None
        self.hub.set_map(
            district=mapping(district),
            route=routes,
            fence=fence,
            home=(parts[0].plan.home.lat_deg, parts[0].plan.home.lon_deg),
            tile_url=self.cfg.overlay.tile_url,
        )
        self.hub.set_route_owners(owners)

    def refresh_routes(self) -> None:
        """Redraw the page's map after a remainder was handed to a vehicle (its route and
        fence join the map in that vehicle's colour)."""
        with contextlib.suppress(Exception):  # the map is a view: never stop the hand-over
            self._set_fleet_map()

    # -- flying ------------------------------------------------------------------------------------------

    def _fly_fleet(self) -> str:
        """Run every vehicle's patrol on its own thread until all have ended.

        Returns:
            ``landed`` when every vehicle completed its part, else ``incomplete``.
        """
        threads = []
        self.takeoff_events = [threading.Event() for _ in self.vehicles]
        # each vehicle's thread sets its event when its patrol has ended: waiting on events, not
        # on Thread.join, which a KeyboardInterrupt can leave reporting a live thread as ended
        self.ended_events = [threading.Event() for _ in self.vehicles]
        for vp in self.vehicles:
            t = threading.Thread(target=self._run_vehicle, args=(vp,), name=f"fleet-{vp.sysid}")
            t.start()
            threads.append(t)
        self.set_phase("survey")
        try:
            for ended in self.ended_events:
                while not ended.wait(0.5):
                    pass
        finally:
            if not all(e.is_set() for e in self.ended_events):
                # interrupted: each vehicle commands its own RTL (or LAND), then its patrol ends
                self.aborting.set()
                deadline = time.monotonic() + self.wall(120.0) + 90.0
                for ended in self.ended_events:
                    while not ended.is_set() and time.monotonic() < deadline:
                        with contextlib.suppress(KeyboardInterrupt):  # already stopping
                            ended.wait(0.5)
                late = [
                    vp.label for vp in self.vehicles if not self.ended_events[vp.index].is_set()
                ]
                if late:
                    self.log(f"{', '.join(late)} did not end in time", level="error")
            for t in threads:
                t.join(5.0)
        r = self.reassigner
        # landed: every part covered, by its vehicle or by the vehicle a remainder went to
        done = not r.uncovered and all(x["status"] == "flown" for x in r.reassignments)
        return "landed" if done else "incomplete"

    def took_off(self, index: int) -> None:
        """Vehicle ``index`` has taken off (or given up): the next one may take off."""
        self.takeoff_events[index].set()

    def _run_vehicle(self, vp: VehiclePatrol) -> None:
        try:
            vp.run()
        except FleetStopped as exc:
            vp.error = exc
        except BaseException as exc:  # its part is reported uncovered; the others fly on
            vp.error = exc
            self.log(f"{vp.label} failed: {exc}", level="error")
            log.debug("vehicle %s failed", vp.sysid, exc_info=True)
        finally:
            self.took_off(vp.index)  # never hold the next vehicle
            try:  # what it left unfinished: measured, handed over or reported
                interrupted = self.aborting.is_set() or vp.summary.end_reason == "interrupted"
                self.reassigner.vehicle_ended(vp, interrupted)
            except Exception:
                log.exception("vehicle %s: remainder not handled", vp.sysid)
            finally:
                self.ended_events[vp.index].set()

    def _abort_all(self) -> None:
        self.aborting.set()

    def _collect(self) -> None:
        """Fill the fleet summary from the vehicles' summaries and the re-assigner's records."""
        s = self.summary
        r = self.reassigner
        total_flown = 0
        left = {x["vehicle"]: x["area_m2"] for x in (r.remainders if r else []) if x["job"] == 0}
        for vp in self.vehicles:
            vs = vp.summary
            own = vp.part.plan.sorties
            extra = list(vp.jobs[1:])
            s.vehicles.append(
                VehicleResult(
                    sysid=vp.sysid,
                    end_reason=vs.end_reason,
                    sorties_planned=len(own),
                    sorties_completed=len(vp.completed_sorties),
                    uncovered_sorties=[
                        i for i in range(1, len(own) + 1) if i not in vp.completed_sorties
                    ],
                    flight_time_s=round(vs.flight_time_s, 1),
                    airborne_s=vs.airborne_s,
                    distance_m=round(vs.distance_m, 1),
                    frames=vs.frames,
                    recording=f"{VEHICLES_DIR}/{vp.sysid}",
                    remainder_m2=left.get(vp.sysid),
                    extra_sorties=sum(len(j.plan.sorties) for j in extra),
                    extra_completed=sum(len(j.completed) for j in extra),
                    extra_from=sorted({j.source for j in extra}),
                )
            )
            total_flown += vs.sorties_flown
            s.distance_m += vs.distance_m
            s.flight_time_s += vs.flight_time_s
            s.airborne_s += vs.airborne_s
            s.frames += vs.frames
            s.holds += vs.holds
        s.sorties_flown = total_flown
        s.sorties_planned = sum(len(vp.plan.sorties) for vp in self.vehicles)  # extras too
        if r is None:
            return
        s.reassignments = [dict(x) for x in r.reassignments]
        s.uncovered = [dict(x) for x in r.uncovered]
        if self.recorder is not None:
            for u in s.uncovered:
                self.recorder.event("part_uncovered", **u)

    def _shutdown(self, reason: str) -> None:
        # the single patrol's shutdown writes its own counters into the summary: the totals
        s = self.summary
        self.frames_processed = s.frames
        self._distance_m = s.distance_m
        self._armed_s = s.flight_time_s / self.scale
        self._airborne_s = s.airborne_s
        super()._shutdown(reason)


def is_fleet(cfg) -> bool:
    """Whether a config asks for a fleet (``fleet.count`` > 1 or vehicles listed)."""
    return cfg.fleet.size > 1
