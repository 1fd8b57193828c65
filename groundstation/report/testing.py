"""Test helpers for reports and replays: a synthetic flight stored as a DataFlash log, a tlog or a
recording folder.

* :func:`synthetic_survey` gives a small lawnmower flight (take-off, survey in AUTO, RTL, land);
  :func:`write_dataflash_flight`, :func:`write_tlog` and :func:`write_synthetic_recording` store it
  as a DataFlash log, a telemetry log, or a recording folder written by the real
  :class:`~groundstation.recording.FlightRecorder` (with generated video frames, alerts with
  snapshots, reminders and events).

These produce inputs for unit tests of the readers; the end-to-end tests use a recording made by
``dronepatrol patrol`` on the simulator.

Two neighbours hold the other test helpers, and every name of theirs is re-exported here so
``from groundstation.report.testing import ...`` keeps working:

* :mod:`groundstation.report.dataflash_writer`: :class:`DataFlashWriter` (ArduPilot DataFlash logs
  byte for byte as ``AP_Logger`` writes them), :data:`COPTER_FORMATS`, :func:`gps_week_ms`;
* :mod:`groundstation.report.browser_checks`: Playwright checks of the replay and report pages
  (:data:`CHROMIUM_ARGS`, :func:`watch`, :func:`check_replay_page`, :func:`check_report_page`,
  :func:`assert_replay_page_ok`, :func:`assert_report_page_ok`).
"""

from __future__ import annotations

import json
import math
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from groundstation.report.browser_checks import (
    CHROMIUM_ARGS,
    assert_replay_page_ok,
    assert_report_page_ok,
    check_replay_page,
    check_report_page,
    watch,
)
from groundstation.report.dataflash_writer import (
    COPTER_FORMATS,
    COPTER_MODE_NUMBERS,
    FMT_TYPE,
    GPS_EPOCH_UNIX,
    GPS_LEAP_S,
    HEAD,
    DataFlashWriter,
    gps_week_ms,
)
from missions.geo import LocalFrame

__all__ = [
    "CHROMIUM_ARGS",
    "COPTER_FORMATS",
    "COPTER_MODE_NUMBERS",
    "DEFAULT_BLOCK",
    "DEFAULT_HOME",
    "FMT_TYPE",
    "GPS_EPOCH_UNIX",
    "GPS_LEAP_S",
    "HEAD",
    "DataFlashWriter",
    "SurveySample",
    "assert_replay_page_ok",
    "assert_report_page_ok",
    "block_polygon_geo",
    "check_replay_page",
    "check_report_page",
    "gps_week_ms",
    "synthetic_survey",
    "watch",
    "write_dataflash_flight",
    "write_synthetic_recording",
    "write_tlog",
]


@dataclass
class SurveySample:
    """One sample of a synthetic flight."""

    t_s: float
    lat_deg: float
    lon_deg: float
    alt_m: float
    yaw_deg: float
    mode: str
    armed: bool
    battery_pct: float
    battery_v: float
    consumed_mah: float


DEFAULT_HOME = (41.79, 123.43, 50.0)
DEFAULT_BLOCK = (60.0, 40.0, 260.0, 160.0)
"""Survey block ``(x0, y0, x1, y1)``, local metres east/north of home."""


def block_polygon_geo(home=DEFAULT_HOME, block=DEFAULT_BLOCK) -> list[tuple[float, float]]:
    """The survey block's corners as (lon, lat), closed (GeoJSON ring order)."""
    f = LocalFrame(home[0], home[1])
    x0, y0, x1, y1 = block
    ring = []
    for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)):
        lat, lon = f.to_geo(x, y)
        ring.append((round(float(lon), 8), round(float(lat), 8)))
    return ring


