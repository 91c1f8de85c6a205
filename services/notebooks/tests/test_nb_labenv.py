"""The lab environment of the contract, the same for both spawners."""

from __future__ import annotations

from rsp_notebooks.labenv import lab_environment


def test_contract_variables() -> None:
    env = lab_environment(
        instance_url="https://data.example.org/",
        token="gt-abc.def",
        cpu_limit=2.0,
        memory_limit=8 * 2**30,
        discovery_file="/etc/nublado/discovery/v1.json",
        image="ghcr.io/rsp/lab:r29.2.0",
    )
    assert env.variables == {
        "EXTERNAL_INSTANCE_URL": "https://data.example.org",
        "REPERTOIRE_BASE_URL": "https://data.example.org/repertoire",
        "DAF_BUTLER_REPOSITORY_INDEX": (
            "https://data.example.org/api/butler/configs/repositories.yaml"
        ),
        "TAP_ROUTE": "/api/tap",
        "HUB_ROUTE": "/nb/hub",
        "CPU_LIMIT": "2",
        "MEM_LIMIT": str(8 * 2**30),
        "RSP_DISCOVERY_FILE": "/etc/nublado/discovery/v1.json",
        "JUPYTER_IMAGE_SPEC": "ghcr.io/rsp/lab:r29.2.0",
    }
    assert env.secrets == {"ACCESS_TOKEN": "gt-abc.def"}
    assert "gt-abc.def" not in repr(env)
    assert env.merged()["ACCESS_TOKEN"] == "gt-abc.def"


def test_flags_index_and_extra_variables() -> None:
    env = lab_environment(
        instance_url="http://localhost:8000",
        token="t",
        cpu_limit=0.5,
        memory_limit=1000,
        discovery_file="/d.json",
        image="local",
        butler_repository_index="http://localhost:8000/other.yaml",
        debug=True,
        reset_user_env=True,
        extra={"TZ": "UTC", "TAP_ROUTE": "/elsewhere", "ACCESS_TOKEN": "forged"},
    )
    assert env.variables["CPU_LIMIT"] == "0.5"
    assert env.variables["DAF_BUTLER_REPOSITORY_INDEX"] == (
        "http://localhost:8000/other.yaml"
    )
    assert env.variables["DEBUG"] == "TRUE"
    assert env.variables["RESET_USER_ENV"] == "TRUE"
    assert env.variables["TZ"] == "UTC"
    # Configuration cannot replace the contract's variables or the token.
    assert env.variables["TAP_ROUTE"] == "/api/tap"
    assert "ACCESS_TOKEN" not in env.variables
    assert env.secrets["ACCESS_TOKEN"] == "t"


def test_butler_token_only_on_the_local_platform() -> None:
    def secrets(url: str) -> set[str]:
        env = lab_environment(
            instance_url=url,
            token="t",
            cpu_limit=1,
            memory_limit=1,
            discovery_file="/d.json",
            image="local",
        )
        return set(env.secrets)

    assert secrets("http://localhost:8000") == {
        "ACCESS_TOKEN",
        "BUTLER_RUBIN_ACCESS_TOKEN",
    }
    assert secrets("https://data.lsst.cloud") == {"ACCESS_TOKEN"}
