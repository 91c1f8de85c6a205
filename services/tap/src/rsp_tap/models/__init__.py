"""Models of the TAP service."""
