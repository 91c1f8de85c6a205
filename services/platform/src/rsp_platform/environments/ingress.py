"""``rsp-platform env lint``'s ``ingress`` and ``tls`` checks.

``global.ingressFlavour`` is an environment's one switch between
ingress-nginx and the Gateway API (Envoy Gateway). Several objects must
follow it for a route to work, and Helm cannot tell when one does not:

- the operator's settings (``ingress_flavour``), which decide what every
  ``PlatformIngress`` becomes;
- the gateway's ``ReferenceGrant``: with the Gateway API, the
  ``SecurityPolicy`` of each route calls the gateway's Service from the
  route's namespace, which Gateway API allows only when the gateway's
  namespace grants it;
- every routed service's NetworkPolicy, which must admit the pods that
  proxy users in: ingress-nginx's controller, or Envoy's proxy of the
  operator's Gateway (which also sends the gateway its ext auth checks).

With the Gateway API, a Gateway the environment makes itself
(``ingressGateway.create``) must admit the routes of every routed namespace.

TLS ends at one place, so one certificate serves the whole environment: one
cert-manager ``Certificate`` in the namespace of the ingress controller (its
default certificate) or of the Gateway (its listener's, which must then
serve HTTPS with it), and routes that name no Secret of their own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import yaml

from .manifests import KubeObject, describe
from .netpol import policy_admits, selector_matches

__all__ = [
    "ENVOY_PROXY_LABELS",
    "OPERATOR_CONFIG_KEY",
    "ingress_problems",
    "tls_problems",
]

OPERATOR_CONFIG_KEY = "operator.yaml"
"""Key of the operator's settings file in its ConfigMap."""

ENVOY_PROXY_LABELS: dict[str, str] = {
    "app.kubernetes.io/name": "envoy",
    "app.kubernetes.io/component": "proxy",
    "app.kubernetes.io/managed-by": "envoy-gateway",
}
"""Labels Envoy Gateway gives every proxy pod, besides the two naming the
Gateway it serves (``gateway.envoyproxy.io/owning-gateway-name`` and
``-namespace``)."""


def _section(values: Mapping[str, Any], *path: str) -> dict[str, Any]:
    node: Any = values
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    return dict(node) if isinstance(node, Mapping) else {}


def _operator_settings(objects: list[KubeObject]) -> dict[str, Any] | None:
    """The operator's rendered settings file, if the operator runs."""
    for obj in objects:
        data = obj.get("data") or {}
        if obj.get("kind") == "ConfigMap" and OPERATOR_CONFIG_KEY in data:
            settings = yaml.safe_load(data[OPERATOR_CONFIG_KEY]) or {}
            return settings if isinstance(settings, dict) else {}
    return None


def _proxy(
    flavour: str, effective: Mapping[str, Any], settings: Mapping[str, Any]
) -> tuple[str, dict[str, str]]:
    """Namespace and labels of the pods that proxy users in."""
    network = _section(effective, "gateway", "networkPolicy")
    if flavour == "gateway-api":
        api = _section(settings, "gateway_api")
        labels = {
            **ENVOY_PROXY_LABELS,
            "gateway.envoyproxy.io/owning-gateway-name": str(
                api.get("gateway_name", "")
            ),
            "gateway.envoyproxy.io/owning-gateway-namespace": str(
                api.get("gateway_namespace", "")
            ),
        }
        return str(_section(network, "envoyProxy").get("namespace", "")), labels
    controller = _section(network, "ingressController")
    labels = {str(k): str(v) for k, v in _section(controller, "podLabels").items()}
    return str(controller.get("namespace", "")), labels


def _route_backends(objects: list[KubeObject]) -> Iterator[tuple[KubeObject, str]]:
    """Each ``PlatformIngress`` with the Service name of its backend."""
    for obj in objects:
        if obj.get("kind") == "PlatformIngress":
            backend = _section(obj, "spec", "backend")
            yield obj, str(backend.get("service", ""))


