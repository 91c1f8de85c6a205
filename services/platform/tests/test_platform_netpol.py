"""NetworkPolicy evaluation used by env lint and the environment tests."""

from __future__ import annotations

from typing import Any

import pytest
from rsp_platform.environments.netpol import policy_admits, selector_matches

HUB_ONLY = {"key": "component", "operator": "In", "values": ["hub"]}
POLICY: dict[str, Any] = {
    "metadata": {"namespace": "tap"},
    "spec": {
        "ingress": [
            {"from": [{"podSelector": {"matchLabels": {"app": "nginx"}}}]},
            {
                "from": [
                    {"ipBlock": {"cidr": "10.0.0.0/8"}},
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "nublado"}
                        },
                        "podSelector": {"matchExpressions": [HUB_ONLY]},
                    },
                ]
            },
        ],
        "egress": [{"to": []}],
    },
}


@pytest.mark.parametrize(
    ("namespace", "labels", "admitted"),
    [
        ("tap", {"app": "nginx"}, True),  # no namespace selector: the policy's own
        ("other", {"app": "nginx"}, False),
        ("nublado", {"component": "hub"}, True),
        ("nublado", {"component": "lab"}, False),
        ("nublado", {}, False),  # an ipBlock peer never names a pod
    ],
)
def test_ingress_peers(namespace: str, labels: dict[str, str], admitted: bool) -> None:
    assert policy_admits(POLICY, "ingress", namespace, labels) is admitted


def test_a_rule_without_peers_admits_everyone() -> None:
    assert policy_admits(POLICY, "egress", "anywhere", {"any": "pod"})


def test_no_rules_admit_nobody() -> None:
    policy = {"metadata": {"namespace": "tap"}, "spec": {"podSelector": {}}}
    assert not policy_admits(policy, "ingress", "tap", {})
    assert not policy_admits(policy, "egress", "tap", {})


def test_selector_operators() -> None:
    labels = {"app": "a"}
    assert selector_matches({}, labels)
    assert not selector_matches(
        {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["a"]}]},
        labels,
    )
    exists = {"key": "app", "operator": "Exists"}
    assert selector_matches({"matchExpressions": [exists]}, labels)
    assert not selector_matches(
        {"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, labels
    )
