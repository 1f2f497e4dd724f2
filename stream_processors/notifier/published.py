"""What services may use of the subscription notifier: topics, the registry's view and indexes, the
Subscription resource as stored.
"""

from __future__ import annotations

from stream_processors.notifier.fold import (
    EVENT,
    HMAC_SECRET,
    STATE,
    event_ref,
    subscription_resource,
    without_secrets,
)
from stream_processors.notifier.processor import (
    ALL_OWNERS,
    CHANNEL_INDEX,
    OWNER_INDEX,
    PROCESSOR,
    owner_key,
)
from stream_processors.notifier.topics import HANDOVER, TOPICS, to_fhir

NAME = PROCESSOR.name  # the processor (and its consumer group): whose folds wake the sender

__all__ = [
    "ALL_OWNERS",
    "CHANNEL_INDEX",
    "EVENT",
    "HANDOVER",
    "HMAC_SECRET",
    "NAME",
    "OWNER_INDEX",
    "STATE",
    "TOPICS",
    "event_ref",
    "owner_key",
    "subscription_resource",
    "to_fhir",
    "without_secrets",
]
