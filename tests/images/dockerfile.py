"""Reading a Dockerfile into stages and instructions, for structural checks.

No container engine runs where the tests run, so the images are checked by
what their Dockerfiles say: pinned bases, a non-root user, the lock used, no
build tools left in the final stage, a health check.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Instruction",
    "Stage",
    "image_is_pinned",
    "locked_packages",
    "parse_dockerfile",
    "structural_problems",
]

_VERSION_TAG = re.compile(r":[^:/@]*\d+\.\d+[^:/@]*$")


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword (upper case) and the rest of its line."""

    keyword: str
    value: str
    line: int


@dataclass
class Stage:
    """A build stage: its base image, optional name and instructions."""

    base: str
    name: str | None
    line: int
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        """The stage's instructions with this keyword."""
        return [i for i in self.instructions if i.keyword == keyword]


def _logical_lines(text: str) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue  # comments inside a continued instruction
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1].strip())
            continue
        buffer.append(stripped)
        lines.append((start, " ".join(part for part in buffer if part)))
        buffer = []
    if buffer:
        lines.append((start, " ".join(buffer)))
    return lines


def parse_dockerfile(path: Path) -> list[Stage]:
    """The stages of a Dockerfile, in order.

    Raises
    ------
    ValueError
        If an instruction comes before the first ``FROM`` (other than ARG).
    """
    stages: list[Stage] = []
    for line, text in _logical_lines(path.read_text()):
        keyword, _, value = text.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = [w for w in shlex.split(value) if not w.startswith("--platform")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name, line=line))
        elif not stages:
            if keyword != "ARG":
                raise ValueError(f"{path}:{line}: {keyword} before FROM")
        else:
            stages[-1].instructions.append(Instruction(keyword, value.strip(), line))
    return stages


def image_is_pinned(reference: str) -> bool:
    """Whether an image reference names one version: a digest or a versioned tag."""
    if "@sha256:" in reference:
        return True
    if "$" in reference:
        return False  # a build argument could make it anything
    return bool(_VERSION_TAG.search(reference))


_BUILD_TOOLS = re.compile(r"\b(build-essential|gcc|g\+\+|clang|make|cmake|git)\b")
_USES_LOCK = re.compile(
    r"\buv sync\b[^&;]*--frozen|\buv pip sync\b|\bpip install\b[^&;]*--require-hashes"
)


def structural_problems(stages: list[Stage]) -> list[str]:
    """What a Dockerfile's stages break of the platform's image rules.

    Multi-stage; every base and ``COPY --from`` image pinned to a version;
    the lock installed with hashes or ``--frozen``; the final stage runs as a
    non-root user, has a health check and installs no build tools.
    """
    if not stages:
        return ["no FROM: not a Dockerfile"]
    problems: list[str] = []
    names = {s.name for s in stages if s.name}
    if len(stages) < 2:
        problems.append("single stage: build tools would ship in the image")
    for stage in stages:
        if stage.base not in names and not image_is_pinned(stage.base):
            problems.append(f"line {stage.line}: base {stage.base} is not pinned")
        for copy in stage.all("COPY"):
            source = next(
                (
                    w.split("=", 1)[1]
                    for w in copy.value.split()
                    if w.startswith("--from=")
                ),
                None,
            )
            if source and source not in names and not image_is_pinned(source):
                problems.append(f"line {copy.line}: COPY --from={source} is not pinned")
    runs = [i.value for s in stages for i in s.all("RUN")]
    if not any(_USES_LOCK.search(run) for run in runs):
        problems.append("dependencies not installed from the lock (uv sync --frozen)")
    final = stages[-1]
    users = final.all("USER")
    if not users:
        problems.append("final stage has no USER: it would run as root")
    else:
        user = users[-1].value.split(":", 1)[0].strip()
        if user in ("root", "0"):
            problems.append(f"line {users[-1].line}: final USER is root")
    if not final.all("HEALTHCHECK"):
        problems.append("final stage has no HEALTHCHECK")
    for run in final.all("RUN"):
        if "install" in run.value and _BUILD_TOOLS.search(run.value):
            problems.append(
                f"line {run.line}: build tools installed in the final stage"
            )
    return problems


def locked_packages(stages: list[Stage]) -> list[str]:
    """Workspace packages the Dockerfile installs with ``uv sync --package``."""
    packages = []
    for stage in stages:
        for run in stage.all("RUN"):
            words = run.value.split()
            packages += [
                words[i + 1] for i, word in enumerate(words[:-1]) if word == "--package"
            ]
    return packages
