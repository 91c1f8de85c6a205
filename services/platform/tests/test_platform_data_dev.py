"""make dev's data services through the real local ingress and gateway.

Discovery answers for the local environment, the repository index and the
client configuration are open, the Butler API needs a token with
``read:image``, and ``Butler("dp01")`` reads a coadd and an object table with
a token the gateway issued, its groups looked up through the gateway; the
object table's rows are the TAP catalog's (same objectId, ra, dec).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from dev_platform import RunningPlatform, http_get, running_platform
from rsp_platform.dev import DevEnvironment, procfile_text
from rsp_platform.devdata import choose_port

pytestmark = pytest.mark.skipif(
    shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin") is None,
    reason="nginx is not installed (scripts/bootstrap.sh installs it when root)",
)

CLIENT = """
import json
from lsst.daf.butler import Butler
butler = Butler("dp01", collections="2.2i/runs/DP0.1")
image = butler.get("deepCoadd", skymap="DC2", tract=7, patch=5, band="r")
table = butler.get("objectTable", skymap="DC2", tract=7, patch=5)
print(json.dumps({
    "butler": type(butler).__name__,
    "shape": list(image.image.array.shape),
    "objects": {
        str(row["objectId"]): [float(row["coord_ra"]), float(row["coord_dec"])]
        for row in table
    },
}))
"""


def _wait_for(port: int, path: str, deadline: float) -> tuple[int, str]:
    status, body = 0, ""
    while time.monotonic() < deadline:
        try:
            status, body = http_get(port, path)
        except OSError:
            status = 0
        if status == 200:
            break
        time.sleep(0.3)
    return status, body


def _user_token(platform: RunningPlatform) -> str:
    bootstrap = (platform.state_dir / "bootstrap-token").read_text().strip()
    request = urllib.request.Request(
        f"http://127.0.0.1:{platform.port}/auth/api/v1/tokens",
        data=json.dumps(
            {
                "username": "astronomer",
                "token_type": "user",
                "token_name": "butler test",
                "scopes": ["read:image", "read:tap"],
                "groups": [{"name": "g_users", "id": 2001}],
            }
        ).encode(),
        headers={
            "Authorization": f"Bearer {bootstrap}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        token: str = json.loads(response.read())["token"]
    return token


def test_discovery_and_butler_on_the_local_platform(tmp_path: Path) -> None:
    with running_platform(tmp_path) as platform:
        deadline = time.monotonic() + 60
        status, body = _wait_for(platform.port, "/repertoire/discovery", deadline)
        assert status == 200, platform.log.read_text()
        discovery = json.loads(body)
        butler_config = discovery["datasets"]["dp01"]["butler_config"]
        assert butler_config == f"{platform.url}/api/butler/repo/dp01/butler.yaml"
        gafaelfawr = discovery["services"]["internal"]["gafaelfawr"]
        assert gafaelfawr["versions"]["v1"]["url"] == f"{platform.url}/auth/api/v1"
        index_path = "/api/butler/configs/repositories.yaml"
        status, body = _wait_for(platform.port, index_path, deadline)
        assert status == 200, platform.log.read_text()
        assert yaml.safe_load(body) == {"dp01": butler_config}
        assert http_get(platform.port, "/api/butler/repo/dp01/v1/universe")[0] == 401

        env = {
            **os.environ,
            "DAF_BUTLER_REPOSITORY_INDEX": f"{platform.url}{index_path}",
            "BUTLER_RUBIN_ACCESS_TOKEN": _user_token(platform),
        }
        result = subprocess.run(
            [sys.executable, "-c", CLIENT],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr + platform.log.read_text()
        read = json.loads(result.stdout)
        assert (read["butler"], read["shape"]) == ("RemoteButler", [256, 256])
        assert read["objects"], "the patch's object table is empty"
        _assert_same_rows_in_tap(platform, env["BUTLER_RUBIN_ACCESS_TOKEN"], read)


def _assert_same_rows_in_tap(
    platform: RunningPlatform, token: str, read: dict[str, Any]
) -> None:
    """The Butler's object table holds the TAP catalog's rows (join on objectId)."""
    objects: dict[str, list[float]] = read["objects"]
    ids = ", ".join(sorted(objects))
    query = urllib.parse.urlencode(
        {
            "LANG": "ADQL",
            "FORMAT": "csv",
            "QUERY": f"SELECT objectId, ra, dec FROM dp01_dc2_catalogs.object"
            f" WHERE objectId IN ({ids})",
        }
    )
    request = urllib.request.Request(
        f"http://127.0.0.1:{platform.port}/api/tap/sync?{query}",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        rows = list(csv.DictReader(io.StringIO(response.read().decode())))
    tap = {row["objectId"]: (float(row["ra"]), float(row["dec"])) for row in rows}
    assert set(tap) == set(objects)
    for object_id, (ra, dec) in objects.items():
        assert tap[object_id] == pytest.approx((ra, dec), abs=1e-9)


def test_procfile_runs_discovery_and_the_butler_server_on_their_ports(
    tmp_path: Path,
) -> None:
    env = DevEnvironment(
        state_dir=tmp_path, service_ports={"repertoire": 9103, "butler": 9106}
    )
    lines = procfile_text(env).splitlines()
    assert any(
        line.startswith("discovery: exec ")
        and line.endswith(
            "rsp_discovery.main:create_app --factory --host 127.0.0.1 --port 9103"
        )
        for line in lines
    )
    assert any(
        line.startswith("butler: exec ")
        and line.endswith(
            "rsp_butler.server:create_app --factory --host 127.0.0.1 --port 9106"
        )
        for line in lines
    )
    upstreams = env.nginx_settings().upstreams
    assert upstreams["repertoire"] == "127.0.0.1:9103"
    assert upstreams["butler"] == "127.0.0.1:9106"
    assert DevEnvironment(state_dir=tmp_path).service_port("butler") == 8006


def test_a_busy_port_is_replaced_by_a_free_one() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        chosen = choose_port(port)
    assert chosen != port
    assert choose_port(chosen) == chosen
