"""MQTT plumbing both sides share: the broker URL, client set-up, and the detector's publisher.

Delivery (``docs/remote-detection.md``): every result and alert is published with QoS 1 by a
client with a fixed id and a persistent session (MQTT 3.1.1 ``clean_session=False``). While the
broker is away, paho-mqtt keeps QoS 1 messages in its outgoing queue and sends them after it has
reconnected (``reconnect_delay_set``: 0.5 s doubling to 8 s); the broker keeps messages for the
ground station's persistent session while the ground station is away, and with ``persistence
true`` across its own restart.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from detection.remote.schema import Topics, encode_alert, encode_result, encode_status
from missions.errors import InputError

log = logging.getLogger(__name__)

DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 8.0
KEEPALIVE_S = 10


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker is and which topic prefix to use.

    Attributes:
        host: Broker host name or address.
        port: TCP port (1883 plain MQTT).
        prefix: Topic prefix (``dronepatrol`` unless the URL has a path).
        username, password: Credentials from the URL (``mqtt://user:pass@host``), or None.
        tls: ``mqtts://``: TLS with the system's CA certificates (port 8883 by default).
    """

    host: str
    port: int
    prefix: str = "dronepatrol"
    username: str | None = None
    password: str | None = None
    tls: bool = False

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}/{self.prefix}"


def parse_broker_url(url: str, where: str = "broker URL") -> BrokerAddress:
    """Parse ``mqtt://[USER:PASS@]HOST[:PORT][/PREFIX]`` (``mqtts://`` for TLS).

    Args:
        url: The URL.
        where: Where it came from (the option or config key), for the error message.

    Raises:
        InputError: Another scheme, no host, a bad port or prefix (one line naming ``where``).
    """
    try:
        parts = urlsplit(str(url).strip())
        port = parts.port
    except ValueError as exc:
        raise InputError(f"{where} {url!r}: {exc}") from None
    if parts.scheme not in ("mqtt", "mqtts"):
        raise InputError(f"{where} {url!r}: expected mqtt://HOST[:PORT][/PREFIX] (or mqtts://)")
    if not parts.hostname:
        raise InputError(f"{where} {url!r}: no broker host")
    prefix = parts.path.strip("/") or "dronepatrol"
    if any(c in prefix for c in "+#") or "//" in prefix:
        raise InputError(f"{where} {url!r}: the topic prefix {prefix!r} may not hold + # or //")
    return BrokerAddress(
        host=parts.hostname,
        port=port or (DEFAULT_TLS_PORT if parts.scheme == "mqtts" else DEFAULT_PORT),
        prefix=prefix,
        username=parts.username,
        password=parts.password,
        tls=parts.scheme == "mqtts",
    )


def make_client(client_id: str, address: BrokerAddress, *, manual_ack: bool = False):
    """A paho-mqtt 2.x client with a persistent session and reconnect back-off.

    Args:
        client_id: Fixed client id (the broker keeps the session under it).
        address: The broker.
        manual_ack: Acknowledge received QoS 1 messages only when :meth:`ack` is called (the
            broker sends again whatever was not acknowledged when the connection broke).

    Returns:
        A ``paho.mqtt.client.Client`` (not connected yet).
    """
    import paho.mqtt.client as mqtt

    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=False,
        protocol=mqtt.MQTTv311,
        manual_ack=manual_ack,
    )
    client.reconnect_delay_set(min_delay=RECONNECT_MIN_S, max_delay=RECONNECT_MAX_S)
    client.max_queued_messages_set(0)  # unbounded: nothing is dropped while the broker is away
    client.max_inflight_messages_set(100)
    if address.tls:
        client.tls_set()  # the system's CA certificates, server name checked
    if address.username is not None:
        client.username_pw_set(address.username, address.password)
    return client


class ResultPublisher:
    """Publishes a detector's results, alerts and status (QoS 1) to a broker.

    Connects in the background and keeps reconnecting; :meth:`publish_result` and
    :meth:`publish_alert` never block (while disconnected, paho-mqtt queues the messages).

    Args:
        url: ``mqtt://HOST[:PORT][/PREFIX]``.
        vehicle: Vehicle id (topic level).
        client_id: Fixed client id (default ``dronepatrol-detector-<vehicle>``).
        detail: Text of the ``online`` status (source, model).
        on_state: Called with a one-line text when the connection comes or goes.

    Raises:
        InputError: A bad URL or vehicle id.
    """

    def __init__(
        self,
        url: str,
        vehicle: str = "1",
        *,
        client_id: str | None = None,
        detail: str = "",
        on_state=None,
    ) -> None:
        self.address = parse_broker_url(url, "--publish")
        try:
            self.topics = Topics(self.address.prefix, vehicle)
        except Exception as exc:
            raise InputError(str(exc)) from None
        self.vehicle = self.topics.vehicle
        self.detail = detail
        self.on_state = on_state or (lambda text: log.info("%s", text))
        self.client = make_client(client_id or f"dronepatrol-detector-{self.vehicle}", self.address)
        self.client.will_set(
            self.topics.status,
            encode_status("offline", self.vehicle, "connection lost"),
            qos=1,
            retain=True,
        )
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.connected = threading.Event()
        self.sent = 0
        self.disconnects = 0
        self._closing = False

    def start(self) -> ResultPublisher:
        """Connect in the background (and keep reconnecting); returns self."""
        self.client.connect_async(self.address.host, self.address.port, keepalive=KEEPALIVE_S)
        self.client.loop_start()
        return self

    def wait_connected(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the first connection; True when connected."""
        return self.connected.wait(timeout_s)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.on_state(f"broker {self.address} refused the connection: {reason_code}")
            return
        self.connected.set()
        client.publish(
            self.topics.status,
            encode_status("online", self.vehicle, self.detail),
            qos=1,
            retain=True,
        )
        self.on_state(f"connected to the broker {self.address}")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if self._closing:
            return
        self.disconnects += 1
        self.on_state(
            f"broker {self.address} connection lost ({reason_code}); reconnecting, results are "
            "queued meanwhile"
        )

    def publish_result(self, result, width_px: int, height_px: int) -> None:
        """Publish one frame's :class:`detection.pipeline.FrameResult` (QoS 1)."""
        self.client.publish(
            self.topics.results, encode_result(result, self.vehicle, width_px, height_px), qos=1
        )
        self.sent += 1

    def publish_alert(self, alert, snapshot: bytes | None = None) -> None:
        """Publish one :class:`detection.alerts.Alert` with its JPEG crop (QoS 1)."""
        self.client.publish(self.topics.alerts, encode_alert(alert, self.vehicle, snapshot), qos=1)
        self.sent += 1

    def pending(self) -> int:
        """QoS 1 messages not yet acknowledged by the broker (queued or in flight)."""
        with self.client._out_message_mutex:  # paho has no public count
            return len(self.client._out_messages)

    def close(self, timeout_s: float = 10.0) -> int:
        """Say ``offline``, wait up to ``timeout_s`` for the queue to drain, disconnect.

        Returns:
            Messages still unacknowledged when it gave up (0: all delivered to the broker).
        """
        self.client.publish(
            self.topics.status,
            encode_status("offline", self.vehicle, "stopped"),
            qos=1,
            retain=True,
        )
        deadline = time.monotonic() + timeout_s
        while self.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        left = self.pending()
        self._closing = True
        self.client.disconnect()
        self.client.loop_stop()
        return left


def unique_suffix() -> str:
    """A short random suffix for client ids that must not collide (tests, benchmarks)."""
    return uuid.uuid4().hex[:8]
