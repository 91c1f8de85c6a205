#!/usr/bin/env bash
# Install everything the project needs on a Debian 12 machine, idempotently:
#   - Debian packages (nginx and its set-misc module, chromium, wrk,
#     PostgreSQL, Redis) with apt-get, when missing and when root;
#   - a pinned uv in .tools/uv, installed with pip from Python 3.13.0;
#   - the locked dependencies into .venv (uv sync --frozen, no downloads of
#     Python itself);
#   - npm packages (npm ci) if the repository has a package.json.
# When everything is present it only checks, in about a second.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

UV_VERSION="0.13.9"
PYTHON_VERSION="$(cat .python-version)"
DEBIAN_PACKAGES=(
    nginx                        # the local ingress (make dev, tests)
    libnginx-mod-http-set-misc   # URL-escapes the return URL of /login?rd=
    chromium                     # browser tests (Playwright drives it)
    wrk                          # load generator of make bench
    postgresql                   # the gateway's database in tests
    redis-server                 # the gateway's shared cache in tests
    postgresql-15-pgsphere       # spherical types and indexes of the TAP catalogs
    stilts                       # taplint, the IVOA validator the TAP tests run
)

say() { printf 'bootstrap: %s\n' "$*" >&2; }

install_debian_packages() {
    local missing=() package
    for package in "${DEBIAN_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
            missing+=("$package")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        return
    fi
    local sudo=()
    if [[ $EUID -ne 0 ]]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            say "missing Debian packages: ${missing[*]}"
            say "not root: install them with 'apt-get install ${missing[*]}'; going on without"
            return
        fi
    fi
    say "installing Debian packages: ${missing[*]}"
    "${sudo[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${missing[@]}"
}

find_python() {
    local candidate
    if [[ -n "${RSP_PYTHON:-}" ]]; then
        echo "$RSP_PYTHON"
        return
    fi
    if command -v pyenv >/dev/null; then
        candidate="$(pyenv root)/versions/$PYTHON_VERSION/bin/python3"
        if [[ -x "$candidate" ]]; then
            echo "$candidate"
            return
        fi
    fi
    for candidate in "$HOME/.pyenv/versions/$PYTHON_VERSION/bin/python3" "$(command -v python3.13 || true)"; do
        if [[ -n "$candidate" && -x "$candidate" ]]; then
            echo "$candidate"
            return
        fi
    done
    say "Python $PYTHON_VERSION not found (pyenv install $PYTHON_VERSION, or set RSP_PYTHON)"
    exit 1
}

install_uv() {
    local python="$1" uv=.tools/uv/bin/uv
    if [[ -x $uv ]] && [[ "$($uv --version 2>/dev/null)" == "uv $UV_VERSION"* ]]; then
        return
    fi
    say "installing uv $UV_VERSION into .tools/uv"
    rm -rf .tools/uv
    mkdir -p .tools
    "$python" -m venv .tools/uv
    .tools/uv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
}

sync_venv() {
    local python="$1"
    export UV_PYTHON_DOWNLOADS=never
    export UV_PROJECT_ENVIRONMENT="$PWD/.venv"
    # A venv from another interpreter would be recreated anyway; say so.
    if [[ -f .venv/pyvenv.cfg ]] && ! grep -q "version_info = $PYTHON_VERSION" .venv/pyvenv.cfg; then
        say "recreating .venv for Python $PYTHON_VERSION"
        rm -rf .venv
    fi
    .tools/uv/bin/uv sync --frozen --python "$python" --quiet
}

install_npm_packages() {
    if [[ -f package.json ]]; then
        if [[ ! -d node_modules || package-lock.json -nt node_modules ]]; then
            say "installing npm packages"
            npm ci --no-audit --no-fund
        fi
    fi
}

main() {
    install_debian_packages
    local python
    python="$(find_python)"
    install_uv "$python"
    sync_venv "$python"
    install_npm_packages
}

main "$@"
