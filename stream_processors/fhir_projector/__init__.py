"""Folds events into FHIR R4 resources: pure mapping (`*_to_fhir.py`), a pure fold
(`fold.py`), and the runner binding (`processor.py`)."""