def synthetic_survey(
    t0: float,
    *,
    home=DEFAULT_HOME,
    block=DEFAULT_BLOCK,
    alt_m: float = 40.0,
    spacing_m: float = 50.0,
    speed_m_s: float = 8.0,
    rate_hz: float = 5.0,
) -> list[SurveySample]:
    """A lawnmower survey flight: GUIDED take-off, AUTO transects (north-south), RTL, land.

    Args:
        t0: UNIX time of the first sample.
        home: ``(lat, lon, alt AMSL)``.
        block: Survey rectangle ``(x0, y0, x1, y1)`` in metres east/north of home.
        alt_m: Survey altitude above home.
        spacing_m: Distance between transects.
        speed_m_s: Horizontal speed.
        rate_hz: Samples per second.

    Returns:
        Samples in time order.
    """
    frame = LocalFrame(home[0], home[1])
    x0, y0, x1, y1 = block
    xs = np.arange(x0 + spacing_m / 2, x1, spacing_m)
    pts = [(0.0, 0.0)]
    for i, x in enumerate(xs):
        a, b = (y0, y1) if i % 2 == 0 else (y1, y0)
        pts += [(float(x), a), (float(x), b)]
    pts.append((0.0, 0.0))
    dt = 1.0 / rate_hz
    rows: list[tuple[float, float, float, float, str]] = []  # t, x, y, alt, mode
    t = t0
    # 2 s on the ground, climb at 2.5 m/s in GUIDED
    for _ in range(int(2 / dt)):
        rows.append((t, 0.0, 0.0, 0.0, "STABILIZE"))
        t += dt
    alt = 0.0
    while alt < alt_m:
        alt = min(alt_m, alt + 2.5 * dt)
        rows.append((t, 0.0, 0.0, alt, "GUIDED"))
        t += dt
    for (ax, ay), (bx, by) in zip(pts[:-2], pts[1:-1], strict=True):
        n = max(1, int(math.hypot(bx - ax, by - ay) / (speed_m_s * dt)))
        for k in range(1, n + 1):
            rows.append((t, ax + (bx - ax) * k / n, ay + (by - ay) * k / n, alt_m, "AUTO"))
            t += dt
    (ax, ay), (bx, by) = pts[-2], pts[-1]
    n = max(1, int(math.hypot(bx - ax, by - ay) / (speed_m_s * dt)))
    for k in range(1, n + 1):
        rows.append((t, ax + (bx - ax) * k / n, ay + (by - ay) * k / n, alt_m, "RTL"))
        t += dt
    alt = alt_m
    while alt > 0:
        alt = max(0.0, alt - 1.5 * dt)
        rows.append((t, 0.0, 0.0, alt, "LAND"))
        t += dt
    for _ in range(int(2 / dt)):
        rows.append((t, 0.0, 0.0, 0.0, "LAND"))
        t += dt
    out = []
    n = len(rows)
    xy = np.array([(r[1], r[2]) for r in rows])
    lat, lon = frame.to_geo(xy[:, 0], xy[:, 1])
    armed_until = n - int(1 / dt)
    for i, (t, x, y, alt, mode) in enumerate(rows):
        j = min(i + 1, n - 1)
        dx, dy = xy[j, 0] - x, xy[j, 1] - y
        yaw = math.degrees(math.atan2(dx, dy)) % 360 if (dx or dy) else 0.0
        frac = i / max(1, n - 1)
        out.append(
            SurveySample(
                t_s=t,
                lat_deg=float(lat[i]),
                lon_deg=float(lon[i]),
                alt_m=alt,
                yaw_deg=yaw,
                mode=mode,
                armed=2 / dt <= i < armed_until,
                battery_pct=round(100.0 - 30.0 * frac),
                battery_v=12.6 - 1.0 * frac,
                consumed_mah=1500.0 * frac,
            )
        )
    return out


