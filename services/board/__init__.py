"""The receiving hospital's live board and the region's real-time unit view (`routes.py`)."""
