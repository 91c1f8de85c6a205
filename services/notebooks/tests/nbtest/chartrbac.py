"""What the notebooks chart lets the hub do in the labs' namespace.

The chart's spawner Role, rendered with the real Helm engine, as the
``(apiGroup, resource, verb)`` triples the fake API server then enforces:
a call the Role does not grant is answered 403, as in a cluster.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import helm_python as helm
from rsp_platform.environments.manifests import split_manifests

__all__ = ["HUB_USER", "spawner_rules"]

CHART = Path(__file__).resolve().parents[4] / "charts" / "notebooks"
HUB_USER = "system:serviceaccount:nublado:notebooks-hub"
"""Who the hub is to the API server (its ServiceAccount)."""


@cache
def spawner_rules() -> frozenset[tuple[str, str, str]]:
    """The verbs the chart's spawner Role grants, per API group and resource."""
    with helm.Chart.load(CHART) as chart:
        manifests = chart.render(
            {}, name="notebooks", namespace="nublado", is_install=True
        )
    roles = [
        obj
        for _, obj in split_manifests(manifests)
        if obj["kind"] == "Role" and obj["metadata"]["name"] == "notebooks-spawner"
    ]
    assert len(roles) == 1, "the chart has no spawner Role"
    return frozenset(
        (group, resource, verb)
        for rule in roles[0]["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    )
