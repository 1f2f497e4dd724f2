"""Group commit: records of concurrent callers share one durable append.

A caller that must not go on before its record is durable (the access audit: nothing is
answered unaudited) would otherwise pay one commit (SQLite fsync) or one produce round trip
(Kafka acks=all) per record. Here one appender thread per (log, topic) takes every record
queued while the previous append was in flight and appends them with one `log.append`: one
SQLite transaction, or one batch of Kafka sends and one wait for the acks. Each caller waits
on its own future, resolved when the append that carried its record returned, or failed
with the append's exception (the caller answers 503, as before).

No linger: a lone caller is appended at once (latency as before); under load the batch is
whatever arrived during the last append, as PostgreSQL's group commit and Kafka's producer
batching do (`linger.ms=0`). `MAX_BATCH` bounds one append's size and time.
"""

from __future__ import annotations

import queue
import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import Future

from eventlog.base import Appended, EventLog, NewRecord

MAX_BATCH = 512  # records per append: ~0.5 MB of audit events, one Kafka request or less
IDLE_EXIT_S = 5.0  # an appender thread idle this long exits (closed logs leave no thread)

_Pending = tuple[NewRecord, "Future[Appended]"]


class GroupAppender:
    """Appends records to one topic of one log in shared batches (see the module doc)."""

    def __init__(self, log: EventLog, topic: str, max_batch: int = MAX_BATCH) -> None:
        # Weak: a closed, dropped log is not kept alive by its appender (tests open many).
        self._log = weakref.ref(log)
        self._topic = topic
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False
        # What batching achieved (benchmarks print records per append): appends made,
        # records they carried. Written by the appender thread only.
        self.appends = 0
        self.records = 0

    def submit(self, record: NewRecord) -> Future[Appended]:
        """Queue one record; the future resolves once it is durable in the log."""
        future: Future[Appended] = Future()
        with self._lock:  # with `_idle`: a record is never left queued with no thread
            self._queue.put((record, future))
            if not self._running:
                self._running = True
                threading.Thread(
                    target=self._run, name=f"group-commit:{self._topic}", daemon=True
                ).start()
        return future

    def append(self, record: NewRecord) -> Appended:
        """Queue one record and wait until it is durable (raises what the append raised)."""
        return self.submit(record).result()

    def _run(self) -> None:
        while True:
            try:
                batch = [self._queue.get(timeout=IDLE_EXIT_S)]
            except queue.Empty:
                if self._idle():
                    return
                continue
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._append(batch)

    def _idle(self) -> bool:
        """Stop the thread if nothing is queued (the next `submit` starts another)."""
        with self._lock:
            if self._queue.empty():
                self._running = False
            return not self._running

    def _append(self, batch: Sequence[_Pending]) -> None:
        log = self._log()
        self.appends += 1
        self.records += len(batch)
        try:
            if log is None:
                raise RuntimeError("the event log was closed and dropped")
            appended = log.append(self._topic, [record for record, _ in batch])
        except BaseException as exc:  # noqa: BLE001 - every waiter learns of the failure
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), where in zip(batch, appended, strict=True):
            future.set_result(where)


_appenders: weakref.WeakKeyDictionary[EventLog, dict[str, GroupAppender]] = (
    weakref.WeakKeyDictionary()
)
_appenders_lock = threading.Lock()


def group_appender(log: EventLog, topic: str) -> GroupAppender:
    """The process's one appender for (log, topic), started on first use."""
    with _appenders_lock:
        by_topic = _appenders.setdefault(log, {})
        if topic not in by_topic:
            by_topic[topic] = GroupAppender(log, topic)
        return by_topic[topic]
