"""Publishing: immutable snapshots, byte-identical regeneration, verification by hash, no
duplicate renders, and sign-offs carried into later versions."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import DatabaseError, IntegrityError

from giving.auditors import services as auditor_grants
from giving.db import transaction, utcnow
from giving.errors import Conflict, PermissionDenied, ValidationError
from giving.reports import auditors, jobs, services
from giving.reports.models import JobState, ReportRenderJob, ReportSignOff, ReportVersion
from tests.reports.support import ReportStory, pay, pdf_text

pytestmark = pytest.mark.slow


def publish(
    rstory: ReportStory, app: Flask, languages: tuple[str, ...] = ("en", "zh")
) -> list[ReportVersion]:
    session = rstory.session
    with transaction(session):
        created = services.request_publication(
            session,
            actor=rstory.story.organiser,
            campaign=rstory.campaign,
            languages=languages,
            settings=rstory.settings,
            key=rstory.key,
        )
        ids = [job.id for job in created]
    assert jobs.enqueue(app, ids) == "inline"
    session.expire_all()
    versions = [
        session.scalar(
            sa.select(ReportVersion).where(
                ReportVersion.version == job.version,
                ReportVersion.language == job.language,
                ReportVersion.campaign_id == job.campaign_id,
            )
        )
        for job in (session.get(ReportRenderJob, job_id) for job_id in ids)
        if job is not None
    ]
    assert all(version is not None for version in versions)
    return [version for version in versions if version is not None]


def stored_bytes(app: Flask, version: ReportVersion) -> bytes:
    return services.report_storage(app).read(version.file_key)


def test_a_published_version_regenerates_to_the_same_bytes_even_after_the_ledger_grows(
    rstory: ReportStory, app_context: Flask
) -> None:
    versions = publish(rstory, app_context)
    assert [(v.version, v.language) for v in versions] == [(1, "en"), (1, "zh")]
    for version in versions:
        data = stored_bytes(app_context, version)
        assert hashlib.sha256(data).hexdigest() == version.sha256
        assert version.size_bytes == len(data)
        assert version.entries == 12
        assert (version.first_seq, version.last_seq) == (0, 11)
    # More money arrives and the campaign is renamed; version 1 stays what it was.
    pay(rstory.story, 80_00, 2_40, when=utcnow())
    rstory.campaign.title = "A new title"
    with transaction(rstory.session):
        pass
    for version in versions:
        assert services.regenerate(rstory.session, version) == stored_bytes(app_context, version)
    (second,) = publish(rstory, app_context, ("en",))
    assert second.version == 2
    assert second.tree_size > versions[0].tree_size
    assert second.sha256 != versions[0].sha256


def test_published_versions_are_found_by_hash_and_by_file(
    rstory: ReportStory, app_context: Flask
) -> None:
    (version,) = publish(rstory, app_context, ("zh",))
    data = stored_bytes(app_context, version)
    session = rstory.session
    by_hash = services.verify_sha256(session, version.sha256.upper() + "  ")
    assert by_hash.published
    assert by_hash.version is not None
    assert by_hash.version.campaign.public_id == rstory.campaign.public_id
    assert services.verify_file(session, data).version == version
    tampered = data + b"% one more line, and the hash is another\n"
    assert not services.verify_file(session, tampered).published
    with pytest.raises(ValidationError, match="not a PDF"):
        services.verify_file(session, b"PK\x03\x04 a zip file")
    with pytest.raises(ValidationError, match="64 hexadecimal"):
        services.verify_sha256(session, "abc123")


def test_published_versions_and_sign_offs_cannot_be_changed_or_deleted(
    rstory: ReportStory, app_context: Flask
) -> None:
    (version,) = publish(rstory, app_context, ("en",))
    session = rstory.session
    auditor_grants.grant_access(
        session,
        actor=rstory.story.admin,
        auditor=rstory.story.auditor,
        campaign=rstory.campaign,
        expires_at=utcnow() + dt.timedelta(days=9),
    )
    auditors.sign_off(session, actor=rstory.story.auditor, version=version, statement="Checked.")
    for statement in (
        sa.update(ReportVersion).where(ReportVersion.id == version.id).values(sha256="0" * 64),
        sa.delete(ReportVersion).where(ReportVersion.id == version.id),
        sa.update(ReportSignOff).values(statement="Changed my mind"),
        sa.delete(ReportSignOff),
    ):
        with pytest.raises(DatabaseError, match="append-only"), session.begin_nested():
            session.execute(statement)


def test_the_same_version_is_never_rendered_twice(rstory: ReportStory, app_context: Flask) -> None:
    session = rstory.session
    with transaction(session):
        (job,) = services.request_publication(
            session,
            actor=rstory.story.organiser,
            campaign=rstory.campaign,
            languages=["en"],
            settings=rstory.settings,
            key=rstory.key,
        )
    # A second publication while the first is queued is refused, with a reason.
    with pytest.raises(Conflict, match="already being rendered"):
        services.request_publication(
            session,
            actor=rstory.story.organiser,
            campaign=rstory.campaign,
            languages=["en"],
            settings=rstory.settings,
            key=rstory.key,
        )
    # Two workers handed the same job: one claims it, the other finds it taken.
    with transaction(session):
        assert jobs.claim(session, job.id)
    with transaction(session):
        assert not jobs.claim(session, job.id)
    assert jobs.process(app_context, job.id) is False  # already running elsewhere
    # And the database refuses a second job row for the same version and language.
    duplicate = ReportRenderJob(
        campaign_id=job.campaign_id,
        version=job.version,
        language="en",
        checkpoint_id=job.checkpoint_id,
        report_date=job.report_date,
        context=job.context,
        requested_by_id=job.requested_by_id,
    )
    nested = session.begin_nested()
    session.add(duplicate)
    with pytest.raises(IntegrityError):
        session.flush()
    nested.rollback()
    session.expire_all()
    running = session.get(ReportRenderJob, job.id)
    assert running is not None
    assert running.state == JobState.RUNNING


def test_a_failed_render_is_recorded_and_can_run_again(
    rstory: ReportStory, app_context: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = rstory.session
    with transaction(session):
        (job,) = services.request_publication(
            session,
            actor=rstory.story.organiser,
            campaign=rstory.campaign,
            languages=["zh"],
            settings=rstory.settings,
            key=rstory.key,
        )

    def broken(*_args: object, **_kwargs: object) -> bytes:
        raise RuntimeError("fonts are missing")

    monkeypatch.setattr("giving.reports.services.render_pdf", broken)
    assert jobs.process(app_context, job.id) is False
    session.expire_all()
    failed = session.get(ReportRenderJob, job.id)
    assert failed is not None
    assert failed.state == JobState.FAILED
    assert "fonts are missing" in (failed.error or "")
    monkeypatch.undo()
    assert jobs.process(app_context, job.id) is True
    session.expire_all()
    assert session.get(ReportRenderJob, job.id).attempts == 2  # type: ignore[union-attr]


def test_only_organisers_and_the_host_may_publish(rstory: ReportStory) -> None:
    for outsider in (rstory.story.donor, rstory.story.other_organiser, rstory.story.auditor):
        with pytest.raises(PermissionDenied):
            services.request_publication(
                rstory.session,
                actor=outsider,
                campaign=rstory.campaign,
                languages=["en"],
                settings=rstory.settings,
                key=rstory.key,
            )
    assert services.can_publish(rstory.session, rstory.story.host_member, rstory.campaign)
    assert services.can_publish(rstory.session, rstory.story.co_organiser, rstory.campaign)


def sign_off_as_auditor(rstory: ReportStory, version: ReportVersion) -> None:
    """Grant the story's auditor access for nine days and record their sign-off on ``version``."""
    session = rstory.session
    auditor_grants.grant_access(
        session,
        actor=rstory.story.admin,
        auditor=rstory.story.auditor,
        campaign=rstory.campaign,
        expires_at=utcnow() + dt.timedelta(days=9),
    )
    with transaction(session):
        auditors.sign_off(
            session,
            actor=rstory.story.auditor,
            version=version,
            statement="Matched every charge with the processor's statement.",
        )


def test_sign_offs_appear_in_later_versions_of_the_report(
    rstory: ReportStory, app_context: Flask, tmp_path: Path
) -> None:
    (first,) = publish(rstory, app_context, ("en",))
    sign_off_as_auditor(rstory, first)
    (second,) = publish(rstory, app_context, ("en",))
    path = tmp_path / "v2.pdf"
    path.write_bytes(stored_bytes(app_context, second))
    text = pdf_text(path)
    assert "Auditor Sun" in text
    assert "Matched every charge" in text
    assert first.sha256[:40] in text.replace(" ", "").replace("\n", "")
