"""Quality indicators over HTTP and on the command line: figures as of any instant (JSON),
a report page with server-drawn SVG plots, CSV and FHIR MeasureReport exports (`routes.py`)."""