def write_dataflash_flight(
    path: str | os.PathLike,
    samples: list[SurveySample],
    *,
    home=DEFAULT_HOME,
    gcs_failsafe: tuple[float, float] | None = None,
    boot_s: float = 30.0,
) -> Path:
    """Write ``samples`` as an ArduCopter DataFlash log (see :class:`DataFlashWriter`).

    Args:
        path: Output ``.bin``.
        samples: The flight (:func:`synthetic_survey`).
        home: Home ``(lat, lon, alt AMSL)`` (ORGN type 1).
        gcs_failsafe: ``(start_s, end_s)`` of a ground-station failsafe (ERR subsystem 8).
        boot_s: Seconds since boot at the first sample (TimeUS offset).

    Returns:
        The path.
    """
    w = DataFlashWriter()
    for name, (tid, fmt, cols) in COPTER_FORMATS.items():
        w.define(name, tid, fmt, cols)
    t0 = samples[0].t_s

    def us(t: float) -> int:
        """UNIX seconds -> DataFlash ``TimeUS`` (microseconds since boot)."""
        return int(round((boot_s + t - t0) * 1e6))

    w.write("MSG", us(t0), "ArduCopter V4.5.7 (2a3dc4b7)")
    w.write("MSG", us(t0), "Frame: QUAD/X")
    week, ms = gps_week_ms(t0)
    w.write("GPS", us(t0), 0, 6, ms, week, 14, 0.7, home[0], home[1], home[2], 0, 0, 0, 0, 1)
    w.write("ORGN", us(t0), 1, home[0], home[1], home[2])
    prev_mode, prev_armed = None, None
    for i, s in enumerate(samples):
        tu = us(s.t_s)
        if s.mode != prev_mode:
            w.write("MODE", tu, COPTER_MODE_NUMBERS[s.mode], COPTER_MODE_NUMBERS[s.mode], 2)
            prev_mode = s.mode
        if s.armed != prev_armed:
            w.write("EV", tu, 10 if s.armed else 11)
            prev_armed = s.armed
        week, ms = gps_week_ms(s.t_s)
        w.write(
            "GPS",
            tu,
            0,
            6,
            ms,
            week,
            14,
            0.7,
            s.lat_deg,
            s.lon_deg,
            home[2] + s.alt_m,
            8.0,
            s.yaw_deg,
            0,
            0,
            1,
        )
        w.write("POS", tu, s.lat_deg, s.lon_deg, home[2] + s.alt_m, s.alt_m, s.alt_m)
        w.write("ATT", tu, 0, 0, 0, 0, s.yaw_deg, s.yaw_deg, 0, 0, 3)
        if i % 5 == 0:
            w.write(
                "BAT",
                tu,
                0,
                s.battery_v,
                s.battery_v,
                15.0,
                s.consumed_mah,
                0.0,
                25.0,
                0.02,
                s.battery_pct,
                1,
                100,
            )
        if gcs_failsafe and samples[i - 1].t_s < gcs_failsafe[0] <= s.t_s:
            w.write("ERR", tu, 8, 1)
            w.write("MSG", tu, "GCS Failsafe")
        if gcs_failsafe and samples[i - 1].t_s < gcs_failsafe[1] <= s.t_s:
            w.write("ERR", tu, 8, 0)
    p = Path(path)
    p.write_bytes(w.getvalue())
    return p


def write_tlog(
    path: str | os.PathLike,
    samples: list[SurveySample],
    *,
    home=DEFAULT_HOME,
    sysid: int = 1,
    gcs_sysid: int = 255,
    silence: tuple[float, float] | None = None,
    vehicle_clock_ratio: float = 1.0,
    texts: list[tuple[float, str]] = (),
) -> Path:
    """Write ``samples`` as a tlog of real MAVLink 2 packets (pymavlink's ArduPilot dialect).

    Per sample: the vehicle's HEARTBEAT (MAV_TYPE_QUADROTOR, ArduPilot, ArduCopter custom_mode,
    MAV_MODE_FLAG_SAFETY_ARMED), GLOBAL_POSITION_INT, SYS_STATUS and BATTERY_STATUS; once:
    HOME_POSITION; the ground station's own HEARTBEAT (MAV_TYPE_GCS) each second, also during
    ``silence``, when the vehicle sends nothing (a link loss as the ground station logs it).

    Args:
        path: Output file.
        samples: The flight.
        home: Home ``(lat, lon, alt AMSL)``.
        sysid: Vehicle system id.
        gcs_sysid: Ground-station system id.
        silence: ``(start_s, end_s)`` without vehicle packets.
        vehicle_clock_ratio: ``time_boot_ms`` advances this many times faster than the log clock
            (a sped-up simulator).
        texts: ``(t_s, text)`` STATUSTEXTs of the vehicle.

    Returns:
        The path.
    """
    from pymavlink.dialects.v20 import ardupilotmega as mavlink2

    veh = mavlink2.MAVLink(None, srcSystem=sysid, srcComponent=1)
    gcs = mavlink2.MAVLink(None, srcSystem=gcs_sysid, srcComponent=190)
    out = bytearray()

    def rec(t: float, msg, mav) -> None:
        """Append one tlog record: big-endian UNIX µs (low 2 bits cleared, as pymavlink), packet."""
        out.extend(struct.pack(">Q", int(t * 1e6) & ~3) + msg.pack(mav))

    t0 = samples[0].t_s
    next_gcs = t0
    pending = sorted(texts)
    rec(
        t0,
        veh.home_position_encode(
            int(home[0] * 1e7),
            int(home[1] * 1e7),
            int(home[2] * 1000),
            0,
            0,
            0,
            [1, 0, 0, 0],
            0,
            0,
            0,
        ),
        veh,
    )
    for s in samples:
        while next_gcs <= s.t_s:
            rec(next_gcs, gcs.heartbeat_encode(6, 8, 0, 0, 4), gcs)
            next_gcs += 1.0
        if silence and silence[0] <= s.t_s < silence[1]:
            continue
        boot_ms = int((10.0 + (s.t_s - t0) * vehicle_clock_ratio) * 1000)
        base = 1 | (128 if s.armed else 0)  # CUSTOM_MODE_ENABLED | SAFETY_ARMED
        rec(s.t_s, veh.heartbeat_encode(2, 3, base, COPTER_MODE_NUMBERS[s.mode], 4), veh)
        rec(
            s.t_s,
            veh.global_position_int_encode(
                boot_ms,
                int(round(s.lat_deg * 1e7)),
                int(round(s.lon_deg * 1e7)),
                int((home[2] + s.alt_m) * 1000),
                int(s.alt_m * 1000),
                0,
                0,
                0,
                int(s.yaw_deg * 100) % 36000,
            ),
            veh,
        )
        rec(
            s.t_s,
            veh.sys_status_encode(
                0, 0, 0, 500, int(s.battery_v * 1000), 1500, int(s.battery_pct), 0, 0, 0, 0, 0, 0
            ),
            veh,
        )
        rec(
            s.t_s,
            veh.battery_status_encode(
                0,
                0,
                0,
                2500,
                [int(s.battery_v * 1000)] + [65535] * 9,
                1500,
                int(s.consumed_mah),
                -1,
                int(s.battery_pct),
            ),
            veh,
        )
        while pending and pending[0][0] <= s.t_s:
            _, text = pending.pop(0)
            rec(s.t_s, veh.statustext_encode(6, text.encode("ascii")[:50]), veh)
    p = Path(path)
    p.write_bytes(bytes(out))
    return p


