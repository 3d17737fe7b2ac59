"""Rendering report versions in the background: inline without Redis, on RQ with REDIS_URL.

A render job row (giving.reports.models.ReportRenderJob) exists once per (campaign, version,
language): the database's UNIQUE constraint refuses a second one, so the same version is
never queued twice. A worker *claims* a job with one conditional UPDATE (queued or failed →
running); whoever loses that race does nothing, so two workers given the same job (a retry,
a double enqueue) never both render it. Progress is committed as the job goes, for the
status endpoint the transparency page polls.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale
from sqlalchemy.orm import Session, sessionmaker

from giving.config import settings_of
from giving.db import transaction, utcnow
from giving.reports.models import JobState, ReportRenderJob
from giving.reports.services import render_job, report_storage

log = logging.getLogger(__name__)

QUEUE_NAME = "reports"
JOB_TIMEOUT = 15 * 60


def _sessions(app: Flask) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = app.extensions["giving.sessionmaker"]
    return factory


def claim(session: Session, job_id: int) -> bool:
    """Take the job if it is waiting (or failed earlier); False if someone else has it."""
    result = session.execute(
        sa.update(ReportRenderJob)
        .where(
            ReportRenderJob.id == job_id,
            ReportRenderJob.state.in_((JobState.QUEUED.value, JobState.FAILED.value)),
        )
        .values(
            state=JobState.RUNNING.value,
            progress=5,
            stage="starting",
            started_at=utcnow(),
            error=None,
            attempts=ReportRenderJob.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def process(app: Flask, job_id: int) -> bool:
    """Run one render job to the end; True if this call rendered it.

    Progress is committed on the job's own session between stages (nothing else has been
    written yet), so the page sees it, and SQLite's single writer lock is not held by one
    session while another waits to report progress.
    """
    factory = _sessions(app)
    # A worker has no request (and so no visitor's language): messages are in English; the
    # report itself renders in its own language.
    with app.app_context(), force_locale("en"), factory() as session:
        with transaction(session):
            if not claim(session, job_id):
                return False
        job = session.get(ReportRenderJob, job_id)
        assert job is not None

        def progress(percent: int, stage: str) -> None:
            job.progress = percent
            job.stage = stage
            session.commit()

        try:
            with transaction(session):
                version = render_job(session, job, report_storage(app), progress=progress)
                job.state = JobState.DONE.value
                job.progress = 100
                job.stage = "done"
                job.finished_at = utcnow()
        except Exception as exc:
            log.exception("report render job %s failed", job_id)
            with transaction(session):
                failed = session.get(ReportRenderJob, job_id)
                assert failed is not None
                failed.state = JobState.FAILED.value
                failed.stage = "failed"
                failed.error = f"{type(exc).__name__}: {exc}"[:2000]
                failed.finished_at = utcnow()
            return False
        log.info("rendered report version %s (job %s)", version.id, job_id)
    return True


@functools.cache
def worker_app() -> Flask:
    """The worker's app, built once per worker process from its environment."""
    from giving import create_app

    return create_app()


def run_render_job(job_id: int) -> bool:
    """The RQ entry point: render one job with the worker's app."""
    return process(worker_app(), job_id)


def enqueue(app: Flask, job_ids: Sequence[int]) -> str:
    """Hand the jobs to RQ when Redis is configured, else render them here and now.

    Call after the transaction that created the jobs has committed. Returns "rq" or "inline".
    """
    redis_url = settings_of(app).redis_url
    if redis_url and not app.config.get("REPORTS_INLINE"):
        from redis import Redis
        from rq import Queue

        queue_name = str(app.config.get("REPORTS_QUEUE", QUEUE_NAME))
        connection = Redis.from_url(redis_url)
        try:
            queue = Queue(queue_name, connection=connection)
            for job_id in job_ids:
                # A fixed RQ id: enqueueing the same render twice replaces, not adds, it.
                queue.enqueue(
                    run_render_job,
                    job_id,
                    job_id=f"giving-report-render-{job_id}",
                    job_timeout=JOB_TIMEOUT,
                    description=f"render report job {job_id}",
                )
        finally:
            connection.close()
        return "rq"
    for job_id in job_ids:
        process(app, job_id)
    return "inline"


def job_status(job: ReportRenderJob) -> dict[str, object]:
    return {
        "id": job.id,
        "version": job.version,
        "language": job.language,
        "state": job.state,
        "progress": job.progress,
        "stage": job.stage,
        "done": job.state == JobState.DONE.value,
        "failed": job.state == JobState.FAILED.value,
    }
