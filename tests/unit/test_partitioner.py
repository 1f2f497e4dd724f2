"""Keys land where Kafka's default partitioner puts them, on both backends.

The murmur2 values are Apache Kafka's own (`clients/.../common/utils/UtilsTest.java`,
`testMurmur2`: signed 32-bit results of `Utils.murmur2` on the bytes of each string), and the
partition is computed here from them with Kafka's formula (`BuiltInPartitioner
.partitionForKey`: `Utils.toPositive(murmur2(key)) % numPartitions`, where `toPositive`
clears the sign bit), not taken from the code under test.
"""

from __future__ import annotations

import pytest

from eventlog.base import partition_for

# Apache Kafka UtilsTest.testMurmur2: key -> Utils.murmur2(key.getBytes())
KAFKA_MURMUR2 = {
    "21": -973932308,
    "foobar": -790332482,
    "a-little-bit-long-string": -985981536,
    "a-little-bit-longer-string": -1486304829,
    "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    "abc": 479470107,
}


def kafka_partition(signed_murmur2: int, partitions: int) -> int:
    """Kafka's `toPositive(murmur2) % n`, from the signed Java int."""
    return (signed_murmur2 & 0x7FFFFFFF) % partitions


@pytest.mark.parametrize("key", sorted(KAFKA_MURMUR2))
@pytest.mark.parametrize("partitions", [1, 3, 6, 12, 64])
def test_partition_for__is_kafkas_default_partitioner(key: str, partitions: int) -> None:
    assert partition_for(key, partitions) == kafka_partition(KAFKA_MURMUR2[key], partitions)


def test_partition_for__differs_from_the_crc32_placement_it_replaced() -> None:
    # "21" went to partition 4 of 6 by crc32 (0xfd7746b4 % 6) and goes to 0 by Kafka's
    # partitioner: the vectors above would not all pass under the old function.
    assert kafka_partition(KAFKA_MURMUR2["21"], 6) == 0
    assert partition_for("21", 6) == 0
