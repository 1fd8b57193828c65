"""Delivering what the link receives: subscriptions, message queues, link lost/recovered events.

:class:`SubscriptionsMixin` is one part of :class:`groundstation.link.connection.Link` (which owns
the ``_subs*`` and ``_event_subs`` attributes, set up in ``Link.__init__``, and whose ONE reader
thread calls the subscribers). :class:`MessageQueue` buffers messages for a consumer thread.
Thread-safe: the subscriber tables are guarded by ``Link._subs_lock``; every wait has a timeout.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from groundstation.link.connection import Link

log = logging.getLogger(__name__)

Callback = Callable[[Any], None]
"""A subscriber: called in the reader thread with each pymavlink message. Must return quickly."""


class MessageQueue:
    """A subscription that buffers messages for a consumer thread (see :meth:`Link.queue`).

    Create it *before* sending a request so that no answer is missed; use it as a context manager
    (or call :meth:`close`) to unsubscribe.
    """

    def __init__(self, link: Link, types: Iterable[str] | None, maxsize: int = 10000) -> None:
        self._q: queue.Queue = queue.Queue(maxsize=maxsize)
        self._types = None if types is None else frozenset(types)
        self._unsubscribe = link.subscribe(None, self._put)

    def _put(self, msg: Any) -> None:
        if self._types is not None and msg.get_type() not in self._types:
            return
        with contextlib.suppress(queue.Full):
            self._q.put_nowait(msg)

    def get(self, timeout_s: float) -> Any | None:
        """Next message, or None after ``timeout_s`` seconds without one."""
        try:
            return self._q.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            return None

    def close(self) -> None:
        """Stop receiving (idempotent)."""
        self._unsubscribe()

    def __enter__(self) -> MessageQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SubscriptionsMixin:
    """Subscriptions and link events of :class:`~groundstation.link.connection.Link`."""

    def subscribe(self, msg_type: str | None, callback: Callback) -> Callable[[], None]:
        """Call ``callback(msg)`` in the reader thread for each message from the vehicle.

        Args:
            msg_type: A MAVLink message name (``"HEARTBEAT"``) or None for every message.
            callback: Called with the pymavlink message; must return quickly and not block
                (exceptions are logged, never propagated into the reader).

        Returns:
            A function that unsubscribes (idempotent).
        """
        with self._subs_lock:
            self._sub_id += 1
            sid = self._sub_id
            self._subs[sid] = (msg_type, callback)

        def unsubscribe() -> None:
            """Remove this subscription (idempotent)."""
            with self._subs_lock:
                self._subs.pop(sid, None)

        return unsubscribe

    def queue(self, types: Iterable[str] | str | None = None, maxsize: int = 10000) -> MessageQueue:
        """A :class:`MessageQueue` receiving messages of ``types`` (None = all) from now on."""
        if isinstance(types, str):
            types = [types]
        return MessageQueue(self, types, maxsize)

    def wait_message(
        self,
        msg_type: str | Iterable[str],
        condition: Callable[[Any], bool] | None = None,
        timeout_s: float = 5.0,
    ) -> Any | None:
        """Wait for the next message of ``msg_type`` (a name or several) satisfying ``condition``.

        Only messages arriving after the call are considered; to wait for the answer to a
        request without a race, create a :meth:`queue` before sending the request.

        Returns:
            The message, or None after ``timeout_s`` seconds.
        """
        deadline = time.monotonic() + timeout_s
        with self.queue(msg_type) as q:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                msg = q.get(remaining)
                if msg is None:
                    return None
                if condition is None or condition(msg):
                    return msg

    def on_link_lost(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` when the link is lost; returns an unsubscribe function."""
        return self._add_event("lost", callback)

    def on_link_recovered(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` when heartbeats return after a loss; returns an unsubscribe function."""
        return self._add_event("recovered", callback)

    def _add_event(self, kind: str, callback: Callable[[], None]) -> Callable[[], None]:
        with self._subs_lock:
            self._sub_id += 1
            sid = self._sub_id
            self._event_subs[kind][sid] = callback

        def unsubscribe() -> None:
            """Remove this link event callback (idempotent)."""
            with self._subs_lock:
                self._event_subs[kind].pop(sid, None)

        return unsubscribe

    def _fire(self, kind: str) -> None:
        with self._subs_lock:
            callbacks = list(self._event_subs[kind].values())
        for cb in callbacks:
            try:
                cb()
            except Exception:
                log.exception("link %s callback failed", kind)
