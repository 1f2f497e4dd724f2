"""Avro event contracts: one `.avsc` per named type, flat, named by full record name.

`catalogue.py` says which topic and key each event type uses; `codec.py` writes and reads
Avro single-object encoding; `evolution.py` keeps every released version in `v<N>/` and
refuses a change that cannot read old data.
"""

from pathlib import Path

SCHEMA_DIR = Path(__file__).parent
