"""The overlay web app (FastAPI) and its server thread (uvicorn).

Endpoints (all read the :class:`~groundstation.overlay.hub.OverlayHub`):

=============================  =====================================================================
``GET /``                      the page (``static/index.html``; everything served locally, no CDN)
``GET /static/...``            its script and style
``GET /api/snapshot``          everything on (re)load: state, alerts, log, trail, replay status
``GET /api/map``               district (GeoJSON), route per sortie, fence, home, tile URL, risk
``GET /api/risk.geojson``       the five-colour risk layer (households, blocks, combat symbols)
``GET /api/events``            Server-Sent Events: ``state`` (at most 10/s), ``alert``, ``log``,
                               ``map``, ``reset``, ``replay``; polled every 0.1 s, so a new alert
                               reaches the page well within 1 s
``GET /api/frame?after=N``     the latest JPEG frame once it is not frame N (long poll, 204 after
                               10 s); headers ``X-Frame-Seq``, ``X-Frame-Time``, ``X-Frame-Index``
``GET /video.mjpg``            the same frames as an MJPEG stream (for VLC, ffplay, <img>)
``GET /api/alerts/{id}/snapshot``  the alert's snapshot JPEG (faces in the clear: every request,
                               granted or refused, goes to the access log, :mod:`.access_log`)
``GET /api/alerts``            the alerts (JSON list, oldest first, each with ``id``, ``acks``, ``ack``)
``POST /api/alerts/{id}/ack``  ``{"officer": NAME, "state": STATE}``: an officer's answer, pushed
                               to every page as an ``ack`` event and kept with who and when
``GET /api/whoami``            ``{"officer": NAME | null, "verified": bool}`` (per-officer tokens)
``GET /api/tiles/{z}/{x}/{y}`` a base-map tile from ``overlay.basemap`` (MBTiles), 404 if absent
``POST /api/video?vehicle=N`` a fleet: show vehicle N's video and status (docs/fleet.md)
``POST /api/replay/{action}``  ``play``, ``pause``, ``seek?t=UNIX_S``, ``speed?x=2`` (replay only)
=============================  =====================================================================

Access: bound to a loopback address the app is open (only this machine reaches it). Bound to any
other address it requires a token (:func:`check_bind` refuses to start without one): the first
request carries ``?token=...`` (or ``Authorization: Bearer ...``), and the app answers with an
HttpOnly cookie so that the page's own requests are authorised too. With one token per officer
(``overlay.officers``) every request names its officer: :func:`officer_for`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import math
import re
import socket
import threading
import time
from pathlib import Path

from fastapi import Body, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from missions.errors import ConfigError, DronePatrolError

from .access import MIN_TOKEN_LEN, Officer, OfficerAccess
from .access_log import AccessLog, requester
from .hub import OverlayHub
from .tiles import MBTiles

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
COOKIE = "dronepatrol_token"
POLL_S = 0.1
STATE_MIN_INTERVAL_S = 0.1
HEARTBEAT_S = 10.0
FRAME_WAIT_S = 10.0
MAX_NAME_LEN = 40


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(
    host: str,
    token: str | None,
    *,
    host_option: str = "overlay.host",
    token_option: str = "overlay.token",
    officers: dict[str, str] | None = None,
) -> None:
    """Refuse to serve beyond this machine without a token of at least 8 characters.

    On a loopback address any token (or none) is accepted: only this machine reaches the page,
    and a token that is set is still required by the app.

    Args:
        host: Address to bind.
        token: Access token, or None.
        host_option: How the user sets ``host``, for the message (a command's flag, e.g.
            ``--host``; default the config key).
        token_option: How the user sets ``token``, for the message (e.g. ``--token``).
        officers: Per-officer tokens (``overlay.officers``); any of them is enough off loopback
            (:class:`~groundstation.overlay.access.OfficerAccess` checks their length).

    Raises:
        ConfigError: ``host`` is not a loopback address and no token, or one shorter than
            :data:`MIN_TOKEN_LEN` characters, is configured.
    """
    if is_loopback(host):
        return
    if officers and not token:
        return
    if not token:
        raise ConfigError(
            f"{host_option} {host} is reachable from other machines: set {token_option} "
            "(officers then open the page with ?token=...), or bind 127.0.0.1"
        )
    if len(token) < MIN_TOKEN_LEN:
        raise ConfigError(
            f"{token_option} is too short ({len(token)} characters): use at least "
            f"{MIN_TOKEN_LEN} characters when {host_option} is not a loopback address"
        )


def officer_for(request: Request) -> Officer | None:
    """Who made ``request``: the one place that maps a presented token to an officer.

    The token is read from the query (``?token=``), an ``Authorization: Bearer`` header or the
    cookie the app sets, in that order, and looked up in the app's
    :class:`~groundstation.overlay.access.OfficerAccess` (``app.state.access``).

    Returns:
        The :class:`~groundstation.overlay.access.Officer` (``name`` None for the shared token or
        an open page), or None when a token is required and the request has no valid one.
    """
    return request.app.state.access.identify(_presented_token(request))


def _presented_token(request: Request) -> str | None:
    return (
        request.query_params.get("token")
        or _bearer(request.headers.get("authorization"))
        or request.cookies.get(COOKIE)
    )


def create_app(
    hub: OverlayHub,
    *,
    token: str | None = None,
    officers: dict[str, str] | None = None,
    basemap: str | Path | None = None,
    access_log: AccessLog | None = None,
):
    """The FastAPI application serving ``hub``.

    Args:
        hub: The state to show.
        token: When set, every request must present it (query ``token``, bearer header or the
            cookie the app sets).
        officers: ``{name: token}``, one token per officer (:mod:`~groundstation.overlay.access`).
        basemap: An MBTiles file served as ``/api/tiles/{z}/{x}/{y}`` (None: no base map).
        access_log: Where snapshot views are logged (None: not logged).

    Returns:
        A ``fastapi.FastAPI`` app.

    Raises:
        ConfigError: Bad officer tokens; a base map that is not an MBTiles file.
    """
    app = FastAPI(title="dronepatrol overlay", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.access = OfficerAccess(token, officers)
    tiles = MBTiles(basemap) if basemap else None

    @app.middleware("http")
    async def auth(request: Request, call_next):
        """Refuse what a hostile web page could send, then check the token (see :func:`_guard`)."""
        refused = _guard(request, app.state.access.required)
        if refused is not None:
            return refused
        response = await _auth(request, call_next)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    async def _auth(request: Request, call_next):
        """Refuse requests without a valid token (query, bearer or cookie): 401."""
        if not app.state.access.required:
            return await call_next(request)
        if officer_for(request) is None:
            m = _SNAPSHOT_PATH.fullmatch(request.url.path)
            if m and access_log is not None:
                access_log.record(requester(request, token), m.group(1), False, _client(request))
            return JSONResponse({"detail": "token required"}, status_code=401)
        response = await call_next(request)
        if request.query_params.get("token"):
            response.set_cookie(
                COOKIE, request.query_params["token"], httponly=True, samesite="strict"
            )
        return response

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def index():
        """The officers' page (``static/index.html``), never cached."""
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon():
        """No icon: 204, so browsers stop asking."""
        return Response(status_code=204)

    @app.get("/api/snapshot")
    async def snapshot():
        """``GET /api/snapshot``: what a page needs on (re)load (:meth:`OverlayHub.snapshot`)."""
        return JSONResponse(hub.snapshot())

    @app.get("/api/map")
    async def map_():
        """``GET /api/map``: district, route, fence, home (:meth:`OverlayHub.map`) and base map."""
        return JSONResponse({**hub.map(), "basemap": tiles.info() if tiles is not None else None})

    @app.get("/api/risk.geojson")
    async def risk_layer():
        """``GET /api/risk.geojson``: the five-colour risk layer (404 when the patrol has none)."""
        layer = hub.map().get("risk")
        if layer is None:
            return JSONResponse({"detail": "no risk map"}, status_code=404)
        return JSONResponse(layer, media_type="application/geo+json")

    @app.get("/api/events")
    async def events(request: Request, since: int = -1, trail: int = -1):
        """``GET /api/events``: Server-Sent Events of alerts, log lines, state and replay status.

        Args:
            request: The request (the stream ends when the client disconnects).
            since: Last message sequence number the client has (-1: only new messages).
            trail: Trail points the client has (the snapshot's ``trail_total``; -1: only new
                ones). Each ``state`` message carries every point added since in
                ``trail_points``, so the drawn path has all telemetry whatever the replay speed.
        """

        async def stream():
            """Yield SSE messages (alerts, log, throttled state, keep-alives) until closed."""
            snap = hub.snapshot()
            seq = snap["message_seq"] if since < 0 else since
            trail_n = snap["trail_total"] if trail < 0 else trail
            state_version = 0  # version 0 = nothing pushed yet
            last_state = 0.0
            last_sent = time.monotonic()
            replay_sent = None
            yield "retry: 1000\n\n"
            while not hub.closed:
                if await request.is_disconnected():
                    return
                now = time.monotonic()
                seq, msgs = hub.messages_since(seq)
                for mseq, kind, data in msgs:
                    yield _sse(kind, data, mseq)
                    last_sent = now
                    if kind == "reset":
                        trail_n = 0  # the client reloads the snapshot, then reconnects
                version, state = hub.state()
                if version != state_version and now - last_state >= STATE_MIN_INTERVAL_S:
                    state_version, last_state = version, now
                    trail_point = (
                        [state["lat_deg"], state["lon_deg"]]
                        if state.get("lat_deg") is not None
                        else None
                    )
                    trail_n, points = hub.trail_since(trail_n)
                    msg = {**state, "trail_point": trail_point, "trail_points": points}
                    fleet = hub.vehicle_positions()
                    if fleet:  # a fleet: every vehicle's marker and trail (static/fleet.js)
                        msg["vehicles"] = fleet
                    yield _sse("state", msg)
                    last_sent = now
                replay = hub.replay_status()
                if replay is not None and replay != replay_sent:
                    replay_sent = replay
                    yield _sse("replay", replay)
                    last_sent = now
                if now - last_sent > HEARTBEAT_S:
                    yield ": keep-alive\n\n"
                    last_sent = now
                await asyncio.sleep(POLL_S)

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @app.get("/api/frame")
    async def frame(request: Request, after: int = 0):
        """``GET /api/frame``: long-poll for the first JPEG frame newer than ``after``.

        Returns the JPEG with ``X-Frame-Seq``/``X-Frame-Time``/``X-Frame-Index`` headers, or 204
        when no newer frame came within ``FRAME_WAIT_S``.
        """
        deadline = time.monotonic() + FRAME_WAIT_S
        with hub.viewing():  # a watching client: the live video draws and encodes frames
            while not hub.closed:
                f = hub.frame_after(after)
                if f is not None:
                    return Response(
                        f.jpeg,
                        media_type="image/jpeg",
                        headers={
                            "X-Frame-Seq": str(f.seq),
                            "X-Frame-Time": f"{f.t_s:.3f}",
                            "X-Frame-Index": str(f.frame_index),
                            "Cache-Control": "no-store",
                        },
                    )
                if time.monotonic() > deadline or await request.is_disconnected():
                    break
                await asyncio.sleep(0.02)
        return Response(status_code=204)

    @app.get("/video.mjpg")
    async def mjpeg(request: Request):
        """``GET /video.mjpg``: the annotated video as an MJPEG multipart stream."""
        boundary = "dronepatrolframe"

        async def stream():
            """Yield each new frame as one multipart JPEG part until the client or hub closes."""
            seq = 0
            with hub.viewing():
                while not hub.closed:
                    if await request.is_disconnected():
                        return
                    f = hub.frame_after(seq)
                    if f is None:
                        await asyncio.sleep(0.02)
                        continue
                    seq = f.seq
                    yield (
                        (
                            f"--{boundary}\r\nContent-Type: image/jpeg\r\n"
                            f"Content-Length: {len(f.jpeg)}\r\n\r\n"
                        ).encode()
                        + f.jpeg
                        + b"\r\n"
                    )

        return StreamingResponse(
            stream(),
            media_type=f"multipart/x-mixed-replace; boundary={boundary}",
            headers={"Cache-Control": "no-store"},
        )

    @app.get("/api/alerts/{alert_id}/snapshot")
    async def alert_snapshot(alert_id: str, request: Request):
        """``GET /api/alerts/{alert_id}/snapshot``: the alert's snapshot JPEG, logged.

        Raises:
            HTTPException: 404 when the alert has no snapshot file.
        """
        path = hub.snapshot_path(alert_id)
        if path is None or not path.is_file():
            raise HTTPException(404, "no snapshot for this alert")
        if access_log is not None:
            access_log.record(requester(request, token), alert_id, True, _client(request))
        return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @app.get("/api/alerts")
    async def alerts():
        """``GET /api/alerts``: every alert held, oldest first, with ``acks`` and ``ack``."""
        return JSONResponse(hub.alerts())

    @app.get("/api/whoami")
    async def whoami(request: Request):
        """``GET /api/whoami``: the officer the request's token names (null: type a name)."""
        who = officer_for(request)
        return JSONResponse({"officer": who.name, "verified": who.verified})

    @app.post("/api/alerts/{alert_id}/ack")
    async def ack(alert_id: str, request: Request, body: dict = Body(...)):
        """``POST /api/alerts/{alert_id}/ack``: ``{"officer": NAME, "state": STATE}``.

        With a per-officer token the name is the token's (``officer`` in the body is ignored);
        otherwise ``officer`` is required (1 to 40 characters).

        Returns:
            The acknowledgement (``ack_id``, ``alert_id``, ``officer``, ``state``, ``t_s``,
            ``verified``).

        Raises:
            HTTPException: 404 for an unknown alert; 422 for a bad state or a missing name.
        """
        who = officer_for(request)
        name = who.name
        if name is None:
            name = str(body.get("officer") or "").strip()
            if not 0 < len(name) <= MAX_NAME_LEN:
                raise HTTPException(422, f"officer: a name of 1 to {MAX_NAME_LEN} characters")
        try:
            result = hub.ack(alert_id, name, str(body.get("state")), verified=who.verified)
        except KeyError:
            raise HTTPException(404, f"no alert {alert_id!r}") from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return JSONResponse(result)

    @app.get("/api/tiles/{z}/{x}/{y}")
    async def tile(z: int, x: int, y: int):
        """``GET /api/tiles/{z}/{x}/{y}``: an XYZ tile of the MBTiles base map (404: none)."""
        found = tiles.tile(z, x, y) if tiles is not None else None
        if found is None:
            return Response(status_code=404)
        data, media_type = found
        return Response(data, media_type=media_type, headers={"Cache-Control": "max-age=3600"})

    @app.post("/api/video")
    async def video_vehicle(vehicle: int):
        """``POST /api/video?vehicle=SYSID``: a fleet's page shows this vehicle's video and
        status (404: no such vehicle)."""
        try:
            hub.select_video(vehicle)
        except KeyError:
            raise HTTPException(404, f"no vehicle {vehicle}") from None
        return JSONResponse({"video_vehicle": hub.video_vehicle})

    @app.get("/api/replay/marks")
    async def replay_marks():
        """``GET /api/replay/marks``: every alert of the recording as ``{"t_s", "id", "kind"}``
        (the seek bar's markers; 404 when not a replay)."""
        control = hub.replay
        marks = getattr(control, "marks", None)
        if control is None or marks is None:
            raise HTTPException(status_code=404, detail="not a replay")
        return JSONResponse({"marks": marks()})

    @app.post("/api/replay/{action}")
    async def replay(action: str, t: float | None = None, x: float | None = None):
        """``POST /api/replay/{action}``: ``play``, ``pause``, ``seek`` (``t``), ``speed`` (``x``).

        Returns:
            The replay status after the action.

        Raises:
            HTTPException: 404 when not a replay or an unknown action; 422 for a missing ``t`` or
                a speed outside (0, 64].
        """
        control = hub.replay
        if control is None:
            raise HTTPException(404, "not a replay")
        if action == "play":
            control.play()
        elif action == "pause":
            control.pause()
        elif action == "seek":
            if t is None or not math.isfinite(t):
                raise HTTPException(422, "seek needs t (finite UNIX seconds)")
            control.seek(float(t))
        elif action == "speed":
            if x is None or not 0 < x <= 64:
                raise HTTPException(422, "speed needs x in (0, 64]")
            control.set_speed(float(x))
        else:
            raise HTTPException(404, f"unknown replay action {action!r}")
        return JSONResponse(hub.replay_status())

    return app


