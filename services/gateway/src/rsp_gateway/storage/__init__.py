"""Storage of the gateway."""
