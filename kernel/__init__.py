"""The shared kernel: what processors and services both speak, below every processor.

`time` (the one FHIR instant format and the one clock), `ids` (resource ids derived from
business keys), `codes` (code and identifier systems shared by more than one processor) and
`jsontypes` (`Json`). The kernel imports no processor and no service
(tests/unit/test_architecture.py); a processor's own vocabulary stays in its package.
"""
