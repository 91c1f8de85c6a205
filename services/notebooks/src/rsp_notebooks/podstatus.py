"""What a lab pod's status says about a start that cannot succeed.

KubeSpawner waits for a pod to run until its start timeout, whatever the
pod does meanwhile. A lab whose image cannot be pulled, whose configuration
is broken, whose process keeps crashing or that the node evicted will never
run; :func:`lab_pod_failure` reads that from the pod (as the API returns it)
so that the spawn fails at once with a message the user can act on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["FATAL_WAITING_REASONS", "lab_pod_failure", "last_pod_message"]

FATAL_WAITING_REASONS: frozenset[str] = frozenset(
    {
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "CrashLoopBackOff",
    }
)
"""Container states a lab does not recover from while the user waits.

``ErrImagePull`` alone is not here: the kubelet retries once before it backs
off (``ImagePullBackOff``), which covers a registry's brief failure.
"""


def lab_pod_failure(pod: Mapping[str, Any] | None) -> str | None:
    """Why the pod will not become a running lab, or None if it still may."""
    if not pod or "deletionTimestamp" in pod.get("metadata", {}):
        return None
    status = pod.get("status") or {}
    phase = status.get("phase")
    if phase == "Failed":
        reason = status.get("reason") or "Failed"
        message = status.get("message") or _terminated(status) or "no reason given"
        return f"Kubernetes stopped your lab ({reason}): {message}"
    if phase == "Succeeded":
        return "Your lab exited before it was ready"
    for container in status.get("containerStatuses") or ():
        failure = _container_failure(container)
        if failure is not None:
            return failure
    return None


def _container_failure(container: Mapping[str, Any]) -> str | None:
    waiting = (container.get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason")
    if reason not in FATAL_WAITING_REASONS:
        return None
    if reason in ("ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"):
        image = container.get("image", "")
        return f"The image {image} of your lab cannot be pulled ({reason})"
    if reason == "CrashLoopBackOff":
        last = _terminated_state(container.get("lastState") or {})
        code = "" if last is None else f" with code {last.get('exitCode')}"
        return f"Your lab's process exited{code} as it started ({reason})"
    detail = waiting.get("message") or reason
    return f"Your lab cannot start: {detail} ({reason})"


def last_pod_message(events: Sequence[Mapping[str, Any]]) -> str | None:
    """The last thing Kubernetes said about the pod (its events, oldest first)."""
    for event in reversed(events):
        message = event.get("message")
        if message:
            return str(message)
    return None


def _terminated(status: Mapping[str, Any]) -> str | None:
    for container in status.get("containerStatuses") or ():
        state = _terminated_state(container.get("state") or {})
        if state is not None:
            return f"the lab exited with code {state.get('exitCode')}"
    return None


def _terminated_state(state: Mapping[str, Any]) -> Mapping[str, Any] | None:
    terminated = state.get("terminated")
    return terminated if isinstance(terminated, Mapping) else None
