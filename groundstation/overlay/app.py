"""The overlay web app (FastAPI) and its server thread (uvicorn).

Endpoints (all read the :class:`~groundstation.overlay.hub.OverlayHub`):

=============================  =====================================================================
``GET /``                      the page (``static/index.html``; everything served locally, no CDN)
``GET /static/...``            its script and style
``GET /api/snapshot``          everything on (re)load: state, alerts, log, trail, replay status
``GET /api/map``               district (GeoJSON), route per sortie, fence, home, tile URL
``GET /api/events``            Server-Sent Events: ``state`` (at most 10/s), ``alert``, ``log``,
                               ``map``, ``reset``, ``replay``; polled every 0.1 s, so a new alert
                               reaches the page well within 1 s
``GET /api/frame?after=N``     the latest JPEG frame once it is not frame N (long poll, 204 after
                               10 s); headers ``X-Frame-Seq``, ``X-Frame-Time``, ``X-Frame-Index``
``GET /video.mjpg``            the same frames as an MJPEG stream (for VLC, ffplay, <img>)
``GET /api/alerts/{id}/snapshot``  the alert's snapshot JPEG
``POST /api/replay/{action}``  ``play``, ``pause``, ``seek?t=UNIX_S``, ``speed?x=2`` (replay only)
=============================  =====================================================================

Access: bound to a loopback address the app is open (only this machine reaches it). Bound to any
other address it requires a token (:func:`check_bind` refuses to start without one): the first
request carries ``?token=...`` (or ``Authorization: Bearer ...``), and the app answers with an
HttpOnly cookie so that the page's own requests are authorised too.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import math
import socket
import threading
import time
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from missions.errors import ConfigError, DronePatrolError

from .hub import OverlayHub

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
COOKIE = "dronepatrol_token"
POLL_S = 0.1
STATE_MIN_INTERVAL_S = 0.1
HEARTBEAT_S = 10.0
FRAME_WAIT_S = 10.0
MIN_TOKEN_LEN = 8


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

    Raises:
        ConfigError: ``host`` is not a loopback address and no token, or one shorter than
            :data:`MIN_TOKEN_LEN` characters, is configured.
    """
    if is_loopback(host):
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


def create_app(hub: OverlayHub, *, token: str | None = None):
    """The FastAPI application serving ``hub``.

    Args:
        hub: The state to show.
        token: When set, every request must present it (query ``token``, bearer header or the
            cookie the app sets).

    Returns:
        A ``fastapi.FastAPI`` app.
    """
    app = FastAPI(title="dronepatrol overlay", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def auth(request: Request, call_next):
        """Refuse what a hostile web page could send, then check the token (see :func:`_guard`)."""
        refused = _guard(request, token)
        if refused is not None:
            return refused
        response = await _auth(request, call_next)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    async def _auth(request: Request, call_next):
        """Middleware: refuse requests without the token (query, bearer or cookie) with 401."""
        if not token:
            return await call_next(request)
        given = (
            request.query_params.get("token")
            or _bearer(request.headers.get("authorization"))
            or request.cookies.get(COOKIE)
        )
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            return JSONResponse({"detail": "token required"}, status_code=401)
        response = await call_next(request)
        if request.query_params.get("token"):
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
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
        """``GET /api/map``: district, route, fence and home (:meth:`OverlayHub.map`)."""
        return JSONResponse(hub.map())

    @app.get("/api/events")
    async def events(request: Request, since: int = -1):
        """``GET /api/events``: Server-Sent Events of alerts, log lines, state and replay status.

        Args:
            request: The request (the stream ends when the client disconnects).
            since: Last message sequence number the client has (-1: only new messages).
        """

        async def stream():
            """Yield SSE messages (alerts, log, throttled state, keep-alives) until closed."""
            seq = hub.snapshot()["message_seq"] if since < 0 else since
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
                version, state = hub.state()
                if version != state_version and now - last_state >= STATE_MIN_INTERVAL_S:
                    state_version, last_state = version, now
                    trail_point = (
                        [state["lat_deg"], state["lon_deg"]]
                        if state.get("lat_deg") is not None
                        else None
                    )
                    yield _sse("state", {**state, "trail_point": trail_point})
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
    async def alert_snapshot(alert_id: str):
        """``GET /api/alerts/{alert_id}/snapshot``: the alert's snapshot JPEG.

        Raises:
            HTTPException: 404 when the alert has no snapshot file.
        """
        path = hub.snapshot_path(alert_id)
        if path is None or not path.is_file():
            raise HTTPException(404, "no snapshot for this alert")
        return FileResponse(path, media_type="image/jpeg")

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


def _guard(request: Request, token: str | None):
    """A 4xx response for a request a hostile web page could have made, else None.

    * DNS rebinding: a server without a token (loopback only, :func:`check_bind`) answers only
      requests whose ``Host`` is a loopback name; a page on evil.example rebound to 127.0.0.1
      sends ``Host: evil.example``.
    * CSRF and cross-site reads: a request whose ``Origin`` is not this server's own origin
      (``http://`` + ``Host``), or that a browser marks ``Sec-Fetch-Site: cross-site``, is refused
      (browsers send ``Origin`` with every cross-origin POST).
    * A body over :data:`MAX_BODY_BYTES` is refused (413).
    """
    host = request.headers.get("host", "")
    if not token and _host_name(host) not in _LOOPBACK_NAMES:
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
        token: Required when ``host`` is not loopback (:func:`check_bind`).
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
    ) -> None:
        check_bind(host, token)
        self.hub = hub
        self.host = host
        self.port = port
        self.token = token
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
        return f"http://{host}:{self.port}{q}"

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
            create_app(self.hub, token=self.token),
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=2,
            access_log=False,
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