def _network_problems(
    objects: list[KubeObject], proxy_namespace: str, proxy_labels: dict[str, str]
) -> Iterator[str]:
    services = {
        (o["metadata"].get("namespace"), o["metadata"]["name"]): o
        for o in objects
        if o.get("kind") == "Service"
    }
    policies = [o for o in objects if o.get("kind") == "NetworkPolicy"]
    seen: set[tuple[str, str]] = set()
    for route, backend in _route_backends(objects):
        namespace = str(route["metadata"].get("namespace"))
        if (namespace, backend) in seen:
            continue
        seen.add((namespace, backend))
        service = services.get((namespace, backend))
        if service is None:
            continue
        pods = _section(service, "spec", "selector")
        guarding = [
            p
            for p in policies
            if p["metadata"].get("namespace") == namespace
            and "Ingress" in (p.get("spec") or {}).get("policyTypes", ["Ingress"])
            and selector_matches(_section(p, "spec", "podSelector"), pods)
        ]
        if guarding and not any(
            policy_admits(p, "ingress", proxy_namespace, proxy_labels) for p in guarding
        ):
            yield (
                f"Service {backend} in {namespace} ({describe(route)}): no"
                f" NetworkPolicy admits the proxy pods in {proxy_namespace}"
                f" labelled {proxy_labels}"
            )


def _grant_problems(
    objects: list[KubeObject], flavour: str, settings: Mapping[str, Any]
) -> Iterator[str]:
    grants = [o for o in objects if o.get("kind") == "ReferenceGrant"]
    if flavour != "gateway-api":
        for grant in grants:
            yield f"{describe(grant)}: rendered, but the flavour is {flavour}"
        return
    gateway = urlsplit(str(settings.get("gateway_url", ""))).hostname or ""
    service, _, rest = gateway.partition(".")
    gateway_namespace = rest.partition(".")[0]
    granted: set[str] = set()
    for grant in grants:
        if grant["metadata"].get("namespace") != gateway_namespace:
            continue
        to_gateway = any(
            t.get("kind") == "Service"
            and not t.get("group")
            and t.get("name", service) == service
            for t in _section(grant, "spec").get("to") or []
        )
        if to_gateway:
            granted |= {
                str(f.get("namespace"))
                for f in _section(grant, "spec").get("from") or []
                if f.get("kind") == "SecurityPolicy"
                and f.get("group") == "gateway.envoyproxy.io"
            }
    needed = {
        str(route["metadata"].get("namespace"))
        for route, _ in _route_backends(objects)
        if _section(route, "spec").get("access", "scopes") != "service"
    } - {gateway_namespace}
    for namespace in sorted(needed - granted):
        yield (
            f"no ReferenceGrant in {gateway_namespace} lets the SecurityPolicies"
            f" of {namespace} call Service {service} (gateway.referenceGrant)"
        )


def _gateway(
    objects: list[KubeObject], settings: Mapping[str, Any]
) -> tuple[KubeObject | None, list[dict[str, Any]]]:
    """The rendered Gateway the operator's settings name, if the environment
    makes it, and the listeners its routes attach to."""
    api = _section(settings, "gateway_api")
    for obj in objects:
        meta = obj.get("metadata") or {}
        if (
            obj.get("kind") == "Gateway"
            and meta.get("name") == api.get("gateway_name")
            and meta.get("namespace") == api.get("gateway_namespace")
        ):
            section = api.get("section_name")
            listeners = [
                listener
                for listener in _section(obj, "spec").get("listeners") or []
                if section is None or listener.get("name") == section
            ]
            return obj, listeners
    return None, []


def _listener_admits(listener: Mapping[str, Any], own: str, namespace: str) -> bool:
    """Whether a listener lets HTTPRoutes of ``namespace`` attach."""
    allowed = _section(listener, "allowedRoutes")
    kinds = allowed.get("kinds")
    if kinds and not any(k.get("kind") == "HTTPRoute" for k in kinds):
        return False
    namespaces = _section(allowed, "namespaces")
    source = namespaces.get("from", "Same")
    if source == "All":
        return True
    if source == "Selector":
        labels = {"kubernetes.io/metadata.name": namespace}
        return selector_matches(_section(namespaces, "selector"), labels)
    return namespace == own


