"""``/async``: UWS 1.1 jobs of the authenticated user.

Every route takes the user from the ingress; another user's job id answers
404 exactly like an unknown one. Changes answer 303 See Other to the job
(or to the job list after a delete), as UWS says.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from ..config import PATH_PREFIX
from ..dependencies.context import Context, User
from ..dependencies.params import read_parameters
from ..exceptions import JobNotFoundError, ResultNotFoundError, UsageError
from ..models.job import ExecutionPhase
from ..results import error_document
from ..services.jobs import parse_job_filter
from ..services.query import Parameters
from ..views.uws import (
    format_time,
    job_document,
    job_list_document,
    parameters_document,
    results_document,
)
from .responses import text_response, xml_response

__all__ = ["router"]

router = APIRouter(prefix=f"{PATH_PREFIX}/async")

_JOB_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")

JobId = Annotated[str, Path(description="The job's identifier")]


def _check_id(job_id: str) -> str:
    if not _JOB_ID_RE.match(job_id):
        raise JobNotFoundError(job_id[:40])
    return job_id


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("", summary="List the user's jobs")
async def list_jobs(request: Request, context: Context, user: User) -> Response:
    """The user's jobs, newest first; filters PHASE (repeatable), AFTER, LAST."""
    params = Parameters(request.query_params.multi_items())
    service = context.factory.create_job_service(context.logger)
    jobs = await service.list(user, parse_job_filter(params))
    return xml_response(job_list_document(jobs, context.factory.async_url))


@router.post("", summary="Create a job")
async def create_job(request: Request, context: Context, user: User) -> Response:
    """Create a job from the query parameters; PHASE=RUN also starts it."""
    params, inline = await read_parameters(request, context.config)
    service = context.factory.create_job_service(context.logger)
    job = await service.create(user, params, inline)
    return _see_other(f"{context.factory.async_url}/{job.id}")


@router.get("/{job_id}", summary="A job")
async def get_job(
    request: Request, context: Context, user: User, job_id: JobId
) -> Response:
    """The job; WAIT=<seconds> blocks while it stays in its active phase."""
    params = Parameters(request.query_params.multi_items())
    wait = None
    wait_value = params.get("WAIT")
    if wait_value is not None:
        try:
            wait = float(int(wait_value))
        except ValueError:
            raise UsageError(f"WAIT={wait_value[:40]!r} is not an integer") from None
    wait_phase = None
    phase_value = params.get("PHASE")
    if phase_value is not None:
        try:
            wait_phase = ExecutionPhase(phase_value.strip().upper())
        except ValueError:
            raise UsageError(f"PHASE={phase_value[:40]!r} is not a UWS phase") from None
    service = context.factory.create_job_service(context.logger)
    job = await service.get(user, _check_id(job_id), wait=wait, wait_phase=wait_phase)
    return xml_response(job_document(job, context.factory.async_url))


@router.post("/{job_id}", summary="Delete a job (ACTION=DELETE)")
async def post_job(
    request: Request, context: Context, user: User, job_id: JobId
) -> Response:
    """ACTION=DELETE deletes the job, as DELETE does."""
    params, _ = await read_parameters(request, context.config)
    action = params.get("ACTION")
    if action is None or action.strip().upper() != "DELETE":
        raise UsageError("POST to a job takes ACTION=DELETE")
    service = context.factory.create_job_service(context.logger)
    await service.delete(user, _check_id(job_id))
    return _see_other(context.factory.async_url)


@router.delete("/{job_id}", summary="Delete a job")
async def delete_job(context: Context, user: User, job_id: JobId) -> Response:
    """Delete the job, stopping it if it runs; its result is never fetched."""
    service = context.factory.create_job_service(context.logger)
    await service.delete(user, _check_id(job_id))
    return _see_other(context.factory.async_url)


@router.get("/{job_id}/phase", summary="The job's phase")
async def get_phase(context: Context, user: User, job_id: JobId) -> Response:
    """The phase as text."""
    service = context.factory.create_job_service(context.logger)
    job = await service.get(user, _check_id(job_id))
    return text_response(job.phase.value)


@router.post("/{job_id}/phase", summary="Run or abort the job")
async def post_phase(
    request: Request, context: Context, user: User, job_id: JobId
) -> Response:
    """PHASE=RUN or PHASE=ABORT."""
    params, _ = await read_parameters(request, context.config)
    phase = params.get("PHASE")
    if phase is None:
        raise UsageError("PHASE is required (RUN or ABORT)")
    service = context.factory.create_job_service(context.logger)
    job = await service.change_phase(user, _check_id(job_id), phase)
    return _see_other(f"{context.factory.async_url}/{job.id}")


