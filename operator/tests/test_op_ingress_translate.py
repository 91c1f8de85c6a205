"""PlatformIngress to ingress objects: golden files and schema checks."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest
from optest.ingress_checks import (
    assert_golden,
    assert_kubernetes_valid,
    platform_ingress_problems,
)
from optest.ingress_harness import load_resource, operator_settings
from rsp_operator.config import IngressFlavour
from rsp_operator.ingress.gatewayapi import EXT_AUTHZ_AUTH_PATH, ext_authz_path
from rsp_operator.ingress.model import parse_platform_ingress
from rsp_operator.ingress.objects import OWNER_UID_LABEL, SPEC_HASH_ANNOTATION
from rsp_operator.ingress.render import desired_objects
from rsp_platform.routes import AUTH_RESPONSE_HEADERS, auth_query, ingress_annotations

CASES = ("tap", "nublado-hub", "gateway-api")


def _render(case: str, flavour: IngressFlavour) -> list[dict[str, Any]]:
    resource = parse_platform_ingress(load_resource(case))
    return desired_objects(resource, operator_settings(ingress_flavour=flavour))


@pytest.mark.parametrize("case", CASES)
def test_resources_meet_the_crd_schema(case: str) -> None:
    assert platform_ingress_problems(load_resource(case)) == []


@pytest.mark.parametrize("case", CASES)
def test_nginx_golden_and_valid(case: str) -> None:
    objects = _render(case, IngressFlavour.NGINX)
    assert_golden(f"ingress-nginx-{case}", objects)
    report = assert_kubernetes_valid(objects)
    assert len(report.validated) == len(objects)


@pytest.mark.parametrize("case", CASES)
def test_gateway_api_golden(case: str) -> None:
    assert_golden(
        f"ingress-gateway-api-{case}", _render(case, IngressFlavour.GATEWAY_API)
    )


@pytest.mark.parametrize("flavour", list(IngressFlavour))
@pytest.mark.parametrize("case", CASES)
def test_every_object_is_owned_and_labelled(case: str, flavour: IngressFlavour) -> None:
    body = load_resource(case)
    for obj in _render(case, flavour):
        metadata = obj["metadata"]
        assert metadata["namespace"] == body["metadata"]["namespace"]
        assert metadata["labels"][OWNER_UID_LABEL] == body["metadata"]["uid"]
        (owner,) = metadata["ownerReferences"]
        assert owner == {
            "apiVersion": "science-platform.dev/v1alpha1",
            "kind": "PlatformIngress",
            "name": body["metadata"]["name"],
            "uid": body["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
        assert len(metadata["annotations"][SPEC_HASH_ANNOTATION]) == 32


def test_nginx_annotations_are_the_route_tables() -> None:
    """Auth annotations come from rsp_platform.routes, sign-in on the platform URL."""
    resource = parse_platform_ingress(load_resource("nublado-hub"))
    settings = operator_settings()
    (ingress,) = desired_objects(resource, settings)
    expected = ingress_annotations(resource.route, str(settings.gateway_url))
    expected["nginx.ingress.kubernetes.io/auth-signin"] = (
        "https://data-dev.lsst.cloud/login"
    )
    annotations = dict(ingress["metadata"]["annotations"])
    del annotations[SPEC_HASH_ANNOTATION]
    assert annotations == expected
    url = annotations["nginx.ingress.kubernetes.io/auth-url"]
    assert url == (
        "http://gateway.gateway.svc.cluster.local:8080/ingress/auth?"
        + str(auth_query(resource.route))
    )
    assert ingress["spec"]["tls"] == [
        {"hosts": ["data-dev.lsst.cloud"], "secretName": "nublado-tls"}
    ]


def test_nginx_anonymous_paths_are_exact_and_anonymous() -> None:
    main, anonymous = _render("tap", IngressFlavour.NGINX)
    assert main["metadata"]["name"] == "tap"
    (rule,) = main["spec"]["rules"]
    assert [p["path"] for p in rule["http"]["paths"]] == ["/api/tap"]
    assert anonymous["metadata"]["name"] == "tap-anonymous"
    paths = anonymous["spec"]["rules"][0]["http"]["paths"]
    assert [(p["path"], p["pathType"]) for p in paths] == [
        ("/api/tap/availability", "Exact"),
        ("/api/tap/capabilities", "Exact"),
    ]
    annotations = anonymous["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/auth-url"].endswith(
        "/ingress/anonymous"
    )
    assert "nginx.ingress.kubernetes.io/auth-signin" not in annotations
    # The default certificate of the settings applies without tlsSecretName.
    assert anonymous["spec"]["tls"][0]["secretName"] == "platform-tls"


@pytest.mark.parametrize(
    ("overrides", "tls"),
    [
        # The environment's one certificate: ingress-nginx's default, so the
        # Ingress names the host and no Secret.
        (
            {"base_url": "https://data-dev.lsst.cloud"},
            [{"hosts": ["data-dev.lsst.cloud"]}],
        ),
        ({}, [{"hosts": ["data-dev.lsst.cloud"]}]),  # external URL https://<host>
        ({"base_url": "http://localhost"}, None),
        (
            {"base_url": "http://localhost", "tls": True},
            [{"hosts": ["data-dev.lsst.cloud"]}],
        ),
        ({"tls": False}, None),
    ],
)
def test_nginx_tls_without_a_secret_uses_the_default_certificate(
    overrides: dict[str, Any], tls: list[dict[str, Any]] | None
) -> None:
    settings = operator_settings(tls_secret_name=None, **overrides)
    body = load_resource("tap")
    body["spec"].pop("tlsSecretName", None)
    for ingress in desired_objects(parse_platform_ingress(body), settings):
        assert ingress["spec"].get("tls") == tls
        if tls:
            assert_kubernetes_valid([ingress])


def test_nginx_service_route_has_no_auth() -> None:
    (ingress,) = _render("gateway-api", IngressFlavour.NGINX)
    annotations = ingress["metadata"]["annotations"]
    assert not [a for a in annotations if "/auth-" in a]


def test_gateway_api_policy_carries_the_route_parameters() -> None:
    """The ext_authz path holds exactly auth_query's parameters (+ login_redirect)."""
    for case, extra in (("tap", []), ("nublado-hub", [("login_redirect", "true")])):
        resource = parse_platform_ingress(load_resource(case))
        objects = _render(case, IngressFlavour.GATEWAY_API)
        policy = next(o for o in objects if o["kind"] == "SecurityPolicy")
        http = policy["spec"]["extAuth"]["http"]
        prefix = f"{EXT_AUTHZ_AUTH_PATH}/"
        assert http["path"].startswith(prefix)
        segment = http["path"].removeprefix(prefix)
        assert "/" not in segment
        assert "?" not in segment
        expected = parse_qsl(str(auth_query(resource.route))) + extra
        assert parse_qsl(segment) == expected
        assert http["headersToBackend"] == list(AUTH_RESPONSE_HEADERS)
        assert http["backendRefs"] == [
            {
                "group": "",
                "kind": "Service",
                "name": "gateway",
                "namespace": "gateway",
                "port": 8080,
            }
        ]
        assert "Cookie" in policy["spec"]["extAuth"]["headersToExtAuth"]
        assert policy["spec"]["targetRefs"][0]["name"] == policy["metadata"]["name"]


