"""User accounts, login and per-event roles."""
