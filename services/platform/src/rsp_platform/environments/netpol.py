"""What a NetworkPolicy lets through, as Kubernetes evaluates it.

Used by ``rsp-platform env lint`` (the ingress proxy must reach every routed
service) and by the chart and environment tests (services must reach what
they call). Only selectors count here: ``ipBlock`` peers never name a pod,
and ports are not considered ("on some port").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

__all__ = ["policy_admits", "selector_matches"]

_NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether a label selector selects ``labels`` (an empty one selects all)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or []
        present = key in labels
        if (
            (operator == "In" and not (present and labels[key] in values))
            or (operator == "NotIn" and present and labels[key] in values)
            or (operator == "Exists" and not present)
            or (operator == "DoesNotExist" and present)
        ):
            return False
    return True


def policy_admits(
    policy: Mapping[str, Any],
    direction: Literal["ingress", "egress"],
    namespace: str,
    labels: Mapping[str, str],
) -> bool:
    """Whether the policy's ``direction`` rules (``ingress`` from, ``egress``
    to) let a pod with these labels in ``namespace`` through, on some port.

    A rule without peers admits everyone; a peer without a namespace
    selector means the policy's own namespace.
    """
    own = (policy.get("metadata") or {}).get("namespace")
    peers_key = "from" if direction == "ingress" else "to"
    for rule in (policy.get("spec") or {}).get(direction) or []:
        peers = rule.get(peers_key)
        if not peers:
            return True
        for peer in peers:
            if "ipBlock" in peer:
                continue
            selector = peer.get("namespaceSelector")
            in_namespace = (
                namespace == own
                if selector is None
                else selector_matches(selector, {_NAMESPACE_NAME_LABEL: namespace})
            )
            if in_namespace and selector_matches(peer.get("podSelector") or {}, labels):
                return True
    return False
