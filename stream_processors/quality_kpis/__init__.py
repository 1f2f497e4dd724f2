"""Chest-pain centre and 120 quality indicators computed from the log, as of any instant:
`definitions.py` (what is measured, targets), `fold.py` (events -> facts -> cases),
`aggregate.py` (figures per group, the as-of rule), `log_source.py` (reading the log)."""
