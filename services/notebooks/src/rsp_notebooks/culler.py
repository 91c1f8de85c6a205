"""The idle culler run apart from the hub: ``python -m rsp_notebooks.culler``.

``make dev`` runs it as a Procfile process of its own, so that honcho stops
it and it never outlives the hub. Its options, the hub's API and its token
(``culler_api_token``, which the hub registers for the ``idle-culler``
service) come from the hub's settings. It waits for the hub's API to answer
before the culler's first pass, which it runs at once.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.error
import urllib.request

from .settings import HubSettings, SettingsError, load_settings

__all__ = ["culler_exec", "main", "wait_for_hub"]


def wait_for_hub(api_url: str, interval: float = 0.5) -> None:
    """Return once the hub's API answers at all (any HTTP status)."""
    while True:
        try:
            with urllib.request.urlopen(api_url, timeout=2):  # noqa: S310 (settings)
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(interval)


def culler_exec(settings: HubSettings) -> tuple[list[str], dict[str, str]]:
    """The culler's command and environment.

    Raises
    ------
    SettingsError
        If the settings have no ``culler_api_token``.
    """
    env = {**os.environ, **settings.culler_environment()}
    env.pop("RSP_NOTEBOOKS_CULLER_API_TOKEN", None)
    return settings.culler_command(sys.executable), env


def main() -> None:
    """Wait for the hub, then replace this process with the culler."""
    try:
        settings = load_settings()
        command, env = culler_exec(settings)
    except SettingsError as e:
        sys.exit(f"rsp_notebooks.culler: {e}")
    wait_for_hub(settings.hub_api_url)
    os.execve(command[0], command, env)  # noqa: S606 (the culler, from settings)


if __name__ == "__main__":
    main()
