"""The hub on the local platform: gateway, nginx, hub, proxy and local labs.

One platform (started as ``make dev`` runs it, on free ports) serves every
test of this module. Users log in through the gateway (development login or
a token), spawn through the form or ``rubin-nublado-client``, run code in
their lab's kernel and stop it; users cannot reach each other's labs.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from pathlib import Path

import httpx
import pytest
import structlog
from nbtest.platform import LocalPlatform, dev_login, local_platform
from rubin.nublado.client import NubladoClient
from rubin.nublado.client._http import JupyterAsyncClient
from rubin.nublado.client._models import (
    NubladoImageByClass,
    NubladoImageClass,
    NubladoImageSize,
)
from rubin.repertoire import DiscoveryClient

NOTEBOOK_SCOPES = ["exec:notebook", "read:tap", "read:image", "user:token"]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    with local_platform(tmp_path_factory.mktemp("platform")) as running:
        yield running


def browser(platform: LocalPlatform) -> httpx.Client:
    return httpx.Client(base_url=platform.url, follow_redirects=True, timeout=60)


def discovery_client(platform: LocalPlatform) -> DiscoveryClient:
    document = {"services": {"ui": {"nublado": {"url": f"{platform.url}/nb/"}}}}
    transport = httpx.MockTransport(lambda _: httpx.Response(200, json=document))
    return DiscoveryClient(
        httpx.AsyncClient(transport=transport), base_url=f"{platform.url}/repertoire"
    )


@pytest.fixture
async def nublado(
    platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[NubladoClient]:
    # The client always opens kernels over wss://; the local platform has no TLS.
    monkeypatch.setattr(
        JupyterAsyncClient,
        "_url_for_websocket",
        lambda _, url: "ws" + url.removeprefix("http"),
    )
    token = platform.create_token("nora", NOTEBOOK_SCOPES, uid=42010)
    client = NubladoClient(
        "nora",
        token,
        discovery_client=discovery_client(platform),
        logger=structlog.get_logger("nublado-test"),
    )
    try:
        yield client
    finally:
        await client.aclose()


def wait_for_lab(
    platform: LocalPlatform, client: httpx.Client, username: str
) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        model = client.get(f"/nb/hub/api/users/{username}").json()
        server = model["servers"].get("")
        if server and server["ready"]:
            return dict(model)
        if not model["pending"] and not server:
            break
        time.sleep(0.2)
    log = platform.log("hub")[-5000:]
    raise AssertionError(f"the lab of {username} did not start: {model}\n{log}")


def xsrf(client: httpx.Client) -> dict[str, str]:
    return {"X-XSRFToken": client.cookies.get("_xsrf", path="/nb/hub/") or ""}


def test_browser_logs_in_spawns_from_the_form_and_stops(
    platform: LocalPlatform,
) -> None:
    with browser(platform) as client:
        dev_login(client, "alice")
        home = client.get("/nb/hub/home")
        assert home.status_code == 200
        assert "alice" in home.text
        form = client.get("/nb/hub/spawn")
        assert 'name="image_list"' in form.text
        assert 'name="size"' in form.text
        token = re.search(r'_xsrf=([^"&]+)', form.text)
        assert token
        response = client.post(
            "/nb/hub/spawn",
            data={
                "_xsrf": token.group(1),
                "image_class": "latest-weekly",
                "size": "small",
            },
        )
        assert response.status_code == 200
        model = wait_for_lab(platform, client, "alice")
        options = model["servers"][""]["user_options"]  # type: ignore[index]
        assert options == {
            "image_list": "local/lab:weekly",
            "size": "small",
            "enable_debug": False,
            "reset_user_env": False,
        }
        # Opening the lab logs the browser in to it (OAuth with the hub).
        assert client.get("/nb/user/alice/lab").status_code == 200
        lab = client.get("/nb/user/alice/api/status")
        assert lab.status_code == 200, lab.text
        stop = client.delete("/nb/hub/api/users/alice/server", headers=xsrf(client))
        assert stop.status_code in (202, 204)


def test_a_bad_option_is_refused_with_a_message(platform: LocalPlatform) -> None:
    with browser(platform) as client:
        dev_login(client, "bob")
        form = client.get("/nb/hub/spawn")
        token = re.search(r'_xsrf=([^"&]+)', form.text)
        assert token
        response = client.post(
            "/nb/hub/spawn",
            data={"_xsrf": token.group(1), "image_list": "docker.io/evil/miner"},
        )
        assert "is not offered here" in response.text
        assert client.get("/nb/hub/api/users/bob").json()["servers"] == {}


async def test_nublado_client_spawns_runs_code_and_stops(
    nublado: NubladoClient, platform: LocalPlatform
) -> None:
    await nublado.auth_to_hub()
    image = NubladoImageByClass(
        image_class=NubladoImageClass.RECOMMENDED, size=NubladoImageSize.Small
    )
    await nublado.spawn_lab(image)
    messages = []
    async with aclosing(nublado.watch_spawn_progress()) as progress:
        async for message in progress:
            messages.append(message)
            if message.ready:
                break
    assert messages[-1].ready
    texts = [m.message for m in messages]
    assert any("Checking your image, size and token" in t for t in texts)
    assert any("Starting lab recommended" in t for t in texts)
    await nublado.auth_to_lab()
    async with nublado.lab_session(kernel_name="python3") as session:
        code = (
            "import os\n"
            "print(os.environ['HUB_ROUTE'], os.environ['TAP_ROUTE'],"
            " os.environ['CPU_LIMIT'])"
        )
        output = await session.run_python(code)
        lab_token = (
            await session.run_python("print(os.environ['ACCESS_TOKEN'])")
        ).strip()
    assert output.strip() == "/nb/hub /api/tap 1"
    # The lab's token is a notebook token with no more than the user's scopes.
    async with httpx.AsyncClient(base_url=platform.url) as gateway:
        info = await gateway.get(
            "/auth/api/v1/token-info",
            headers={"Authorization": f"Bearer {lab_token}"},
        )
    assert info.status_code == 200
    assert info.json()["username"] == "nora"
    assert info.json()["token_type"] == "notebook"
    assert set(info.json()["scopes"]) <= set(NOTEBOOK_SCOPES)
    await nublado.stop_lab()
    for _ in range(50):
        if await nublado.is_lab_stopped():
            break
        await asyncio.sleep(0.2)
    assert await nublado.is_lab_stopped()


def test_forged_user_header_is_ignored(platform: LocalPlatform) -> None:
    # Straight at the hub (as something inside the cluster could): a user
    # name alone, or a made-up token, logs nobody in.
    hub = f"http://127.0.0.1:{platform.hub_port}/nb/hub/login"
    forged = httpx.get(hub, headers={"X-Auth-Request-User": "alice"})
    assert forged.status_code == 401
    made_up = httpx.get(
        hub,
        headers={
            "X-Auth-Request-User": "alice",
            "X-Auth-Request-Token": "gt-AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB",
        },
    )
    assert made_up.status_code == 401
    assert "jupyterhub-session-id" not in made_up.cookies


def test_a_revoked_token_is_refused_at_once(platform: LocalPlatform) -> None:
    token = platform.create_token("rita", NOTEBOOK_SCOPES, uid=42030)
    bearer = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=platform.url, timeout=30, headers=bearer) as client:
        assert client.get("/nb/hub/login").status_code == 302
        assert client.get("/nb/hub/api/users/rita").status_code == 200
        key = token.removeprefix("gt-").partition(".")[0]
        revoked = httpx.delete(
            f"http://127.0.0.1:{platform.gateway_port}"
            f"/auth/api/v1/users/rita/tokens/{key}",
            headers={"Authorization": f"Bearer {platform.bootstrap_token}"},
        )
        assert revoked.status_code == 204
        # The hub's cookie alone does not help: the ingress refuses first and
        # sends the client to log in again (/nb/hub is a browser route).
        refused = client.get("/nb/hub/api/users/rita")
        assert refused.status_code == 302
        assert refused.headers["location"].startswith("/login?rd=")


def test_token_of_another_user_logs_in_that_user_only(platform: LocalPlatform) -> None:
    # Through the ingress a client cannot choose the user: a forged header
    # is replaced by the gateway's answer.
    token = platform.create_token("carol", NOTEBOOK_SCOPES, uid=42020)
    with httpx.Client(base_url=platform.url, timeout=30) as client:
        response = client.get(
            "/nb/hub/login",
            headers={
                "Authorization": f"Bearer {token}",
                "X-Auth-Request-User": "alice",
            },
        )
        assert response.status_code == 302
        whoami = client.get(
            "/nb/hub/api/user", headers={"Authorization": f"Bearer {token}"}
        )
        assert whoami.json()["name"] == "carol"


def test_user_cannot_reach_or_act_on_another_users_lab(
    platform: LocalPlatform,
) -> None:
    with browser(platform) as dave, browser(platform) as erin:
        dev_login(dave, "dave")
        dev_login(erin, "erin")
        dave.get("/nb/hub/home")
        erin.get("/nb/hub/home")
        started = dave.post("/nb/hub/api/users/dave/server", headers=xsrf(dave))
        assert started.status_code in (201, 202), started.text
        wait_for_lab(platform, dave, "dave")
        try:
            # Erin can neither see, stop nor spawn Dave's lab, nor reach it.
            assert erin.get("/nb/hub/api/users/dave").status_code == 404
            stop = erin.delete("/nb/hub/api/users/dave/server", headers=xsrf(erin))
            assert stop.status_code == 404
            spawn = erin.post("/nb/hub/api/users/dave/server", headers=xsrf(erin))
            assert spawn.status_code == 404
            assert erin.get("/nb/user/dave/lab").status_code == 403
            assert erin.get("/nb/user/dave/api/status").status_code == 403
            assert dave.get("/nb/user/dave/lab").status_code == 200
            assert dave.get("/nb/user/dave/api/status").status_code == 200
        finally:
            dave.delete("/nb/hub/api/users/dave/server", headers=xsrf(dave))


def test_admins_see_and_stop_any_lab(platform: LocalPlatform) -> None:
    with browser(platform) as frank, browser(platform) as admin:
        dev_login(frank, "frank")
        dev_login(admin, "root-admin", groups="g_admins")
        frank.get("/nb/hub/home")
        assert admin.get("/nb/hub/api/user").json()["admin"] is True
        assert frank.get("/nb/hub/api/user").json()["admin"] is False
        frank.post("/nb/hub/api/users/frank/server", headers=xsrf(frank))
        wait_for_lab(platform, frank, "frank")
        assert admin.get("/nb/hub/api/users/frank").status_code == 200
        stop = admin.delete("/nb/hub/api/users/frank/server", headers=xsrf(admin))
        assert stop.status_code in (202, 204)


def test_logout_goes_through_the_gateway(platform: LocalPlatform) -> None:
    with browser(platform) as client:
        dev_login(client, "gina")
        assert client.get("/nb/hub/home").status_code == 200
        response = client.get("/nb/hub/logout", follow_redirects=False)
        assert response.status_code == 302
        assert response.headers["location"] == f"{platform.url}/logout"
        client.get(response.headers["location"])
        again = client.get("/nb/hub/home", follow_redirects=False)
        assert again.status_code == 302
        assert again.headers["location"].startswith("/login?rd=")


def test_workdir_is_kept_per_user(platform: LocalPlatform) -> None:
    homes = Path(platform.workdir / "homes")
    assert (homes / "alice").is_dir()
    assert (homes / "nora").is_dir()


def test_a_failed_spawn_says_why(platform: LocalPlatform) -> None:
    with browser(platform) as client:
        dev_login(client, "hana")
        client.get("/nb/hub/home")
        started = client.post(
            "/nb/hub/api/users/hana/server",
            json={"size": "colossal"},
            headers=xsrf(client),
        )
        assert started.status_code in (201, 202, 400, 500), started.text
        events = []
        with client.stream(
            "GET", "/nb/hub/api/users/hana/server/progress", headers=xsrf(client)
        ) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line.removeprefix("data:")))
        assert events, "no progress events"
        last = events[-1]
        assert last.get("failed") is True
        assert "Unknown size 'colossal'" in last["message"]
        assert client.get("/nb/hub/api/users/hana").json()["servers"] == {}
