"""The objects a ``PlatformIngress`` should have, in the configured flavour."""

from __future__ import annotations

from typing import Any

from rsp_platform.settings import ConfigurationError

from ..config import IngressFlavour, OperatorSettings
from .gatewayapi import gateway_api_objects, gateway_service_ref
from .model import ObjectRef, PlatformIngress
from .nginx import nginx_objects
from .objects import with_spec_hash

__all__ = ["check_ingress_settings", "desired_objects", "object_ref"]


def check_ingress_settings(settings: OperatorSettings) -> None:
    """Fail at start-up on settings the configured flavour cannot use.

    Raises
    ------
    ConfigurationError
        Naming the setting and what it must be.
    """
    if settings.ingress_flavour is IngressFlavour.GATEWAY_API:
        gateway_service_ref(settings)
    elif not settings.ingress_class_name:
        raise ConfigurationError(
            "invalid operator settings:\n  ingress_class_name: must not be empty"
        )


def desired_objects(
    resource: PlatformIngress, settings: OperatorSettings
) -> list[dict[str, Any]]:
    """Every object the resource should have, each with its digest annotation.

    Raises
    ------
    MalformedResourceError
        If the route cannot be expressed in the flavour.
    ConfigurationError
        If the settings do not fit the flavour.
    """
    if settings.ingress_flavour is IngressFlavour.GATEWAY_API:
        objects = gateway_api_objects(resource, settings)
    else:
        objects = nginx_objects(resource, settings)
    return [with_spec_hash(o) for o in objects]


def object_ref(obj: dict[str, Any]) -> ObjectRef:
    """The reference to an object, as ``status.objects`` lists it."""
    return ObjectRef(
        api_version=obj["apiVersion"], kind=obj["kind"], name=obj["metadata"]["name"]
    )
