"""The Butler server from lsst-daf-butler[server], as the platform deploys it.

The server runs in this process behind a stand-in ingress that admits
requests by the platform's route table, and a stand-in gateway user-info
(``butler_platform``). The client is the real one: ``Butler("dp01")``
resolved through ``DAF_BUTLER_REPOSITORY_INDEX``, with a token.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import astropy.table
import httpx
import lsst.images as li
import numpy as np
import pytest
import yaml
from butler_platform import PlatformUser, free_port, platform_app, serve
from butler_sample import small_repository
from lsst.daf.butler import Butler
from lsst.daf.butler.remote_butler import RemoteButler
from lsst.daf.butler.remote_butler.server._config import ButlerServerConfig, mock_config
from lsst.daf.butler.remote_butler.server._dependencies import reset_dependency_caches
from rsp_butler.datastore import file_signer
from rsp_butler.repository import CHAINED_COLLECTION
from rsp_butler.server import create_app
from rsp_butler.signing import FileUrlSigner
from rsp_platform.repositories import repository_index, repository_index_url

SIGNING_KEY = secrets.token_urlsafe(32)
USERS = {
    "gt-user": PlatformUser(
        "someuser", "gt-user", "gt-user-delegated", ("read:image",), ("g_users",)
    ),
    "gt-noscope": PlatformUser(
        "other", "gt-noscope", "gt-noscope-d", ("read:tap",), ("g_users",)
    ),
    "gt-outsider": PlatformUser(
        "outsider", "gt-outsider", "gt-outsider-d", ("read:image",), ("g_guests",)
    ),
}


@dataclass(frozen=True)
class Platform:
    """The running miniature platform."""

    url: str
    root: Path


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root = small_repository(tmp_path_factory.mktemp("butler") / "dp01")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    configs = tmp_path_factory.mktemp("configs")
    (configs / "repositories.yaml").write_text(
        yaml.safe_dump(repository_index(base, ["dp01"]))
    )
    repositories = {
        "dp01": {
            "config_uri": str(root / "butler.yaml"),
            "authorized_groups": ["g_users"],
        }
    }
    env = {
        "DAF_BUTLER_SERVER_REPOSITORIES": json.dumps(repositories),
        "DAF_BUTLER_SERVER_GAFAELFAWR_URL": f"{base}/auth",
        "DAF_BUTLER_SERVER_AUTHENTICATION": "rubin_science_platform",
        "DAF_BUTLER_SERVER_STATIC_FILES_PATH": str(configs),
        "RSP_BUTLER_FILES_URL": f"{base}/api/butler/files",
        "RSP_BUTLER_SIGNING_KEY": SIGNING_KEY,
        "DAF_BUTLER_REPOSITORY_INDEX": repository_index_url(base),
        "BUTLER_RUBIN_ACCESS_TOKEN": "gt-user",
    }
    with _environment(env), mock_config(ButlerServerConfig()):
        reset_dependency_caches()
        file_signer.cache_clear()
        app = platform_app(create_app(), USERS)
        with serve(app, port) as url:
            yield Platform(url=url, root=root)
        reset_dependency_caches()
        file_signer.cache_clear()


def test_butler_dp01_reads_a_coadd_and_an_object_table(platform: Platform) -> None:
    # What a lab runs; Butler.__new__ returns the concrete (remote) class.
    remote = Butler("dp01", collections=CHAINED_COLLECTION)  # type: ignore[abstract]
    assert isinstance(remote, RemoteButler)
    data_id = {"skymap": "DC2", "tract": 7, "patch": 5, "band": "r"}
    image = remote.get("deepCoadd", data_id)
    objects = remote.get("objectTable", skymap="DC2", tract=7, patch=5)
    with Butler.from_config(
        str(platform.root), collections=CHAINED_COLLECTION
    ) as direct:
        expected_image = direct.get("deepCoadd", data_id)
        expected_objects = direct.get("objectTable", skymap="DC2", tract=7, patch=5)
    assert isinstance(image, li.MaskedImage)
    np.testing.assert_array_equal(image.image.array, expected_image.image.array)
    assert isinstance(objects, astropy.table.Table)
    assert objects.colnames == expected_objects.colnames
    np.testing.assert_array_equal(objects["objectId"], expected_objects["objectId"])
    refs = remote.query_datasets("deepCoadd", collections=CHAINED_COLLECTION)
    assert len(refs) == 4


def test_index_and_client_configuration_need_no_token(platform: Platform) -> None:
    index = httpx.get(repository_index_url(platform.url))
    assert index.status_code == 200
    assert yaml.safe_load(index.text) == repository_index(platform.url, ["dp01"])
    config = httpx.get(repository_index(platform.url, ["dp01"])["dp01"])
    assert config.status_code == 200
    assert config.json()["cls"] == "lsst.daf.butler.remote_butler.RemoteButler"


def test_the_api_needs_a_token_with_read_image(platform: Platform) -> None:
    url = f"{platform.url}/api/butler/repo/dp01/v1/universe"
    assert httpx.get(url).status_code == 401
    noscope = httpx.get(url, headers={"Authorization": "Bearer gt-noscope"})
    assert noscope.status_code == 403
    ok = httpx.get(url, headers={"Authorization": "Bearer gt-user"})
    assert ok.status_code == 200


def test_forged_identity_headers_are_ignored(platform: Platform) -> None:
    url = f"{platform.url}/api/butler/repo/dp01/v1/universe"
    forged = {
        "X-Auth-Request-User": "someuser",
        "X-Auth-Request-Token": "gt-user-delegated",
    }
    assert httpx.get(url, headers=forged).status_code == 401


def test_groups_come_from_the_gateways_user_info(platform: Platform) -> None:
    url = f"{platform.url}/api/butler/repo/dp01/v1/universe"
    refused = httpx.get(url, headers={"Authorization": "Bearer gt-outsider"})
    assert refused.status_code == 403
    assert "outsider" in refused.json()["detail"]


def _file_url(platform: Platform) -> str:
    with Butler.from_config(
        str(platform.root), collections=CHAINED_COLLECTION
    ) as direct:
        (ref,) = direct.query_datasets("objectTable", tract=7, patch=6, skymap="DC2")
    r = httpx.get(
        f"{platform.url}/api/butler/repo/dp01/v1/get_file/{ref.id}",
        headers={"Authorization": "Bearer gt-user"},
    )
    assert r.status_code == 200, r.text
    (info,) = r.json()["artifact"]["file_info"]
    assert info["auth"] == "none"
    url: str = info["url"]
    return url


def test_files_are_served_through_signed_urls_only(platform: Platform) -> None:
    url = _file_url(platform)
    parsed = urlparse(url)
    assert parsed.path.startswith("/api/butler/files/dp01/")
    served = httpx.get(url)
    assert served.status_code == 200
    relative = parsed.path.removeprefix("/api/butler/files/dp01/")
    assert served.content == (platform.root / relative).read_bytes()
    query = parse_qs(parsed.query)
    tampered = url.replace(query["signature"][0], "A" + query["signature"][0][1:])
    assert httpx.get(tampered).status_code == 403
    other = (
        url.replace("/patch", "/x")
        if "/patch" in url
        else url.replace(relative, relative + "x")
    )
    assert httpx.get(other).status_code == 403
    assert httpx.get(url.split("?")[0]).status_code == 422


def test_expired_and_escaping_urls_are_refused(platform: Platform) -> None:
    signer = FileUrlSigner(SIGNING_KEY.encode(), f"{platform.url}/api/butler/files")
    expired = signer.url_for("dp01", "butler.yaml", 10, now=1_000_000)
    assert httpx.get(expired).status_code == 403
    escaping = signer.url_for("dp01", "../../../etc/passwd", 60)
    assert httpx.get(escaping).status_code == 404
    unknown = signer.url_for("dp02", "butler.yaml", 60)
    assert httpx.get(unknown).status_code == 404
