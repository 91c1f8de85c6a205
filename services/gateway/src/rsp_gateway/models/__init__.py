"""Pydantic models shared by handlers, services and storage."""
