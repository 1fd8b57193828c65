"""The MAVLink link to one vehicle (see :mod:`groundstation.link.connection`, with its parts in
:mod:`~groundstation.link.subscriptions`, :mod:`~groundstation.link.commands` and
:mod:`~groundstation.link.dialect`).

Public API: :class:`Link` (``Link.connect(url, ...)``), :class:`LinkError`, :class:`MessageQueue`,
:func:`parse_endpoint` / :class:`Endpoint`, :class:`TlogWriter`, :func:`load_signing_key`, and
``MAV`` (the MAVLink 2 ArduPilot dialect used to build messages).
"""

from groundstation.link.commands import DATA_STREAM_OF_MESSAGE
from groundstation.link.connection import GCS_HEARTBEAT_PERIOD_S, Link
from groundstation.link.dialect import MAV
from groundstation.link.endpoint import Endpoint, parse_endpoint
from groundstation.link.errors import LinkError
from groundstation.link.signing import load_signing_key
from groundstation.link.subscriptions import MessageQueue
from groundstation.link.tlog import TlogWriter

__all__ = [
    "DATA_STREAM_OF_MESSAGE",
    "GCS_HEARTBEAT_PERIOD_S",
    "MAV",
    "Endpoint",
    "Link",
    "LinkError",
    "MessageQueue",
    "TlogWriter",
    "load_signing_key",
    "parse_endpoint",
]
