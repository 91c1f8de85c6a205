"""UWS 1.1 documents: the job list, a job, its results and parameters.

Built with :mod:`xml.etree.ElementTree` in the UWS namespace (prefix
``uws``), with ``xlink:href`` on job references and results and
``xsi:nil`` for unknown times, as the UWS 1.1 schema has them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime

from ..models.job import Job

__all__ = [
    "UWS_NS",
    "format_time",
    "job_document",
    "job_list_document",
    "parameters_document",
    "results_document",
]

UWS_NS = "http://www.ivoa.net/xml/UWS/v1.0"
_XLINK_NS = "http://www.w3.org/1999/xlink"
_XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

ET.register_namespace("uws", UWS_NS)
ET.register_namespace("xlink", _XLINK_NS)
ET.register_namespace("xsi", _XSI_NS)


def _q(tag: str) -> str:
    return f"{{{UWS_NS}}}{tag}"


def format_time(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``, as UWS clients parse it."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _text(parent: ET.Element, tag: str, value: str | None) -> ET.Element:
    element = ET.SubElement(parent, _q(tag))
    if value is None:
        element.set(f"{{{_XSI_NS}}}nil", "true")
    else:
        element.text = value
    return element


def _time(parent: ET.Element, tag: str, value: datetime | None) -> None:
    _text(parent, tag, format_time(value) if value is not None else None)


def _serialize(root: ET.Element) -> bytes:
    data: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return data


def job_list_document(jobs: Sequence[Job], async_url: str) -> bytes:
    """The ``uws:jobs`` list, each job a ``uws:jobref`` with phase and times."""
    root = ET.Element(_q("jobs"), {"version": "1.1"})
    for job in jobs:
        ref = ET.SubElement(
            root,
            _q("jobref"),
            {"id": job.id, f"{{{_XLINK_NS}}}href": f"{async_url}/{job.id}"},
        )
        ET.SubElement(ref, _q("phase")).text = job.phase.value
        if job.run_id is not None:
            ET.SubElement(ref, _q("runId")).text = job.run_id
        ET.SubElement(ref, _q("ownerId")).text = job.owner
        ET.SubElement(ref, _q("creationTime")).text = format_time(job.creation_time)
    return _serialize(root)


def _parameters(parent: ET.Element, job: Job) -> None:
    params = ET.SubElement(parent, _q("parameters"))
    for name, value in job.parameters:
        ET.SubElement(params, _q("parameter"), {"id": name.lower()}).text = value


def _results(parent: ET.Element, job: Job, async_url: str) -> None:
    results = ET.SubElement(parent, _q("results"))
    if job.result is not None:
        ET.SubElement(
            results,
            _q("result"),
            {
                "id": job.result.id,
                f"{{{_XLINK_NS}}}href": (
                    f"{async_url}/{job.id}/results/{job.result.id}"
                ),
                "size": str(job.result.size),
                "mime-type": job.result.mime_type,
            },
        )


def job_document(job: Job, async_url: str) -> bytes:
    """The full ``uws:job`` resource."""
    root = ET.Element(_q("job"), {"version": "1.1"})
    ET.SubElement(root, _q("jobId")).text = job.id
    if job.run_id is not None:
        ET.SubElement(root, _q("runId")).text = job.run_id
    _text(root, "ownerId", job.owner)
    ET.SubElement(root, _q("phase")).text = job.phase.value
    _time(root, "quote", job.quote)
    ET.SubElement(root, _q("creationTime")).text = format_time(job.creation_time)
    _time(root, "startTime", job.start_time)
    _time(root, "endTime", job.end_time)
    ET.SubElement(root, _q("executionDuration")).text = str(job.execution_duration)
    ET.SubElement(root, _q("destruction")).text = format_time(job.destruction_time)
    _parameters(root, job)
    _results(root, job, async_url)
    if job.error is not None:
        summary = ET.SubElement(
            root,
            _q("errorSummary"),
            {
                "type": "transient" if job.error.transient else "fatal",
                "hasDetail": "true",
            },
        )
        ET.SubElement(summary, _q("message")).text = job.error.message
    return _serialize(root)


def results_document(job: Job, async_url: str) -> bytes:
    """The ``uws:results`` resource of a job."""
    root = ET.Element(_q("results"))
    if job.result is not None:
        holder = ET.Element("holder")
        _results(holder, job, async_url)
        root = holder[0]
    return _serialize(root)


def parameters_document(job: Job) -> bytes:
    """The ``uws:parameters`` resource of a job."""
    holder = ET.Element("holder")
    _parameters(holder, job)
    return _serialize(holder[0])
