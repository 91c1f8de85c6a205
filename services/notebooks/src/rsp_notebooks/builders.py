"""Kubernetes objects of a user's lab, built by pure functions.

Options and user information in, ``kubernetes_asyncio`` models out; nothing
here talks to a cluster, so every object a user gets is tested as a golden
file. The spawner (:mod:`rsp_notebooks.spawner`) only sequences the API calls.

A user ``alice`` gets, in the labs' namespace:

- Pod ``nb-alice``: the lab, running as the user's uid/gid, non-root, no
  privilege escalation, all capabilities dropped, with the size's requests
  and limits, ended by Kubernetes at the maximum lab age (its token lives
  at least that long);
- PersistentVolumeClaim ``nb-alice-home``: the home directory. Its name
  never changes (it does not depend on chart or hub versions), so a home
  survives upgrades; stopping a lab keeps it, deleting the user removes it;
- Secret ``nb-alice-lab``: ``ACCESS_TOKEN`` (the notebook token) and the
  hub API token, referenced by the pod's environment;
- ConfigMap ``nb-alice-lab``: the discovery document, mounted as a file;
- NetworkPolicy ``nb-alice-lab``: only the hub and the proxy may reach the
  lab; the lab may reach the hub, DNS and addresses outside the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kubernetes_asyncio.client import (
    V1Capabilities,
    V1ConfigMap,
    V1ConfigMapVolumeSource,
    V1Container,
    V1ContainerPort,
    V1EmptyDirVolumeSource,
    V1EnvVar,
    V1EnvVarSource,
    V1IPBlock,
    V1LabelSelector,
    V1NetworkPolicy,
    V1NetworkPolicyEgressRule,
    V1NetworkPolicyIngressRule,
    V1NetworkPolicyPeer,
    V1NetworkPolicyPort,
    V1NetworkPolicySpec,
    V1ObjectMeta,
    V1PersistentVolumeClaim,
    V1PersistentVolumeClaimSpec,
    V1PersistentVolumeClaimVolumeSource,
    V1Pod,
    V1PodSecurityContext,
    V1PodSpec,
    V1ResourceRequirements,
    V1SeccompProfile,
    V1Secret,
    V1SecretKeySelector,
    V1SecurityContext,
    V1Volume,
    V1VolumeMount,
    V1VolumeResourceRequirements,
)

from .labenv import DISCOVERY_FILE_NAME, LabEnvironment
from .options import LabOptions

__all__ = [
    "DISCOVERY_DIR",
    "HUB_SECRET_VARIABLES",
    "LAB_PORT_NAME",
    "LabObjectNames",
    "LabUser",
    "LabWorkload",
    "build_config_map",
    "build_network_policy",
    "build_pod",
    "build_pvc",
    "build_secret",
    "to_manifest",
]

DISCOVERY_DIR = "/etc/nublado/discovery"
"""Where the discovery document is mounted in a lab."""

HUB_SECRET_VARIABLES: frozenset[str] = frozenset(
    {"JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN"}
)
"""Variables of JupyterHub's lab environment that are secrets too."""

_LAB_PORT = 8888
LAB_PORT_NAME = "notebook-port"
"""Name of the lab's port: KubeSpawner finds the lab's URL by it."""
_PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


@dataclass(frozen=True)
class LabObjectNames:
    """Stable names of a user's objects (usernames are DNS labels)."""

    username: str

    def __post_init__(self) -> None:
        if not self.username or len(self.username) > 48:
            raise ValueError(f"user name {self.username!r} cannot name lab objects")

    @property
    def pod(self) -> str:
        """The lab's pod."""
        return f"nb-{self.username}"

    @property
    def home(self) -> str:
        """The home PersistentVolumeClaim."""
        return f"nb-{self.username}-home"

    @property
    def lab(self) -> str:
        """Secret, ConfigMap and NetworkPolicy of the lab."""
        return f"nb-{self.username}-lab"


@dataclass(frozen=True)
class LabUser:
    """Who the lab runs for, as the gateway's user-info says."""

    username: str
    uid: int
    gid: int
    groups: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        if self.uid <= 0 or self.gid <= 0:
            raise ValueError("labs never run as root: uid and gid must be positive")


