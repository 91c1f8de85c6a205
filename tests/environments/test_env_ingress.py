"""The ingress flavour switch and the environment's one TLS certificate.

``global.ingressFlavour`` sets the operator's flavour, the gateway's
ReferenceGrant and who every routed service's NetworkPolicy admits; one
cert-manager Certificate, where TLS ends, serves every route. Both flavours
are rendered with the real Helm engine from idfprod's values.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest
import yaml
from rsp_operator.config import IngressFlavour, OperatorSettings
from rsp_operator.ingress import parse_platform_ingress
from rsp_operator.ingress.render import desired_objects
from rsp_platform.environments.ingress import (
    ENVOY_PROXY_LABELS,
    OPERATOR_CONFIG_KEY,
    ingress_problems,
    tls_problems,
)
from rsp_platform.environments.manifests import KubeObject, merge_values
from rsp_platform.environments.netpol import policy_admits
from rsp_platform.environments.umbrella import RenderedEnvironment, UmbrellaChart

from tests.charts.kubeschema import assert_valid
from tests.charts.policy import assert_policy
from tests.environments.support import LAYOUT, custom_resource_validator, rendered
from tests.environments.test_env_render import GKE

pytestmark = pytest.mark.helm

UMBRELLA = UmbrellaChart(LAYOUT)

ROUTED_NAMESPACES = ["butler", "gateway", "nublado", "repertoire", "tap"]

GATEWAY_NAMESPACE = "gateway-system"
"""Namespace of the operator's default Gateway (``gatewayApi.gatewayNamespace``)."""

ENVOY_PROXY = {
    **ENVOY_PROXY_LABELS,
    "gateway.envoyproxy.io/owning-gateway-name": "science-platform",
    "gateway.envoyproxy.io/owning-gateway-namespace": GATEWAY_NAMESPACE,
}
"""Labels Envoy Gateway gives the proxy pods of the operator's Gateway."""

NGINX_CONTROLLER = {"app.kubernetes.io/name": "ingress-nginx"}


def _gateway_api_values() -> dict[str, Any]:
    """idfprod switched to the Gateway API: the flavour, where TLS ends, and
    the Gateway made by the chart."""
    values = copy.deepcopy(LAYOUT.environment("idfprod").values)
    values["global"]["ingressFlavour"] = "gateway-api"
    values["tls"]["certManager"]["namespace"] = GATEWAY_NAMESPACE
    values["ingressGateway"] = {"create": True}
    return values


@functools.cache
def _gateway_api() -> RenderedEnvironment:
    return UMBRELLA.render(_gateway_api_values())


def _render(flavour: str) -> RenderedEnvironment:
    return _gateway_api() if flavour == "gateway-api" else rendered("idfprod")


def _values(flavour: str) -> dict[str, Any]:
    if flavour == "gateway-api":
        return _gateway_api_values()
    return copy.deepcopy(LAYOUT.environment("idfprod").values)


def _effective(values: dict[str, Any]) -> dict[str, Any]:
    return merge_values(UMBRELLA.effective_defaults(), values)


def _operator_settings(render: RenderedEnvironment) -> OperatorSettings:
    """The operator's settings as its chart renders them."""
    (config,) = [
        c for c in render.of_kind("ConfigMap") if OPERATOR_CONFIG_KEY in c["data"]
    ]
    return OperatorSettings(**yaml.safe_load(config["data"][OPERATOR_CONFIG_KEY]))


def _routed_policies(render: RenderedEnvironment) -> list[KubeObject]:
    """NetworkPolicies of the routed services' server pods (not the hub's)."""
    return [
        p
        for p in render.of_kind("NetworkPolicy")
        if p["metadata"]["namespace"] in ROUTED_NAMESPACES
        and not p["metadata"]["name"].endswith("-hub")
    ]


@pytest.mark.parametrize("flavour", ["nginx", "gateway-api"])
def test_flavour_renders_valid_objects_that_meet_the_policy(flavour: str) -> None:
    render = _render(flavour)
    report = assert_valid(
        render.objects, custom_resources=custom_resource_validator(render)
    )
    assert report.skipped == []
    assert_policy(render.objects, namespace="science-platform")
    values = _values(flavour)
    effective = _effective(values)
    assert list(ingress_problems(flavour, values, effective, render.objects)) == []
    assert list(tls_problems(flavour, effective, render.objects)) == []