def _gateway_problems(
    objects: list[KubeObject], settings: Mapping[str, Any]
) -> Iterator[str]:
    gateway, listeners = _gateway(objects, settings)
    if gateway is None:
        return
    where = f"{describe(gateway)} in {gateway['metadata'].get('namespace')}"
    if not listeners:
        section = _section(settings, "gateway_api").get("section_name")
        yield f"{where} has no listener {section}"
        return
    own = str(gateway["metadata"].get("namespace"))
    routed = sorted(
        {str(r["metadata"].get("namespace")) for r, _ in _route_backends(objects)}
    )
    for namespace in routed:
        if not any(_listener_admits(lst, own, namespace) for lst in listeners):
            yield f"{where}: no listener admits the HTTPRoutes of {namespace}"


def ingress_problems(
    flavour: str,
    file_values: Mapping[str, Any],
    effective: Mapping[str, Any],
    objects: list[KubeObject],
) -> Iterator[str]:
    """Where the rendered environment does not follow its ingress flavour.

    Parameters
    ----------
    flavour
        ``global.ingressFlavour`` of the environment.
    file_values
        The environment file's values (what it sets explicitly).
    effective
        The effective values (the charts' defaults and the file's).
    objects
        The rendered objects.
    """
    own = _section(file_values, "operator", "config").get("ingressFlavour")
    if own is not None and own != flavour:
        yield (
            f"operator.config.ingressFlavour is {own}, but global.ingressFlavour"
            f" ({flavour}) wins: leave it out"
        )
    settings = _operator_settings(objects)
    if settings is None:
        return
    rendered = settings.get("ingress_flavour")
    if rendered != flavour:
        yield f"the operator's settings say ingress_flavour {rendered}, not {flavour}"
    yield from _grant_problems(objects, flavour, settings)
    if flavour == "gateway-api":
        yield from _gateway_problems(objects, settings)
    namespace, labels = _proxy(flavour, effective, settings)
    yield from _network_problems(objects, namespace, labels)


def tls_problems(
    flavour: str, effective: Mapping[str, Any], objects: list[KubeObject]
) -> Iterator[str]:
    """Where TLS is not the environment's one certificate at its one end."""
    cert_manager = _section(effective, "tls", "certManager")
    certificates = [o for o in objects if o.get("kind") == "Certificate"]
    if not cert_manager.get("enabled"):
        return
    if len(certificates) != 1:
        yield f"{len(certificates)} Certificates rendered; one serves every route"
    base_url = str(_section(effective, "global").get("baseUrl", ""))
    if not base_url.startswith("https://"):
        yield f"a certificate is issued, but global.baseUrl {base_url} is not https"
    settings = _operator_settings(objects) or {}
    if flavour == "gateway-api":
        where = str(_section(settings, "gateway_api").get("gateway_namespace", ""))
        what = "the Gateway's namespace"
    else:
        network = _section(effective, "gateway", "networkPolicy", "ingressController")
        where, what = str(network.get("namespace", "")), "ingress-nginx's namespace"
    namespace = cert_manager.get("namespace")
    if where and namespace != where:
        yield (
            f"tls.certManager.namespace is {namespace}, but TLS ends in {what}"
            f" ({where})"
        )
    _, listeners = _gateway(objects, settings)
    secret = cert_manager.get("secretName")
    for listener in listeners:
        refs = _section(listener, "tls").get("certificateRefs") or []
        if listener.get("protocol") != "HTTPS" or not any(
            r.get("name") == secret and not r.get("namespace") for r in refs
        ):
            yield (
                f"the Gateway's listener {listener.get('name')} does not serve"
                f" HTTPS with the certificate's Secret {secret}"
            )
    for route, _ in _route_backends(objects):
        if _section(route, "spec").get("tlsSecretName"):
            yield (
                f"{describe(route)} in {route['metadata'].get('namespace')} names"
                " its own TLS Secret; the environment's one certificate serves it"
            )
