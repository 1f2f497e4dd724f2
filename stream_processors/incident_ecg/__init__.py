"""Ambulance 12-leads enter the regional read queue like clinic ECGs do."""