def _frame_image(n: int, t_s: float, w: int = 320, h: int = 240) -> np.ndarray:
    import cv2

    img = np.zeros((h, w, 3), np.uint8)
    img[:] = (40 + (n * 7) % 160, 90, 140)
    cv2.putText(img, f"frame {n}", (12, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
    cv2.putText(img, f"{t_s:.2f}", (12, 110), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
    return img


def write_synthetic_recording(
    root: str | os.PathLike,
    *,
    t0: float = 1_795_000_000.0,
    video_fps: float = 5.0,
    segment_s: float = 20.0,
    close: bool = True,
    name: str = "synthetic",
) -> Path:
    """A recording folder of :func:`synthetic_survey` written by the real recorder.

    Contents: telemetry (5 Hz), events (mode, armed/disarmed, a link loss and recovery, hold and
    resume), three alerts (two gatherings, one unmasked person) with JPEG snapshots, two reminders
    with WAV files, a plan folder (district, route, plan.json), video at ``video_fps`` with each
    frame showing its number.

    Args:
        root: Record directory (the folder is created inside).
        t0: UNIX time the flight starts.
        video_fps: Video frame rate.
        segment_s: Video segment length.
        close: Close the recorder cleanly (False leaves ``complete: false`` as a killed patrol).
        name: Folder name suffix.

    Returns:
        The recording folder.
    """
    import cv2

    from detection.alerts import Alert, AlertKind
    from groundstation.recording import FILES, FlightRecorder

    samples = synthetic_survey(t0)
    clock_now = [t0]
    rec = FlightRecorder(
        root,
        name=name,
        connection="synthetic",
        home={"lat_deg": DEFAULT_HOME[0], "lon_deg": DEFAULT_HOME[1], "alt_m": DEFAULT_HOME[2]},
        segment_s=segment_s,
        video_fps=video_fps,
        clock=lambda: clock_now[0],
    )
    folder = rec.folder
    # plan files
    ring = block_polygon_geo()
    (folder / "plan" / "area.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "synthetic block"},
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    }
                ],
            }
        )
    )
    auto = [s for s in samples if s.mode == "AUTO"]
    (folder / "plan" / "route.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"sortie": 1},
                        "geometry": {
                            "type": "LineString",
                            "coordinates": [[s.lon_deg, s.lat_deg] for s in auto[::10]],
                        },
                    }
                ],
            }
        )
    )
    (folder / "plan" / "plan.json").write_text(
        json.dumps({"stats": {"coverage_pct": 100.0, "alt_m": 40.0}})
    )

    # alerts at a third and two thirds of the survey, plus a person
    picks = [auto[len(auto) // 3], auto[len(auto) // 2], auto[2 * len(auto) // 3]]
    kinds = [(AlertKind.GATHERING, 5), (AlertKind.UNMASKED, 1), (AlertKind.GATHERING, 8)]
    alerts = []
    for i, (s, (kind, count)) in enumerate(zip(picks, kinds, strict=True)):
        snap = folder / FILES["snapshots"] / f"alert_{i}.jpg"
        img = np.full((120, 160, 3), (30, 30 + 60 * i, 200), np.uint8)
        cv2.putText(img, f"alert {i}", (10, 60), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2)
        cv2.imwrite(str(snap), img)
        alerts.append(
            Alert(
                kind=kind,
                t_s=s.t_s,
                lat_deg=s.lat_deg + 0.0001,
                lon_deg=s.lon_deg,
                count=count,
                confidence=0.8,
                radius_m=4.0 if kind == AlertKind.GATHERING else None,
                colour="red" if kind == AlertKind.UNMASKED else None,
                snapshot=str(snap),
            )
        )
    loss = (auto[len(auto) // 4].t_s, auto[len(auto) // 4].t_s + 6.0)

    prev_mode, prev_armed, ai, frame_n = None, None, 0, 0
    next_frame_t = samples[0].t_s
    for k, s in enumerate(samples):
        clock_now[0] = s.t_s
        if s.mode != prev_mode:
            rec.event("mode", t_s=s.t_s, mode=s.mode)
            prev_mode = s.mode
        if s.armed != prev_armed:
            rec.event("armed" if s.armed else "disarmed", t_s=s.t_s)
            prev_armed = s.armed
        if loss[0] <= s.t_s < loss[0] + 0.2:
            rec.event("link_lost", t_s=s.t_s)
        if loss[1] <= s.t_s < loss[1] + 0.2:
            rec.event("link_recovered", t_s=s.t_s)
        link_ok = not (loss[0] <= s.t_s < loss[1])
        if link_ok:
            rec.telemetry(
                {
                    "t_s": s.t_s,
                    "pose": {
                        "t_s": s.t_s,
                        "lat_deg": s.lat_deg,
                        "lon_deg": s.lon_deg,
                        "alt_m": s.alt_m,
                        "yaw_deg": s.yaw_deg,
                    },
                    "mode": s.mode,
                    "armed": s.armed,
                    "groundspeed_m_s": 8.0 if s.mode == "AUTO" else 0.0,
                    "battery_pct": s.battery_pct,
                    "battery_v": s.battery_v,
                    "mission_seq": k // 40,
                    "link_ok": True,
                    "sortie": 1,
                }
            )
        while ai < len(alerts) and alerts[ai].t_s <= s.t_s:
            a = alerts[ai]
            rec.alert(a)
            if a.kind == AlertKind.GATHERING:
                rec.event("hold", t_s=a.t_s, alert_id=a.id)
                wav = folder / "broadcasts" / f"{a.id}.wav"
                _write_wav(wav)
                rec.broadcast(
                    {
                        "t_s": a.t_s + 0.5,
                        "alert_id": a.id,
                        "text": "请不要聚集 Please do not gather",
                        "language": "zh",
                        "duration_s": 2.0,
                        "device": None,
                        "wav": str(wav),
                        "played": False,
                    }
                )
                rec.event("resume", t_s=a.t_s + 3.0)
            ai += 1
        while next_frame_t <= s.t_s:
            img = _frame_image(frame_n, next_frame_t)
            pose = {
                "t_s": next_frame_t,
                "lat_deg": s.lat_deg,
                "lon_deg": s.lon_deg,
                "alt_m": s.alt_m,
            }
            deadline = time.monotonic() + 10.0
            while not rec.video_frame(img, next_frame_t, frame_n, pose):
                if time.monotonic() > deadline:
                    raise RuntimeError("video writer does not accept frames")
                time.sleep(0.005)
            frame_n += 1
            next_frame_t += 1.0 / video_fps
    if close:
        rec.close("landed", summary={"alerts_by_kind": {"gathering": 2, "unmasked": 1}})
    else:
        # what a SIGKILL leaves: files flushed line by line, the manifest not marked complete
        if rec.video is not None:
            rec.video.close()
        for w in (rec.telemetry_w, rec.alerts_w, rec.events_w, rec.broadcasts_w):
            w.close()
        rec.write_manifest()
    return folder


def _write_wav(path: Path, seconds: float = 0.2, rate: int = 16000) -> None:
    import wave

    samples = (
        0.2 * 32767 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate)
    ).astype("<i2")
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(rate)
        wf.writeframes(samples.tobytes())
