"""Redis over TLS: the gateway verifies the server against a configured CA.

A real ``redis-server`` runs TLS only (no plain port) with ``requirepass``,
as Memorystore does with AUTH and in-transit encryption, on certificates
made here by a throwaway CA. Two servers: one whose certificate names
``localhost`` and ``127.0.0.1`` in its subjectAltName, and one whose
certificate names its address only in the subject's CN, as Memorystore's
do (so only a CA check, not a host name check, can accept it).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from pydantic import SecretStr
from rsp_gateway.config import Config
from rsp_gateway.factory import ProcessContext
from rsp_gateway.storage.fanout import RedisTLS, TokenEventChannel
from rsp_platform.settings import ConfigurationError, load_settings
from support.tls_redis import (
    TestCA,
    TlsRedis,
    make_ca,
    redis_server_path,
    start_tls_redis,
)

PASSWORD = "tls-test-" + secrets.token_hex(12)
SECRET = "k" * 32
BROKEN_PEM = b"""-----BEGIN CERTIFICATE-----
bm90IGEgY2VydA==
-----END CERTIFICATE-----
"""


class Pki:
    """The CAs and certificates of this module's servers."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ca: TestCA = make_ca(directory, "right")
        self.wrong: TestCA = make_ca(directory, "wrong")
        self.named = self.ca.issue(
            directory,
            "named",
            common_name="localhost",
            dns_names=("localhost",),
            ip_addresses=("127.0.0.1",),
        )
        self.cn_only = self.ca.issue(directory, "cn-only", common_name="10.20.1.4")

    def bundle(self, *cas: TestCA) -> Path:
        """One PEM file holding the certificates of ``cas``, in order."""
        path = self.directory / ("-".join(c.name for c in cas) + "-bundle.pem")
        path.write_bytes(b"".join(c.cert_file.read_bytes() for c in cas))
        return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, a wrong CA, and the two server certificates."""
    return Pki(tmp_path_factory.mktemp("redis-tls-pki"))


def _server(pki: Pki, directory: Path, cert: tuple[Path, Path]) -> Iterator[TlsRedis]:
    program = redis_server_path()
    if program is None:
        pytest.fail("redis-server is not installed (scripts/bootstrap.sh installs it)")
    server = start_tls_redis(
        program,
        directory,
        cert_file=cert[0],
        key_file=cert[1],
        ca_file=pki.ca.cert_file,
        password=PASSWORD,
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def tls_redis(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedis]:
    """TLS-only Redis whose certificate names localhost and 127.0.0.1."""
    yield from _server(pki, tmp_path_factory.mktemp("redis-tls-named"), pki.named)


@pytest.fixture(scope="module")
def cn_only_redis(
    pki: Pki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TlsRedis]:
    """TLS-only Redis whose certificate names an address in its CN only."""
    yield from _server(pki, tmp_path_factory.mktemp("redis-tls-cn"), pki.cn_only)


def _channel(url: str, tls: RedisTLS | None, prefix: str) -> TokenEventChannel:
    return TokenEventChannel(
        url, prefix=prefix, secret=SECRET, ping_interval=0.2, tls=tls
    )


async def _subscribes(channel: TokenEventChannel, within: float = 5.0) -> bool:
    channel.start()
    try:
        async with asyncio.timeout(within):
            return await channel.wait_subscribed()
    except TimeoutError:
        return False


def _verified_client(server: TlsRedis, pki: Pki) -> redis.Redis:
    return redis.Redis.from_url(
        server.url(), ssl_ca_certs=str(pki.ca.cert_file), decode_responses=True
    )


# Connecting with the right CA


async def test_revocation_goes_through_over_tls(
    tls_redis: TlsRedis, pki: Pki, redis_prefix: str
) -> None:
    tls = RedisTLS(ca_file=pki.ca.cert_file)
    revoker = _channel(tls_redis.url(), tls, redis_prefix)
    listener = _channel(tls_redis.url(), tls, redis_prefix)
    evicted = asyncio.Event()

    def on_evict(keys: list[str]) -> None:
        if keys == ["tls-token-key"]:
            evicted.set()

    listener.on_evict = on_evict
    try:
        assert await _subscribes(revoker)
        assert await _subscribes(listener)
        await revoker.invalidate(["tls-token-key"], tombstone_ttl=60)
        async with asyncio.timeout(5):
            await evicted.wait()
        assert revoker.unpublished == frozenset()
    finally:
        await revoker.aclose()
        await listener.aclose()
    client = _verified_client(tls_redis, pki)
    try:
        assert client.get(f"{redis_prefix}:token:tls-token-key") == "-"
        client.delete(f"{redis_prefix}:token:tls-token-key")
    finally:
        client.close()


async def test_a_bundle_of_several_cas_is_accepted(
    tls_redis: TlsRedis, pki: Pki, redis_prefix: str
) -> None:
    """During a CA rotation the file holds the old and the new CA."""
    bundle = pki.bundle(pki.wrong, pki.ca)
    channel = _channel(tls_redis.url(), RedisTLS(ca_file=bundle), redis_prefix)
    try:
        assert await _subscribes(channel)
    finally:
        await channel.aclose()


async def test_factory_builds_a_verified_channel_from_config(
    tls_redis: TlsRedis, pki: Pki, make_config: Callable[..., Config]
) -> None:
    config = make_config(
        redis_url=SecretStr(tls_redis.url()), redis_ca_file=pki.ca.cert_file
    )
    context = await ProcessContext.from_config(config)
    try:
        assert await context.wait_for_redis(within=5)
    finally:
        await context.aclose()


# Refusing a server the CA does not vouch for, without fallback


async def test_wrong_ca_is_refused_and_logged_without_secrets(
    tls_redis: TlsRedis, pki: Pki, redis_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = _channel(
        tls_redis.url(), RedisTLS(ca_file=pki.wrong.cert_file), redis_prefix
    )
    try:
        assert not await _subscribes(channel, within=1.0)
        assert not channel.healthy
        await channel.invalidate(["wrong-ca-key"], tombstone_ttl=60)
        assert channel.unpublished == {"wrong-ca-key"}
    finally:
        await channel.aclose()
    output = "".join(capsys.readouterr())
    assert "Token event subscription lost" in output
    assert "CERTIFICATE_VERIFY_FAILED" in output
    assert PASSWORD not in output
    client = _verified_client(tls_redis, pki)
    try:
        assert client.exists(f"{redis_prefix}:token:wrong-ca-key") == 0
    finally:
        client.close()


@pytest.mark.parametrize(
    "query",
    ["ssl_cert_reqs=none", "ssl_check_hostname=false&ssl_cert_reqs=optional"],
)
async def test_url_query_cannot_turn_verification_off(
    tls_redis: TlsRedis, pki: Pki, redis_prefix: str, query: str
) -> None:
    """The channel's TLS options win over the URL (config refuses it first)."""
    url = tls_redis.url(query=query)
    channel = _channel(url, RedisTLS(ca_file=pki.wrong.cert_file), redis_prefix)
    try:
        assert not await _subscribes(channel, within=1.0)
        kwargs = channel.redis.connection_pool.connection_kwargs
        assert kwargs["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    finally:
        await channel.aclose()


async def test_without_a_ca_file_the_system_cas_must_vouch(
    tls_redis: TlsRedis, redis_prefix: str
) -> None:
    channel = _channel(tls_redis.url(), None, redis_prefix)
    try:
        assert not await _subscribes(channel, within=1.0)
        kwargs = channel.redis.connection_pool.connection_kwargs
        assert kwargs["ssl_cert_reqs"] == ssl.CERT_REQUIRED
        assert kwargs["ssl_check_hostname"] is True
    finally:
        await channel.aclose()


def test_a_ca_file_needs_a_tls_url(pki: Pki) -> None:
    with pytest.raises(ValueError, match="rediss://"):
        _channel(
            "redis://127.0.0.1:6379/0", RedisTLS(ca_file=pki.ca.cert_file), "unused"
        )


# Host name check


@pytest.mark.parametrize(
    ("host", "check_hostname", "connects"),
    [
        ("127.0.0.1", True, True),
        ("localhost", True, True),
        ("127.0.0.1", False, True),
    ],
)
async def test_host_named_by_the_certificate(
    tls_redis: TlsRedis,
    pki: Pki,
    redis_prefix: str,
    host: str,
    check_hostname: bool,
    connects: bool,
) -> None:
    tls = RedisTLS(ca_file=pki.ca.cert_file, check_hostname=check_hostname)
    channel = _channel(tls_redis.url(host), tls, redis_prefix)
    try:
        assert await _subscribes(channel, within=3.0) is connects
    finally:
        await channel.aclose()


@pytest.mark.parametrize(("check_hostname", "connects"), [(True, False), (False, True)])
async def test_address_only_in_the_cn_needs_the_host_check_off(
    cn_only_redis: TlsRedis,
    pki: Pki,
    redis_prefix: str,
    capsys: pytest.CaptureFixture[str],
    check_hostname: bool,
    connects: bool,
) -> None:
    """Python matches an address against the subjectAltName only; with the
    check off the CA alone vouches for the server."""
    tls = RedisTLS(ca_file=pki.ca.cert_file, check_hostname=check_hostname)
    channel = _channel(cn_only_redis.url(), tls, redis_prefix)
    try:
        assert (
            await _subscribes(channel, within=1.5 if not connects else 5.0) is connects
        )
    finally:
        await channel.aclose()
    if not connects:
        assert "IP address mismatch" in "".join(capsys.readouterr())


async def test_host_check_off_still_needs_the_ca(
    cn_only_redis: TlsRedis, pki: Pki, redis_prefix: str
) -> None:
    tls = RedisTLS(ca_file=pki.wrong.cert_file, check_hostname=False)
    channel = _channel(cn_only_redis.url(), tls, redis_prefix)
    try:
        assert not await _subscribes(channel, within=1.0)
    finally:
        await channel.aclose()


# Configuration


def _settings(**overrides: Any) -> Config:
    values: dict[str, Any] = {
        "database_url": SecretStr("sqlite+aiosqlite:///unused.sqlite"),
        "session_secret": SecretStr("s" * 44),
        "token_hash_key": SecretStr("k" * 44),
        "dev_login": True,
        "redis_url": SecretStr(f"rediss://:{PASSWORD}@10.20.1.4:6378/0"),
    }
    values.update(overrides)
    return load_settings(Config, "gateway configuration", **values)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No RSP_GATEWAY_* variable of the shell reaches the settings."""
    for name in [n for n in os.environ if n.startswith("RSP_GATEWAY_")]:
        monkeypatch.delenv(name)


@pytest.mark.usefixtures("clean_environment")
def test_config_takes_a_ca_bundle(pki: Pki) -> None:
    bundle = pki.bundle(pki.ca, pki.wrong)
    config = _settings(redis_ca_file=str(bundle), redis_tls_check_hostname=False)
    assert config.redis_ca_file == bundle
    assert config.redis_tls_check_hostname is False
    assert _settings().redis_tls_check_hostname is True


def _write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize(
    ("make", "complaint"),
    [
        (lambda d, _: d / "missing.pem", "missing.pem does not exist"),
        (lambda d, _: d, "is a directory"),
        (lambda d, _: _write(d, "empty.pem", b""), "holds no PEM certificate"),
        (
            lambda d, _: _write(d, "text.pem", b"not a certificate\n"),
            "holds no PEM certificate",
        ),
        (
            lambda d, _: _write(
                d,
                "broken.pem",
                BROKEN_PEM,
            ),
            "is no certificate",
        ),
        (
            lambda d, pki: _write(
                d,
                "key-only.pem",
                pki.named[1].read_bytes(),
            ),
            "holds no PEM certificate",
        ),
    ],
    ids=["missing", "directory", "empty", "text", "broken", "key-only"],
)
def test_config_refuses_a_ca_file_without_certificates(
    tmp_path: Path,
    pki: Pki,
    make: Callable[[Path, Pki], Path],
    complaint: str,
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        _settings(redis_ca_file=str(make(tmp_path, pki)))
    message = str(caught.value)
    assert message.startswith("invalid gateway configuration:")
    assert "redis_ca_file" in message
    assert complaint in message


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_config_refuses_an_unreadable_ca_file(tmp_path: Path, pki: Pki) -> None:
    path = _write(tmp_path, "secret.pem", pki.ca.cert_file.read_bytes())
    path.chmod(0)
    with pytest.raises(ConfigurationError, match="cannot read"):
        _settings(redis_ca_file=str(path))


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        (f"redis://:{PASSWORD}@10.20.1.4:6379/0", "needs a rediss:// redis_url"),
        (None, "redis_ca_file is set but redis_url is not"),
        (
            f"rediss://:{PASSWORD}@10.20.1.4:6378/0?ssl_cert_reqs=none",
            "must not carry TLS options (ssl_cert_reqs)",
        ),
    ],
    ids=["plain-redis", "no-redis", "query-options"],
)
def test_config_refuses_tls_settings_that_would_not_hold(
    pki: Pki, url: str | None, complaint: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        _settings(
            redis_url=SecretStr(url) if url else None, redis_ca_file=pki.ca.cert_file
        )
    assert complaint in str(caught.value)
    assert PASSWORD not in str(caught.value)


@pytest.mark.usefixtures("clean_environment")
def test_config_refuses_tls_query_options_without_a_ca_file() -> None:
    url = f"rediss://:{PASSWORD}@10.20.1.4:6378/0?SSL_CHECK_HOSTNAME=false"
    with pytest.raises(ConfigurationError, match="SSL_CHECK_HOSTNAME") as caught:
        _settings(redis_url=SecretStr(url))
    assert PASSWORD not in str(caught.value)
