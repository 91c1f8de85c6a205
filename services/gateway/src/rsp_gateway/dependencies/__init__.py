"""Dependencies of the gateway."""
