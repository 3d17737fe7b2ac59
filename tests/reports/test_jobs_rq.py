"""Rendering on an RQ worker when REDIS_URL is set (needs a Redis server; skipped without).

The web side only queues the render; a real RQ ``SimpleWorker`` in burst mode then runs
``run_render_job`` with an app built from its environment, as a separate worker would, and
the published version appears with its progress at 100 %.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker

from giving import create_app
from giving.config import load_settings
from giving.db import transaction
from giving.reports import jobs, services
from giving.reports.models import JobState, ReportRenderJob, ReportVersion
from tests.conftest import DatabaseFactory
from tests.impact.support import TEST_DATA_KEY
from tests.reports.support import make_report_story

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = pytest.mark.slow


@pytest.fixture
def queue() -> Iterator[Queue]:
    connection = Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except RedisError:
        connection.close()
        pytest.skip(f"no Redis at {REDIS_URL}")
    queue = Queue(f"giving-reports-test-{uuid.uuid4().hex[:8]}", connection=connection)
    yield queue
    queue.empty()
    queue.delete(delete_jobs=True)
    connection.close()


@pytest.fixture
def rq_app(
    database_factory: DatabaseFactory, queue: Queue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    env = {
        "DATABASE_URL": database_factory.fresh(),
        "GIVING_INSTANCE": str(tmp_path),
        "GIVING_DATA_KEY": TEST_DATA_KEY,
        "REDIS_URL": REDIS_URL,
    }
    for name, value in env.items():  # what the worker process would have in its environment
        monkeypatch.setenv(name, value)
    jobs.worker_app.cache_clear()
    app = create_app(
        config={"TESTING": True, "REPORTS_QUEUE": queue.name}, settings=load_settings(env)
    )
    yield app
    app.extensions["giving.engine"].dispose()
    if jobs.worker_app.cache_info().currsize:
        jobs.worker_app().extensions["giving.engine"].dispose()
    jobs.worker_app.cache_clear()


def test_with_redis_publishing_queues_and_an_rq_worker_renders_the_version(
    rq_app: Flask, queue: Queue, tmp_path: Path
) -> None:
    factory = rq_app.extensions["giving.sessionmaker"]
    settings = rq_app.extensions["giving.settings"]
    with rq_app.test_request_context(), factory() as session:
        with transaction(session):
            rstory = make_report_story(session, tmp_path, settings)
        with transaction(session):
            created = services.request_publication(
                session,
                actor=rstory.story.organiser,
                campaign=rstory.campaign,
                languages=["en"],
                settings=settings,
                key=rstory.key,
            )
            job_id = created[0].id
    assert jobs.enqueue(rq_app, [job_id]) == "rq"
    assert queue.count == 1
    with factory() as session:
        assert session.get(ReportRenderJob, job_id).state == JobState.QUEUED  # type: ignore[union-attr]

    SimpleWorker([queue], connection=queue.connection).work(burst=True)

    with factory() as session:
        job = session.get(ReportRenderJob, job_id)
        assert job is not None
        assert (job.state, job.progress, job.attempts) == (JobState.DONE, 100, 1)
        version = session.scalar(sa.select(ReportVersion))
        assert version is not None
        assert services.report_storage(rq_app).read(version.file_key).startswith(b"%PDF-")
    # Queued again (a retry, a double click): the worker finds it done and renders nothing.
    jobs.enqueue(rq_app, [job_id])
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    with factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ReportVersion)) == 1
