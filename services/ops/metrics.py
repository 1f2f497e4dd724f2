"""Prometheus metrics, computed at scrape time from the log and the views, so any process of
a region (API or processor) reports the same figures for the whole system.

| metric                                   | type    | what                                       |
|------------------------------------------|---------|--------------------------------------------|
| goldenhour_log_end_offset{topic}         | counter | records ever appended (rate() = ingest rate)|
| goldenhour_dead_letters{topic}           | counter | records dead-lettered from a topic          |
| goldenhour_consumer_lag{processor,topic} | gauge   | records not yet folded into the views       |
| goldenhour_consumer_stalled_seconds{processor} | gauge | behind with no checkpoint moving (progress.py) |
| goldenhour_read_queue_depth{centre}      | gauge   | ECGs waiting for a read                     |
| goldenhour_read_queue_overdue{centre}    | gauge   | of which past their due time                |
| goldenhour_report_deliveries_pending     | gauge   | HL7 reports owed to clinics (being retried) |

Lag is the log's end offset minus the checkpoint stored with each processor's view (the
checkpoint that counts, see stream_processors/runner.py), so it is right whichever process
runs the processor. No patient data is ever a label.
"""

from __future__ import annotations

import datetime as dt

from avro_schemas.catalogue import TOPICS, dlq_topic
from kernel.time import instant
from services.ops import progress
from services.reading.queue import open_items
from services.system import System
from stream_processors.report_outbox.published import PENDING_INDEX
from stream_processors.topology import projections

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _line(name: str, labels: dict[str, str], value: float) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}} {value:g}" if inner else f"{name} {value:g}"


def _family(name: str, kind: str, help_text: str, samples: list[str]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples]


def render(system: System) -> str:
    log, store, settings = system.log, system.store, system.settings
    ends = {t.name: log.end_offsets(t.name) for t in TOPICS}
    out: list[str] = []
    out += _family(
        "goldenhour_log_end_offset",
        "counter",
        "Records appended to each event topic.",
        [
            _line("goldenhour_log_end_offset", {"topic": t}, sum(e.values()))
            for t, e in ends.items()
        ],
    )
    out += _family(
        "goldenhour_dead_letters",
        "counter",
        "Records a processor could not fold, per source topic.",
        [
            _line(
                "goldenhour_dead_letters", {"topic": t}, sum(log.end_offsets(dlq_topic(t)).values())
            )
            for t in ends
        ],
    )
    lag = []
    for projection in projections(settings.reading_centre_id, settings.region_id):
        for topic in projection.topics:
            behind = sum(
                end - (store.checkpoint(projection.name, tp.topic, tp.partition) or 0)
                for tp, end in ends[topic].items()
            )
            lag.append(
                _line(
                    "goldenhour_consumer_lag",
                    {"processor": projection.name, "topic": topic},
                    behind,
                )
            )
    out += _family(
        "goldenhour_consumer_lag", "gauge", "Records not yet folded, per processor and topic.", lag
    )
    out += _family(
        "goldenhour_consumer_stalled_seconds",
        "gauge",
        "Seconds a processor has been behind with no checkpoint moving (0: progressing).",
        [
            _line("goldenhour_consumer_stalled_seconds", {"processor": name}, round(secs, 1))
            for name, (_, secs) in sorted(progress.watch(system).observe(system).items())
        ],
    )
    items = open_items(system, settings.reading_centre_id)
    now = instant(dt.datetime.now(dt.UTC))
    centre = {"centre": settings.reading_centre_id}
    out += _family(
        "goldenhour_read_queue_depth",
        "gauge",
        "ECGs waiting for a read.",
        [_line("goldenhour_read_queue_depth", centre, len(items))],
    )
    out += _family(
        "goldenhour_read_queue_overdue",
        "gauge",
        "ECGs waiting past their due time.",
        [_line("goldenhour_read_queue_overdue", centre, sum(i.overdue(now) for i in items))],
    )
    pending = sum(len(store.lookup(PENDING_INDEX, key)) for key in _outbox_keys(system))
    out += _family(
        "goldenhour_report_deliveries_pending",
        "gauge",
        "HL7 reports owed to clinics (retried with backoff until acknowledged).",
        [_line("goldenhour_report_deliveries_pending", {}, pending)],
    )
    return "\n".join(out) + "\n"


def _outbox_keys(system: System) -> list[str]:
    """The lookup keys of pending deliveries: one per configured HL7 destination."""
    return sorted(system.settings.hl7_report_destinations)
