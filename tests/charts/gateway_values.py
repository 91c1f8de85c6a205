"""What the gateway chart tests share: its values files and a simulated pod.

:func:`pod_environment` resolves a rendered container's environment the way
the kubelet does (``secretKeyRef`` from a Secret, then ``$(VAR)`` expansion),
so tests can start the gateway's configuration loader on exactly what a pod
would see.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from rsp_gateway.models.token import Token

from .rendering import CHARTS_DIR, KubeObject

__all__ = [
    "CHART",
    "PROD_VALUES",
    "ROUTES_FILE",
    "SECRET_KEYS",
    "container",
    "dummy_secret",
    "pod_environment",
]

CHART = CHARTS_DIR / "gateway"
"""The gateway chart."""

PROD_VALUES = Path(__file__).parent / "values" / "gateway-prod.yaml"
"""Production-like values (data.lsst.cloud)."""

ROUTES_FILE = CHART / "files" / "routes.yaml"
"""The gateway's routes, generated from the platform's route table."""

SECRET_KEYS = frozenset(
    {
        "session-secret",
        "token-hash-key",
        "database-password",
        "database-url",
        "redis-password",
        "github-client-secret",
        "bootstrap-token",
    }
)
"""Every key of the gateway's Secret that the chart may reference."""

_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def dummy_secret() -> dict[str, str]:
    """Fresh, well-formed values for every key of the gateway's Secret."""
    return {
        "session-secret": Fernet.generate_key().decode(),
        "token-hash-key": secrets.token_urlsafe(32),
        "database-password": secrets.token_hex(16),
        "database-url": "postgresql+asyncpg://gw:" + secrets.token_hex(8) + "@db/gw",
        "redis-password": secrets.token_hex(16),
        "github-client-secret": secrets.token_hex(20),
        "bootstrap-token": str(Token.generate()),
    }


def pod_environment(
    container: Mapping[str, Any], secret_name: str, secret: Mapping[str, str]
) -> dict[str, str]:
    """The environment a container gets, as the kubelet would build it.

    Raises
    ------
    KeyError
        If the container references another Secret, a missing key, or
        something other than a literal value or a ``secretKeyRef``.
    """
    env: dict[str, str] = {}
    for var in container.get("env") or []:
        if "valueFrom" in var:
            ref = var["valueFrom"]["secretKeyRef"]
            if ref["name"] != secret_name:
                raise KeyError(f"{var['name']} reads Secret {ref['name']}")
            env[var["name"]] = secret[ref["key"]]
        else:
            value = str(var["value"])
            env[var["name"]] = _REFERENCE.sub(
                lambda m: env.get(m.group(1), m.group(0)), value
            )
    return env


def container(obj: KubeObject) -> dict[str, Any]:
    """The one container of a Deployment, Job or CronJob."""
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    (only,) = spec["template"]["spec"]["containers"]
    result: dict[str, Any] = only
    return result
