"""Handlers of the TAP service."""
