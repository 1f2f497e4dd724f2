"""Kafka backend of the event log port (kafka-python >= 3.0.12, Kafka 4.x in KRaft mode).

One Kafka topic per logical topic, named `namespace + topic` (the namespace isolates tests
and tenants of a shared cluster; every `Record`, `Appended` and `TopicPartition` returned
carries the logical name); consumer group ids get the same prefix.

| module        | concern                                                                      |
|---------------|------------------------------------------------------------------------------|
| `log.py`      | `KafkaEventLog`, the port, assembled from the parts below                    |
| `clients.py`  | connection settings, namespaced names, the lazily built admin/producer/reader |
| `admin.py`    | topics (created explicitly, infinite retention, never auto-created), offsets |
| `producer.py` | durable appends, idempotent by event id, per-key versions (delivery notes)   |
| `index.py`    | the in-process event-id index the producer keeps (from the retry horizon on) |
| `reader.py`   | ranged reads of one partition up to a known end offset                       |
| `consumer.py` | consumer group members: seek to the checkpoint, never stall silently         |

`open_log("kafka://host:port?namespace=&replication=&min_isr=")` in `services/backends.py`
turns a URL into a `KafkaEventLog`.
"""

from __future__ import annotations

from eventlog.kafka.consumer import KafkaConsumerGroupMember
from eventlog.kafka.log import KafkaEventLog

__all__ = ["KafkaConsumerGroupMember", "KafkaEventLog"]