def test_gateway_api_flavour_reaches_the_operator_and_the_gateway() -> None:
    render = _gateway_api()
    assert _operator_settings(render).ingress_flavour is IngressFlavour.GATEWAY_API
    (grant,) = render.of_kind("ReferenceGrant")
    assert grant["apiVersion"] == "gateway.networking.k8s.io/v1beta1"
    assert grant["metadata"]["namespace"] == "gateway"
    assert grant["spec"]["from"] == [
        {"group": "gateway.envoyproxy.io", "kind": "SecurityPolicy", "namespace": ns}
        for ns in ["butler", "nublado", "repertoire", "tap"]
    ]
    assert grant["spec"]["to"] == [{"group": "", "kind": "Service", "name": "gateway"}]


def test_nginx_flavour_has_no_reference_grant_or_gateway() -> None:
    render = rendered("idfprod")
    assert _operator_settings(render).ingress_flavour is IngressFlavour.NGINX
    assert render.of_kind("ReferenceGrant") == []
    values = copy.deepcopy(LAYOUT.environment("idfprod").values)
    values["ingressGateway"] = {"create": True}
    assert UMBRELLA.render(values).of_kind("Gateway") == []


def test_gateway_is_the_clusters_unless_the_environment_makes_it() -> None:
    values = _gateway_api_values()
    del values["ingressGateway"]
    assert UMBRELLA.render(values).of_kind("Gateway") == []


@pytest.mark.parametrize(
    ("flavour", "admitted", "refused"),
    [
        (
            "nginx",
            ("ingress-nginx", NGINX_CONTROLLER),
            ("envoy-gateway-system", ENVOY_PROXY),
        ),
        (
            "gateway-api",
            ("envoy-gateway-system", ENVOY_PROXY),
            ("ingress-nginx", NGINX_CONTROLLER),
        ),
    ],
)
def test_routed_services_admit_only_the_flavours_proxy(
    flavour: str,
    admitted: tuple[str, dict[str, str]],
    refused: tuple[str, dict[str, str]],
) -> None:
    """Every routed service (the gateway's routes and Envoy's ext auth
    checks included) lets the flavour's proxy in, and not the other's."""
    policies = _routed_policies(_render(flavour))
    assert {p["metadata"]["namespace"] for p in policies} == set(ROUTED_NAMESPACES)
    for policy in policies:
        where = f"{policy['metadata']['namespace']}/{policy['metadata']['name']}"
        assert policy_admits(policy, "ingress", *admitted), where
        assert not policy_admits(policy, "ingress", *refused), where


@pytest.mark.parametrize("name", GKE)
def test_one_certificate_per_environment(name: str) -> None:
    (certificate,) = rendered(name).of_kind("Certificate")
    assert certificate["metadata"]["namespace"] == "ingress-nginx"
    assert certificate["spec"]["secretName"] == "science-platform-tls"
    host = LAYOUT.environment(name).values["global"]["host"]
    assert certificate["spec"]["dnsNames"] == [host]


def test_every_ingress_is_served_over_tls_with_the_default_certificate() -> None:
    """The operator, with its rendered settings, gives every Ingress of every
    route a tls entry for the host without a Secret: ingress-nginx's default
    certificate, the Certificate in its namespace."""
    render = rendered("idfprod")
    settings = _operator_settings(render)
    ingresses = [
        o
        for route in render.of_kind("PlatformIngress")
        for o in desired_objects(parse_platform_ingress(route), settings)
    ]
    assert len(ingresses) >= len(render.of_kind("PlatformIngress")) > 0
    for ingress in ingresses:
        assert ingress["kind"] == "Ingress"
        assert ingress["spec"]["tls"] == [{"hosts": ["data.lsst.cloud"]}]


