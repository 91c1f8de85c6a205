"""Tests of the repository as a whole (charts, environments, images)."""
