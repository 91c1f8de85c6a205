"""A file datastore on local disk whose files the Butler server can hand out.

The Butler server gives clients a presigned URL per file of a dataset
(``generate_presigned_get_url`` of each file's location). Object storage
signs its own URLs; files on local disk cannot, so a repository made for
``make dev`` names :class:`LocalFileDatastore` as its datastore. It stores
files exactly as ``FileDatastore`` does, under the same datastore name, and
when the server asks for a client's URLs it signs them with
:class:`~rsp_butler.signing.FileUrlSigner`, for the server's file route to
check.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from functools import cache
from pathlib import Path

from lsst.daf.butler import DatasetRef, Location
from lsst.daf.butler.datastore import Datastore, DatastoreConfig
from lsst.daf.butler.datastore.stored_file_info import StoredFileInfo
from lsst.daf.butler.datastores.fileDatastore import FileDatastore
from lsst.daf.butler.registry.interfaces import DatastoreRegistryBridgeManager
from lsst.resources import ResourcePath, ResourcePathExpression
from lsst.resources.file import FileResourcePath
from pydantic import BaseModel, ConfigDict, TypeAdapter

from .config import load_config
from .signing import FileUrlSigner

__all__ = [
    "SERVER_REPOSITORIES_ENV",
    "LocalFileDatastore",
    "SignedLocalFile",
    "file_signer",
    "served_repository_roots",
]

SERVER_REPOSITORIES_ENV = "DAF_BUTLER_SERVER_REPOSITORIES"
"""The Butler server's own setting: label -> {config_uri, authorized_groups}."""


class _ServedRepository(BaseModel):
    model_config = ConfigDict(extra="ignore")

    config_uri: str


def served_repository_roots() -> dict[str, Path]:
    """Local repositories the Butler server serves: label -> repository root.

    Read from the server's own ``DAF_BUTLER_SERVER_REPOSITORIES``; the root
    is the directory of each local ``butler.yaml``. Repositories elsewhere
    (object storage) are left out.
    """
    raw = os.environ.get(SERVER_REPOSITORIES_ENV, "{}")
    served = TypeAdapter(dict[str, _ServedRepository]).validate_python(json.loads(raw))
    roots: dict[str, Path] = {}
    for label, repository in served.items():
        uri = ResourcePath(repository.config_uri)
        if uri.scheme == "file":
            config = Path(uri.ospath)
            roots[label] = (config if config.is_dir() else config.parent).resolve()
    return roots


@cache
def file_signer() -> FileUrlSigner:
    """The signer configured for this process (``RSP_BUTLER_*``).

    Raises
    ------
    RuntimeError
        If signed URLs are not configured: a server cannot hand out local
        files without them.
    """
    config = load_config()
    if config.files_url is None or config.signing_key is None:
        raise RuntimeError(
            "this repository keeps its files on local disk: set RSP_BUTLER_FILES_URL"
            " and RSP_BUTLER_SIGNING_KEY so the Butler server can sign their URLs"
        )
    return FileUrlSigner(
        key=config.signing_key.get_secret_value().encode(),
        files_url=str(config.files_url),
    )


class SignedLocalFile(FileResourcePath):
    """A local file whose presigned URL comes from our signer."""

    _repository: str
    _relative_path: str
    _signer: FileUrlSigner

    @classmethod
    def for_file(
        cls,
        uri: ResourcePath,
        repository: str,
        relative_path: str,
        signer: FileUrlSigner,
    ) -> SignedLocalFile:
        """The file at ``uri``, ``relative_path`` below ``repository``'s root."""
        path = cls(urllib.parse.urlparse(str(uri)), forceDirectory=False)
        assert isinstance(path, SignedLocalFile)
        path._repository = repository
        path._relative_path = relative_path
        path._signer = signer
        return path

    def generate_presigned_get_url(self, *, expiration_time_seconds: int) -> str:
        """A URL the file route serves without credentials until it expires."""
        return self._signer.url_for(
            self._repository, self._relative_path, expiration_time_seconds
        )


class LocalFileDatastore(FileDatastore):
    """``FileDatastore`` on local disk that signs the URLs clients receive."""

    @classmethod
    def _create_from_config(
        cls,
        config: DatastoreConfig,
        bridgeManager: DatastoreRegistryBridgeManager,  # noqa: N803 (library's name)
        butlerRoot: ResourcePathExpression | None,  # noqa: N803 (library's name)
    ) -> FileDatastore:
        datastore = super()._create_from_config(config, bridgeManager, butlerRoot)
        # FileDatastore builds a FileDatastore whatever class is configured;
        # this subclass adds behaviour only, no state, so it can take over.
        datastore.__class__ = cls
        return datastore

    def clone(self, bridgeManager: DatastoreRegistryBridgeManager) -> Datastore:  # noqa: N803
        """A copy for another registry connection (the server clones per request)."""
        datastore = super().clone(bridgeManager)
        datastore.__class__ = type(self)
        return datastore

    def prepare_get_for_external_client(
        self, ref: DatasetRef
    ) -> list[tuple[Location, StoredFileInfo]] | None:
        """Where a client downloads each file of ``ref``: signed URLs."""
        locations = super().prepare_get_for_external_client(ref)
        if locations is None:
            return None
        root = Path(self.root.ospath).resolve()
        labels = [k for k, v in served_repository_roots().items() if v == root]
        if not labels:
            raise RuntimeError(
                f"the Butler server does not serve a repository at {root}"
            )
        signer = file_signer()
        signed: list[tuple[Location, StoredFileInfo]] = []
        for location, info in locations:
            relative = location.uri.relative_to(self.root)
            if relative is None:
                raise RuntimeError(
                    f"{location.uri} is outside the datastore root {root}"
                )
            path = SignedLocalFile.for_file(location.uri, labels[0], relative, signer)
            signed.append((Location(None, path), info))
        return signed
