"""The registry's write side and its checks: the admin API (`routes.py`), the one write
path it shares with the seed loader (`commands.py`, `seed.py`), and the checks other
write paths make against the registry (`checks.py`). Reads: stream_processors/registry/
published.py and the FHIR API."""
