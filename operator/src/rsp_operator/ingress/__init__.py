"""PlatformIngress: a route of the platform, turned into ingress objects.

:mod:`.model` reads the resource, :mod:`.nginx` and :mod:`.gatewayapi`
translate it (pure functions), :mod:`.service` reconciles the cluster with
the result through :mod:`.storage`; :mod:`.factory` wires them.
"""

from .factory import IngressFactory
from .model import MalformedResourceError, PlatformIngress, parse_platform_ingress
from .render import check_ingress_settings, desired_objects
from .service import PlatformIngressService, ReconcileOutcome, ReconcileResult

__all__ = [
    "IngressFactory",
    "MalformedResourceError",
    "PlatformIngress",
    "PlatformIngressService",
    "ReconcileOutcome",
    "ReconcileResult",
    "check_ingress_settings",
    "desired_objects",
    "parse_platform_ingress",
]
