"""The one bootstrap: opens the log and store, creates topics, runs the processors.

Every process (serve, rebuild, demo, tests) builds its parts here, so backends are chosen
in one place and the API sees the same objects the processors write through.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from avro_schemas.catalogue import all_topics
from avro_schemas.codec import Codec
from eventlog.base import EventLog
from services.backends import open_log, open_store
from services.settings import BACKGROUND_TASKS, Settings, chosen_processors
from stream_processors.runner import Runner
from stream_processors.topology import projections
from viewstore.base import ViewStore


@dataclass
class System:
    settings: Settings
    log: EventLog
    store: ViewStore
    codec: Codec
    runners: list[Runner]
    _threads: list[threading.Thread] = field(default_factory=list)

    def start_processors(self) -> None:
        chosen = chosen_processors(self.settings)
        unknown = chosen - {r.projection.name for r in self.runners} - set(BACKGROUND_TASKS)
        if unknown:
            raise ValueError(
                f"unknown processors {sorted(unknown)}; see stream_processors/topology.py"
            )
        for runner in self.runners:
            if chosen and runner.projection.name not in chosen:
                continue
            thread = threading.Thread(target=runner.run, name=runner.projection.name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def lag(self) -> int:
        return sum(r.lag() for r in self.runners)

    def close(self) -> None:
        for runner in self.runners:
            runner.stop()
        for thread in self._threads:
            thread.join(timeout=10)
        self.log.close()
        self.store.close()


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
    return System(settings, log, store, codec, runners)
