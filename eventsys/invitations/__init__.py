"""Invitation lists, CSV import, sending and tracking."""
