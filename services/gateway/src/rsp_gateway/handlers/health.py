"""Handler of the health check that Kubernetes probes call.

``GET /health`` answers as soon as the process serves HTTP; it touches
neither the database nor Redis, so a slow dependency never gets a healthy
pod restarted. It is not routed from outside (no route in the route table).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

__all__ = ["HEALTH_PATH", "Health", "router"]

HEALTH_PATH = "/health"
"""Path of the health check (the chart's liveness and readiness probes)."""

router = APIRouter()


class Health(BaseModel):
    """Answer of the health check."""

    status: Literal["ok"] = "ok"


@router.get(HEALTH_PATH, summary="Health check for probes", include_in_schema=False)
async def get_health() -> Health:
    return Health()
