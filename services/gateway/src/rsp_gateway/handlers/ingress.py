"""Handlers: placeholder, filled in by the work that owns this module."""

from fastapi import APIRouter

router = APIRouter()
