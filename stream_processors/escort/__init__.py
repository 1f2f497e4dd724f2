"""One-click escort: a unit with a time-critical pre-alert that leaves the scene is escorted
by the city traffic platform (green lights along its route). This processor decides when
(`EscortRequested`, derived from the incident) and keeps each escort's state for the sender
(services/command/escort_sender.py) and the command page."""
