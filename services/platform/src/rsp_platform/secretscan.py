"""Find secret values in values files and rendered objects, by names and shapes.

Charts reference secrets (``secretKeyRef``) and never carry them, and
environment files only name them; these heuristics catch a secret that
slipped into an environment's values, a ConfigMap, an environment variable,
an annotation or anywhere else. Used by ``rsp-platform env lint`` and by the
chart tests' policy check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

__all__ = [
    "KEY_QUALIFIERS",
    "SECRET_VALUE_PATTERNS",
    "SECRET_WORDS",
    "env_secret_values",
    "find_secret_values",
    "name_suggests_secret",
    "value_looks_secret",
]

SECRET_WORDS: frozenset[str] = frozenset(
    {
        "secret",
        "password",
        "passwd",
        "pwd",
        "token",
        "credential",
        "credentials",
        "apikey",
    }
)
"""Last words of a key name that say its value is a secret (``session_secret``)."""

KEY_QUALIFIERS: frozenset[str] = frozenset(
    {
        "access",
        "api",
        "client",
        "encryption",
        "fernet",
        "hash",
        "hmac",
        "master",
        "private",
        "secret",
        "session",
        "signing",
        "ssh",
    }
)
"""Words before ``key`` that make it a secret key (``token_hash_key``, ``apiKey``)."""

SECRET_VALUE_PATTERNS: dict[str, re.Pattern[str]] = {
    "gateway token": re.compile(r"gt-[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "password in URL": re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:(?!\$\()[^@\s/]+@"),
    "GitHub token": re.compile(
        r"\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"
    ),
    "Fernet key": re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}=(?![A-Za-z0-9_=-])"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\."),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
}
"""Shapes of secret values, whatever key holds them."""

_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_REFERENCE = re.compile(
    r"^\$\([A-Za-z_][A-Za-z0-9_]*\)$|^\$\{[A-Za-z_][A-Za-z0-9_]*\}$"
)


def name_suggests_secret(name: str) -> bool:
    """Whether a key or variable name ends in a secret word (``SESSION_SECRET``)."""
    words = [w.lower() for w in _WORD_SPLIT.split(name) if w]
    if words[-1:] == ["key"]:
        # secretKeyRef.key, topologyKey name keys; token_hash_key holds one.
        return len(words) > 1 and words[-2] in KEY_QUALIFIERS
    return bool(words) and words[-1] in SECRET_WORDS


def value_looks_secret(value: str) -> str | None:
    """The kind of secret ``value`` looks like, or ``None``."""
    for kind, pattern in SECRET_VALUE_PATTERNS.items():
        if pattern.search(value):
            return kind
    return None


def _secret_in_named_value(name: str, value: Any) -> bool:
    """A non-empty, single-word string under a secret-sounding name.

    Sentences (scope descriptions), references like ``$(VAR)`` and
    non-strings (lists of groups under ``user:token``) are not secrets.
    """
    if not isinstance(value, str) or not name_suggests_secret(name):
        return False
    stripped = value.strip()
    return (
        bool(stripped)
        and not re.search(r"\s", stripped)
        and not _REFERENCE.match(stripped)
    )


def _embedded_document(text: str) -> Any:
    """A YAML or JSON mapping or list held in a string (a config file), or None."""
    if "\n" not in text and not text.lstrip().startswith(("{", "[")):
        return None
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return parsed if isinstance(parsed, (Mapping, list)) else None


def find_secret_values(node: Any, path: str = "") -> list[str]:
    """Every place in ``node`` that holds what looks like a secret value.

    Strings that hold YAML or JSON documents (config files in ConfigMaps) are
    searched inside too. Returns messages ``path: why`` and never the value.
    """
    found: list[str] = []
    if isinstance(node, Mapping):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if _secret_in_named_value(str(key), value):
                found.append(f"{where}: value under a secret-sounding name")
            found.extend(find_secret_values(value, where))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found.extend(find_secret_values(item, f"{path}[{index}]"))
    elif isinstance(node, str):
        kind = value_looks_secret(node)
        if kind:
            found.append(f"{path}: looks like a {kind}")
        else:
            document = _embedded_document(node)
            if document is not None:
                found.extend(find_secret_values(document, f"{path}|"))
    return found


def env_secret_values(env: Iterable[Mapping[str, Any]], path: str) -> list[str]:
    """Environment variables that carry a secret as a literal ``value``."""
    found: list[str] = []
    for index, var in enumerate(env):
        name = str(var.get("name", ""))
        value = var.get("value")
        where = f"{path}[{index}]({name})"
        if _secret_in_named_value(name, value):
            found.append(f"{where}: secret-sounding variable with a literal value")
        elif isinstance(value, str) and (kind := value_looks_secret(value)):
            found.append(f"{where}: value looks like a {kind}")
    return found
