"""The region's real-time unit view: one `UnitState` per ambulance (status, incident,
last GPS fix), listed by station and region-wide."""
