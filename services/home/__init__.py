"""The landing page (`/`): every page of the system by who uses it, in the user's language."""
