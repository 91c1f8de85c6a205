"""The service charts tested by variant: their defaults and production values.

Each has a production-like values file ``values/<chart>-prod.yaml`` and a
golden file of each variant, ``golden/<chart>-<variant>.yaml``; its release
and (unless said otherwise) its namespace are named after the chart.
"""

from __future__ import annotations

from pathlib import Path

from .rendering import CHARTS_DIR
from .workloads import ChartVariants

__all__ = [
    "GATEWAY",
    "OPERATOR",
    "SERVICE_CHARTS",
    "TAP",
    "VALUES_DIR",
    "service_chart",
]

VALUES_DIR = Path(__file__).parent / "values"
"""Where the production-like values files live."""


def service_chart(name: str) -> ChartVariants:
    """The chart ``charts/<name>`` with variants ``default`` and ``prod``."""
    prod = VALUES_DIR / f"{name}-prod.yaml"
    return ChartVariants(
        CHARTS_DIR / name, name, name, {"default": (), "prod": (prod,)}
    )


GATEWAY = service_chart("gateway")
"""The gateway chart: a local install, and data.lsst.cloud with GitHub,
PostgreSQL and Redis."""

TAP = service_chart("tap")
"""The TAP chart: a local install, and data.lsst.cloud with Cloud SQL and a GCS
bucket."""

OPERATOR = service_chart("operator")
"""The operator chart: the whole cluster with ingress-nginx, and three
namespaces with the Gateway API."""

SERVICE_CHARTS = (GATEWAY, TAP, OPERATOR)
"""Every chart above, for the checks they all get (``test_service_charts.py``)."""
