"""Connection settings, names and the lazily built clients shared by one `KafkaEventLog`.

Topics and groups live under a namespace prefix (`namespace + logical name`): it isolates
tests and tenants of a shared cluster. Everything this package returns carries the logical
name; only the clients see physical ones.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaProducer
from kafka import TopicPartition as KafkaTopicPartition
from kafka.errors import KafkaError, UnknownTopicOrPartitionError

from eventlog.base import MAX_RECORD_BYTES, LogUnavailable, Record, UnknownTopic
from eventlog.kafka.reader import PartitionReader

EVENT_ID_HEADER = "event_id"
CLIENT_ID = "goldenhour-eventlog"
RETRY_BACKOFF_S = 0.1

T = TypeVar("T")
_log = logging.getLogger("eventlog.kafka")


def client_config(bootstrap: str, client_id: str, timeout_s: float) -> dict[str, Any]:
    """Settings shared by every client of one log."""
    timeout_ms = int(timeout_s * 1000)
    return {
        "bootstrap_servers": bootstrap,
        "client_id": client_id,
        "request_timeout_ms": timeout_ms,
        "bootstrap_timeout_ms": timeout_ms,
        # kafka-python backs off reconnects *and metadata refreshes* exponentially up to this
        # (default 30 s): after a broker restart a client would keep a stale leader epoch and
        # fail fetches for that long. One second is plenty for a handful of brokers.
        "reconnect_backoff_max_ms": 1000,
    }


@contextmanager
def unavailable_on_kafka_error(what: str) -> Iterator[None]:
    """Map client errors to the port's `LogUnavailable` (the caller may retry safely)."""
    try:
        yield
    except UnknownTopicOrPartitionError as exc:
        raise UnknownTopic(str(exc)) from exc
    except KafkaError as exc:
        raise LogUnavailable(f"kafka: {what} failed: {exc!r}") from exc


def retry_retriable(call: Callable[[], T], timeout_s: float) -> T:
    """Run an admin call, retrying errors Kafka marks retriable (e.g. no group coordinator
    yet on a fresh cluster, while `__consumer_offsets` is being created) until `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return call()
        except KafkaError as exc:
            if not exc.retriable or time.monotonic() >= deadline:
                raise
        time.sleep(RETRY_BACKOFF_S)


def event_id_of(headers: Sequence[tuple[str, bytes]] | None) -> str | None:
    """The record's event id; None for a record some other producer wrote without one."""
    for name, value in headers or ():
        if name == EVENT_ID_HEADER and value is not None:
            return value.decode("utf-8")
    return None


def to_record(logical_topic: str, raw: Any) -> Record:
    """A kafka-python ConsumerRecord as the port's `Record` (logical topic name)."""
    return Record(
        topic=logical_topic,
        partition=raw.partition,
        offset=raw.offset,
        key=raw.key.decode("utf-8") if raw.key is not None else "",
        value=raw.value if raw.value is not None else b"",
        event_id=event_id_of(raw.headers) or "",
        timestamp_ms=raw.timestamp,
    )


def close_quietly(close: Callable[[], object]) -> None:
    """Close one client, logging instead of raising."""
    # Closing is best effort: a broker that is gone must not turn close() into an error.
    try:
        close()
    except Exception:  # noqa: BLE001 - whatever the client raises, the others still close
        _log.warning("kafka: error while closing a client", exc_info=True)


class Clients:
    """The admin client, the producer and the partition reader of one log, each built on
    first use (a reader-only process never opens a producer), plus logical <-> physical
    names. Thread-safe."""

    def __init__(self, bootstrap: str, namespace: str, request_timeout_s: float) -> None:
        self.bootstrap = bootstrap
        self.namespace = namespace
        self.timeout_s = request_timeout_s
        self.timeout_ms = int(request_timeout_s * 1000)
        self._lock = threading.Lock()
        self._closed = False
        self._built: dict[str, Any] = {}

    # -- names ----------------------------------------------------------------------------

    def physical(self, topic: str) -> str:
        """The cluster's name of a logical topic or group."""
        return self.namespace + topic

    def logical(self, physical: str) -> str:
        """The logical name of a cluster topic."""
        return physical.removeprefix(self.namespace)

    def ktp(self, topic: str, partition: int) -> KafkaTopicPartition:
        """kafka-python's TopicPartition of a logical topic's partition."""
        return KafkaTopicPartition(self.physical(topic), partition)

    # -- clients --------------------------------------------------------------------------

    def _client(self, name: str, build: Callable[[], T]) -> T:
        with self._lock:
            if self._closed:
                raise RuntimeError("KafkaEventLog is closed")
            if name not in self._built:
                with unavailable_on_kafka_error(f"connecting to {self.bootstrap}"):
                    self._built[name] = build()
            return self._built[name]  # type: ignore[no-any-return]

    def admin(self) -> KafkaAdminClient:
        """The admin client (topics, group offsets)."""
        return self._client(
            "admin",
            lambda: KafkaAdminClient(
                **client_config(self.bootstrap, f"{CLIENT_ID}-admin", self.timeout_s)
            ),
        )

    def producer(self) -> KafkaProducer:
        """The idempotent producer: acks from every in-sync replica, no auto-created topics."""
        return self._client(
            "producer",
            lambda: KafkaProducer(
                **client_config(self.bootstrap, f"{CLIENT_ID}-producer", self.timeout_s),
                acks="all",
                enable_idempotence=True,
                # Waveforms compress ~3x; the limit is the port's, set on every topic too.
                compression_type="zstd",
                max_request_size=MAX_RECORD_BYTES,
                allow_auto_create_topics=False,
                linger_ms=0,
                delivery_timeout_ms=self.timeout_ms,
                max_block_ms=self.timeout_ms,
            ),
        )

    def reset_producer(self, failed: KafkaProducer) -> None:
        """Drop the producer after a failed produce: kafka-python's idempotent producer
        stays in a fatal state after some broker errors (a record over a topic's limit),
        failing every later append until rebuilt. The next append builds a new one; our
        event-id index, not the producer's sequence numbers, keeps retries from doubling.

        The producer is shared by every appending thread: only `failed` is dropped (not a
        new one another thread built meanwhile), and it is closed in the background with
        the usual timeout, so other threads' records already in flight are still delivered
        and acknowledged (a close with timeout 0 aborts them: a burst of 503s elsewhere).
        A *fatal* error of the idempotent producer (e.g. a topic answering
        MESSAGE_TOO_LARGE) fails every batch in flight anyway: kafka-python aborts them all,
        whatever their topic (tried on the broker here); those appends answer 503 and are
        retried by their callers."""
        with self._lock:
            current = self._built.get("producer")
            if current is None or current is not failed:
                return
            del self._built["producer"]
        threading.Thread(
            target=close_quietly,
            args=(lambda: current.close(timeout=self.timeout_s),),
            name="kafka-producer-close",
            daemon=True,
        ).start()

    def reader(self) -> PartitionReader:
        """The group-less reader of partition ranges."""
        return self._client(
            "reader",
            lambda: PartitionReader(
                client_config(self.bootstrap, f"{CLIENT_ID}-reader", self.timeout_s),
                self.timeout_s,
            ),
        )

    def close(self) -> None:
        """Close every client built (idempotent); using one afterwards is an error."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            built, self._built = self._built, {}
        if "producer" in built:
            producer = built["producer"]
            # Bounded: a broker that is gone must not make close() hang.
            close_quietly(lambda: producer.close(timeout=self.timeout_s))
        for name in ("reader", "admin"):
            if name in built:
                close_quietly(built[name].close)
