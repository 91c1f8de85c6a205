"""What the gateway chart tests share: its chart, values files and Secret.

The chart by variant is :data:`tests.charts.service_charts.GATEWAY`, the
generic pieces (renders by variant, the simulated pod) are in
:mod:`tests.charts.workloads`; ``container`` and ``pod_environment`` are
re-exported here for the tests that import them from this module.
"""

from __future__ import annotations

import datetime
import secrets

from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from rsp_gateway.models.token import Token

from .service_charts import GATEWAY
from .workloads import container, pod_environment

__all__ = [
    "CHART",
    "GATEWAY",
    "PROD_VALUES",
    "SECRET_KEYS",
    "container",
    "dummy_secret",
    "pod_environment",
]

CHART = GATEWAY.chart
"""The gateway chart."""

(PROD_VALUES,) = GATEWAY.variants["prod"]
"""Production-like values (data.lsst.cloud)."""

SECRET_KEYS = frozenset(
    {
        "session-secret",
        "token-hash-key",
        "database-password",
        "database-url",
        "redis-password",
        "redis-ca",
        "github-client-secret",
        "bootstrap-token",
    }
)
"""Every key of the gateway's Secret that the chart may reference."""


def _ca_certificate() -> str:
    """A fresh self-signed CA certificate, PEM (what Memorystore hands out)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Redis test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def dummy_secret() -> dict[str, str]:
    """Fresh, well-formed values for every key of the gateway's Secret."""
    return {
        "session-secret": Fernet.generate_key().decode(),
        "token-hash-key": secrets.token_urlsafe(32),
        "database-password": secrets.token_hex(16),
        "database-url": "postgresql+asyncpg://gw:" + secrets.token_hex(8) + "@db/gw",
        "redis-password": secrets.token_hex(16),
        "redis-ca": _ca_certificate(),
        "github-client-secret": secrets.token_hex(20),
        "bootstrap-token": str(Token.generate()),
    }