def test_gateway_api_anonymous_and_service_routes() -> None:
    objects = _render("tap", IngressFlavour.GATEWAY_API)
    names = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert names == [
        ("HTTPRoute", "tap"),
        ("SecurityPolicy", "tap"),
        ("HTTPRoute", "tap-anonymous"),
        ("SecurityPolicy", "tap-anonymous"),
    ]
    anonymous_route, anonymous_policy = objects[2], objects[3]
    matches = anonymous_route["spec"]["rules"][0]["matches"]
    assert [m["path"] for m in matches] == [
        {"type": "Exact", "value": "/api/tap/availability"},
        {"type": "Exact", "value": "/api/tap/capabilities"},
    ]
    http = anonymous_policy["spec"]["extAuth"]["http"]
    assert http["path"] == "/ingress/ext-authz/anonymous"

    (route,) = _render("gateway-api", IngressFlavour.GATEWAY_API)
    assert route["kind"] == "HTTPRoute"
    (rule,) = route["spec"]["rules"]
    removed = rule["filters"][0]["requestHeaderModifier"]["remove"]
    assert "X-Auth-Request-User" in removed
    assert "Authorization" not in removed


def test_gateway_api_parent_and_websocket() -> None:
    settings = operator_settings(
        ingress_flavour=IngressFlavour.GATEWAY_API,
        gateway_api={
            "gateway_name": "edge",
            "gateway_namespace": "infra",
            "section_name": "https",
        },
    )
    resource = parse_platform_ingress(load_resource("nublado-hub"))
    route = desired_objects(resource, settings)[0]
    assert route["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "edge",
            "namespace": "infra",
            "sectionName": "https",
        }
    ]
    assert route["spec"]["hostnames"] == ["data-dev.lsst.cloud"]
    assert route["spec"]["rules"][0]["timeouts"] == {"request": "0s"}


def test_ext_authz_path_is_deterministic() -> None:
    resource = parse_platform_ingress(load_resource("tap"))
    assert ext_authz_path(resource.main_route) == (
        "/ingress/ext-authz/auth/scope=read:tap&satisfy=all&delegate_to=tap"
        "&delegate_scope=read:tap&auth_type=basic"
    )


@pytest.mark.parametrize("flavour", list(IngressFlavour))
def test_resource_annotations_pass_on_but_never_override_access(
    flavour: IngressFlavour,
) -> None:
    """A chart's annotations reach the objects; tools' and access rules' do not."""
    body = load_resource("tap")
    auth_url_key = "nginx.ingress.kubernetes.io/auth-url"
    body["metadata"]["annotations"] = {
        "cert-manager.io/cluster-issuer": "letsencrypt",
        auth_url_key: "http://attacker.example/allow-all",
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
        "meta.helm.sh/release-name": "science-platform",
    }
    resource = parse_platform_ingress(body)
    objects = desired_objects(resource, operator_settings(ingress_flavour=flavour))

    for obj in objects:
        annotations = obj["metadata"]["annotations"]
        assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt"
        assert "kubectl.kubernetes.io/last-applied-configuration" not in annotations
        assert "meta.helm.sh/release-name" not in annotations
        if flavour is IngressFlavour.NGINX:
            assert annotations[auth_url_key].startswith(
                "http://gateway.gateway.svc.cluster.local:8080/ingress/"
            )
