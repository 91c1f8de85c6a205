"""``rsp-platform env lint``: what can be wrong with an environment, found early.

Each check has an id (:data:`CHECKS`) and reports :class:`LintProblem` s:

``values``
    The file breaks the model of an environment (an unknown key, a wrong
    type, a base URL on another host), or names another environment.
``charts``
    A service the environment enables has no chart in ``charts/``.
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
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..secretscan import env_secret_values, find_secret_values
from .layout import Environment
from .manifests import KubeObject, describe
from .umbrella import RenderError, UmbrellaChart

__all__ = [
    "CHECKS",
    "LintProblem",
    "lint_environment",
    "route_problems",
    "secret_problems",
]

CHECKS: dict[str, str] = {
    "values": "the file meets the environment model (no unknown key)",
    "charts": "every enabled service has its chart",
    "helm": "helm lint --strict of the umbrella chart with the values",
    "routes": "every route that asks for scopes names at least one",
    "secrets": "no secret value in the values or in what they render",
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


def lint_environment(
    environment: Environment, umbrella: UmbrellaChart
) -> list[LintProblem]:
    """Every problem of one environment, in the order of :data:`CHECKS`.

    The Helm checks run only when every enabled service has a chart (Helm
    would only repeat that), and the rendered checks only when Helm lint
    passes (there is nothing to render otherwise).
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
    if missing:
        return problems
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
    return problems
