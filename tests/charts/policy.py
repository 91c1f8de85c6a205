"""The platform's rules for every rendered workload, as data.

:func:`check_policy` takes the objects of one or more rendered charts and
returns every :class:`PolicyViolation`; :func:`assert_policy` fails a test
with all of them listed. A rule that a workload cannot meet is waived per
object with a :class:`PolicyExemption` that states why.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rsp_platform.environments.netpol import selector_matches

from .rendering import KubeObject
from .secret_scan import env_secret_values, find_secret_values

__all__ = [
    "RULES",
    "PodSpecSite",
    "PolicyExemption",
    "PolicyViolation",
    "assert_policy",
    "check_policy",
    "pod_specs",
    "selector_matches",
]

RULES: dict[str, str] = {
    "non-root": "containers run as a non-root user (runAsNonRoot, runAsUser > 0)",
    "privilege-escalation": "allowPrivilegeEscalation is false",
    "capabilities": "capabilities drop ALL and add nothing but NET_BIND_SERVICE",
    "privileged": "no privileged containers, host namespaces or hostPath volumes",
    "seccomp": "seccomp profile RuntimeDefault or Localhost",
    "read-only-root": "readOnlyRootFilesystem is true",
    "resources": "cpu and memory requests and limits",
    "probes": "long-running containers have liveness and readiness probes",
    "image-tag": "images carry a tag other than latest, or a digest",
    "secret-in-config": "no secret values in ConfigMaps",
    "secret-in-env": "secrets reach containers only through secretKeyRef",
    "secret-object": "charts do not render Secrets with data",
    "network-policy": "a NetworkPolicy selects every workload's pods",
}
"""Every rule: id -> what it requires."""

_LONG_RUNNING = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"})
_ALLOWED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})


@dataclass(frozen=True)
class PolicyViolation:
    """One rule broken by one object (and container)."""

    rule: str
    obj: str
    """``Kind/name`` of the object."""
    message: str
    container: str | None = None

    def __str__(self) -> str:
        where = f"{self.obj} container {self.container}" if self.container else self.obj
        return f"[{self.rule}] {where}: {self.message}"


@dataclass(frozen=True)
class PolicyExemption:
    """A rule waived for one object (``Kind/name``), with the reason."""

    rule: str
    obj: str
    reason: str
    container: str | None = None

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown rule {self.rule!r}")
        if not self.reason.strip():
            raise ValueError("an exemption needs a reason")

    def covers(self, violation: PolicyViolation) -> bool:
        """Whether this exemption waives ``violation``."""
        return (
            self.rule == violation.rule
            and self.obj == violation.obj
            and self.container in (None, violation.container)
        )


@dataclass(frozen=True)
class PodSpecSite:
    """A pod template inside a workload object."""

    obj: KubeObject
    spec: dict[str, Any]
    labels: dict[str, str]

    @property
    def name(self) -> str:
        """``Kind/name`` of the workload."""
        return f"{self.obj['kind']}/{self.obj['metadata']['name']}"

    @property
    def long_running(self) -> bool:
        """Whether the pods are meant to keep running (probes apply)."""
        return self.obj["kind"] in _LONG_RUNNING


def pod_specs(objects: Iterable[KubeObject]) -> Iterator[PodSpecSite]:
    """The pod spec of every workload (Pod, Deployment, Job, CronJob, ...)."""
    for obj in objects:
        kind = obj.get("kind")
        spec = obj.get("spec") or {}
        if kind == "Pod":
            yield PodSpecSite(obj, spec, obj["metadata"].get("labels") or {})
            continue
        if kind == "CronJob":
            spec = (spec.get("jobTemplate") or {}).get("spec") or {}
        elif kind not in _LONG_RUNNING | {"Job"}:
            continue
        template = spec.get("template") or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        yield PodSpecSite(obj, template.get("spec") or {}, labels)


def _containers(spec: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], bool]]:
    """Containers and init containers, with whether each is an init container."""
    for container in spec.get("initContainers") or []:
        yield container, True
    for container in spec.get("containers") or []:
        yield container, False


def _effective(pod: Mapping[str, Any], container: Mapping[str, Any], key: str) -> Any:
    """A security setting as the kubelet applies it: container over pod."""
    own = (container.get("securityContext") or {}).get(key)
    return own if own is not None else (pod.get("securityContext") or {}).get(key)


def _check_container(
    site: PodSpecSite, container: Mapping[str, Any], *, init: bool
) -> Iterator[tuple[str, str]]:
    pod = site.spec
    security = container.get("securityContext") or {}
    if _effective(pod, container, "runAsNonRoot") is not True:
        yield "non-root", "runAsNonRoot is not true"
    user = _effective(pod, container, "runAsUser")
    if not isinstance(user, int) or user <= 0:
        yield "non-root", f"runAsUser is {user!r}, not a user id above 0"
    if security.get("allowPrivilegeEscalation") is not False:
        yield "privilege-escalation", "allowPrivilegeEscalation is not false"
    capabilities = security.get("capabilities") or {}
    if "ALL" not in (capabilities.get("drop") or []):
        yield "capabilities", "capabilities do not drop ALL"
    added = set(capabilities.get("add") or []) - _ALLOWED_CAPABILITIES
    if added:
        yield "capabilities", f"adds capabilities {sorted(added)}"
    if security.get("privileged"):
        yield "privileged", "privileged container"
    seccomp = _effective(pod, container, "seccompProfile") or {}
    if seccomp.get("type") not in ("RuntimeDefault", "Localhost"):
        yield "seccomp", f"seccomp profile is {seccomp.get('type')!r}"
    if security.get("readOnlyRootFilesystem") is not True:
        yield "read-only-root", "readOnlyRootFilesystem is not true"
    resources = container.get("resources") or {}
    for section in ("requests", "limits"):
        missing = [
            r for r in ("cpu", "memory") if r not in (resources.get(section) or {})
        ]
        if missing:
            yield "resources", f"no {section} for {', '.join(missing)}"
    if site.long_running and not init:
        for probe in ("livenessProbe", "readinessProbe"):
            if not container.get(probe):
                yield "probes", f"no {probe}"
    image = str(container.get("image", ""))
    if "@sha256:" not in image:
        last = image.rsplit("/", 1)[-1]
        tag = last.partition(":")[2]
        if not tag:
            yield "image-tag", f"image {image!r} has no tag"
        elif tag == "latest":
            yield "image-tag", f"image {image!r} uses the latest tag"
    for problem in env_secret_values(container.get("env") or [], "env"):
        yield "secret-in-env", problem


def _check_pod(site: PodSpecSite) -> Iterator[PolicyViolation]:
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if site.spec.get(key):
            yield PolicyViolation("privileged", site.name, f"{key} is true")
    for volume in site.spec.get("volumes") or []:
        if "hostPath" in volume:
            yield PolicyViolation(
                "privileged", site.name, f"volume {volume.get('name')} is a hostPath"
            )
    for container, init in _containers(site.spec):
        name = str(container.get("name"))
        for rule, message in _check_container(site, container, init=init):
            yield PolicyViolation(rule, site.name, message, container=name)


def _namespace(obj: KubeObject, default: str) -> str:
    return str(obj.get("metadata", {}).get("namespace") or default)


def _check_network_policies(
    objects: list[KubeObject], sites: list[PodSpecSite], namespace: str
) -> Iterator[PolicyViolation]:
    policies = [o for o in objects if o.get("kind") == "NetworkPolicy"]
    for site in sites:
        ns = _namespace(site.obj, namespace)
        selecting = [
            p
            for p in policies
            if _namespace(p, namespace) == ns
            and selector_matches(
                p.get("spec", {}).get("podSelector") or {}, site.labels
            )
        ]
        if not selecting:
            yield PolicyViolation(
                "network-policy",
                site.name,
                f"no NetworkPolicy in {ns} selects its pods",
            )


def _check_config(obj: KubeObject) -> Iterator[PolicyViolation]:
    name = f"{obj['kind']}/{obj['metadata']['name']}"
    if obj["kind"] == "ConfigMap":
        for section in ("data", "binaryData"):
            for problem in find_secret_values(obj.get(section) or {}, section):
                yield PolicyViolation("secret-in-config", name, problem)
    elif obj["kind"] == "Secret" and (obj.get("data") or obj.get("stringData")):
        yield PolicyViolation("secret-object", name, "Secret rendered with data")


def check_policy(
    objects: Iterable[KubeObject],
    *,
    exemptions: Iterable[PolicyExemption] = (),
    namespace: str = "default",
) -> list[PolicyViolation]:
    """Every violation of :data:`RULES` in the objects, minus the exempted ones.

    Parameters
    ----------
    objects
        Rendered objects (one chart, or a whole environment).
    exemptions
        Rules waived for particular objects, each with its reason.
    namespace
        Namespace of objects that name none (the release namespace).
    """
    objects = list(objects)
    exemptions = list(exemptions)
    sites = list(pod_specs(objects))
    violations: list[PolicyViolation] = []
    for site in sites:
        violations.extend(_check_pod(site))
    for obj in objects:
        violations.extend(_check_config(obj))
    violations.extend(_check_network_policies(objects, sites, namespace))
    return [v for v in violations if not any(e.covers(v) for e in exemptions)]


def assert_policy(
    objects: Iterable[KubeObject],
    *,
    exemptions: Iterable[PolicyExemption] = (),
    namespace: str = "default",
) -> None:
    """Fail with every violation listed, if there is any."""
    violations = check_policy(objects, exemptions=exemptions, namespace=namespace)
    if violations:
        raise AssertionError(
            "policy violations:\n  " + "\n  ".join(str(v) for v in violations)
        )