_SNAPSHOT_PATH = re.compile(r"/api/alerts/([^/]+)/snapshot")


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob: https: http:; "
        "style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
"""Sent with every response: no framing (clickjacking), no MIME sniffing, no token in referrers."""

MAX_BODY_BYTES = 64 * 1024
"""Largest request body accepted (the API takes none bigger than a few bytes)."""

_LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def _host_name(value: str) -> str:
    """``"127.0.0.1:8080"`` -> ``"127.0.0.1"``, ``"[::1]:80"`` -> ``"[::1]"``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value.split("]")[0] + "]"
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _guard(request: Request, token_required: bool):
    """A 4xx response for a request a hostile web page could have made, else None.

    * DNS rebinding: a server without tokens (loopback only, :func:`check_bind`) answers only
      requests whose ``Host`` is a loopback name; a page on evil.example rebound to 127.0.0.1
      sends ``Host: evil.example``.
    * CSRF and cross-site reads: a request whose ``Origin`` is not this server's own origin
      (``http://`` + ``Host``), or that a browser marks ``Sec-Fetch-Site: cross-site``, is refused
      (browsers send ``Origin`` with every cross-origin POST).
    * A body over :data:`MAX_BODY_BYTES` is refused (413).
    """
    host = request.headers.get("host", "")
    if not token_required and _host_name(host) not in _LOOPBACK_NAMES:
        return JSONResponse({"detail": "unexpected Host header"}, status_code=421)
    origin = request.headers.get("origin")
    if origin is not None and origin.lower().rstrip("/") not in (
        f"http://{host.lower()}",
        f"https://{host.lower()}",
    ):
        return JSONResponse({"detail": "cross-origin request refused"}, status_code=403)
    if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return JSONResponse({"detail": "cross-site request refused"}, status_code=403)
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        return JSONResponse({"detail": "request body too large"}, status_code=413)
    return None


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def _sse(kind: str, data: dict, seq: int | None = None) -> str:
    head = f"id: {seq}\n" if seq is not None else ""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"{head}event: {kind}\ndata: {payload}\n\n"


class OverlayServer:
    """Runs the overlay app with uvicorn on a thread of its own.

    Args:
        hub: The state to serve.
        host: Address to bind (default loopback).
        port: TCP port; 0 picks a free one (see :attr:`port` after :meth:`start`).
        token: Required when ``host`` is not loopback (:func:`check_bind`) and no ``officers``.
        officers: ``{name: token}``, one token per officer (see :func:`officer_for`).
        basemap: MBTiles file for the map's base layer, or None.
        tls: ``(cert, key)`` PEM files to serve HTTPS (:mod:`~groundstation.overlay.tls`), or
            None for HTTP.
        access_log: Where views of alert snapshots are logged (None: not logged).
        bind_hint: What the user can do when the address cannot be bound, in the words of the
            command that runs the server (e.g. ``use --port P, 0 = any free port``); appended
            to that error in parentheses. None: no advice.

    Raises:
        ConfigError: Non-loopback host without a token.

    Example:
        >>> hub = OverlayHub()
        >>> with OverlayServer(hub, port=0) as server:  # doctest: +SKIP
        ...     print(server.url)
    """

    def __init__(
        self,
        hub: OverlayHub,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        token: str | None = None,
        bind_hint: str | None = None,
        officers: dict[str, str] | None = None,
        basemap: str | Path | None = None,
        tls: tuple[str | Path, str | Path] | None = None,
        access_log: AccessLog | None = None,
    ) -> None:
        check_bind(host, token, officers=officers)
        OfficerAccess(token, officers)  # bad officer tokens fail here, before binding
        self.access_log = access_log
        self.hub = hub
        self.host = host
        self.port = port
        self.token = token
        self.officers = dict(officers or {})
        self.basemap = basemap
        self.tls = tls
        self.bind_hint = bind_hint
        self._server = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def url(self) -> str:
        """Address officers open (with ``?token=`` when a token is set)."""
        host = self.host if ":" not in self.host else f"[{self.host}]"
        if host in ("0.0.0.0", "[::]"):
            host = socket.gethostname()
        q = f"/?token={self.token}" if self.token else "/"
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self.port}{q}"

    def start(self, timeout_s: float = 15.0) -> OverlayServer:
        """Bind and start serving; returns once the server accepts connections.

        Raises:
            DronePatrolError: The address cannot be bound (port in use) or the server did not
                start within ``timeout_s``.
        """
        import uvicorn

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            hint = f" ({self.bind_hint})" if self.bind_hint else ""
            raise DronePatrolError(
                f"overlay: cannot listen on {self.host}:{self.port}: {exc.strerror or exc}{hint}"
            ) from None
        sock.listen(64)
        sock.set_inheritable(True)
        self.port = sock.getsockname()[1]
        self._sock = sock
        config = uvicorn.Config(
            create_app(
                self.hub,
                token=self.token,
                officers=self.officers,
                basemap=self.basemap,
                access_log=self.access_log,
            ),
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=2,
            access_log=False,
            ssl_certfile=str(self.tls[0]) if self.tls else None,
            ssl_keyfile=str(self.tls[1]) if self.tls else None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="overlay-server"
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise DronePatrolError(f"overlay: server did not start on {self.host}:{self.port}")
            time.sleep(0.02)
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Close streams, stop uvicorn and join its thread (idempotent)."""
        self.hub.close()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("overlay server did not stop within %.0f s", timeout_s)
                if self._server is not None:
                    self._server.force_exit = True
                self._thread.join(2.0)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> OverlayServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
