"""Services of the TAP service."""
