"""Fetching an uploaded table by URL, from public addresses only.

``UPLOAD=name,http://...`` makes the service fetch a URL the user chose, from
inside the cluster: without care that reaches the cloud metadata service,
the cluster's own services or the loopback interface (server-side request
forgery). So, at every hop:

- only ``http`` and ``https`` URLs;
- the host name is resolved and **every** address it resolves to is checked
  (:func:`address_refusal`): loopback, private, link-local, shared (CGNAT),
  multicast, reserved and unspecified addresses are refused, and the cloud
  metadata services always are;
- the request goes to the checked address itself (the URL's host is sent as
  ``Host`` and as the TLS server name), so a second DNS answer cannot swap
  in another address between the check and the connection;
- redirects are followed by hand, at most :data:`MAX_REDIRECTS`, each target
  checked the same way;
- the body is read in chunks and stopped at the size limit.

``allow_private`` (configuration ``upload_url_allow_private_networks``, for
tests and local development) lets loopback, private and link-local
addresses through; the metadata services stay refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx

from ..exceptions import UploadError, UploadTooLargeError, UploadUrlRefusedError

__all__ = [
    "MAX_REDIRECTS",
    "METADATA_ADDRESSES",
    "address_refusal",
    "fetch_public_url",
    "resolve_checked",
]

MAX_REDIRECTS = 5
"""Redirects followed at most when fetching an upload."""

type IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # GCP, AWS, Azure, OpenStack
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.253",  # AWS DNS
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
    )
)
"""Cloud metadata services: refused even when private networks are allowed."""

_SHARED = ipaddress.ip_network("100.64.0.0/10")
_PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
"""Private networks proper (RFC 1918, IPv6 unique local): what
``allow_private`` lets through, with loopback, link-local and shared."""


def address_refusal(address: IPAddress, *, allow_private: bool = False) -> str | None:
    """Why an address may not be fetched from, or None if it may.

    ``allow_private`` lets loopback, private, link-local and shared
    addresses through, never a metadata service.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    checks = [
        ("a cloud metadata service", address in METADATA_ADDRESSES),
        ("unspecified", address.is_unspecified),
        ("multicast", address.is_multicast),
    ]
    internal = [
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("shared (carrier-grade NAT)", address in _SHARED),
        ("private", any(address in network for network in _PRIVATE)),
    ]
    allowed_internal = allow_private and any(applies for _, applies in internal)
    if not allow_private:
        checks += internal
    if not allowed_internal:
        unroutable = address.is_reserved or not address.is_global
        checks.append(("reserved, not globally routable", unroutable))
    return next((reason for reason, applies in checks if applies), None)


async def _resolve(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


async def resolve_checked(
    name: str, url: httpx.URL, *, allow_private: bool
) -> IPAddress:
    """The address to fetch ``url`` from, after checking all its host's addresses.

    Raises
    ------
    UploadUrlRefusedError
        If the URL is not http(s), or any address of its host is refused.
    UploadError
        If the host name does not resolve.
    """
    shown = str(url)[:200]
    if url.scheme not in ("http", "https"):
        raise UploadUrlRefusedError(
            f"Upload {name!r}: {shown} is not an http or https URL"
        )
    host = url.host
    if not host:
        raise UploadUrlRefusedError(f"Upload {name!r}: {shown} names no host")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        addresses = await _resolve(host, port)
    except (OSError, UnicodeError, ValueError):
        raise UploadError(
            f"Upload {name!r}: the host {host[:100]!r} of {shown} does not resolve"
        ) from None
    if not addresses:
        raise UploadError(f"Upload {name!r}: the host {host[:100]!r} has no address")
    for address in addresses:
        reason = address_refusal(address, allow_private=allow_private)
        if reason is not None:
            raise UploadUrlRefusedError(
                f"Upload {name!r}: {shown} is refused: its host {host[:100]!r}"
                f" has the address {address}, which is {reason}; tables are"
                " fetched only from public addresses"
            )
    return addresses[0]


async def fetch_public_url(
    client: httpx.AsyncClient,
    name: str,
    uri: str,
    *,
    max_bytes: int,
    timeout: float,  # noqa: ASYNC109 (bounds the whole fetch, redirects included)
    allow_private: bool,
) -> bytes:
    """The body of ``uri``, fetched only from checked addresses (see module).

    Raises
    ------
    UploadUrlRefusedError
        If a URL on the way is not http(s) or reaches a refused address.
    UploadError
        If the URL cannot be fetched, answers other than 200, redirects too
        often or takes longer than ``timeout``.
    UploadTooLargeError
        If the body is larger than ``max_bytes``.
    """
    url = httpx.URL(uri)
    try:
        async with asyncio.timeout(timeout):
            for _ in range(MAX_REDIRECTS + 1):
                address = await resolve_checked(name, url, allow_private=allow_private)
                # Connect to the checked address; the host goes in Host and SNI.
                pinned = url.copy_with(host=str(address))
                headers = {"Host": url.netloc.decode("ascii"), "Connection": "close"}
                extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
                async with client.stream(
                    "GET",
                    pinned,
                    headers=headers,
                    extensions=extensions,
                    follow_redirects=False,
                    timeout=timeout,
                ) as response:
                    location = response.headers.get("location")
                    if response.is_redirect and location:
                        url = url.join(location)
                        continue
                    if response.status_code != 200:
                        raise UploadError(
                            f"Upload {name!r}: fetching {str(url)[:200]} answered"
                            f" HTTP {response.status_code}"
                        )
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise UploadTooLargeError(
                                f"Upload {name!r} is larger than the limit of"
                                f" {max_bytes} bytes"
                            )
                        chunks.append(chunk)
                    return b"".join(chunks)
    except TimeoutError:
        raise UploadError(
            f"Upload {name!r}: fetching the URL took longer than {timeout:g} s"
        ) from None
    except httpx.HTTPError as e:
        raise UploadError(
            f"Upload {name!r}: cannot fetch {str(url)[:200]}: {e}"
        ) from None
    raise UploadError(
        f"Upload {name!r}: {uri[:200]} redirects more than {MAX_REDIRECTS} times"
    )
