"""Services of the gateway."""
