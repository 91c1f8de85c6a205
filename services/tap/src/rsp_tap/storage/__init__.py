"""Storage of the TAP service."""
