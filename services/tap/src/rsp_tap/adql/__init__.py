"""Adql of the TAP service."""
