"""The Kubernetes objects a user's lab gets, against golden files."""

from __future__ import annotations

import json

import pytest
from nbtest.catalogs import image_catalog, size_catalog
from nbtest.golden import compare_golden
from rsp_notebooks.builders import (
    LabObjectNames,
    LabUser,
    LabWorkload,
    build_config_map,
    build_network_policy,
    build_pod,
    build_pvc,
    build_secret,
    to_manifest,
)
from rsp_notebooks.labenv import lab_environment
from rsp_notebooks.options import parse_options

TOKEN = "gt-AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB"
DISCOVERY = json.dumps({"ui": {"nublado": "https://data.example.org/nb/"}}, indent=2)


def workload() -> LabWorkload:
    options = parse_options(
        {"image_class": "latest-weekly", "size": "large", "enable_debug": "true"},
        image_catalog(),
        size_catalog(),
    )
    environment = lab_environment(
        instance_url="https://data.example.org",
        token=TOKEN,
        cpu_limit=options.size.cpu_limit,
        memory_limit=options.size.memory_limit_bytes,
        discovery_file="/etc/nublado/discovery/v1.json",
        image=options.image.reference,
        debug=options.enable_debug,
    )
    return LabWorkload(
        user=LabUser(
            username="alice",
            uid=40001,
            gid=40001,
            groups=(("g_users", 50001), ("alice", 40001)),
        ),
        options=options,
        environment=environment,
        namespace="nublado-labs",
        command=["jupyterhub-singleuser", "--debug"],
        hub_environment={
            "JUPYTERHUB_API_TOKEN": "hub-api-token",
            "JUPYTERHUB_API_URL": "http://hub.nublado:8081/nb/hub/api",
            "JUPYTERHUB_USER": "alice",
        },
        labels={"component": "singleuser-server", "hub.jupyter.org/username": "alice"},
        annotations={"hub.jupyter.org/username": "alice"},
        hub_selector={"app.kubernetes.io/component": "hub"},
        proxy_selector={"app.kubernetes.io/component": "proxy"},
        max_age=259200,
    )


def test_pod() -> None:
    pod = to_manifest(build_pod(workload()))
    compare_golden("lab-pod", pod)
    spec = pod["spec"]
    container = spec["containers"][0]
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["runAsNonRoot"] is True
    assert (security["runAsUser"], security["runAsGroup"]) == (40001, 40001)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["supplementalGroups"] == [40001, 50001]
    assert spec["automountServiceAccountToken"] is False
    # Kubernetes ends the lab at the maximum lab age, whatever the culler does.
    assert spec["activeDeadlineSeconds"] == 259200
    assert container["resources"]["limits"] == {
        "cpu": "4",
        "memory": str(16 * 2**30),
    }
    assert container["resources"]["requests"]["cpu"] == "1"
    env = {e["name"]: e for e in container["env"]}
    # Tokens are never in the pod spec, only references to the Secret.
    assert TOKEN not in json.dumps(pod)
    assert "hub-api-token" not in json.dumps(pod)
    assert env["ACCESS_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "nb-alice-lab",
        "key": "ACCESS_TOKEN",
    }
    assert env["CPU_LIMIT"]["value"] == "4"
    assert env["DEBUG"]["value"] == "TRUE"
    assert env["HOME"]["value"] == "/home/alice"
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["home"]["persistentVolumeClaim"]["claimName"] == "nb-alice-home"
    assert volumes["discovery"]["configMap"]["name"] == "nb-alice-lab"


def test_pvc_has_a_stable_name() -> None:
    pvc = to_manifest(build_pvc(workload()))
    compare_golden("lab-pvc", pvc)
    assert pvc["metadata"]["name"] == "nb-alice-home"
    # Nothing version-dependent in the name: a home survives upgrades.
    assert LabObjectNames("alice").home == "nb-alice-home"


def test_secret() -> None:
    secret = to_manifest(build_secret(workload()))
    compare_golden("lab-secret", secret)
    assert secret["stringData"] == {
        "ACCESS_TOKEN": TOKEN,
        "JUPYTERHUB_API_TOKEN": "hub-api-token",
    }


def test_config_map() -> None:
    config_map = to_manifest(build_config_map(workload(), DISCOVERY))
    compare_golden("lab-configmap", config_map)
    assert json.loads(config_map["data"]["v1.json"]) == json.loads(DISCOVERY)


def test_network_policy() -> None:
    policy = to_manifest(build_network_policy(workload()))
    compare_golden("lab-networkpolicy", policy)
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchLabels": {"rsp.platform/user": "alice"}}
    sources = spec["ingress"][0]["from"]
    assert {"podSelector": {"matchLabels": {"app.kubernetes.io/component": "hub"}}} in (
        sources
    )
    outside = spec["egress"][2]["to"][0]["ipBlock"]
    assert "10.0.0.0/8" in outside["except"]


@pytest.mark.parametrize(("uid", "gid"), [(0, 1000), (1000, 0), (-1, 5)])
def test_labs_never_run_as_root(uid: int, gid: int) -> None:
    with pytest.raises(ValueError, match="never run as root"):
        LabUser(username="alice", uid=uid, gid=gid)


def test_names_fit_kubernetes() -> None:
    with pytest.raises(ValueError, match="cannot name lab objects"):
        LabObjectNames("a" * 49)
    assert len(LabObjectNames("a" * 48).lab) <= 63
