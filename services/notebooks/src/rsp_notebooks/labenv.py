"""What a lab gets: its environment variables, as ``platform.md`` lists them.

Both spawners (Kubernetes and local) call :func:`lab_environment` so a lab
sees the same variables wherever it runs:

``ACCESS_TOKEN``
    The user's notebook token. Secret: the Kubernetes spawner stores it in
    the user's Secret and references it, the local spawner passes it as is.
``EXTERNAL_INSTANCE_URL``
    The platform's public base URL, e.g. ``https://data.lsst.cloud``.
``REPERTOIRE_BASE_URL``
    ``<instance>/repertoire``: service discovery for ``lsst.rsp`` and
    ``rubin-repertoire`` clients.
``DAF_BUTLER_REPOSITORY_INDEX``
    The Butler repository index (``<instance>/api/butler/configs/
    repositories.yaml`` unless configured), so ``Butler("dp01")`` works.
``TAP_ROUTE``, ``HUB_ROUTE``
    ``/api/tap`` and ``/nb/hub``.
``CPU_LIMIT``, ``MEM_LIMIT``
    The lab size's limits: CPUs (decimal) and bytes.
``RSP_DISCOVERY_FILE``
    Path of the discovery document (the ``/repertoire/discovery`` answer)
    written for the lab. On Kubernetes it is the lab's ConfigMap mounted at
    ``/etc/nublado/discovery/v1.json``, where ``lsst.rsp`` reads it; locally
    a file in ``.dev/labs/<user>`` (``lsst.rsp``'s TAP and Butler look-ups
    use ``EXTERNAL_INSTANCE_URL`` and the routes there).
``BUTLER_RUBIN_ACCESS_TOKEN``
    The notebook token again, only on the local platform (``localhost``):
    the Butler client hands ``ACCESS_TOKEN`` only to hosts it knows.
``DEBUG``, ``RESET_USER_ENV``
    ``TRUE`` when the spawn form asked for it (absent otherwise).
``JUPYTER_IMAGE_SPEC``
    The image the lab runs.

Note for the lab image and discovery service: the discovery document comes
from the discovery service at spawn time (``rsp_discovery``); nothing else
is needed from them here.

TODO (from the data engineer; the end-to-end test needs both):

- ``RemoteButler`` sends ``ACCESS_TOKEN`` only to ``*.lsst.cloud`` and
  ``*.slac.stanford.edu`` hosts. Elsewhere (``localhost`` in ``make dev``)
  ``Butler("dp01")`` finds no credentials unless ``BUTLER_RUBIN_ACCESS_TOKEN``
  holds the same token: add it as a secret variable.
- ``lsst.rsp.RSPDiscovery`` reads only ``/etc/nublado/discovery/v1.json``
  (the reduced document: ``Discovery.to_nublado_dict()``, i.e.
  ``DiscoveryClient.build_nublado_dict()`` or ``rsp-discovery document
  --nublado``), not ``RSP_DISCOVERY_FILE``. Mount the ConfigMap there on
  Kubernetes (the lab image creates ``/etc/nublado/discovery``); a local
  lab passes ``discovery_url=os.environ["REPERTOIRE_BASE_URL"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from rsp_platform.repositories import repository_index_url

__all__ = [
    "DISCOVERY_FILE_NAME",
    "HUB_ROUTE",
    "SECRET_VARIABLES",
    "TAP_ROUTE",
    "LabEnvironment",
    "lab_environment",
]

HUB_ROUTE = "/nb/hub"
"""Where JupyterHub is (``platform.md``, routes)."""

TAP_ROUTE = "/api/tap"
"""Where TAP is (``platform.md``, routes)."""

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

DISCOVERY_FILE_NAME = "v1.json"
"""File name of the discovery document given to a lab."""

SECRET_VARIABLES: frozenset[str] = frozenset(
    {"ACCESS_TOKEN", "BUTLER_RUBIN_ACCESS_TOKEN"}
)
"""Variables that hold secrets: kept in a Secret on Kubernetes, never logged."""


@dataclass(frozen=True)
class LabEnvironment:
    """A lab's environment, split into plain and secret variables."""

    variables: dict[str, str]
    """Values that may be shown (pod spec, logs)."""

    secrets: dict[str, str] = field(repr=False)
    """Values that must stay secret (``ACCESS_TOKEN``)."""

    def merged(self) -> dict[str, str]:
        """All variables in one mapping (for a local process)."""
        return {**self.variables, **self.secrets}


def _format_cpu(cpu: float) -> str:
    text = f"{cpu:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def lab_environment(
    *,
    instance_url: str,
    token: str,
    cpu_limit: float,
    memory_limit: int,
    discovery_file: str,
    image: str,
    butler_repository_index: str | None = None,
    debug: bool = False,
    reset_user_env: bool = False,
    extra: Mapping[str, str] | None = None,
) -> LabEnvironment:
    """The environment of a user's lab (``platform.md``, "What a lab gets").

    Parameters
    ----------
    instance_url
        Public base URL of the platform (no trailing slash needed).
    token
        The user's notebook token.
    cpu_limit
        CPUs the lab may use.
    memory_limit
        Bytes of memory the lab may use.
    discovery_file
        Path, inside the lab, of the discovery document.
    image
        Reference of the lab's image.
    butler_repository_index
        URL of the Butler repository index; by default the platform's
        ``/api/butler/configs/repositories.yaml``.
    debug
        Whether the user asked for debug logging.
    reset_user_env
        Whether the user asked to move their configuration aside.
    extra
        Further variables from configuration; they cannot replace the
        contract's variables.
    """
    base = instance_url.rstrip("/")
    index = butler_repository_index or repository_index_url(base)
    variables: dict[str, str] = dict(extra or {})
    variables.update(
        {
            "EXTERNAL_INSTANCE_URL": base,
            "REPERTOIRE_BASE_URL": f"{base}/repertoire",
            "DAF_BUTLER_REPOSITORY_INDEX": index,
            "TAP_ROUTE": TAP_ROUTE,
            "HUB_ROUTE": HUB_ROUTE,
            "CPU_LIMIT": _format_cpu(cpu_limit),
            "MEM_LIMIT": str(memory_limit),
            "RSP_DISCOVERY_FILE": discovery_file,
            "JUPYTER_IMAGE_SPEC": image,
        }
    )
    for name in SECRET_VARIABLES:
        variables.pop(name, None)
    secrets = {"ACCESS_TOKEN": token}
    if urlsplit(base).hostname in _LOCAL_HOSTS:
        # The Butler client sends ACCESS_TOKEN only to the Rubin hosts it
        # knows; on the local platform it is told explicitly.
        secrets["BUTLER_RUBIN_ACCESS_TOKEN"] = token
    if debug:
        variables["DEBUG"] = "TRUE"
    if reset_user_env:
        variables["RESET_USER_ENV"] = "TRUE"
    return LabEnvironment(variables=variables, secrets=secrets)
