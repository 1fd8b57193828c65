"""Live overlay for street officers: annotated video, map, alert list and status in a browser.

:class:`OverlayHub` holds what the page shows and is fed by the patrol (or a replay);
:class:`OverlayServer` serves it with FastAPI + uvicorn on 127.0.0.1 by default. See
``docs/overlay.md``.
"""

from groundstation.overlay.access import Officer, OfficerAccess
from groundstation.overlay.app import (
    OverlayServer,
    check_bind,
    create_app,
    is_loopback,
    officer_for,
)
from groundstation.overlay.hub import OverlayHub, ReplayControl, VideoFrame

__all__ = [
    "Officer",
    "OfficerAccess",
    "OverlayHub",
    "OverlayServer",
    "ReplayControl",
    "VideoFrame",
    "check_bind",
    "create_app",
    "is_loopback",
    "officer_for",
]
