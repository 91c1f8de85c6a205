"""The policy checker: a compliant workload passes, each rule catches its breach."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.charts.policy import (
    RULES,
    PolicyExemption,
    PolicyViolation,
    assert_policy,
    check_policy,
    selector_matches,
)
from tests.charts.rendering import KubeObject
from tests.charts.secret_scan import (
    find_secret_values,
    name_suggests_secret,
    value_looks_secret,
)

LABELS = {"app.kubernetes.io/name": "demo", "app.kubernetes.io/instance": "demo"}


def _container(name: str = "app") -> dict[str, Any]:
    return {
        "name": name,
        "image": "ghcr.io/example/demo:1.2.3",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
        },
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "256Mi"},
        },
        "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}},
        "readinessProbe": {"httpGet": {"path": "/health", "port": 8080}},
        "env": [
            {"name": "LOG_LEVEL", "value": "INFO"},
            {
                "name": "SESSION_SECRET",
                "valueFrom": {
                    "secretKeyRef": {"name": "demo", "key": "session-secret"}
                },
            },
        ],
    }


def _pod_spec() -> dict[str, Any]:
    return {
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 1000,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container()],
    }


def _deployment() -> KubeObject:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "demo", "namespace": "demo"},
        "spec": {
            "selector": {"matchLabels": LABELS},
            "template": {"metadata": {"labels": dict(LABELS)}, "spec": _pod_spec()},
        },
    }


def _network_policy() -> KubeObject:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "demo", "namespace": "demo"},
        "spec": {"podSelector": {"matchLabels": LABELS}, "policyTypes": ["Ingress"]},
    }


def _config_map(data: dict[str, str]) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "demo", "namespace": "demo"},
        "data": data,
    }


def _good() -> list[KubeObject]:
    return [_deployment(), _network_policy(), _config_map({"config.yaml": "a: 1\n"})]


def _pod(objects: list[KubeObject]) -> dict[str, Any]:
    spec: dict[str, Any] = objects[0]["spec"]["template"]["spec"]
    return spec


def _main(objects: list[KubeObject]) -> dict[str, Any]:
    container: dict[str, Any] = _pod(objects)["containers"][0]
    return container


def _set_root(o: list[KubeObject]) -> None:
    _pod(o)["securityContext"]["runAsUser"] = 0


def _no_non_root(o: list[KubeObject]) -> None:
    del _pod(o)["securityContext"]["runAsNonRoot"]


def _container_overrides_root(o: list[KubeObject]) -> None:
    _main(o)["securityContext"]["runAsNonRoot"] = False


def _escalation(o: list[KubeObject]) -> None:
    del _main(o)["securityContext"]["allowPrivilegeEscalation"]


def _no_drop(o: list[KubeObject]) -> None:
    _main(o)["securityContext"]["capabilities"] = {"drop": ["NET_RAW"]}


def _add_capability(o: list[KubeObject]) -> None:
    _main(o)["securityContext"]["capabilities"]["add"] = ["SYS_ADMIN"]


def _privileged(o: list[KubeObject]) -> None:
    _main(o)["securityContext"]["privileged"] = True


def _host_network(o: list[KubeObject]) -> None:
    _pod(o)["hostNetwork"] = True


def _host_path(o: list[KubeObject]) -> None:
    _pod(o)["volumes"] = [{"name": "root", "hostPath": {"path": "/"}}]


def _unconfined(o: list[KubeObject]) -> None:
    _pod(o)["securityContext"]["seccompProfile"] = {"type": "Unconfined"}


def _writable_root(o: list[KubeObject]) -> None:
    _main(o)["securityContext"]["readOnlyRootFilesystem"] = False


def _no_limits(o: list[KubeObject]) -> None:
    del _main(o)["resources"]["limits"]


def _no_memory_request(o: list[KubeObject]) -> None:
    del _main(o)["resources"]["requests"]["memory"]


def _no_liveness(o: list[KubeObject]) -> None:
    del _main(o)["livenessProbe"]


def _no_readiness(o: list[KubeObject]) -> None:
    del _main(o)["readinessProbe"]


def _latest(o: list[KubeObject]) -> None:
    _main(o)["image"] = "ghcr.io/example/demo:latest"


def _untagged(o: list[KubeObject]) -> None:
    _main(o)["image"] = "registry.example.com:5000/demo"


def _secret_in_config(o: list[KubeObject]) -> None:
    o[2]["data"]["config.yaml"] = "database:\n  password: hunter2hunter2\n"


def _token_in_config(o: list[KubeObject]) -> None:
    o[2]["data"]["note"] = "use gt-" + "a" * 22 + "." + "b" * 22


def _url_password_in_config(o: list[KubeObject]) -> None:
    o[2]["data"]["database_url"] = "postgresql://gw:s3cret@db:5432/gw"


def _secret_env(o: list[KubeObject]) -> None:
    _main(o)["env"].append(
        {"name": "GITHUB_CLIENT_SECRET", "value": "abcdef0123456789"}
    )


def _secret_shaped_env(o: list[KubeObject]) -> None:
    _main(o)["env"].append({"name": "DSN", "value": "redis://:pw1234@redis:6379/0"})


def _secret_object(o: list[KubeObject]) -> None:
    o.append(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "demo"},
            "stringData": {"session-secret": "x"},
        }
    )


def _no_network_policy(o: list[KubeObject]) -> None:
    del o[1]


def _policy_selects_others(o: list[KubeObject]) -> None:
    o[1]["spec"]["podSelector"] = {"matchLabels": {"app.kubernetes.io/name": "other"}}


def _policy_in_other_namespace(o: list[KubeObject]) -> None:
    o[1]["metadata"]["namespace"] = "elsewhere"


BREACHES: list[tuple[str, Callable[[list[KubeObject]], None]]] = [
    ("non-root", _set_root),
    ("non-root", _no_non_root),
    ("non-root", _container_overrides_root),
    ("privilege-escalation", _escalation),
    ("capabilities", _no_drop),
    ("capabilities", _add_capability),
    ("privileged", _privileged),
    ("privileged", _host_network),
    ("privileged", _host_path),
    ("seccomp", _unconfined),
    ("read-only-root", _writable_root),
    ("resources", _no_limits),
    ("resources", _no_memory_request),
    ("probes", _no_liveness),
    ("probes", _no_readiness),
    ("image-tag", _latest),
    ("image-tag", _untagged),
    ("secret-in-config", _secret_in_config),
    ("secret-in-config", _token_in_config),
    ("secret-in-config", _url_password_in_config),
    ("secret-in-env", _secret_env),
    ("secret-in-env", _secret_shaped_env),
    ("secret-object", _secret_object),
    ("network-policy", _no_network_policy),
    ("network-policy", _policy_selects_others),
    ("network-policy", _policy_in_other_namespace),
]


def test_compliant_workload_passes() -> None:
    assert check_policy(_good()) == []
    assert_policy(_good())


def test_every_rule_has_a_breach_case() -> None:
    assert {rule for rule, _ in BREACHES} == set(RULES)


@pytest.mark.parametrize(
    ("rule", "breach"), BREACHES, ids=[f"{r}-{b.__name__[1:]}" for r, b in BREACHES]
)
def test_rule_catches_breach(
    rule: str, breach: Callable[[list[KubeObject]], None]
) -> None:
    objects = copy.deepcopy(_good())
    breach(objects)
    violations = check_policy(objects)
    assert {v.rule for v in violations} == {rule}, [str(v) for v in violations]
    with pytest.raises(AssertionError, match=rf"\[{rule}\]"):
        assert_policy(objects)


def test_violation_names_object_and_container() -> None:
    objects = _good()
    _latest(objects)
    (violation,) = check_policy(objects)
    assert violation == PolicyViolation(
        "image-tag",
        "Deployment/demo",
        "image 'ghcr.io/example/demo:latest' uses the latest tag",
        container="app",
    )
    assert str(violation).startswith("[image-tag] Deployment/demo container app:")


def test_messages_never_repeat_secret_values() -> None:
    objects = _good()
    _secret_in_config(objects)
    _secret_env(objects)
    text = "\n".join(str(v) for v in check_policy(objects))
    assert "hunter2" not in text
    assert "abcdef0123456789" not in text


def test_container_settings_override_pod_settings() -> None:
    objects = _good()
    _pod(objects)["securityContext"] = {}
    _main(objects)["securityContext"].update(
        runAsNonRoot=True, runAsUser=10001, seccompProfile={"type": "Localhost"}
    )
    assert check_policy(objects) == []


def test_jobs_need_no_probes_but_everything_else() -> None:
    job_spec = _pod_spec()
    for probe in ("livenessProbe", "readinessProbe"):
        del job_spec["containers"][0][probe]
    cron_job: KubeObject = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "demo-maintenance", "namespace": "demo"},
        "spec": {
            "schedule": "@hourly",
            "jobTemplate": {
                "spec": {"template": {"metadata": {"labels": LABELS}, "spec": job_spec}}
            },
        },
    }
    assert check_policy([cron_job, _network_policy()]) == []
    job_spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False
    assert [v.rule for v in check_policy([cron_job, _network_policy()])] == [
        "read-only-root"
    ]


def test_init_containers_are_checked() -> None:
    objects = _good()
    init = _container("setup")
    init["image"] = "busybox"
    _pod(objects)["initContainers"] = [init]
    violations = check_policy(objects)
    assert [(v.rule, v.container) for v in violations] == [("image-tag", "setup")]


def test_exemption_waives_one_rule_for_one_object() -> None:
    objects = _good()
    _writable_root(objects)
    _latest(objects)
    exemption = PolicyExemption(
        "read-only-root", "Deployment/demo", "writes its cache in place"
    )
    violations = check_policy(objects, exemptions=[exemption])
    assert [v.rule for v in violations] == ["image-tag"]
    other = PolicyExemption("read-only-root", "Deployment/other", "not this one")
    assert len(check_policy(objects, exemptions=[other])) == 2


def test_exemption_needs_known_rule_and_reason() -> None:
    with pytest.raises(ValueError, match="unknown rule"):
        PolicyExemption("no-such-rule", "Deployment/demo", "because")
    with pytest.raises(ValueError, match="reason"):
        PolicyExemption("probes", "Deployment/demo", " ")


def test_unnamespaced_objects_use_release_namespace() -> None:
    objects = _good()
    for obj in objects:
        del obj["metadata"]["namespace"]
    assert check_policy(objects, namespace="demo") == []
    objects[1]["metadata"]["namespace"] = "other"
    assert [v.rule for v in check_policy(objects, namespace="demo")] == [
        "network-policy"
    ]


@pytest.mark.parametrize(
    ("selector", "selected"),
    [
        ({}, True),
        ({"matchLabels": {"app": "a"}}, True),
        ({"matchLabels": {"app": "b"}}, False),
        (
            {"matchExpressions": [{"key": "app", "operator": "In", "values": ["a"]}]},
            True,
        ),
        (
            {
                "matchExpressions": [
                    {"key": "app", "operator": "NotIn", "values": ["a"]}
                ]
            },
            False,
        ),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, True),
    ],
)
def test_selector_matches(selector: dict[str, Any], selected: bool) -> None:
    assert selector_matches(selector, {"app": "a"}) is selected


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("session_secret", True),
        ("RSP_GATEWAY_TOKEN_HASH_KEY", True),
        ("githubClientSecret", True),
        ("database-password", True),
        ("notebook_token_lifetime", False),
        ("cookie_name", False),
        ("client_id", False),
        ("RSP_GATEWAY_CONFIG_PATH", False),
        ("key", False),
        ("topologyKey", False),
        ("apiKey", True),
        ("signing-key", True),
    ],
)
def test_name_suggests_secret(name: str, secret: bool) -> None:
    assert name_suggests_secret(name) is secret


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("gt-" + "A" * 22 + "." + "b" * 22, "gateway token"),
        ("-----BEGIN RSA PRIVATE KEY-----", "private key"),
        ("postgresql+asyncpg://gw:pw@db/gw", "password in URL"),
        ("ghp_" + "a1" * 18, "GitHub token"),
        ("x" * 43 + "=", "Fernet key"),
        ("postgresql+asyncpg://gw:$(DATABASE_PASSWORD)@db/gw", None),
        ("https://github.com/login/oauth/authorize", None),
        ("sha256:" + "0" * 64, None),
        ("Create and manage your own tokens", None),
    ],
)
def test_value_looks_secret(value: str, kind: str | None) -> None:
    assert value_looks_secret(value) == kind


def test_scopes_and_durations_are_not_secrets() -> None:
    config: dict[str, Any] = {
        "known_scopes": {"user:token": "Create and manage your own tokens"},
        "group_mapping": {"user:token": ["org-team"]},
        "notebook_token_lifetime": "P7D",
        "github": {"client_id": "Iv1.0123456789abcdef"},
    }
    assert find_secret_values(config) == []
    config["github"]["client_secret"] = "0123456789abcdef0123"
    assert find_secret_values(config) == [
        "github.client_secret: value under a secret-sounding name"
    ]
