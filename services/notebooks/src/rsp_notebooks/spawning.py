"""What both lab spawners share: options form, token rules, environment, progress.

:class:`LabSpawnerMixin` goes first in the bases of a JupyterHub spawner
(:class:`rsp_notebooks.spawner.LabSpawner` on Kubernetes,
:class:`rsp_notebooks.local.LocalLabSpawner` for ``make dev``), so both show
the same form, accept the same options, refuse the same tokens and give a
lab the same environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from tornado import web
from traitlets import Dict, Integer, List, Unicode, default
from traitlets.config import Configurable

from .form import render_options_form
from .gateway import GatewayClient
from .labenv import LabEnvironment, lab_environment
from .options import (
    ImageCatalog,
    LabOptions,
    LabOptionsError,
    SizeCatalog,
    parse_options,
)

__all__ = [
    "DEFAULT_IMAGES",
    "DEFAULT_SIZES",
    "LabSpawnError",
    "LabSpawnerMixin",
    "LabToken",
    "check_token_lifetime",
]

DEFAULT_SIZES: list[dict[str, Any]] = [
    {
        "name": "small",
        "cpu_request": 0.25,
        "cpu_limit": 1.0,
        "memory_request": "1Gi",
        "memory_limit": "4Gi",
    },
    {
        "name": "medium",
        "cpu_request": 0.5,
        "cpu_limit": 2.0,
        "memory_request": "2Gi",
        "memory_limit": "8Gi",
    },
    {
        "name": "large",
        "cpu_request": 1.0,
        "cpu_limit": 4.0,
        "memory_request": "4Gi",
        "memory_limit": "16Gi",
    },
]
"""Lab sizes unless configured: requests a quarter of the limits."""

DEFAULT_IMAGES: dict[str, Any] = {
    "images": [
        {
            "reference": "ghcr.io/rsp-platform/lab:recommended",
            "tag": "recommended",
            "name": "Recommended",
        }
    ],
    "classes": {"recommended": "recommended"},
}
"""Image catalog unless configured (the chart and make dev configure theirs)."""


class LabSpawnError(Exception):
    """A lab cannot start; JupyterHub shows the message as the spawn's failure."""


@dataclass(frozen=True)
class LabToken:
    """The user's notebook token and what the gateway said about it."""

    token: str
    expires: datetime | None
    uid: int | None
    gid: int | None
    groups: tuple[tuple[str, int], ...]

    @classmethod
    def from_auth_state(cls, auth_state: Mapping[str, Any] | None) -> LabToken:
        """The token kept by the authenticator (``auth_state``).

        Raises
        ------
        LabSpawnError
            If the hub holds no token for the user.
        """
        if not auth_state or not auth_state.get("token"):
            raise LabSpawnError(
                "The hub holds no token for you; log out and log in again"
            )
        expires = auth_state.get("token_expires")
        return cls(
            token=str(auth_state["token"]),
            expires=(
                None if expires is None else datetime.fromtimestamp(expires, tz=UTC)
            ),
            uid=auth_state.get("uid"),
            gid=auth_state.get("gid"),
            groups=tuple(
                (str(g["name"]), int(g["id"])) for g in auth_state.get("groups") or ()
            ),
        )


def check_token_lifetime(
    token: LabToken, max_lab_age: int, now: datetime | None = None
) -> None:
    """Refuse a lab that would outlive its token.

    Raises
    ------
    LabSpawnError
        If the token expires before ``max_lab_age`` seconds from now.
    """
    if token.expires is None:
        return
    now = now or datetime.now(UTC)
    left = (token.expires - now).total_seconds()
    if left < max_lab_age:
        hours = max_lab_age / 3600
        raise LabSpawnError(
            f"Your login expires at {token.expires:%Y-%m-%d %H:%M} UTC, before a lab"
            f" started now could end (labs run at most {hours:g} hours): log out,"
            " log in again and start the lab"
        )


