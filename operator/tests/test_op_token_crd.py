"""The ServiceToken CRD and the operator's model of its spec agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml
from pydantic import ValidationError
from rsp_operator import GROUP, VERSION
from rsp_operator.tokens.models import ServiceTokenSpec, parse_duration

CRD = Path(__file__).parents[2] / "charts" / "operator" / "crds" / "servicetokens.yaml"


def _schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    assert crd["spec"]["group"] == GROUP
    (version,) = crd["spec"]["versions"]
    assert version["name"] == VERSION
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def _crd_accepts(spec: dict[str, Any]) -> bool:
    spec_schema = _schema()["properties"]["spec"]
    return bool(jsonschema_rs.validator_for(spec_schema).is_valid(spec))


def test_spec_fields_match_model() -> None:
    crd_fields = set(_schema()["properties"]["spec"]["properties"])
    model_fields = {
        field.alias or name for name, field in ServiceTokenSpec.model_fields.items()
    }
    assert crd_fields == model_fields


@pytest.mark.parametrize(
    "spec",
    [
        {"username": "bot-a", "scopes": []},
        {"username": "bot-tap-checker", "scopes": ["read:tap", "exec:notebook"]},
        {
            "username": "bot-mobu",
            "scopes": ["exec:notebook"],
            "lifetime": "P30D",
            "rotateBefore": "PT12H",
            "secretLabels": {"app": "mobu"},
            "secretAnnotations": {"example.org/x": "y"},
        },
    ],
)
def test_valid_specs_pass_both(spec: dict[str, Any]) -> None:
    assert _crd_accepts(spec)
    ServiceTokenSpec.model_validate(spec)


@pytest.mark.parametrize(
    "spec",
    [
        {"username": "alice", "scopes": []},
        {"username": "bot-", "scopes": []},
        {"username": "bot-a", "scopes": ["read tap"]},
        {"username": "bot-a", "scopes": [], "lifetime": "30 days"},
        {"username": "bot-a", "scopes": [], "lifetime": "PT"},
        {"username": "bot-a"},
    ],
)
def test_invalid_specs_fail_both(spec: dict[str, Any]) -> None:
    assert not _crd_accepts(spec)
    with pytest.raises(ValidationError):
        ServiceTokenSpec.model_validate(spec)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("P30D", 30 * 86400), ("PT12H", 43200), ("P1DT2H3M4S", 93784), ("PT90S", 90)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "PT0S", "1D", "P1W", "P-1D"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match=r"ISO 8601|longer than zero"):
        parse_duration(text)
