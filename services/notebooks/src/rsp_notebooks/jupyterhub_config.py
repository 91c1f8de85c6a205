"""JupyterHub configuration of the platform: declarative, from HubSettings.

Run by ``rsp-hub`` (``jupyterhub -f`` this file). Every value comes from
:class:`rsp_notebooks.settings.HubSettings` (YAML file named by
``RSP_NOTEBOOKS_CONFIG_PATH`` and ``RSP_NOTEBOOKS_*`` variables).
``JUPYTERHUB_CRYPT_KEY`` must be set: the user's token is kept encrypted.
"""

import sys

from rsp_notebooks.auth import GatewayAuthenticator
from rsp_notebooks.database import enable_sqlite_wal, sqlalchemy_url
from rsp_notebooks.local import LocalLabSpawner
from rsp_notebooks.settings import load_settings
from rsp_notebooks.spawner import LabSpawner
from rsp_notebooks.userlookup import install_user_lookup_cache

settings = load_settings()
c = get_config()  # type: ignore[name-defined]  # noqa: F821 (given by JupyterHub)

# The hub at /nb/hub, labs at /nb/user/<name>, behind the platform's ingress.
c.JupyterHub.base_url = "/nb/"
c.JupyterHub.ip = settings.public_address[0]
c.JupyterHub.port = settings.public_address[1]
c.JupyterHub.hub_bind_url = settings.hub_bind_url
if settings.hub_connect_url:
    c.JupyterHub.hub_connect_url = settings.hub_connect_url
c.JupyterHub.db_url = sqlalchemy_url(settings.db_url)
enable_sqlite_wal()  # commits without fsync stalls on the hub's event loop
# A user's last activity is written at most every 5 minutes (JupyterHub: 30 s,
# a commit per user and half-minute under polling). Culling reads the labs'
# own activity, reported by the labs and the proxy, not this value.
c.JupyterHub.activity_resolution = 300
# Each API request looks its user up by cookie and by name: from memory, not
# eight SQL queries, once the user is loaded (see rsp_notebooks.userlookup).
install_user_lookup_cache()
c.JupyterHub.cookie_secret_file = str(settings.state_dir / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(settings.state_dir / "jupyterhub.pid")
c.JupyterHub.log_level = settings.log_level
c.JupyterHub.cleanup_servers = settings.cleanup_servers  # labs outlive restarts
c.JupyterHub.allow_named_servers = False
c.JupyterHub.redirect_to_server = False

# The proxy: its own process (make dev) or Deployment (Kubernetes); the hub
# starts one only when proxy_command is set (the notebooks tests).
c.ConfigurableHTTPProxy.api_url = settings.proxy_api_url
c.ConfigurableHTTPProxy.should_start = bool(settings.proxy_command)
if settings.proxy_command:
    c.ConfigurableHTTPProxy.command = settings.proxy_command

# Who the user is: the gateway says, from the notebook token of the ingress.
c.JupyterHub.authenticator_class = GatewayAuthenticator
c.GatewayAuthenticator.gateway_url = settings.gateway_url
c.GatewayAuthenticator.gateway_logout_url = settings.public_base_url + "/logout"

# Labs: pods in Kubernetes, processes for make dev; same form and environment.
spawner = LabSpawner if settings.mode == "kubernetes" else LocalLabSpawner
c.JupyterHub.spawner_class = spawner
section = c[spawner.__name__]
section.instance_url = settings.public_base_url
section.gateway_url = settings.gateway_url
section.images = settings.images
section.sizes = settings.sizes
section.default_size = settings.default_size
section.max_lab_age = settings.max_lab_age
section.discovery_url = settings.discovery_url
section.butler_repository_index = settings.butler_repository_index
section.start_timeout = 300
section.http_timeout = 120
if settings.mode == "kubernetes":
    section.namespace = settings.namespace
    section.home_size = settings.home_size
    section.home_storage_class = settings.home_storage_class
else:
    section.homes_dir = str(settings.homes_dir.resolve())
    if settings.lab_venv is not None:
        section.lab_venv = str(settings.lab_venv.resolve())

# Idle labs and labs older than max_lab_age are stopped by the culler: the
# hub's child on Kubernetes, a process of its own in make dev (with a token).
c.JupyterHub.services = [settings.culler_service(sys.executable)]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": [
            "list:users",
            "read:users:activity",
            "read:servers",
            "delete:servers",
        ],
        "services": ["idle-culler"],
    }
]
