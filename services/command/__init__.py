"""The regional command centre: mass-casualty incidents, hospital capacity and the
distribution plan, one-click escorts with the traffic platform, surveillance alerts, and
the live command page `/command/` (routes.py has the table)."""
