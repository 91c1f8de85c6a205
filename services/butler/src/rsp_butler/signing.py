"""Signed, expiring download URLs for files of repositories on local disk.

The Butler server hands each client a URL per file that it may fetch
without credentials, as object storage does with presigned URLs: the URL
names the repository and the file's path in its datastore, an expiry time,
and an HMAC-SHA256 over the three with a key only the server knows. The
server's file route (:mod:`rsp_butler.files`) serves a file only for a URL
whose signature matches and whose time has not passed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode

__all__ = ["FileUrlSigner", "SignatureError"]


class SignatureError(ValueError):
    """A download URL is not signed by this server, or has expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass(frozen=True)
class FileUrlSigner:
    """Makes and checks signed download URLs.

    Parameters
    ----------
    key
        Secret HMAC key (at least 32 characters).
    files_url
        External URL of the file route, e.g.
        ``http://localhost:8000/api/butler/files``.
    """

    key: bytes
    files_url: str

    def _signature(self, repository: str, path: str, expires: int) -> str:
        message = f"{repository}\n{path}\n{expires}".encode()
        return _b64(hmac.new(self.key, message, hashlib.sha256).digest())

    def url_for(
        self, repository: str, path: str, lifetime: int, now: float | None = None
    ) -> str:
        """The URL of ``path`` (relative to the repository's datastore root).

        Parameters
        ----------
        repository
            Label of the repository (``dp01``).
        path
            POSIX path of the file below the datastore root.
        lifetime
            Seconds the URL stays valid.
        now
            Current Unix time (for tests).
        """
        expires = int(now if now is not None else time.time()) + lifetime
        query = urlencode(
            {
                "expires": expires,
                "signature": self._signature(repository, path, expires),
            }
        )
        base = self.files_url.rstrip("/")
        return f"{base}/{quote(repository, safe='')}/{quote(path)}?{query}"

    def check(
        self,
        repository: str,
        path: str,
        expires: int,
        signature: str,
        now: float | None = None,
    ) -> None:
        """Accept a signed URL's parts, or raise.

        Raises
        ------
        SignatureError
            If the signature does not match (compared in constant time) or the
            URL has expired.
        """
        expected = self._signature(repository, path, expires)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise SignatureError("the download URL's signature is not valid")
        if expires < (now if now is not None else time.time()):
            raise SignatureError("the download URL has expired; ask the Butler again")
