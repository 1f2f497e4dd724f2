"""The stream processors: one package per processor (its pure folds and FHIR mappings),
run by the engine: `runner.py` (consume -> fold -> view + checkpoint), `adapter.py` (the
one processor shape), `topology.py` (every worker).

A processor publishes what others may use in its `published.py`. Services import that
module only, never the processor's other modules (tests/unit/test_architecture.py); what
is not there is the processor's own business.
"""
