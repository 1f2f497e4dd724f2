"""The one bootstrap: opens the log and store, creates topics, runs the workers.

Every process (serve, rebuild, demo, tests) builds its parts here, so backends are chosen
in one place and the API sees the same objects the processors write through.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from avro_schemas.catalogue import all_topics
from avro_schemas.codec import Codec
from eventlog.base import EventLog
from services.backends import open_log, open_store
from services.settings import Settings, chosen_processors
from stream_processors.runner import Runner
from stream_processors.topology import Worker, projections, workers
from viewstore.base import ViewStore
from viewstore.guarded import GuardedViewStore


@dataclass
class System:
    settings: Settings
    log: EventLog
    store: ViewStore
    codec: Codec
    runners: list[Runner]
    _threads: list[threading.Thread] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)

    def start_workers(self) -> None:
        """Start the workers this process runs (settings.processors; empty: every worker of
        stream_processors/topology.py): a thread per processor runner and per background
        task (called as `task(system, stop)`; `close` sets `stop`)."""
        for worker in chosen_workers(self.settings):
            if worker.projection is not None:
                runner = next(r for r in self.runners if r.projection.name == worker.name)
                self._start(worker.name, runner.run)
            else:
                self._start(worker.name, resolve_task(worker.task), self, self._stopping)

    def _start(self, name: str, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def lag(self) -> int:
        return sum(r.lag() for r in self.runners)

    def close(self) -> None:
        self._stopping.set()
        for runner in self.runners:
            runner.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        self.log.close()
        self.store.close()


def chosen_workers(settings: Settings) -> list[Worker]:
    """The topology's workers named in settings.processors (all when it is empty)."""
    every = workers(settings.reading_centre_id, settings.region_id)
    chosen = chosen_processors(settings)
    unknown = chosen - {w.name for w in every}
    if unknown:
        raise ValueError(f"unknown workers {sorted(unknown)}; see stream_processors/topology.py")
    return [w for w in every if not chosen or w.name in chosen]


def resolve_task(path: str) -> Callable[[System, threading.Event], None]:
    """A background task named "module:function" by the topology."""
    module, _, function = path.partition(":")
    task: Callable[[System, threading.Event], None] = getattr(
        importlib.import_module(module), function
    )
    return task


def bootstrap(settings: Settings) -> System:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log = open_log(settings.log_url, settings.data_dir)
    log.ensure_topics(all_topics())
    store = open_store(settings.store_url, settings.data_dir)
    codec = Codec()
    runners = [
        Runner(p, log, store, codec)
        for p in projections(settings.reading_centre_id, settings.region_id)
    ]
    # Processors write through the real store; everything else reads through the guard,
    # which hides what the current request's caller may not see (viewstore/guarded.py).
    return System(settings, log, GuardedViewStore(store), codec, runners)
