"""Support code of the notebooks tests (gateway, hub and platform runners)."""
