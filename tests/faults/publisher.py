"""The fault suite's publisher: what it had confirmed is the ground truth.

A thread with its own pika connection (not authstream's publishing code: the suite checks the
product, so its load comes from elsewhere), publishing at a steady rate with publisher confirms.
A message counts as published once the broker confirmed it. When the broker goes away mid-publish,
it reconnects (to any node of a cluster) and publishes the same message again, as a careful
publisher does; the copy the broker may already have had is the pipeline's to recognise.
"""

import contextlib
import threading
import time

import pika
import pika.exceptions

from tests.faults.workload import Message

RECONNECT_PAUSE_S = 0.5


class GroundTruthPublisher(threading.Thread):
    def __init__(self, urls: list[str], exchange: str, messages: list[Message], rate: float):
        super().__init__(daemon=True, name="ground-truth publisher")
        self.nodes = [pika.URLParameters(url) for url in urls]
        for node in self.nodes:
            node.connection_attempts, node.retry_delay, node.socket_timeout = 1, 0, 5
            node.blocked_connection_timeout = 30
        self.exchange, self.messages, self.rate = exchange, messages, rate
        self.confirmed: set[str] = set()
        self.republished = 0  # messages sent again after a lost connection or a refusal
        self.reconnects = 0
        self.finished_at: float | None = None
        self._halt = threading.Event()
        self._progress = threading.Condition()
        self.error: BaseException | None = None

    @property
    def sent(self) -> int:
        return len(self.confirmed)

    def run(self) -> None:
        try:
            self._publish_all()
        except BaseException as exc:  # surfaced by wait()
            self.error = exc
        finally:
            self.finished_at = time.monotonic()
            with self._progress:
                self._progress.notify_all()

    def _publish_all(self) -> None:
        channel = None
        started = time.monotonic()
        number = 0
        while number < len(self.messages) and not self._halt.is_set():
            due = started + number / self.rate
            if (wait := due - time.monotonic()) > 0:
                time.sleep(wait)
            message = self.messages[number]
            try:
                if channel is None or not channel.is_open:
                    channel = self._connect()
                channel.basic_publish(
                    self.exchange,
                    message.routing_key,
                    message.body,
                    pika.BasicProperties(
                        message_id=message.message_id,
                        delivery_mode=2,
                        content_type="application/json",
                    ),
                    mandatory=True,
                )
            except (pika.exceptions.AMQPError, OSError):
                self.republished += 1
                channel = self._close(channel)
                self._halt.wait(RECONNECT_PAUSE_S)
                continue
            with self._progress:
                self.confirmed.add(message.message_id)
                self._progress.notify_all()
            number += 1
        self._close(channel)

    def _connect(self) -> pika.adapters.blocking_connection.BlockingChannel:
        self.reconnects += 1
        connection = pika.BlockingConnection(self.nodes)  # tries the nodes in turn
        channel = connection.channel()
        channel.confirm_delivery()
        return channel

    @staticmethod
    def _close(channel: object) -> None:
        connection = getattr(channel, "connection", None)
        if connection is not None and connection.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError, OSError):
                connection.close()
        return None

    def wait_for(self, count: int, timeout: float = 120) -> None:
        """Until ``count`` messages are confirmed (or the publisher finished)."""
        with self._progress:
            if not self._progress.wait_for(
                lambda: self.sent >= count or self.finished_at is not None, timeout
            ):
                raise AssertionError(
                    f"only {self.sent} of {count} messages confirmed in {timeout}s"
                )

    def finish(self, timeout: float = 300) -> None:
        self.join(timeout)
        if self.is_alive():
            self._halt.set()
            raise AssertionError(f"the publisher did not finish within {timeout}s")
        if self.error is not None:
            raise AssertionError(f"the publisher failed: {self.error!r}") from self.error

    def stop(self) -> None:
        self._halt.set()
        self.join(30)
