"""Handlers of the gateway."""
