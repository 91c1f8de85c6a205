"""Uploads by URL reach only public addresses (no server-side request forgery)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import httpx
import pytest
from httpx import AsyncClient
from pydantic import ValidationError
from rsp_tap.config import Config
from rsp_tap.exceptions import UploadError, UploadUrlRefusedError
from rsp_tap.storage import remote
from rsp_tap.storage.remote import address_refusal, fetch_public_url

from .conftest import TAP
from .fake_backend import FakeBackend
from .uws import UWS, create_job, wait_for_phase
from .votables import error_message

PUBLIC = "93.184.215.14"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("169.254.169.254", "a cloud metadata service"),
        ("::ffff:169.254.169.254", "a cloud metadata service"),
        ("fd00:ec2::254", "a cloud metadata service"),
        ("100.64.0.1", "shared (carrier-grade NAT)"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved, not globally routable"),
        ("192.0.2.10", "reserved, not globally routable"),
        ("198.18.0.1", "reserved, not globally routable"),
        (PUBLIC, None),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None),
    ],
)
def test_address_refusal(address: str, reason: str | None) -> None:
    assert address_refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", None),
        ("10.1.2.3", None),
        ("fe80::1", None),
        ("169.254.169.254", "a cloud metadata service"),
        ("fd00:ec2::254", "a cloud metadata service"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved, not globally routable"),
        (PUBLIC, None),
    ],
)
def test_address_refusal_with_private_networks_allowed(
    address: str, reason: str | None
) -> None:
    assert address_refusal(ipaddress.ip_address(address), allow_private=True) == reason


def test_private_networks_only_in_the_local_environment(
    make_config: Callable[..., Config],
) -> None:
    assert make_config(upload_url_allow_private_networks=True)
    with pytest.raises(ValidationError, match="allowed only when environment"):
        make_config(environment="idfprod", upload_url_allow_private_networks=True)
    assert make_config().upload_url_allow_private_networks is False


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("http://127.0.0.1:8080/t.xml", "address 127.0.0.1, which is loopback"),
        ("http://localhost/t.xml", "which is loopback"),
        ("http://[::1]:8000/t.xml", "address ::1, which is loopback"),
        ("http://[::ffff:7f00:1]/t.xml", "which is loopback"),
        ("http://10.0.0.7/t.xml", "address 10.0.0.7, which is private"),
        ("https://192.168.0.2/t.xml", "which is private"),
        (
            "http://169.254.169.254/computeMetadata/v1/",
            "which is a cloud metadata service",
        ),
        ("http://2130706433/t.xml", "which is loopback"),
    ],
)
async def test_internal_urls_are_refused(
    client: AsyncClient, backend: FakeBackend, uri: str, message: str
) -> None:
    response = await client.post(
        f"{TAP}/sync",
        data={
            "LANG": "ADQL",
            "QUERY": "SELECT * FROM TAP_UPLOAD.t",
            "UPLOAD": f"t,{uri}",
        },
    )
    assert response.status_code == 400
    text = error_message(response.content)
    assert message in text
    assert "fetched only from public addresses" in text
    assert backend.queries == []


async def test_async_job_with_internal_url_ends_in_error(client: AsyncClient) -> None:
    job_id = await create_job(
        client,
        QUERY="SELECT * FROM TAP_UPLOAD.t",
        UPLOAD="t,http://127.0.0.1:9/t.xml",
        PHASE="RUN",
    )
    job = await wait_for_phase(client, job_id, "ERROR", "COMPLETED")
    assert job.findtext(f"{UWS}phase") == "ERROR"
    message = job.findtext(f"{UWS}errorSummary/{UWS}message") or ""
    assert "which is loopback" in message


class _Sky:
    """Fake DNS and web for the redirect checks: names map to addresses."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.requests: list[httpx.Request] = []

    async def resolve(
        self, host: str, port: int
    ) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        if host not in self.names:
            try:
                return [ipaddress.ip_address(host)]  # as getaddrinfo does
            except ValueError:
                raise OSError("no such host") from None
        return [ipaddress.ip_address(a) for a in self.names[host]]

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        host = request.headers["host"]
        if request.url.path == "/to-private.xml":
            return httpx.Response(302, headers={"Location": "http://inside.test/x"})
        if request.url.path == "/to-metadata.xml":
            return httpx.Response(
                307, headers={"Location": "http://169.254.169.254/latest/meta-data"}
            )
        if request.url.path == "/hop.xml":
            return httpx.Response(302, headers={"Location": "http://other.test/t.xml"})
        return httpx.Response(200, content=f"table from {host}".encode())


@pytest.fixture
def sky(monkeypatch: pytest.MonkeyPatch) -> _Sky:
    fake = _Sky(
        {
            "tables.test": [PUBLIC],
            "other.test": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
            "inside.test": ["10.20.30.40"],
            "split.test": [PUBLIC, "127.0.0.1"],
        }
    )
    monkeypatch.setattr(remote, "_resolve", fake.resolve)
    return fake


async def _fetch(sky: _Sky, uri: str, *, allow_private: bool = False) -> bytes:
    async with httpx.AsyncClient(transport=httpx.MockTransport(sky.handler)) as http:
        return await fetch_public_url(
            http, "t", uri, max_bytes=1000, timeout=5, allow_private=allow_private
        )


async def test_fetch_connects_to_the_checked_address(sky: _Sky) -> None:
    assert await _fetch(sky, "https://tables.test:8443/t.xml") == (
        b"table from tables.test:8443"
    )
    request = sky.requests[-1]
    # The connection goes to the address that was checked, not to a new
    # DNS answer; the name travels in Host and as the TLS server name.
    assert request.url.host == PUBLIC
    assert request.url.port == 8443
    assert request.extensions["sni_hostname"] == "tables.test"


async def test_redirects_are_followed_to_public_addresses(sky: _Sky) -> None:
    assert await _fetch(sky, "http://tables.test/hop.xml") == b"table from other.test"
    assert [r.url.host for r in sky.requests] == [
        PUBLIC,
        "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
    ]


async def test_redirects_to_internal_addresses_are_refused(sky: _Sky) -> None:
    with pytest.raises(
        UploadUrlRefusedError, match=r"10\.20\.30\.40, which is private"
    ):
        await _fetch(sky, "http://tables.test/to-private.xml")
    with pytest.raises(UploadUrlRefusedError, match="cloud metadata service"):
        await _fetch(sky, "http://tables.test/to-metadata.xml", allow_private=True)
    # The refused hop was never requested.
    assert all(r.url.host == PUBLIC for r in sky.requests)


async def test_every_address_of_a_name_is_checked(sky: _Sky) -> None:
    with pytest.raises(UploadUrlRefusedError, match=r"127\.0\.0\.1, which is loopback"):
        await _fetch(sky, "http://split.test/t.xml")
    with pytest.raises(UploadError, match="does not resolve"):
        await _fetch(sky, "http://nowhere.test/t.xml")
    assert sky.requests == []
