"""The chart test harness itself: rendering, schema validation, golden files."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from tests.charts.conventions import (
    open_schema_objects,
    schema_values_mismatch,
    undocumented_values,
)
from tests.charts.golden import UPDATE_ENV, compare_golden, dump_objects
from tests.charts.kubeschema import (
    assert_valid,
    crd_validator,
    is_builtin,
    validate_objects,
)
from tests.charts.rendering import (
    KubeObject,
    lint_chart,
    merge_values,
    render_chart,
    split_manifests,
)

TINY = Path(__file__).parent / "fixtures" / "tiny"


def _service(**spec: Any) -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "demo"},
        "spec": {"ports": [{"port": 80}], **spec},
    }


_PRESERVE = {"x-kubernetes-preserve-unknown-fields": True}


def _crd() -> KubeObject:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "required": ["size"],
                                    "properties": {
                                        "size": {"type": "integer"},
                                        "port": {"x-kubernetes-int-or-string": True},
                                        "note": {"type": "string", "nullable": True},
                                        "extra": {"type": "object", **_PRESERVE},
                                    },
                                }
                            },
                        }
                    },
                }
            ],
        },
    }


def _widget(**spec: Any) -> KubeObject:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "labels": {"a": "b"}},
        "spec": {"size": 1, **spec},
    }


def test_valid_builtin_object_passes() -> None:
    report = assert_valid([_service(type="ClusterIP")])
    assert report.validated == ["Service/demo"]
    assert report.problems == report.skipped == []


def test_unknown_field_is_refused_strictly() -> None:
    report = validate_objects([_service(typo=True)])
    assert len(report.problems) == 1
    assert report.problems[0].startswith("Service/demo: spec: ")
    assert "typo" in report.problems[0]


def test_wrong_type_names_the_path() -> None:
    (problem,) = validate_objects([_service(ports=[{"port": "eighty"}])]).problems
    assert problem.startswith("Service/demo: spec.ports.0.port: ")
    with pytest.raises(AssertionError, match=r"spec\.ports\.0\.port"):
        assert_valid([_service(ports=[{"port": "eighty"}])])


def test_unknown_builtin_version_is_a_problem() -> None:
    deployment = {
        "apiVersion": "apps/v2",
        "kind": "Deployment",
        "metadata": {"name": "d"},
    }
    (problem,) = validate_objects([deployment]).problems
    assert "has no Deployment in apps/v2" in problem


def test_custom_resources_are_skipped_without_a_hook() -> None:
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r"},
    }
    assert not is_builtin(route)
    report = validate_objects([route, _service()])
    assert report.skipped == ["HTTPRoute/r"]
    assert report.validated == ["Service/demo"]


def test_hook_validates_custom_resources_against_their_crd() -> None:
    hook = crd_validator([_crd()])
    good = [_widget(), _widget(port="http", note=None, extra={"any": {"thing": 1}})]
    report = validate_objects([*good, _crd()], custom_resources=hook)
    assert report.problems == []
    assert report.validated == [
        "Widget/w",
        "Widget/w",
        "CustomResourceDefinition/widgets.example.com",
    ]
    bad = [
        _widget(size="big"),
        _widget(colour="red"),
        {**_widget(), "spec": {}},
        _widget(port=1.5),
    ]
    problems = validate_objects(bad, custom_resources=hook).problems
    assert len(problems) == 4
    assert problems[0].startswith("Widget/w: spec.size: ")
    assert "colour" in problems[1]
    assert "size" in problems[2]


def test_hook_refuses_unserved_versions_and_leaves_unknown_kinds() -> None:
    hook = crd_validator([_crd()])
    other_version = {**_widget(), "apiVersion": "example.com/v2"}
    assert hook(other_version) == ["the CRD serves no version v2 (serves ['v1'])"]
    crd_less = {
        "apiVersion": "example.com/v1",
        "kind": "Gadget",
        "metadata": {"name": "g"},
    }
    assert hook(crd_less) is None
    assert validate_objects([crd_less], custom_resources=hook).skipped == ["Gadget/g"]
    schemaless = copy.deepcopy(_crd())
    del schemaless["spec"]["versions"][0]["schema"]
    assert crd_validator([schemaless])(_widget()) == [
        "the CRD has no schema for version v1"
    ]


def test_golden_written_when_updating_then_compared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(UPDATE_ENV, raising=False)
    objects = [_service()]
    with pytest.raises(AssertionError, match="no golden file"):
        compare_golden("demo", objects, tmp_path)
    monkeypatch.setenv(UPDATE_ENV, "1")
    compare_golden("demo", objects, tmp_path)
    assert (tmp_path / "demo.yaml").read_text() == dump_objects(objects)
    monkeypatch.delenv(UPDATE_ENV)
    compare_golden("demo", objects, tmp_path)
    with pytest.raises(AssertionError, match=r"(?s)-  - port: 80.*\+  - port: 81"):
        compare_golden("demo", [_service(ports=[{"port": 81}])], tmp_path)


def test_update_env_zero_means_compare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(UPDATE_ENV, "0")
    with pytest.raises(AssertionError, match="no golden file"):
        compare_golden("demo", [_service()], tmp_path)


def test_merge_values_merges_maps_and_replaces_the_rest() -> None:
    merged = merge_values(
        {"a": {"b": 1, "c": [1]}, "d": 1}, {"a": {"c": [2], "e": {"f": 1}}}, {"d": None}
    )
    assert merged == {"a": {"b": 1, "c": [2], "e": {"f": 1}}, "d": None}


def test_split_manifests_skips_notes_and_empty_documents() -> None:
    pairs = split_manifests(
        {
            "c/templates/NOTES.txt": "not: yaml: at all",
            "c/templates/a.yaml": "---\n# nothing\n---\n" + dump_objects([_service()]),
        }
    )
    assert [(t, o["kind"]) for t, o in pairs] == [("c/templates/a.yaml", "Service")]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a: [", "invalid YAML"),
        ("- 1\n", "not an object"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "without a name"),
    ],
)
def test_split_manifests_refuses_broken_output(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        split_manifests({"c/templates/x.yaml": text})


@pytest.mark.helm
def test_render_chart_applies_values_files_in_order(tmp_path: Path) -> None:
    first = tmp_path / "first.yaml"
    first.write_text("greeting: hi\nextra: {a: one, b: two}\n")
    second = tmp_path / "second.yaml"
    second.write_text("extra: {b: deux}\n")
    rendered = render_chart(
        TINY, {"extra": {"c": "trois"}}, values_files=[first, second], release="r"
    )
    assert rendered.chart == "tiny"
    assert [o["kind"] for o in rendered.objects] == ["ConfigMap", "Service"]
    config_map = rendered.get("ConfigMap")
    assert config_map["metadata"] == {"name": "r-tiny", "namespace": "gateway"}
    assert config_map["data"] == {
        "greeting": "hi",
        "a": "one",
        "b": "deux",
        "c": "trois",
    }
    assert rendered.sources["Service/r-tiny"] == "tiny/templates/configmap.yaml"
    assert "r-tiny" in set(rendered.strings())
    with pytest.raises(LookupError, match="0 objects Secret"):
        rendered.get("Secret")


@pytest.mark.helm
def test_render_chart_enforces_values_schema() -> None:
    with pytest.raises(helm.HelmValuesError, match="greting"):
        render_chart(TINY, {"greting": "typo"})


@pytest.mark.helm
def test_lint_reports_problems_only() -> None:
    assert lint_chart(TINY) == []
    assert lint_chart(TINY, {"greeting": 5})


def test_undocumented_values_are_found(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(
        "# -- documented\n"
        "good: 1\n"
        "# a plain comment is not documentation\n"
        "plain: 2\n"
        "bare: 3\n"
        "# -- the whole section is documented\n"
        "resources:\n"
        "  limits:\n"
        "    cpu: 1\n"
        "section:\n"
        "  # -- documented inside\n"
        "  inner: x\n"
        "  other: y  # -- trailing comments do not count\n"
        "  # -- a list\n"
        "  items:\n"
        "    - a\n"
        '  "quoted:key": 1\n'
    )
    assert undocumented_values(values) == [
        "plain",
        "bare",
        "section.other",
        "section.quoted:key",
    ]


def test_open_schema_objects_are_found() -> None:
    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "closed": {
                "type": "object",
                "additionalProperties": False,
                "properties": {},
            },
            "open": {"type": "object", "properties": {"a": {"type": "string"}}},
            "typedMap": {"type": "object", "additionalProperties": {"type": "string"}},
            "anyMap": {"type": "object"},
            "list": {"type": "array", "items": {"type": "object", "properties": {}}},
        },
    }
    assert list(open_schema_objects(schema)) == ["open", "anyMap", "list[]"]


def test_schema_values_mismatch_both_ways() -> None:
    schema = {
        "properties": {
            "a": {"type": "integer"},
            "b": {"type": "object", "properties": {"c": {}, "d": {}}},
            "map": {"type": "object", "additionalProperties": {"type": "string"}},
        }
    }
    values = {"a": 1, "b": {"c": 1, "e": 2}, "map": {"anything": "x"}, "f": 3}
    assert schema_values_mismatch(schema, values) == [
        "b.d: in the schema, not in values.yaml",
        "b.e: in values.yaml, not in the schema",
        "f: in values.yaml, not in the schema",
    ]
