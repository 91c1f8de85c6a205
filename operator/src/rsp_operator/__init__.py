"""The platform's Kubernetes operator (kopf).

It reconciles two custom resources of the group ``science-platform.dev``,
whose CustomResourceDefinitions live in ``charts/operator/crds``:

``PlatformIngress``
    One route of the platform with its access rules; turned into the ingress
    objects of the configured flavour (ingress-nginx or Gateway API).
``ServiceToken``
    A Secret holding a gateway service token for a ``bot-*`` user.
"""

GROUP = "science-platform.dev"
"""API group of the operator's custom resources."""

VERSION = "v1alpha1"
"""API version of the operator's custom resources."""

__all__ = ["GROUP", "VERSION"]
