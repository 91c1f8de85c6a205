"""``/health``: liveness of the process (inside the cluster only).

The ingress routes only ``/api/tap``, so this path is never reachable from
outside; probes use it because it needs no user and no database.
"""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["HEALTH_PATH", "router"]

HEALTH_PATH = "/health"

router = APIRouter()


@router.get(HEALTH_PATH, summary="Liveness", include_in_schema=False)
async def health() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}
