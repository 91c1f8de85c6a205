"""The notebooks chart agrees with the hub it deploys and the route table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rsp_notebooks.options import ImageCatalog, SizeCatalog
from rsp_notebooks.settings import CONFIG_PATH_ENV, load_settings

from tests.charts.kubeschema import assert_valid
from tests.charts.platform_ingress import spec_by_path
from tests.charts.rendering import CHARTS_DIR, RenderedChart, render_chart

pytestmark = pytest.mark.helm

CHART = CHARTS_DIR / "notebooks"
PROD = {
    "global": {"baseUrl": "https://data.example.org", "host": "data.example.org"},
    "hub": {"db": {"fromSecret": True}},
    "config": {"labNamespace": "nublado-labs"},
    "images": {
        "images": [
            {"reference": "ghcr.io/org/lab:r29.2.0", "tag": "r29.2.0"},
            {"reference": "ghcr.io/org/lab:w_2026_46", "tag": "w_2026_46"},
        ],
        "classes": {
            "recommended": "r29.2.0",
            "latest-release": "r29.2.0",
            "latest-weekly": "w_2026_46",
            "latest-daily": "w_2026_46",
        },
    },
}


def render(values: dict[str, Any] | None = None) -> RenderedChart:
    return render_chart(CHART, values or {}, release="notebooks", namespace="nublado")


def test_hub_settings_load_in_the_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = render(PROD)
    paths = []
    for name, key in (
        ("notebooks-hub", "notebooks.yaml"),
        ("notebooks-images", "images.yaml"),
        ("notebooks-sizes", "sizes.yaml"),
    ):
        path = tmp_path / key
        path.write_text(rendered.get("ConfigMap", name)["data"][key])
        paths.append(str(path))
    monkeypatch.setenv(CONFIG_PATH_ENV, ":".join(paths))
    monkeypatch.setenv("RSP_NOTEBOOKS_DB_URL", "postgresql://hub@db/hub")
    settings = load_settings()
    assert settings.mode == "kubernetes"
    assert settings.instance_url == "https://data.example.org"
    assert settings.namespace == "nublado-labs"
    assert settings.db_url == "postgresql://hub@db/hub"
    assert settings.proxy_api_url.startswith("http://notebooks-proxy-api.nublado.")
    catalog = ImageCatalog.from_config(settings.images)
    assert [i.tag for i in catalog.images] == ["r29.2.0", "w_2026_46"]
    sizes = SizeCatalog.from_config(settings.sizes, settings.default_size)
    assert [s.name for s in sizes.sizes] == ["small", "medium", "large"]
    # The hub reads its secrets from the Secret, never from values.
    env = rendered.get("Deployment", "notebooks-hub")["spec"]["template"]["spec"][
        "containers"
    ][0]["env"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in env if "valueFrom" in e}
    assert set(refs) == {
        "JUPYTERHUB_CRYPT_KEY",
        "CONFIGPROXY_AUTH_TOKEN",
        "RSP_NOTEBOOKS_DB_URL",
    }


def test_spawner_rbac_is_the_least_it_needs() -> None:
    rendered = render(PROD)
    role = rendered.get("Role", "notebooks-spawner")
    assert role["metadata"]["namespace"] == "nublado-labs"
    rules = {
        (rule["apiGroups"][0], resource): set(rule["verbs"])
        for rule in role["rules"]
        for resource in rule["resources"]
    }
    assert rules == {
        ("", "pods"): {"get", "list", "watch", "create", "delete"},
        ("", "events"): {"get", "list", "watch"},
        ("", "persistentvolumeclaims"): {"get", "create", "delete"},
        ("", "secrets"): {"create", "update", "delete"},
        ("", "configmaps"): {"create", "delete"},
        ("networking.k8s.io", "networkpolicies"): {"create", "delete"},
    }
    assert not rendered.of_kind("ClusterRole")
    binding = rendered.get("RoleBinding", "notebooks-spawner")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "notebooks-hub", "namespace": "nublado"}
    ]
    hub = rendered.get("Deployment", "notebooks-hub")["spec"]["template"]["spec"]
    assert hub["serviceAccountName"] == "notebooks-hub"
    proxy = rendered.get("Deployment", "notebooks-proxy")["spec"]["template"]["spec"]
    assert proxy["automountServiceAccountToken"] is False


def test_routes_need_exec_notebook_and_reach_the_proxy() -> None:
    rendered = render(PROD)
    specs = spec_by_path(rendered)
    assert set(specs) == {"/nb/hub", "/nb/user"}
    for path, spec in specs.items():
        assert (spec["access"], spec["scopes"]) == ("scopes", ["exec:notebook"])
        # The lab gets a notebook token; browsers go to /login; the lab and
        # its kernels talk over WebSockets.
        assert spec["notebook"] is True
        assert spec["loginRedirect"] is True
        assert spec["websocket"] is True
        assert "delegateTo" not in spec
        assert ("minimumLifetime" in spec) == (path == "/nb/hub")
        assert spec["backend"] == {"service": "proxy-public", "port": 80}
        assert spec["host"] == "data.example.org"
    assert rendered.get("Service", "proxy-public")["spec"]["ports"][0]["port"] == 80
    assert rendered.of_kind("Ingress") == []


def test_hub_token_outlives_the_longest_lab() -> None:
    rendered = render(PROD)
    hub = spec_by_path(rendered)["/nb/hub"]
    settings = yaml.safe_load(
        rendered.get("ConfigMap", "notebooks-hub")["data"]["notebooks.yaml"]
    )
    assert hub["minimumLifetime"] >= settings["max_lab_age"] + settings["cull_every"]


def test_lab_options_are_their_own_config_maps() -> None:
    rendered = render()
    images = yaml.safe_load(
        rendered.get("ConfigMap", "notebooks-images")["data"]["images.yaml"]
    )
    assert ImageCatalog.from_config(images["images"]).by_class is not None
    sizes = yaml.safe_load(
        rendered.get("ConfigMap", "notebooks-sizes")["data"]["sizes.yaml"]
    )
    assert sizes["default_size"] == "medium"
    assert SizeCatalog.from_config(sizes["sizes"], sizes["default_size"])


def test_lab_objects_of_the_spawner_are_valid_kubernetes() -> None:
    # The golden files of rsp_notebooks.builders: what a user's lab gets.
    golden = Path(__file__).parents[2] / "services/notebooks/tests/golden"
    objects = [yaml.safe_load(p.read_text()) for p in sorted(golden.glob("lab-*.yaml"))]
    assert {o["kind"] for o in objects} == {
        "ConfigMap",
        "NetworkPolicy",
        "PersistentVolumeClaim",
        "Pod",
        "Secret",
    }
    assert_valid(objects)
