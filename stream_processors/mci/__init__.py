"""Mass-casualty incidents: each MCI's casualties (START/SALT tags, re-triage as history,
destinations) as a command-centre summary (`MciState`) and, per casualty, a FHIR Patient,
Encounter and triage `Flag`; hospitals' capacity reports (`HospitalCapacity`); and the
distribution plan that suggests destinations within capacity (pure, `distribution.py`)."""
