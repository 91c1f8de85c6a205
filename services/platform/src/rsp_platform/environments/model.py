"""The values file of an environment, as a pydantic model.

``environments/values-<name>.yaml`` holds what differs between environments
and nothing else; the umbrella chart ``charts/science-platform`` holds the
rest. The parts that the umbrella chart itself reads (``global``,
``namespaces``, ``tls``, ``ingressGateway``, ``secretStore`` and each
service's ``enabled``) are
modelled field by field and refuse unknown keys; the rest of a service's
section is that service chart's own values, passed through to Helm, which
checks them against the chart's ``values.schema.json``.

The JSON schema of :class:`EnvironmentValues` is committed twice (see
:mod:`.schema`): as ``environments/values.schema.json`` for the environment
files, and, with every service section closed to the chart's own checks, as
the umbrella chart's ``values.schema.json``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "ROUTED_SERVICES",
    "SERVICES",
    "CertManagerValues",
    "EnvironmentValues",
    "GlobalValues",
    "IngressGatewayValues",
    "NamespaceValues",
    "SecretStoreValues",
    "ServiceValues",
    "TlsValues",
]

SERVICES: tuple[str, ...] = (
    "gateway",
    "discovery",
    "notebooks",
    "tap",
    "butler",
    "operator",
)
"""The service charts of the umbrella chart, as its dependencies name them."""

ROUTED_SERVICES: dict[str, str] = {
    "gateway": "gateway",
    "discovery": "repertoire",
    "notebooks": "nublado",
    "tap": "tap",
    "butler": "butler",
}
"""Service chart -> the name of its service in the route table (and in
service discovery); the operator serves no route."""

HOST_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
K8S_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class _Strict(BaseModel):
    """A part of the values the umbrella chart reads: camelCase, no unknown key."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
    )


class GlobalValues(_Strict):
    """Values Helm copies into every service chart (``global``)."""

    host: Annotated[
        str,
        Field(description="Host name of the platform", pattern=HOST_PATTERN),
    ]
    base_url: Annotated[
        str,
        Field(
            description="External URL of the platform, scheme and host",
            pattern=r"^https?://[^/]+$",
        ),
    ]
    environment: Annotated[
        str,
        Field(
            description="Environment name (idfprod, idfint, idfdev, local)",
            pattern=r"^[a-z][a-z0-9-]*$",
        ),
    ]
    image_registry: Annotated[
        str,
        Field(
            description="Registry of the platform's images (empty: each chart's own)"
        ),
    ] = ""
    image_tag: Annotated[
        str,
        Field(
            description="Tag of the platform's images (empty: each chart's appVersion)",
            pattern=r"^(|[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$",
            json_schema_extra={"not": {"const": "latest"}},
        ),
    ] = ""

    ingress_flavour: Annotated[
        Literal["nginx", "gateway-api"],
        Field(
            description=(
                "Ingress flavour: nginx (ingress-nginx) or gateway-api (Envoy"
                " Gateway); sets the operator's, the NetworkPolicies' and the"
                " gateway's ReferenceGrant alike"
            )
        ),
    ] = "nginx"

    @field_validator("image_tag")
    @classmethod
    def _pinned_tag(cls, value: str) -> str:
        if value == "latest":
            raise ValueError("the latest tag is not a version: name one")
        return value

    @model_validator(mode="after")
    def _base_url_names_host(self) -> GlobalValues:
        netloc = urlsplit(self.base_url).netloc
        if netloc.split(":", 1)[0] != self.host:
            raise ValueError(f"baseUrl {self.base_url} is not on host {self.host}")
        return self


class NamespaceValues(_Strict):
    """The services' namespaces (``namespaces``)."""

    create: Annotated[
        bool,
        Field(description="Create the namespace of every enabled service"),
    ] = True


class CertManagerValues(_Strict):
    """Certificates issued by cert-manager (``tls.certManager``)."""

    enabled: Annotated[
        bool, Field(description="Whether cert-manager issues the certificate")
    ] = False
    issuer_kind: Annotated[
        Literal["ClusterIssuer", "Issuer"],
        Field(description="Kind of the cert-manager issuer"),
    ] = "ClusterIssuer"
    issuer_name: Annotated[
        str, Field(description="Name of the issuer", pattern=K8S_NAME_PATTERN)
    ] = "letsencrypt"
    namespace: Annotated[
        str,
        Field(
            description=(
                "Namespace of the Certificate: ingress-nginx's (its default"
                " certificate), or the Gateway's with the gateway-api flavour"
            ),
            pattern=K8S_NAME_PATTERN,
        ),
    ] = "ingress-nginx"
    secret_name: Annotated[
        str,
        Field(
            description="Name of the Certificate and of its Secret",
            pattern=K8S_NAME_PATTERN,
        ),
    ] = "science-platform-tls"  # noqa: S105 (a Secret's name)


