"""A real ``redis-server`` speaking only TLS, with a throwaway CA made here.

:func:`make_ca` and :meth:`TestCA.issue` make the certificates with
``cryptography``; :func:`start_tls_redis` starts Debian's ``redis-server``
(built with TLS) on a free loopback port with ``requirepass``, as
Memorystore with AUTH and in-transit encryption runs, and waits until it
answers a verified ``PING``. :meth:`TlsRedis.stop` ends it.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["TestCA", "TlsRedis", "make_ca", "redis_server_path", "start_tls_redis"]

_DAY = datetime.timedelta(days=1)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@dataclass(frozen=True)
class TestCA:
    """A certificate authority whose certificate is ``cert_file`` (PEM)."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    name: str
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    cert_file: Path

    def issue(
        self,
        directory: Path,
        stem: str,
        *,
        common_name: str,
        dns_names: tuple[str, ...] = (),
        ip_addresses: tuple[str, ...] = (),
    ) -> tuple[Path, Path]:
        """A server certificate and its key, as ``(cert_file, key_file)``.

        Without ``dns_names`` and ``ip_addresses`` the certificate has no
        subjectAltName and names its host only in the subject's CN.
        """
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
            )
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - _DAY)
            .not_valid_after(_now() + _DAY)
            .add_extension(
                x509.BasicConstraints(ca=False, path_length=None), critical=True
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.key.public_key()
                ),
                critical=False,
            )
        )
        names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
        names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
        if names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(names), critical=False
            )
        cert = builder.sign(self.key, hashes.SHA256())
        cert_file = directory / f"{stem}.crt"
        key_file = directory / f"{stem}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key, key_file)
        return cert_file, key_file


def make_ca(directory: Path, name: str) -> TestCA:
    """A new self-signed CA, its certificate written to ``<name>-ca.crt``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} test CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - _DAY)
        .not_valid_after(_now() + 30 * _DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / f"{name}-ca.crt"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return TestCA(name, key, cert, cert_file)


def redis_server_path() -> str | None:
    """Path of ``redis-server`` (``scripts/bootstrap.sh`` installs it), if any."""
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class TlsRedis:
    """A running TLS-only ``redis-server``."""

    process: subprocess.Popen[bytes]
    port: int
    password: str
    log_file: Path

    def url(self, host: str = "127.0.0.1", query: str = "") -> str:
        """``rediss://`` URL of the server, with its password."""
        suffix = f"?{query}" if query else ""
        return f"rediss://:{self.password}@{host}:{self.port}/0{suffix}"

    def stop(self) -> None:
        """End the server (SIGTERM, then SIGKILL after five seconds)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _answers(port: int, ca_file: Path, password: str) -> bool:
    context = ssl.create_default_context(cafile=str(ca_file))
    context.check_hostname = False
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=0.5) as raw,
            context.wrap_socket(raw) as tls,
        ):
            tls.sendall(f"AUTH {password}\r\nPING\r\n".encode())
            reply = b""
            deadline = time.monotonic() + 1
            while b"PONG" not in reply and time.monotonic() < deadline:
                chunk = tls.recv(64)
                if not chunk:
                    break
                reply += chunk
            return b"+PONG" in reply
    except OSError:
        return False


def start_tls_redis(
    server: str,
    directory: Path,
    *,
    cert_file: Path,
    key_file: Path,
    ca_file: Path,
    password: str,
) -> TlsRedis:
    """Start ``redis-server`` with TLS only (no plain port) and wait for it.

    Raises
    ------
    RuntimeError
        If it has not answered a verified ``PING`` within ten seconds (its
        log is in the message).
    """
    port = _free_port()
    log_file = directory / f"redis-{port}.log"
    process = subprocess.Popen(
        [
            server,
            "--port",
            "0",
            "--tls-port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--tls-cert-file",
            str(cert_file),
            "--tls-key-file",
            str(key_file),
            "--tls-ca-cert-file",
            str(ca_file),
            "--tls-auth-clients",
            "no",
            "--requirepass",
            password,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
            "--logfile",
            str(log_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    running = TlsRedis(process, port, password, log_file)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if _answers(port, ca_file, password):
            return running
        time.sleep(0.05)
    running.stop()
    log = log_file.read_text() if log_file.exists() else "(no log)"
    raise RuntimeError(f"redis-server with TLS did not start:\n{log}")
