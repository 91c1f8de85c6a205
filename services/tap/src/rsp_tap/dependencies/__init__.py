"""Request dependencies of the TAP handlers."""
