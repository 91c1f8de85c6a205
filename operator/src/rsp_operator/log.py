"""The operator's logging: the platform's structlog set-up, kopf's records too.

:func:`configure_operator_logging` runs
:func:`rsp_platform.logconfig.configure_logging` with the settings'
``log_level`` and ``log_json``, so that the operator's structlog lines (the
token and ingress services) and kopf's standard-library records come out
alike, JSON lines in production. kopf's records about one resource carry it
in ``k8s_ref``; it becomes the ``namespace`` and ``name`` of the line. kopf's
own handler that posts its warnings as Kubernetes events, on the
``kopf.objects`` logger, is left as it is.
"""

from __future__ import annotations

import rsp_platform.logconfig
from structlog.typing import EventDict, WrappedLogger

from .config import OperatorSettings

__all__ = ["configure_operator_logging"]


def _kopf_object(
    _logger: WrappedLogger, _method: str, event_dict: EventDict
) -> EventDict:
    """Name the resource a kopf record is about (its ``k8s_ref`` extra)."""
    record = event_dict.get("_record")
    ref = getattr(record, "k8s_ref", None) if record is not None else None
    if isinstance(ref, dict):
        for key in ("namespace", "name"):
            if ref.get(key) and key not in event_dict:
                event_dict[key] = ref[key]
        if ref.get("kind") and "kind" not in event_dict:
            event_dict["kind"] = ref["kind"]
    return event_dict


def configure_operator_logging(settings: OperatorSettings) -> None:
    """Configure structlog and the standard library (kopf) from the settings."""
    rsp_platform.logconfig.configure_logging(
        level=settings.log_level, json=settings.log_json, processors=[_kopf_object]
    )
