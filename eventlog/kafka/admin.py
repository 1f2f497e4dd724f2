"""Topics and group offsets through the admin client.

Topics are created explicitly with infinite retention (`retention.ms=-1`): the log is the
system's truth, never a cache. Auto-creation is refused on every client, so a typo is an
`UnknownTopic`, not a new empty topic. Partition counts are cached: partitions are never
added to an event topic, since that would move keys between partitions.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from kafka.errors import NoError, TopicAlreadyExistsError, UnknownTopicOrPartitionError
from kafka.errors import for_code as kafka_error_for_code
from kafka.structs import OffsetAndMetadata

from eventlog.base import (
    MAX_RECORD_BYTES,
    LogUnavailable,
    TopicPartition,
    TopicSpec,
    UnknownTopic,
)
from eventlog.kafka.clients import Clients, retry_retriable, unavailable_on_kafka_error
from eventlog.kafka.consumer import SESSION_TIMEOUT_MS

RESET_MARGIN_S = 5.0  # beyond two sessions, for the coordinator to notice a dead member


def topic_configs(spec: TopicSpec, min_insync_replicas: int | None = None) -> dict[str, str]:
    """The Kafka topic configuration a topic is created with (also published in the
    AsyncAPI document, deploy/asyncapi/): infinite retention, the record limit, compaction
    for a compacted topic."""
    configs = {"retention.ms": "-1", "max.message.bytes": str(MAX_RECORD_BYTES)}
    if min_insync_replicas is not None:
        configs["min.insync.replicas"] = str(min_insync_replicas)
    return {**configs, "cleanup.policy": "compact"} if spec.compacted else configs


class TopicAdmin:
    """Creates and describes the log's topics; reads consumer groups' committed offsets."""

    def __init__(
        self, clients: Clients, replication_factor: int, min_insync_replicas: int | None
    ) -> None:
        self._clients = clients
        self._replication_factor = replication_factor
        self._min_insync_replicas = min_insync_replicas
        self._partition_counts: dict[str, int] = {}

    def ensure_topics(self, specs: Iterable[TopicSpec]) -> None:
        """Create the missing topics (infinite retention) and wait until they have leaders.
        Existing topics are left as they are, whatever their partition count."""
        specs = list(specs)
        if not specs:
            return
        new_topics = {self._clients.physical(s.name): self._topic_config(s) for s in specs}
        admin, timeout_s = self._clients.admin(), self._clients.timeout_s
        with unavailable_on_kafka_error("create_topics"):
            response = retry_retriable(
                lambda: admin.create_topics(
                    new_topics, timeout_ms=self._clients.timeout_ms, raise_errors=False
                ),
                timeout_s,
            )
        for result in response["topics"]:
            error = kafka_error_for_code(result["error_code"])
            if result["error_code"] and error is not TopicAlreadyExistsError:
                raise error(f"creating topic {result['name']}: {result.get('error_message')}")
        # CreateTopics answers once the controller accepted; the broker's metadata and the
        # partition leaders follow a moment later. Appending before that would fail.
        with unavailable_on_kafka_error("waiting for topic metadata"):
            admin.wait_for_topics(list(new_topics), timeout_ms=self._clients.timeout_ms)

    def _topic_config(self, spec: TopicSpec) -> dict[str, object]:
        return {
            "num_partitions": spec.partitions,
            "replication_factor": self._replication_factor,
            "configs": topic_configs(spec, self._min_insync_replicas),
        }

    def partition_count(self, topic: str) -> int:
        """Partitions of `topic` (cached); `UnknownTopic` if it does not exist."""
        cached = self._partition_counts.get(topic)
        if cached is not None:
            return cached
        admin = self._clients.admin()
        with unavailable_on_kafka_error("describe_topics"):
            described = retry_retriable(
                lambda: admin.describe_topics([self._clients.physical(topic)]),
                self._clients.timeout_s,
            )
        meta = described[0] if described else None
        if meta is None or kafka_error_for_code(meta["error_code"]) is UnknownTopicOrPartitionError:
            raise UnknownTopic(topic)
        if meta["error_code"] or not meta["partitions"]:
            raise LogUnavailable(f"kafka: topic {topic} metadata error {meta['error_code']}")
        count = len(meta["partitions"])
        self._partition_counts[topic] = count
        return count

    def check_partition(self, topic: str, partition: int) -> None:
        """`ValueError` unless `partition` is one of the topic's."""
        count = self.partition_count(topic)
        if not 0 <= partition < count:
            raise ValueError(f"{topic} has {count} partitions, no partition {partition}")

    def committed(self, group: str, tp: TopicPartition) -> int | None:
        """The group's committed next offset for `tp`, or None if it never committed."""
        admin = self._clients.admin()
        ktp = self._clients.ktp(tp.topic, tp.partition)
        physical_group = self._clients.physical(group)
        with unavailable_on_kafka_error("list_group_offsets"):
            result = retry_retriable(
                lambda: admin.list_group_offsets({physical_group: [ktp]}),
                self._clients.timeout_s,
            )
        meta = result.get(physical_group, {}).get(ktp)
        # The broker answers -1 for a partition the group never committed.
        if meta is None or meta.offset is None or meta.offset < 0:
            return None
        return int(meta.offset)

    def members(self, group: str) -> dict[str, list[TopicPartition]]:
        """Kafka's own view of a consumer group (DescribeGroups, what
        `kafka-consumer-groups.sh --describe --members` prints): each member's id and the
        partitions the group's last assignment gave it, logical names, sorted."""
        admin = self._clients.admin()
        physical_group = self._clients.physical(group)
        with unavailable_on_kafka_error("describe_groups"):
            described = retry_retriable(
                lambda: admin.describe_groups([physical_group]), self._clients.timeout_s
            )
        members = described.get(physical_group, {}).get("members") or []
        return {m["member_id"]: self._assigned(m.get("member_assignment")) for m in members}

    def _assigned(self, assignment: Any) -> list[TopicPartition]:
        """The partitions of a member's assignment, as kafka-python decodes it into a dict
        (empty before the group's first assignment)."""
        pairs = (assignment or {}).get("assigned_partitions") or []
        return sorted(
            TopicPartition(self._clients.logical(pair["topic"]), p)
            for pair in pairs
            for p in pair["partitions"]
        )

    def reset_all(self, offsets: dict[str, dict[TopicPartition, int]]) -> None:
        """Set several groups' committed offsets, all or none: first wait until no group
        has a member (a member killed a moment ago stays until its session expires), and
        refuse, naming the groups, if one still has after that; only then reset each. So a
        rebuild refused for a running processor has reset no group (a reset group would
        make the next replay derive every derived event again)."""
        deadline = time.monotonic() + 2 * SESSION_TIMEOUT_MS / 1000 + RESET_MARGIN_S
        while busy := [g for g in offsets if self.members(g)]:
            if time.monotonic() >= deadline:
                raise LogUnavailable(
                    f"kafka: groups {', '.join(busy)} still have members: is a processor of "
                    "them still running? No group was reset."
                )
            time.sleep(1.0)
        for group, group_offsets in offsets.items():
            self._reset(group, group_offsets)

    def _reset(self, group: str, offsets: dict[TopicPartition, int]) -> None:
        """Set one group's committed offsets, once `reset_all` has seen it without members.
        Kafka refuses it if a member joined since: `LogUnavailable` naming the group."""
        if not offsets:
            return
        admin = self._clients.admin()
        physical_group = self._clients.physical(group)
        wanted = {
            self._clients.ktp(tp.topic, tp.partition): OffsetAndMetadata(offset, "", -1)
            for tp, offset in offsets.items()
        }
        with unavailable_on_kafka_error("alter_group_offsets"):
            errors = retry_retriable(
                lambda: admin.alter_group_offsets(physical_group, wanted),
                self._clients.timeout_s,
            )
        refused = sorted({e.__name__ for e in errors.values() if e is not NoError})
        if refused:
            raise LogUnavailable(
                f"kafka: group {group} refused its offset reset ({', '.join(refused)}): "
                "a processor of it started during the rebuild?"
            )
