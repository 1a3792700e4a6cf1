"""Certificates: templates per event, issued certificates with a public verification code, bulk runs."""