@router.get("/{job_id}/executionduration", summary="The job's execution duration")
async def get_execution_duration(
    context: Context, user: User, job_id: JobId
) -> Response:
    """Seconds the job may run, as text."""
    service = context.factory.create_job_service(context.logger)
    job = await service.get(user, _check_id(job_id))
    return text_response(str(job.execution_duration))


@router.post("/{job_id}/executionduration", summary="Change the execution duration")
async def post_execution_duration(
    request: Request, context: Context, user: User, job_id: JobId
) -> Response:
    """EXECUTIONDURATION=<seconds> (0: the most allowed), while PENDING."""
    params, _ = await read_parameters(request, context.config)
    value = params.get("EXECUTIONDURATION")
    if value is None:
        raise UsageError("EXECUTIONDURATION is required")
    service = context.factory.create_job_service(context.logger)
    job = await service.set_execution_duration(user, _check_id(job_id), value)
    return _see_other(f"{context.factory.async_url}/{job.id}")


@router.get("/{job_id}/destruction", summary="The job's destruction time")
async def get_destruction(context: Context, user: User, job_id: JobId) -> Response:
    """When the job and its result will be deleted (ISO 8601)."""
    service = context.factory.create_job_service(context.logger)
    job = await service.get(user, _check_id(job_id))
    return text_response(format_time(job.destruction_time))


@router.post("/{job_id}/destruction", summary="Change the destruction time")
async def post_destruction(
    request: Request, context: Context, user: User, job_id: JobId
) -> Response:
    """DESTRUCTION=<ISO 8601 time>, capped at the configured maximum."""
    params, _ = await read_parameters(request, context.config)
    value = params.get("DESTRUCTION")
    if value is None:
        raise UsageError("DESTRUCTION is required")
    service = context.factory.create_job_service(context.logger)
    job = await service.set_destruction(user, _check_id(job_id), value)
    return _see_other(f"{context.factory.async_url}/{job.id}")


@router.get("/{job_id}/quote", summary="The job's quote")
async def get_quote(context: Context, user: User, job_id: JobId) -> Response:
    """The estimated completion time; empty when unknown."""
    service = context.factory.create_job_service(context.logger)
    job = await service.get(user, _check_id(job_id))
    return text_response(format_time(job.quote) if job.quote else "")


@router.get("/{job_id}/error", summary="The job's error document")
async def get_error(context: Context, user: User, job_id: JobId) -> Response:
    """The DALI error document of a job in ERROR."""
    service = context.factory.create_job_service(context.logger)
    job = await service.get(user, _check_id(job_id))
    if job.error is None:
        raise ResultNotFoundError(
            f"Job {job.id} has no error (it is {job.phase.value})"
        )
    return Response(
        error_document(job.error.message), media_type="application/x-votable+xml"
    )


@router.get("/{job_id}/results", summary="The job's results")
async def get_results(context: Context, user: User, job_id: JobId) -> Response:
    """The UWS results list (one result, ``result``, once COMPLETED)."""
    service = context.factory.create_job_service(context.logger)
    job = await service.get(user, _check_id(job_id))
    return xml_response(results_document(job, context.factory.async_url))


@router.get("/{job_id}/results/{result_id}", summary="Fetch a result")
async def get_result(
    context: Context, user: User, job_id: JobId, result_id: str
) -> Response:
    """303 to where the result is stored (a signed URL that needs no token)."""
    service = context.factory.create_job_service(context.logger)
    url = await service.result_url(user, _check_id(job_id), result_id)
    return _see_other(url)


@router.get("/{job_id}/parameters", summary="The job's parameters")
async def get_parameters(context: Context, user: User, job_id: JobId) -> Response:
    """The UWS parameters list."""
    service = context.factory.create_job_service(context.logger)
    job = await service.get(user, _check_id(job_id))
    return xml_response(parameters_document(job))


@router.post("/{job_id}/parameters", summary="Change the job's parameters")
async def post_parameters(
    request: Request, context: Context, user: User, job_id: JobId
) -> Response:
    """Add or replace parameters while the job is PENDING."""
    params, _ = await read_parameters(request, context.config)
    service = context.factory.create_job_service(context.logger)
    job = await service.set_parameters(user, _check_id(job_id), params)
    return _see_other(f"{context.factory.async_url}/{job.id}")


@router.get("/{job_id}/owner", summary="The job's owner")
async def get_owner(context: Context, user: User, job_id: JobId) -> Response:
    """The owner's user name as text."""
    service = context.factory.create_job_service(context.logger)
    job = await service.get(user, _check_id(job_id))
    return text_response(job.owner)
