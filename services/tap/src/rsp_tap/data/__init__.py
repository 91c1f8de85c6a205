"""Data of the TAP service."""
