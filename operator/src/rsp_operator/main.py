"""The operator's kopf entry point: start-up settings and shared resources.

``rsp-operator run`` (:mod:`.cli`) validates the settings first and hands
them to kopf in the memo; importing :mod:`.handlers` registers every
resource's handlers. Handlers find in the memo:

``settings``
    The :class:`~rsp_operator.config.OperatorSettings`.
``api_client``
    One ``kubernetes_asyncio`` API client for the whole process.
``ingress_factory``
    The :class:`~rsp_operator.ingress.IngressFactory`.
``ingress_resync``
    The :class:`~rsp_operator.ingress.resync.ResyncSchedule` of the
    PlatformIngress timer.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf
from kubernetes_asyncio import client, config
from kubernetes_asyncio.config import ConfigException

from . import GROUP, handlers
from .config import OperatorSettings, load_operator_settings
from .ingress.factory import IngressFactory
from .ingress.resync import ResyncSchedule

__all__ = [
    "configure_kopf",
    "handlers",
    "kopf_registry",
    "load_kubernetes_config",
    "shutdown",
    "start_operator",
    "startup",
    "stop_operator",
]

FINALIZER = f"{GROUP}/operator"
"""Finalizer kopf adds to resources with deletion handlers."""


def configure_kopf(settings: kopf.OperatorSettings) -> None:
    """kopf's own settings: state in annotations, quiet events, bounded retries.

    Handler progress and the last handled spec live in annotations under the
    platform's group, so ``status`` holds only what the operator reports.
    """
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=GROUP
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.persistence.finalizer = FINALIZER
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.request_timeout = 30.0
    settings.posting.reporting_component = "rsp-operator"
    settings.posting.event_name_prefix = "rsp-operator-"
    settings.execution.default_backoff = 30
    # The chart's RBAC grants no access to CustomResourceDefinitions or
    # namespaces (least privilege): the CRDs are installed with the chart and
    # the watched namespaces are configured, so kopf need not scan for them.
    settings.scanning.disabled = True


async def load_kubernetes_config() -> None:
    """In-cluster credentials, or the local kubeconfig outside a cluster."""
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except ConfigException:
        await config.load_kube_config()


async def start_operator(settings: kopf.OperatorSettings, memo: kopf.Memo) -> None:
    """Configure kopf and put the process-wide resources in the memo."""
    configure_kopf(settings)
    operator_settings: OperatorSettings | None = memo.get("settings")
    if operator_settings is None:
        operator_settings = memo["settings"] = load_operator_settings()
    await load_kubernetes_config()
    api_client = client.ApiClient()
    memo["api_client"] = api_client
    memo["ingress_factory"] = IngressFactory(operator_settings, api_client)
    memo["ingress_resync"] = ResyncSchedule(operator_settings.resync_seconds)


async def stop_operator(memo: kopf.Memo) -> None:
    """Release what :func:`start_operator` made."""
    api_client: client.ApiClient | None = memo.get("api_client")
    if api_client is not None:
        await api_client.close()


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    await start_operator(settings, memo)


@kopf.on.cleanup()
async def shutdown(memo: kopf.Memo, **_: Any) -> None:
    await stop_operator(memo)


def kopf_registry() -> kopf.OperatorRegistry:
    """The registry holding every handler (kopf's default one)."""
    return kopf.get_default_registry()
