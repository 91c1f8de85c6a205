"""Where async results are kept: a local directory or a GCS bucket.

A client fetches a result from ``<job>/results/result``, which answers a 303
redirect to :meth:`ResultStore.url`. For a bucket that is a short-lived
signed URL on another host, so HTTP clients drop the user's token on the
redirect and the bucket never sees it; for the local directory (``make
dev``) it is a URL of the service itself that checks the job's owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from ..exceptions import BackendUnavailableError, ResultNotFoundError

__all__ = ["GcsResultStore", "LocalResultStore", "ResultStore", "result_key"]

_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}/result\.[a-z0-9]{1,16}$")


def result_key(job_id: str, extension: str) -> str:
    """The storage key of a job's result: ``<job id>/result.<extension>``."""
    return f"{job_id}/result.{extension}"


def _check_key(key: str) -> None:
    if not _KEY_RE.match(key):
        raise ResultNotFoundError("No such result")


class ResultStore(Protocol):
    """Stores result files and hands out URLs to them."""

    async def store(self, key: str, data: bytes, mime_type: str) -> None:
        """Keep ``data`` under ``key``."""

    async def url(self, key: str) -> str:
        """Where a client fetches the result (never needs the user's token)."""

    async def delete(self, key: str) -> None:
        """Forget ``key`` (no error if it is already gone)."""


class LocalResultStore:
    """Results in a local directory, served by the service under ``/results``.

    Parameters
    ----------
    path
        Directory of the result files (created if missing).
    results_url
        Absolute URL of the service's results route, ``<service>/results``.
    """

    def __init__(self, path: Path, results_url: str) -> None:
        self._path = path
        self._results_url = results_url.rstrip("/")

    def path(self, key: str) -> Path:
        """The file of a key.

        Raises
        ------
        ResultNotFoundError
            If the key is malformed or the file does not exist.
        """
        _check_key(key)
        file = self._path / key
        if not file.is_file():
            raise ResultNotFoundError("No such result (it may have been destroyed)")
        return file

    async def store(self, key: str, data: bytes, mime_type: str) -> None:  # noqa: ARG002
        """Write the file atomically (temporary name, then rename)."""
        _check_key(key)
        file = self._path / key

        def write() -> None:
            file.parent.mkdir(parents=True, exist_ok=True)
            temporary = file.with_name(f".{file.name}.{os.getpid()}.tmp")
            temporary.write_bytes(data)
            temporary.replace(file)

        await asyncio.to_thread(write)

    async def url(self, key: str) -> str:
        """The service's own URL of the result."""
        _check_key(key)
        return f"{self._results_url}/{key}"

    async def delete(self, key: str) -> None:
        """Remove the file and its job directory."""
        _check_key(key)
        file = self._path / key

        def remove() -> None:
            file.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                file.parent.rmdir()

        await asyncio.to_thread(remove)


class GcsResultStore:
    """Results in a Google Cloud Storage bucket, fetched through signed URLs.

    Parameters
    ----------
    client
        A ``google.cloud.storage.Client``.
    bucket
        Bucket name.
    prefix
        Prefix of the object names.
    url_lifetime
        Lifetime of a signed URL.
    service_account_email
        With credentials that hold no private key (workload identity), the
        account whose key the IAM API signs with.
    """

    def __init__(
        self,
        client: Any,
        bucket: str,
        *,
        prefix: str = "",
        url_lifetime: timedelta = timedelta(minutes=15),
        service_account_email: str | None = None,
    ) -> None:
        self._client = client
        self._bucket = client.bucket(bucket)
        self._prefix = prefix
        self._lifetime = url_lifetime
        self._service_account_email = service_account_email

    def _blob(self, key: str) -> Any:
        _check_key(key)
        return self._bucket.blob(self._prefix + key)

    async def store(self, key: str, data: bytes, mime_type: str) -> None:
        """Upload the object."""
        blob = self._blob(key)
        try:
            await asyncio.to_thread(
                blob.upload_from_string, data, content_type=mime_type
            )
        except Exception as e:
            raise BackendUnavailableError(f"Cannot store the result: {e}") from e

    def signed_url(self, key: str) -> str:
        """A V4 signed GET URL of the object (no network with a key file)."""
        blob = self._blob(key)
        options: dict[str, Any] = {
            "version": "v4",
            "method": "GET",
            "expiration": self._lifetime,
        }
        if self._service_account_email is not None:
            # Workload identity: sign through the IAM API with a fresh token.
            from google.auth.transport.requests import (  # noqa: PLC0415
                Request,
            )

            credentials = self._client._credentials
            if not credentials.valid:
                credentials.refresh(Request())
            options["service_account_email"] = self._service_account_email
            options["access_token"] = credentials.token
        return str(blob.generate_signed_url(**options))

    async def url(self, key: str) -> str:
        """A signed URL, valid for ``url_lifetime``."""
        try:
            return await asyncio.to_thread(self.signed_url, key)
        except ResultNotFoundError:
            raise
        except Exception as e:
            raise BackendUnavailableError(f"Cannot sign the result URL: {e}") from e

    async def delete(self, key: str) -> None:
        """Delete the object (no error if it is already gone)."""
        from google.api_core.exceptions import NotFound  # noqa: PLC0415

        blob = self._blob(key)
        with contextlib.suppress(NotFound):
            await asyncio.to_thread(blob.delete)
