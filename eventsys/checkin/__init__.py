"""Badges (signed QR codes, printable PDFs) and door check-in."""
