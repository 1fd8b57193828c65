"""Detection on another machine: the message schema and the MQTT publisher.

The detector (``dronepatrol detect SOURCE --publish mqtt://...``, e.g. on the drone's companion
computer) publishes each frame's results and its alerts to an MQTT broker; the ground station
(``detection.remote`` in the config, :mod:`groundstation.remote_detection`) consumes them.
Topics, schema and broker set-up: ``docs/remote-detection.md``.
"""

from detection.remote.bus import BrokerAddress, parse_broker_url
from detection.remote.schema import (
    SCHEMA_VERSION,
    AlertMessage,
    MessageError,
    ResultMessage,
    StatusMessage,
    Topics,
    decode,
    encode_alert,
    encode_result,
    encode_status,
)

__all__ = [
    "SCHEMA_VERSION",
    "AlertMessage",
    "BrokerAddress",
    "MessageError",
    "ResultMessage",
    "StatusMessage",
    "Topics",
    "decode",
    "encode_alert",
    "encode_result",
    "encode_status",
    "parse_broker_url",
]