@dataclass(frozen=True)
class LabWorkload:
    """Everything a lab's objects are made from."""

    user: LabUser
    options: LabOptions
    environment: LabEnvironment
    namespace: str
    command: Sequence[str]
    hub_environment: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    home_size: str = "10Gi"
    storage_class: str | None = None
    hub_selector: Mapping[str, str] = field(default_factory=dict)
    proxy_selector: Mapping[str, str] = field(default_factory=dict)
    image_pull_policy: str = "IfNotPresent"
    node_selector: Mapping[str, str] = field(default_factory=dict)
    max_age: int | None = None
    """Seconds after which Kubernetes ends the pod, culler or not."""

    @property
    def names(self) -> LabObjectNames:
        """The stable names of the user's objects."""
        return LabObjectNames(self.user.username)

    @property
    def home_dir(self) -> str:
        """The user's home directory in the lab."""
        return f"/home/{self.user.username}"

    def object_labels(self) -> dict[str, str]:
        """Labels of every object: the spawner's and the platform's."""
        return {
            **self.labels,
            "app.kubernetes.io/name": "lab",
            "app.kubernetes.io/part-of": "notebooks",
            "rsp.platform/user": self.user.username,
        }

    def secret_values(self) -> dict[str, str]:
        """Variables kept in the Secret: the notebook and hub API tokens."""
        values = dict(self.environment.secrets)
        values.update(
            {k: v for k, v in self.hub_environment.items() if k in HUB_SECRET_VARIABLES}
        )
        return values


def _metadata(workload: LabWorkload, name: str) -> V1ObjectMeta:
    return V1ObjectMeta(
        name=name, namespace=workload.namespace, labels=workload.object_labels()
    )


def _env(workload: LabWorkload) -> list[V1EnvVar]:
    hub = workload.hub_environment
    plain = {k: v for k, v in hub.items() if k not in HUB_SECRET_VARIABLES}
    plain.update(workload.environment.variables)
    plain["HOME"] = workload.home_dir
    plain["USER"] = workload.user.username
    env = [V1EnvVar(name=k, value=v) for k, v in sorted(plain.items())]
    secret_name = workload.names.lab
    env.extend(
        V1EnvVar(
            name=k,
            value_from=V1EnvVarSource(
                secret_key_ref=V1SecretKeySelector(name=secret_name, key=k)
            ),
        )
        for k in sorted(workload.secret_values())
    )
    return env


def build_pod(workload: LabWorkload) -> V1Pod:
    """The lab's pod."""
    size = workload.options.size
    names = workload.names
    resources = V1ResourceRequirements(
        requests={
            "cpu": f"{size.cpu_request:g}",
            "memory": str(size.memory_request_bytes),
        },
        limits={"cpu": f"{size.cpu_limit:g}", "memory": str(size.memory_limit_bytes)},
    )
    container = V1Container(
        name="notebook",
        image=workload.options.image.reference,
        image_pull_policy=workload.image_pull_policy,
        args=list(workload.command),
        env=_env(workload),
        ports=[V1ContainerPort(name=LAB_PORT_NAME, container_port=_LAB_PORT)],
        resources=resources,
        working_dir=workload.home_dir,
        security_context=V1SecurityContext(
            allow_privilege_escalation=False,
            capabilities=V1Capabilities(drop=["ALL"]),
            privileged=False,
            run_as_non_root=True,
            run_as_user=workload.user.uid,
            run_as_group=workload.user.gid,
            read_only_root_filesystem=True,
        ),
        volume_mounts=[
            V1VolumeMount(name="home", mount_path=workload.home_dir),
            V1VolumeMount(name="discovery", mount_path=DISCOVERY_DIR, read_only=True),
            V1VolumeMount(name="tmp", mount_path="/tmp"),  # noqa: S108 (a mount)
        ],
    )
    metadata = _metadata(workload, names.pod)
    metadata.annotations = {
        **workload.annotations,
        "rsp.platform/image": workload.options.image.reference,
        "rsp.platform/size": size.name,
    }
    return V1Pod(
        api_version="v1",
        kind="Pod",
        metadata=metadata,
        spec=V1PodSpec(
            containers=[container],
            active_deadline_seconds=workload.max_age,
            automount_service_account_token=False,
            enable_service_links=False,
            restart_policy="OnFailure",
            node_selector=dict(workload.node_selector) or None,
            security_context=V1PodSecurityContext(
                run_as_non_root=True,
                run_as_user=workload.user.uid,
                run_as_group=workload.user.gid,
                fs_group=workload.user.gid,
                supplemental_groups=sorted({gid for _, gid in workload.user.groups})
                or None,
                seccomp_profile=V1SeccompProfile(type="RuntimeDefault"),
            ),
            volumes=[
                V1Volume(
                    name="home",
                    persistent_volume_claim=V1PersistentVolumeClaimVolumeSource(
                        claim_name=names.home
                    ),
                ),
                V1Volume(
                    name="discovery",
                    config_map=V1ConfigMapVolumeSource(name=names.lab),
                ),
                V1Volume(
                    name="tmp", empty_dir=V1EmptyDirVolumeSource(size_limit="1Gi")
                ),
            ],
        ),
    )


