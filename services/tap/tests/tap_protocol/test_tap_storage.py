"""Result storage: local files, and GCS signed URLs made offline."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.oauth2 import service_account
from rsp_tap.exceptions import ResultNotFoundError
from rsp_tap.storage.results import GcsResultStore, LocalResultStore, result_key


def _fake_credentials() -> service_account.Credentials:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": "tap@test-project.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    credentials: service_account.Credentials = (
        service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call]
    )
    return credentials


def test_gcs_signed_url_needs_no_network() -> None:
    client = storage.Client(project="test-project", credentials=_fake_credentials())
    store = GcsResultStore(
        client, "rsp-tap-results", prefix="results/", url_lifetime=timedelta(minutes=5)
    )
    url = store.signed_url(result_key("abc123", "parquet"))
    parts = urlsplit(url)
    assert parts.scheme == "https"
    assert parts.hostname == "storage.googleapis.com"
    assert parts.path == "/rsp-tap-results/results/abc123/result.parquet"
    query = parse_qs(parts.query)
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert query["X-Goog-Expires"] == ["300"]
    assert query["X-Goog-Credential"][0].startswith(
        "tap@test-project.iam.gserviceaccount.com/"
    )
    assert len(query["X-Goog-Signature"][0]) == 512
    # The URL authorises itself: nothing of the user's goes with it.
    assert "Authorization" not in url


def test_gcs_refuses_foreign_keys() -> None:
    client = storage.Client(project="test-project", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    store = GcsResultStore(client, "bucket")
    with pytest.raises(ResultNotFoundError):
        store.signed_url("../../etc/passwd")


async def test_local_store_round_trip(tmp_path: Path) -> None:
    store = LocalResultStore(tmp_path, "http://localhost:8000/api/tap/results")
    key = result_key("job1", "xml")
    await store.store(key, b"<VOTABLE/>", "application/x-votable+xml")
    assert store.path(key).read_bytes() == b"<VOTABLE/>"
    assert (
        await store.url(key) == "http://localhost:8000/api/tap/results/job1/result.xml"
    )
    await store.delete(key)
    with pytest.raises(ResultNotFoundError):
        store.path(key)
    assert not (tmp_path / "job1").exists()
    await store.delete(key)
    with pytest.raises(ResultNotFoundError):
        await store.url("job1/../../secret")