class TlsValues(_Strict):
    """TLS for the platform's host name (``tls``).

    One certificate per environment, where TLS ends: ingress-nginx's default
    certificate, or the Gateway listener's; routes name only their host.
    """

    cert_manager: Annotated[
        CertManagerValues,
        Field(description="Certificates issued by cert-manager"),
    ] = CertManagerValues()


class IngressGatewayValues(_Strict):
    """The Gateway of the gateway-api flavour (``ingressGateway``).

    Usually the cluster's, like ingress-nginx; an environment that owns its
    Gateway lets the chart make it, where the operator's settings name it.
    """

    create: Annotated[
        bool,
        Field(
            description=(
                "Whether to create the Gateway the operator's routes attach to"
                " (with the gateway-api flavour)"
            )
        ),
    ] = False
    gateway_class_name: Annotated[
        str,
        Field(description="GatewayClass of the Gateway", pattern=K8S_NAME_PATTERN),
    ] = "envoy-gateway"


class SecretStoreValues(_Strict):
    """The store of the services' secrets (``secretStore``)."""

    create: Annotated[
        bool,
        Field(description="Whether to create the ClusterSecretStore (Secret Manager)"),
    ] = False
    name: Annotated[
        str,
        Field(description="Name of the ClusterSecretStore", pattern=K8S_NAME_PATTERN),
    ] = "science-platform"
    gcp_project_id: Annotated[
        str,
        Field(
            description="Google Cloud project whose Secret Manager holds the secrets",
            pattern=r"^([a-z][-a-z0-9]{4,28}[a-z0-9])?$",
        ),
    ] = ""

    @model_validator(mode="after")
    def _store_has_project(self) -> SecretStoreValues:
        if self.create and not self.gcp_project_id:
            raise ValueError("create needs gcpProjectId")
        return self


class ServiceValues(BaseModel):
    """A service chart's values: ``enabled``, the rest checked by the chart.

    Only ``enabled`` is the umbrella chart's (the dependency's condition);
    every other key belongs to the service chart and is validated by Helm
    against that chart's ``values.schema.json``.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    enabled: Annotated[
        bool | None,
        Field(description="Whether the environment runs this service"),
    ] = None

    @property
    def chart_values(self) -> dict[str, Any]:
        """The values passed through to the chart (everything but ``enabled``)."""
        return dict(self.model_extra or {})


def _service(name: str) -> Any:
    return Field(
        default_factory=ServiceValues,
        description=f"Values of the {name} chart (charts/{name}); enabled: run it",
    )


class EnvironmentValues(_Strict):
    """One environment's values file: ``environments/values-<name>.yaml``."""

    global_: Annotated[
        GlobalValues,
        Field(alias="global", description="Values every service chart reads"),
    ]
    namespaces: Annotated[
        NamespaceValues, Field(description="The services' namespaces")
    ] = NamespaceValues()
    tls: Annotated[TlsValues, Field(description="TLS of the host")] = TlsValues()
    ingress_gateway: Annotated[
        IngressGatewayValues,
        Field(description="The Gateway of the gateway-api flavour"),
    ] = IngressGatewayValues()
    secret_store: Annotated[
        SecretStoreValues,
        Field(description="The store External Secrets reads the secrets from"),
    ] = SecretStoreValues()
    gateway: ServiceValues = _service("gateway")
    discovery: ServiceValues = _service("discovery")
    notebooks: ServiceValues = _service("notebooks")
    tap: ServiceValues = _service("tap")
    butler: ServiceValues = _service("butler")
    operator: ServiceValues = _service("operator")

    @model_validator(mode="after")
    def _routes_use_the_one_certificate(self) -> EnvironmentValues:
        config = self.operator.chart_values.get("config") or {}
        secret = config.get("tlsSecretName") if isinstance(config, dict) else None
        if self.tls.cert_manager.enabled and secret:
            raise ValueError(
                "tls.certManager.enabled: routes use the environment's one"
                " certificate (ingress-nginx's default, or the Gateway's);"
                " leave out operator.config.tlsSecretName, a Secret no route's"
                " namespace holds"
            )
        return self

    def service(self, name: str) -> ServiceValues:
        """The section of service ``name`` (one of :data:`SERVICES`)."""
        if name not in SERVICES:
            raise KeyError(f"no service {name!r} (services: {', '.join(SERVICES)})")
        section: ServiceValues = getattr(self, name)
        return section
