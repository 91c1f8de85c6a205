"""Builds the PlatformIngress service from process-wide resources."""

from __future__ import annotations

import structlog
from kubernetes_asyncio import client

from ..config import OperatorSettings
from .service import PlatformIngressService
from .storage import EventRecorder, IngressObjectStore

__all__ = ["IngressFactory"]


class IngressFactory:
    """Wires the PlatformIngress service to one Kubernetes API client."""

    def __init__(
        self, settings: OperatorSettings, api_client: client.ApiClient
    ) -> None:
        self._settings = settings
        self._api_client = api_client

    def create_store(self) -> IngressObjectStore:
        """Storage of the ingress objects."""
        return IngressObjectStore(
            self._api_client,
            client.NetworkingV1Api(self._api_client),
            client.CustomObjectsApi(self._api_client),
        )

    def create_event_recorder(self) -> EventRecorder:
        """Poster of Kubernetes events about the resources."""
        return EventRecorder(client.CoreV1Api(self._api_client))

    def create_service(
        self, logger: structlog.stdlib.BoundLogger | None = None
    ) -> PlatformIngressService:
        """The reconciliation service."""
        return PlatformIngressService(
            self._settings, self.create_store(), self.create_event_recorder(), logger
        )