def build_pvc(workload: LabWorkload) -> V1PersistentVolumeClaim:
    """The user's home volume (kept when the lab stops)."""
    metadata = _metadata(workload, workload.names.home)
    metadata.labels = {
        k: v for k, v in workload.object_labels().items() if not k.startswith("hub.")
    }
    return V1PersistentVolumeClaim(
        api_version="v1",
        kind="PersistentVolumeClaim",
        metadata=metadata,
        spec=V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            resources=V1VolumeResourceRequirements(
                requests={"storage": workload.home_size}
            ),
            storage_class_name=workload.storage_class,
        ),
    )


def build_secret(workload: LabWorkload) -> V1Secret:
    """The lab's tokens."""
    return V1Secret(
        api_version="v1",
        kind="Secret",
        metadata=_metadata(workload, workload.names.lab),
        type="Opaque",
        string_data=dict(sorted(workload.secret_values().items())),
    )


def build_config_map(workload: LabWorkload, discovery: str) -> V1ConfigMap:
    """The discovery document, as the file ``v1.json`` (where lsst.rsp reads it)."""
    return V1ConfigMap(
        api_version="v1",
        kind="ConfigMap",
        metadata=_metadata(workload, workload.names.lab),
        data={DISCOVERY_FILE_NAME: discovery},
    )


def build_network_policy(workload: LabWorkload) -> V1NetworkPolicy:
    """Who may talk to the lab, and to whom the lab may talk."""
    hub = V1NetworkPolicyPeer(
        pod_selector=V1LabelSelector(match_labels=dict(workload.hub_selector))
    )
    proxy = V1NetworkPolicyPeer(
        pod_selector=V1LabelSelector(match_labels=dict(workload.proxy_selector))
    )
    dns_ports = [
        V1NetworkPolicyPort(protocol="UDP", port=53),
        V1NetworkPolicyPort(protocol="TCP", port=53),
    ]
    outside = V1NetworkPolicyPeer(
        ip_block=V1IPBlock(cidr="0.0.0.0/0", _except=list(_PRIVATE_NETWORKS))
    )
    return V1NetworkPolicy(
        api_version="networking.k8s.io/v1",
        kind="NetworkPolicy",
        metadata=_metadata(workload, workload.names.lab),
        spec=V1NetworkPolicySpec(
            pod_selector=V1LabelSelector(
                match_labels={"rsp.platform/user": workload.user.username}
            ),
            policy_types=["Ingress", "Egress"],
            ingress=[
                V1NetworkPolicyIngressRule(
                    _from=[hub, proxy],
                    ports=[V1NetworkPolicyPort(protocol="TCP", port=_LAB_PORT)],
                )
            ],
            egress=[
                V1NetworkPolicyEgressRule(to=[hub]),
                V1NetworkPolicyEgressRule(ports=dns_ports),
                V1NetworkPolicyEgressRule(to=[outside]),
            ],
        ),
    )


def to_manifest(obj: Any) -> Any:
    """A ``kubernetes_asyncio`` model as the plain data Kubernetes reads."""
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    if isinstance(obj, list | tuple):
        return [to_manifest(o) for o in obj]
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, Mapping):
        return {k: to_manifest(v) for k, v in obj.items()}
    attribute_map: dict[str, str] = obj.attribute_map
    return {
        attribute_map[attr]: to_manifest(value)
        for attr in obj.openapi_types
        if (value := getattr(obj, attr)) is not None
    }