def _read_discovery_file(path: Path) -> str:
    """A discovery document from a file (tests, offline development)."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise LabSpawnError(f"Discovery file {path}: {e}") from e
    return json.dumps(document, indent=2, sort_keys=True)


def _check_user_options(spawner: LabSpawnerMixin, _: Mapping[str, Any]) -> None:
    """Refuse options the platform does not offer, saying why (API spawns)."""
    try:
        spawner.lab_options()
    except LabSpawnError as e:
        error = web.HTTPError(400, str(e))
        # JupyterHub shows this attribute as the spawn's failure message.
        error.jupyterhub_message = str(e)  # type: ignore[attr-defined]
        raise error from e


class LabSpawnerMixin(Configurable):
    """Spawn form, option checks, token rules and lab environment."""

    instance_url = Unicode(
        "http://localhost:8000",
        config=True,
        help="Public base URL of the platform (EXTERNAL_INSTANCE_URL of labs).",
    )
    images = Dict(
        default_value=DEFAULT_IMAGES,
        config=True,
        help=(
            "Image catalog: {images: [{reference, tag, name}], classes:"
            " {recommended|latest-release|latest-weekly|latest-daily: tag}}."
        ),
    )
    sizes = List(
        Dict(),
        default_value=DEFAULT_SIZES,
        config=True,
        help=(
            "Lab sizes: [{name, cpu_request, cpu_limit, memory_request,"
            " memory_limit}] with memory as Kubernetes quantities (4Gi)."
        ),
    )
    default_size = Unicode("medium", config=True, help="Size when none is chosen.")
    max_lab_age = Integer(
        3 * 24 * 3600,
        config=True,
        help=(
            "Seconds a lab may run (the idle culler's max age). A lab is only"
            " started with a token living at least this long."
        ),
    )
    butler_repository_index = Unicode(
        "",
        config=True,
        help="Butler repository index URL (default: <instance>/api/butler/configs/"
        "repositories.yaml).",
    )
    discovery_url = Unicode(
        "",
        config=True,
        help=(
            "URL from which the hub fetches the discovery document given to labs"
            " (the discovery service's /repertoire/discovery); empty: <instance>"
            "/repertoire/discovery."
        ),
    )
    lab_extra_env = Dict(
        default_value={},
        config=True,
        help="Further environment variables of every lab (not the contract's).",
    )
    gateway_url = Unicode(
        "",
        config=True,
        help=(
            "Where the hub reaches the gateway's REST API, to revoke a lab's"
            " notebook token when the lab stops; empty: tokens are not revoked."
        ),
    )

    if TYPE_CHECKING:  # provided by JupyterHub's Spawner
        user: Any
        user_options: dict[str, Any]
        log: logging.Logger

    _auth_state: Mapping[str, Any] | None = None
    _progress_events: list[dict[str, Any]]
    _progress_prepared: bool = False
    _progress_changed: asyncio.Event | None = None

    @default("apply_user_options")
    def _default_apply_user_options(self) -> Any:
        # Options are checked here and applied at start (lab_options()).
        return _check_user_options

    def set_auth_state(self, auth_state: Mapping[str, Any]) -> None:
        """Remember the authenticator's state for this spawn (pre-spawn hook)."""
        self._auth_state = auth_state

    @property
    def image_catalog(self) -> ImageCatalog:
        """The configured images."""
        return ImageCatalog.from_config(self.images)

    @property
    def size_catalog(self) -> SizeCatalog:
        """The configured sizes."""
        return SizeCatalog.from_config(self.sizes, self.default_size)

    async def get_options_form(self) -> str:
        """The spawn form's fields."""
        return render_options_form(self.image_catalog, self.size_catalog)

    def run_options_from_form(self, form_data: Mapping[str, Any]) -> dict[str, Any]:
        """Check the posted form; an error is shown above the form."""
        options = parse_options(form_data, self.image_catalog, self.size_catalog)
        return options.to_user_options()

    def options_from_query(self, query_data: Mapping[str, Any]) -> dict[str, Any]:
        """Options given as ``/spawn?image_class=...&size=...``."""
        return self.run_options_from_form(query_data)

    def lab_options(self) -> LabOptions:
        """The user's options for this spawn, checked again (API spawns too).

        Raises
        ------
        LabSpawnError
            If the options are not ones the platform offers.
        """
        try:
            return parse_options(
                self.user_options or {}, self.image_catalog, self.size_catalog
            )
        except LabOptionsError as e:
            raise LabSpawnError(str(e)) from e

    def lab_token(self) -> LabToken:
        """The current token for the lab, refused if it would expire too soon.

        Raises
        ------
        LabSpawnError
            If there is no token or it would not outlive the lab.
        """
        token = LabToken.from_auth_state(self._auth_state)
        check_token_lifetime(token, self.max_lab_age)
        return token

    def lab_env(
        self, options: LabOptions, token: LabToken, discovery_file: str
    ) -> LabEnvironment:
        """The contract's environment for this lab."""
        return lab_environment(
            instance_url=self.instance_url,
            token=token.token,
            cpu_limit=options.size.cpu_limit,
            memory_limit=options.size.memory_limit_bytes,
            discovery_file=discovery_file,
            image=options.image.reference,
            butler_repository_index=self.butler_repository_index or None,
            debug=options.enable_debug,
            reset_user_env=options.reset_user_env,
            extra=self.lab_extra_env,
        )

    async def fetch_discovery(self) -> str:
        """The discovery document (JSON text) to give the lab.

        Raises
        ------
        LabSpawnError
            If the discovery service does not answer with a JSON object.
        """
        url = self.discovery_url or (
            self.instance_url.rstrip("/") + "/repertoire/discovery"
        )
        if url.startswith("file://"):
            return _read_discovery_file(Path(url.removeprefix("file://")))
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.get(url)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as e:
            raise LabSpawnError(
                f"Service discovery ({url}) did not answer: {type(e).__name__}"
            ) from e
        if not isinstance(document, dict):
            raise LabSpawnError(f"Service discovery ({url}) answered no object")
        return json.dumps(document, indent=2, sort_keys=True)

    async def revoke_lab_token(self) -> None:
        """Revoke the lab's notebook token at the gateway (best effort)."""
        if not self.gateway_url:
            return
        state = self._auth_state
        if not state:
            # Started before a hub restart: the hub's current token of the
            # user (the gateway mints the next lab a new one anyway).
            state = await self.user.get_auth_state()
        token = (state or {}).get("token")
        if not token:
            return
        client = GatewayClient(self.gateway_url)
        try:
            await client.revoke(token, self.user.name)
        except Exception as e:  # stopping must go on whatever happened
            self.log.warning(
                "Could not revoke the lab token of %s: %s", self.user.name, e
            )
        finally:
            await client.aclose()

    # Progress: steps of our own, shown before (and with) the spawner's own.

    def reset_progress(self) -> None:
        """Forget the messages of a previous spawn."""
        self._progress_events = []
        self._progress_prepared = False

    def report(self, progress: int, message: str) -> None:
        """Record a progress message for the spawn page and API."""
        if not hasattr(self, "_progress_events"):
            self.reset_progress()
        self._progress_events.append({"progress": progress, "message": message})
        self._notify_progress()

    def end_preparation(self) -> None:
        """Say that our own steps are over (done or failed)."""
        self._progress_prepared = True
        self._notify_progress()

    def _notify_progress(self) -> None:
        if self._progress_changed is not None:
            self._progress_changed.set()

    async def lab_progress(
        self, done: asyncio.Future[Any] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield recorded messages until our steps end or ``done`` completes."""
        if not hasattr(self, "_progress_events"):
            self.reset_progress()
        self._progress_changed = asyncio.Event()
        sent = 0
        while True:
            while sent < len(self._progress_events):
                yield dict(self._progress_events[sent])
                sent += 1
            if self._progress_prepared or done is None or done.done():
                return
            self._progress_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress_changed.wait(), timeout=0.5)
