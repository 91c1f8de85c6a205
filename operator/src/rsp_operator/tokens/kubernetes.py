"""Kubernetes storage of ServiceTokens: their Secrets, status and events.

Everything goes through ``kubernetes_asyncio`` (``client.CoreV1Api`` and
``client.CustomObjectsApi`` looked up at call time, so that tests can
replace them). Secret data is read and written base64-encoded, as the API
server stores it.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import UTC, datetime
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client import ApiClient, ApiException

from .. import GROUP, VERSION
from ..gateway.models import token_key
from .models import PLURAL, ServiceTokenRef

__all__ = [
    "MANAGED_BY",
    "TOKEN_KEY",
    "KubernetesError",
    "SecretState",
    "ServiceTokenStore",
]

TOKEN_KEY = "token"  # noqa: S105 (the name of the Secret's key)
"""Key of the Secret that holds the token."""

MANAGED_BY = "rsp-operator"
"""Value of ``app.kubernetes.io/managed-by`` on the Secrets the operator makes."""

COMPONENT = "rsp-operator"
"""``source.component`` of the events the operator posts."""


class KubernetesError(Exception):
    """A Kubernetes API call failed; ``status`` is its HTTP status (0: none)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status

    @property
    def temporary(self) -> bool:
        """Whether retrying later may help (conflicts, throttling, server errors)."""
        return self.status in (0, 409, 429) or self.status >= 500


def _failure(e: ApiException, action: str) -> KubernetesError:
    # ApiException's text includes the response body, which for a Secret
    # could echo data; keep only the status and reason.
    return KubernetesError(
        f"Kubernetes refused to {action}: {e.status} {e.reason}", int(e.status or 0)
    )


class SecretState:
    """What the operator needs of an existing Secret."""

    def __init__(self, secret: Any) -> None:
        self._secret = secret

    @property
    def raw(self) -> Any:
        """The ``V1Secret`` as read."""
        return self._secret

    @property
    def token(self) -> str | None:
        """The gateway token in the ``token`` key, if there is one."""
        data = self._secret.data or {}
        encoded = data.get(TOKEN_KEY)
        if not encoded:
            return None
        try:
            value = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        value = value.strip()
        # Anything else (edited by hand, another tool's data) is no token of ours.
        return value if token_key(value) is not None else None

    @property
    def labels(self) -> dict[str, str]:
        """Labels of the Secret."""
        return dict(self._secret.metadata.labels or {})

    @property
    def annotations(self) -> dict[str, str]:
        """Annotations of the Secret."""
        return dict(self._secret.metadata.annotations or {})

    def owner_uids(self, kind: str) -> list[tuple[str, str]]:
        """``(name, uid)`` of the owners of ``kind``."""
        return [
            (ref.name, ref.uid)
            for ref in self._secret.metadata.owner_references or []
            if ref.kind == kind
        ]

    @property
    def resource_version(self) -> str | None:
        """The version the Secret was read at (for a conditional replace)."""
        version: str | None = self._secret.metadata.resource_version
        return version


class ServiceTokenStore:
    """Reads and writes the Kubernetes objects of ServiceTokens."""

    def __init__(self, api_client: ApiClient) -> None:
        self._api_client = api_client

    @property
    def _core(self) -> Any:
        return client.CoreV1Api(self._api_client)

    @property
    def _custom(self) -> Any:
        return client.CustomObjectsApi(self._api_client)

    async def read_secret(self, namespace: str, name: str) -> SecretState | None:
        """The Secret ``namespace/name``, or `None` if there is none."""
        try:
            secret = await self._core.read_namespaced_secret(name, namespace)
        except ApiException as e:
            if e.status == 404:
                return None
            raise _failure(e, f"read Secret {namespace}/{name}") from None
        return SecretState(secret)

    async def write_secret(
        self,
        owner: ServiceTokenRef,
        *,
        token: str,
        labels: dict[str, str],
        annotations: dict[str, str],
        existing: SecretState | None,
    ) -> None:
        """Create the ServiceToken's Secret, or replace ``existing`` with it."""
        secret = client.V1Secret(
            api_version="v1",
            kind="Secret",
            type="Opaque",
            metadata=client.V1ObjectMeta(
                name=owner.name,
                namespace=owner.namespace,
                labels=labels,
                annotations=annotations or None,
                owner_references=[
                    client.V1OwnerReference(
                        api_version=owner.api_version,
                        kind=owner.kind,
                        name=owner.name,
                        uid=owner.uid,
                        controller=True,
                    )
                ],
            ),
            data={TOKEN_KEY: base64.b64encode(token.encode()).decode()},
        )
        where = f"Secret {owner.namespace}/{owner.name}"
        try:
            if existing is None:
                await self._core.create_namespaced_secret(owner.namespace, secret)
            else:
                if existing.resource_version:
                    secret.metadata.resource_version = existing.resource_version
                await self._core.replace_namespaced_secret(
                    owner.name, owner.namespace, secret
                )
        except ApiException as e:
            action = "create" if existing is None else "replace"
            raise _failure(e, f"{action} {where}") from None

    async def read_status(self, ref: ServiceTokenRef) -> dict[str, Any] | None:
        """The current status of the ServiceToken, `None` if it is gone."""
        try:
            obj = await self._custom.get_namespaced_custom_object(
                GROUP, VERSION, ref.namespace, PLURAL, ref.name
            )
        except ApiException as e:
            if e.status == 404:
                return None
            raise _failure(e, f"read ServiceToken {ref}") from None
        status: dict[str, Any] = dict(obj.get("status") or {})
        return status

    async def write_status(self, ref: ServiceTokenRef, status: dict[str, Any]) -> None:
        """Set the whole status of the ServiceToken (status subresource)."""
        # JSON Patch "add" sets a member whether or not it exists yet.
        patch = [{"op": "add", "path": "/status", "value": status}]
        try:
            await self._custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, ref.namespace, PLURAL, ref.name, patch
            )
        except ApiException as e:
            if e.status == 404:
                return  # Deleted meanwhile: nothing to report on.
            raise _failure(e, f"update the status of ServiceToken {ref}") from None

    async def post_event(
        self, ref: ServiceTokenRef, *, reason: str, message: str, warning: bool = False
    ) -> None:
        """Post an event about the ServiceToken (``kubectl describe`` shows it).

        Events are a courtesy: failing to post one is not an error.
        """
        now = datetime.now(UTC)
        event = client.CoreV1Event(
            api_version="v1",
            kind="Event",
            metadata=client.V1ObjectMeta(
                name=f"{ref.name}.{secrets.token_hex(8)}", namespace=ref.namespace
            ),
            involved_object=client.V1ObjectReference(
                api_version=ref.api_version,
                kind=ref.kind,
                name=ref.name,
                namespace=ref.namespace,
                uid=ref.uid,
            ),
            reason=reason,
            message=message[:1024],
            type="Warning" if warning else "Normal",
            source=client.V1EventSource(component=COMPONENT),
            first_timestamp=now,
            last_timestamp=now,
            count=1,
        )
        try:
            await self._core.create_namespaced_event(ref.namespace, event)
        except ApiException:
            return
