"""Reading from a pod's status that a lab will never run."""

from __future__ import annotations

from typing import Any

import pytest
from rsp_notebooks.podstatus import lab_pod_failure, last_pod_message


def pod(phase: str = "Pending", **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "nb-alice"}, "status": {"phase": phase, **status}}


def waiting(reason: str, message: str = "") -> dict[str, Any]:
    state: dict[str, Any] = {"waiting": {"reason": reason}}
    if message:
        state["waiting"]["message"] = message
    return {"name": "notebook", "image": "ghcr.io/rsp/lab:w_1", "state": state}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (pod(), None),
        (pod(containerStatuses=[waiting("ContainerCreating")]), None),
        # The kubelet tries a failed pull again before it backs off.
        (pod(containerStatuses=[waiting("ErrImagePull")]), None),
        (
            pod(containerStatuses=[waiting("InvalidImageName")]),
            "The image ghcr.io/rsp/lab:w_1 of your lab cannot be pulled"
            " (InvalidImageName)",
        ),
        (
            pod(
                containerStatuses=[
                    waiting(
                        "CreateContainerConfigError", 'secret "nb-alice-lab" not found'
                    )
                ]
            ),
            'Your lab cannot start: secret "nb-alice-lab" not found'
            " (CreateContainerConfigError)",
        ),
        (
            pod("Running", containerStatuses=[waiting("CrashLoopBackOff")]),
            "Your lab's process exited as it started (CrashLoopBackOff)",
        ),
        (
            pod(
                "Failed",
                reason="DeadlineExceeded",
                message="Pod was active on the node longer than the specified deadline",
            ),
            "Kubernetes stopped your lab (DeadlineExceeded): Pod was active on the"
            " node longer than the specified deadline",
        ),
        (
            pod(
                "Failed",
                containerStatuses=[
                    {"name": "notebook", "state": {"terminated": {"exitCode": 2}}}
                ],
            ),
            "Kubernetes stopped your lab (Failed): the lab exited with code 2",
        ),
        (pod("Succeeded"), "Your lab exited before it was ready"),
    ],
)
def test_lab_pod_failure(status: dict[str, Any], expected: str | None) -> None:
    assert lab_pod_failure(status) == expected


def test_a_pod_being_deleted_is_not_judged() -> None:
    leaving = pod("Failed", reason="Evicted")
    leaving["metadata"]["deletionTimestamp"] = "2026-11-24T10:00:00Z"
    assert lab_pod_failure(leaving) is None
    assert lab_pod_failure(None) is None


def test_last_pod_message() -> None:
    events = [{"message": "Pulling image"}, {"message": ""}, {"reason": "x"}]
    assert last_pod_message(events) == "Pulling image"
    assert last_pod_message([]) is None