def test_every_httproute_attaches_to_the_gateway_holding_the_certificate() -> None:
    """With the Gateway API, TLS ends at the Gateway's listener: every
    HTTPRoute attaches to the Gateway in the Certificate's namespace, whose
    HTTPS listener holds the certificate and admits the routes' namespaces."""
    render = _gateway_api()
    (certificate,) = render.of_kind("Certificate")
    assert certificate["metadata"]["namespace"] == GATEWAY_NAMESPACE
    (gateway,) = render.of_kind("Gateway")
    assert gateway["metadata"] == {
        **gateway["metadata"],
        "name": "science-platform",
        "namespace": GATEWAY_NAMESPACE,
    }
    (listener,) = gateway["spec"]["listeners"]
    assert listener["protocol"] == "HTTPS"
    assert listener["hostname"] == "data.lsst.cloud"
    assert listener["tls"] == {
        "mode": "Terminate",
        "certificateRefs": [
            {"kind": "Secret", "name": certificate["spec"]["secretName"]}
        ],
    }
    (expression,) = listener["allowedRoutes"]["namespaces"]["selector"][
        "matchExpressions"
    ]
    assert expression["values"] == ROUTED_NAMESPACES
    settings = _operator_settings(render)
    routes = [
        o
        for route in render.of_kind("PlatformIngress")
        for o in desired_objects(parse_platform_ingress(route), settings)
        if o["kind"] == "HTTPRoute"
    ]
    assert len(routes) >= len(render.of_kind("PlatformIngress"))
    for route in routes:
        assert route["spec"]["hostnames"] == ["data.lsst.cloud"]
        for parent in route["spec"]["parentRefs"]:
            assert parent["name"] == gateway["metadata"]["name"]
            assert parent["namespace"] == GATEWAY_NAMESPACE
            assert parent.get("sectionName", listener["name"]) == listener["name"]


def test_ingress_check_finds_what_does_not_follow_the_flavour() -> None:
    values = _gateway_api_values()
    values["operator"]["config"] = {"ingressFlavour": "nginx"}
    values["gateway"]["referenceGrant"] = {"fromNamespaces": ["tap"]}
    values["tap"]["networkPolicy"]["envoyProxy"] = {
        "podLabels": {"app.kubernetes.io/name": "envoy-elsewhere"}
    }
    render = UMBRELLA.render(values)
    found = list(
        ingress_problems("gateway-api", values, _effective(values), render.objects)
    )
    assert any("operator.config.ingressFlavour is nginx" in p for p in found)
    for namespace in ("butler", "nublado", "repertoire"):
        assert any(f"SecurityPolicies of {namespace}" in p for p in found), namespace
    assert not any("SecurityPolicies of tap" in p for p in found)
    assert any(p.startswith("Service tap in tap") for p in found)
    assert len(found) == 5, found


def test_ingress_check_finds_a_grant_without_the_flavour() -> None:
    values = copy.deepcopy(LAYOUT.environment("idfprod").values)
    values["gateway"]["referenceGrant"] = {"enabled": True}
    render = UMBRELLA.render(values)
    found = list(ingress_problems("nginx", values, _effective(values), render.objects))
    assert found == [
        "ReferenceGrant/gateway-ext-authz: rendered, but the flavour is nginx"
    ]


def test_tls_check_finds_the_certificate_where_tls_does_not_end() -> None:
    values = _gateway_api_values()
    values["tls"]["certManager"]["namespace"] = "ingress-nginx"
    values["tap"]["ingress"] = {"tls": {"secretName": "tap-tls"}}
    render = UMBRELLA.render(values)
    found = list(tls_problems("gateway-api", _effective(values), render.objects))
    assert found[0] == (
        "tls.certManager.namespace is ingress-nginx, but TLS ends in the"
        " Gateway's namespace (gateway-system)"
    )
    assert found[1:] == [
        "PlatformIngress/tap in tap names its own TLS Secret; the environment's"
        " one certificate serves it"
    ]


def test_checks_find_a_gateway_that_does_not_serve_the_routes() -> None:
    """A Gateway whose listener leaves out a routed namespace, or serves
    another Secret than the certificate's."""
    render = _gateway_api()
    values = _gateway_api_values()
    objects = copy.deepcopy(render.objects)
    (gateway,) = [o for o in objects if o["kind"] == "Gateway"]
    (listener,) = gateway["spec"]["listeners"]
    selector = listener["allowedRoutes"]["namespaces"]["selector"]
    selector["matchExpressions"][0]["values"].remove("tap")
    listener["tls"]["certificateRefs"][0]["name"] = "another-tls"
    effective = _effective(values)
    assert list(ingress_problems("gateway-api", values, effective, objects)) == [
        "Gateway/science-platform in gateway-system: no listener admits the"
        " HTTPRoutes of tap"
    ]
    assert list(tls_problems("gateway-api", effective, objects)) == [
        "the Gateway's listener https does not serve HTTPS with the"
        " certificate's Secret science-platform-tls"
    ]
