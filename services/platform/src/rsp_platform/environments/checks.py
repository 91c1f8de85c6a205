"""``rsp-platform env lint``: what can be wrong with an environment, found early.

Each check has an id (:data:`CHECKS`) and reports :class:`LintProblem` s:

``values``
    The file breaks the model of an environment (an unknown key, a wrong
    type, a base URL on another host), or names another environment.
``charts``
    A service the environment enables has no chart in ``charts/``.
``minimal``
    A value the file repeats from the defaults (the umbrella chart's or the
    service chart's ``values.yaml``): an environment holds only what
    differs, so that a change of default reaches every environment.
``discovery``
    Service discovery lists other services than those that run: a client
    would look up a service that is not there, or miss one that is.
``helm``
    ``helm lint --strict`` of the umbrella chart with the environment's
    values: a chart's values schema, a failing template, a Helm warning.
``routes``
    A rendered route that asks for scopes but names none: a
    ``PlatformIngress`` with access ``scopes`` (the default) and no scope,
    or an ingress-nginx ``Ingress`` whose auth subrequest names no scope.
``secrets``
    A secret value in the environment file, or in what it renders (a
    ConfigMap, a container's literal environment, a Secret with data).
``install-order``
    A pre-install hook (a migration Job) that needs what only exists later:
    Helm runs every hook of every chart before any ordinary object, so the
    Job's namespace, the ExternalSecret making a Secret it reads and that
    ExternalSecret's store must be hooks with a lower weight, or the first
    install waits until the Job times out.
``ingress``
    Something that does not follow ``global.ingressFlavour``: the
    operator's settings, the gateway's ``ReferenceGrant`` (Gateway API), a
    routed service's NetworkPolicy that does not admit the proxy pods
    (see :mod:`.ingress`).
``tls``
    Not exactly one certificate where TLS ends (ingress-nginx's or the
    Gateway's namespace), or a route naming a TLS Secret of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..secretscan import env_secret_values, find_secret_values
from .ingress import ingress_problems, tls_problems
from .layout import Environment
from .manifests import KubeObject, describe, merge_values
from .model import ROUTED_SERVICES
from .umbrella import DEFAULT_NAMESPACE, RenderError, UmbrellaChart

__all__ = [
    "CHECKS",
    "LintProblem",
    "discovery_problems",
    "install_order_problems",
    "lint_environment",
    "repeated_defaults",
    "route_problems",
    "secret_problems",
]

CHECKS: dict[str, str] = {
    "values": "the file meets the environment model (no unknown key)",
    "charts": "every enabled service has its chart",
    "minimal": "the file repeats no default",
    "discovery": "service discovery lists exactly the services that run",
    "helm": "helm lint --strict of the umbrella chart with the values",
    "routes": "every route that asks for scopes names at least one",
    "secrets": "no secret value in the values or in what they render",
    "install-order": "pre-install hooks only need what earlier hooks made",
    "ingress": "operator, ReferenceGrant and NetworkPolicies follow the flavour",
    "tls": "one certificate, where TLS ends, serves every route",
}
"""Every check: id -> what it requires."""

AUTH_URL_ANNOTATION = "nginx.ingress.kubernetes.io/auth-url"


@dataclass(frozen=True)
class LintProblem:
    """One problem of one environment, found by one check."""

    environment: str
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.environment}: [{self.check}] {self.message}"


def route_problems(objects: list[KubeObject]) -> Iterator[str]:
    """Rendered routes that need scopes and name none."""
    for obj in objects:
        kind = obj.get("kind")
        spec = obj.get("spec") or {}
        where = f"{describe(obj)} in {obj['metadata'].get('namespace', '(release)')}"
        if kind == "PlatformIngress":
            access = spec.get("access", "scopes")
            if access == "scopes" and not spec.get("scopes"):
                yield (
                    f"{where}: route {spec.get('path', '?')} has access scopes"
                    " and no scope: anyone with any token would enter"
                )
        elif kind == "Ingress":
            annotations = obj["metadata"].get("annotations") or {}
            url = annotations.get(AUTH_URL_ANNOTATION, "")
            parts = urlsplit(url)
            if parts.path.endswith("/ingress/auth") and not parse_qs(parts.query).get(
                "scope"
            ):
                yield f"{where}: its auth subrequest {url} names no scope"


def _containers(obj: KubeObject) -> Iterator[dict[str, Any]]:
    """Containers of any pod template in the object, wherever it sits."""
    stack: list[Any] = [obj.get("spec")]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in ("containers", "initContainers"):
                for container in node.get(key) or []:
                    if isinstance(container, dict):
                        yield container
            stack.extend(
                v for k, v in node.items() if k not in ("containers", "initContainers")
            )
        elif isinstance(node, list):
            stack.extend(node)


def secret_problems(values: dict[str, Any], objects: list[KubeObject]) -> Iterator[str]:
    """Secret values in an environment's values and in its rendered objects.

    Messages name where, never the value.
    """
    for found in find_secret_values(values):
        yield f"values: {found}"
    for obj in objects:
        name = describe(obj)
        if obj.get("kind") == "ConfigMap":
            for section in ("data", "binaryData"):
                for found in find_secret_values(obj.get(section) or {}, section):
                    yield f"{name}: {found}"
        elif obj.get("kind") == "Secret" and (obj.get("data") or obj.get("stringData")):
            yield f"{name}: a Secret rendered with data (secrets come from the store)"
        for container in _containers(obj):
            where = f"containers[{container.get('name')}].env"
            for found in env_secret_values(container.get("env") or [], where):
                yield f"{name}: {found}"


def repeated_defaults(
    values: Mapping[str, Any], defaults: Mapping[str, Any], path: str = ""
) -> Iterator[str]:
    """Values equal to their default, by dotted path (``global`` excepted:
    it names the environment, so every file states it)."""
    for key, value in values.items():
        where = f"{path}.{key}" if path else str(key)
        if where == "global" or key not in defaults:
            continue
        default = defaults[key]
        if isinstance(value, Mapping) and isinstance(default, Mapping):
            yield from repeated_defaults(value, default, where)
        elif value == default:
            yield f"{where}: repeats the default; leave it out"


def discovery_problems(
    values: Mapping[str, Any], enabled: Iterable[str]
) -> Iterator[str]:
    """Differences between the services discovery lists and those that run.

    Parameters
    ----------
    values
        The effective values (defaults and the environment's).
    enabled
        The enabled service charts.
    """
    enabled = set(enabled)
    if "discovery" not in enabled:
        return
    config = (values.get("discovery") or {}).get("config") or {}
    listed = set(config.get("enabledServices") or [])
    running = {ROUTED_SERVICES[s] for s in enabled if s in ROUTED_SERVICES}
    for name in sorted(listed - running):
        yield f"discovery.config.enabledServices lists {name}, which does not run"
    for name in sorted(running - listed):
        yield f"discovery.config.enabledServices leaves out {name}, which runs"


def _pre_install_weight(obj: KubeObject) -> int | None:
    """The hook weight of a pre-install hook, ``None`` for anything else."""
    annotations = obj["metadata"].get("annotations") or {}
    if "pre-install" not in str(annotations.get("helm.sh/hook", "")).split(","):
        return None
    return int(annotations.get("helm.sh/hook-weight", "0"))


def _secrets_read(obj: KubeObject) -> set[str]:
    """Names of the Secrets a workload's pods read (env, envFrom, volumes)."""
    names: set[str] = set()
    for container in _containers(obj):
        for var in container.get("env") or []:
            ref = (var.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                names.add(str(ref["name"]))
        for source in container.get("envFrom") or []:
            if source.get("secretRef"):
                names.add(str(source["secretRef"]["name"]))
    stack: list[Any] = [obj.get("spec")]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("secret"), dict) and "secretName" in node["secret"]:
                names.add(str(node["secret"]["secretName"]))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return names


def install_order_problems(
    objects: list[KubeObject], release_namespace: str
) -> Iterator[str]:
    """Pre-install hooks that need an object made later than themselves.

    A namespace no object creates, or a Secret no ExternalSecret makes, is
    assumed to exist before the install (made by hand).
    """
    weights: dict[tuple[str, str, str], int | None] = {}
    external: dict[tuple[str, str], KubeObject] = {}
    for obj in objects:
        meta = obj["metadata"]
        namespace = str(meta.get("namespace") or "")
        weights[(obj["kind"], namespace, meta["name"])] = _pre_install_weight(obj)
        if obj["kind"] == "ExternalSecret":
            target = (obj.get("spec") or {}).get("target") or {}
            made = target.get("name") or meta["name"]
            external[(namespace or release_namespace, str(made))] = obj

    def later(key: tuple[str, str, str], weight: int) -> bool:
        """Whether the object ``key`` is rendered and exists only after ``weight``."""
        if key not in weights:
            return False
        before = weights[key]
        return before is None or before >= weight

    for obj in objects:
        weight = _pre_install_weight(obj)
        if weight is None or obj["kind"] not in ("Job", "Pod"):
            continue
        namespace = str(obj["metadata"].get("namespace") or release_namespace)
        where = f"{describe(obj)} in {namespace}"
        if namespace != release_namespace and later(
            ("Namespace", "", namespace), weight
        ):
            yield f"{where} runs before its namespace is created"
        for secret in sorted(_secrets_read(obj)):
            maker = external.get((namespace, secret))
            if maker is None:
                continue
            maker_key = ("ExternalSecret", namespace, maker["metadata"]["name"])
            if later(maker_key, weight):
                yield (
                    f"{where} reads Secret {secret}, which {describe(maker)} makes"
                    " only after the hook (make it an earlier pre-install hook)"
                )
                continue
            maker_weight = weights[maker_key]
            store = maker["spec"].get("secretStoreRef") or {}
            store_kind = store.get("kind", "SecretStore")
            store_namespace = namespace if store_kind == "SecretStore" else ""
            if maker_weight is not None and later(
                (store_kind, store_namespace, str(store.get("name"))), maker_weight
            ):
                yield (
                    f"{where} reads Secret {secret}, whose {store_kind}"
                    f" {store.get('name')} exists only after the hooks"
                )


def lint_environment(
    environment: Environment, umbrella: UmbrellaChart
) -> list[LintProblem]:
    """Every problem of one environment, in the order of :data:`CHECKS`.

    The Helm checks run only when the file meets the model and every
    enabled service has a chart (Helm would only repeat those problems, less
    clearly), and the rendered checks only when Helm lint passes.
    """
    name = environment.name
    problems = [
        LintProblem(name, "values", p) for p in environment.validation_problems()
    ]
    declared = (environment.values.get("global") or {}).get("environment")
    if isinstance(declared, str) and declared != name:
        problems.append(
            LintProblem(
                name,
                "values",
                f"global.environment is {declared!r}, but the file is"
                f" {environment.path.name}",
            )
        )
    missing = [d for d in umbrella.enabled(environment.values) if not d.present]
    problems.extend(
        LintProblem(
            name, "charts", f"{d.name} is enabled, but {d.source} has no Chart.yaml"
        )
        for d in missing
    )
    problems.extend(
        LintProblem(name, "secrets", p) for p in secret_problems(environment.values, [])
    )
    if missing or problems:
        # Helm would fail on the same values, less clearly.
        return problems
    problems.extend(
        LintProblem(name, "minimal", p)
        for p in repeated_defaults(environment.values, umbrella.effective_defaults())
    )
    effective = merge_values(umbrella.effective_defaults(), environment.values)
    problems.extend(
        LintProblem(name, "discovery", p)
        for p in discovery_problems(
            effective, (d.name for d in umbrella.enabled(environment.values))
        )
    )
    helm_problems = umbrella.lint(environment.values)
    problems.extend(LintProblem(name, "helm", p) for p in helm_problems)
    if helm_problems:
        return problems
    try:
        rendered = umbrella.render(environment.values)
    except RenderError as e:
        problems.append(LintProblem(name, "helm", str(e)))
        return problems
    problems.extend(
        LintProblem(name, "routes", p) for p in route_problems(rendered.objects)
    )
    problems.extend(
        LintProblem(name, "secrets", p) for p in secret_problems({}, rendered.objects)
    )
    problems.extend(
        LintProblem(name, "install-order", p)
        for p in install_order_problems(rendered.objects, DEFAULT_NAMESPACE)
    )
    flavour = str(effective["global"].get("ingressFlavour", "nginx"))
    problems.extend(
        LintProblem(name, "ingress", p)
        for p in ingress_problems(
            flavour, environment.values, effective, rendered.objects
        )
    )
    problems.extend(
        LintProblem(name, "tls", p)
        for p in tls_problems(flavour, effective, rendered.objects)
    )
    return problems
