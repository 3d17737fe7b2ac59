"""Auditor access: granted by admins to auditors, one campaign at a time, until a date; and
sign-offs that only a current auditor can make, once per version."""

from __future__ import annotations

import datetime as dt

import pytest

from giving.auditors import services as auditor_grants
from giving.db import utcnow
from giving.errors import Conflict, PermissionDenied, ValidationError
from giving.reports import auditors
from giving.reports.models import ReportVersion
from tests.reports.support import ReportStory

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def grant(rstory: ReportStory, days: int = 30, **overrides: object) -> object:
    values: dict[str, object] = {
        "actor": rstory.story.admin,
        "auditor": rstory.story.auditor,
        "campaign": rstory.campaign,
        "expires_at": NOW + dt.timedelta(days=days),
        "now": NOW,
    }
    values.update(overrides)
    return auditor_grants.grant_access(rstory.session, **values)  # type: ignore[arg-type]


def test_access_lasts_until_it_expires_and_covers_only_the_granted_campaign(
    rstory: ReportStory,
) -> None:
    grant(rstory, days=10)
    auditor, session = rstory.story.auditor, rstory.session
    assert auditor_grants.has_auditor_access(session, auditor, rstory.campaign, NOW)
    assert auditor_grants.has_auditor_access(
        session, auditor, rstory.campaign, NOW + dt.timedelta(days=9)
    )
    assert not auditor_grants.has_auditor_access(
        session, auditor, rstory.campaign, NOW + dt.timedelta(days=10)
    )
    assert not auditor_grants.has_auditor_access(session, auditor, rstory.story.other_campaign, NOW)
    assert [g.campaign for g in auditor_grants.active_grants(session, auditor, NOW)] == [
        rstory.campaign
    ]
    assert not auditor_grants.has_auditor_access(session, None, rstory.campaign, NOW)


def test_only_admins_grant_and_only_to_auditors_for_a_limited_time(rstory: ReportStory) -> None:
    with pytest.raises(PermissionDenied):
        grant(rstory, actor=rstory.story.organiser)
    with pytest.raises(ValidationError, match="is not an auditor"):
        grant(rstory, auditor=rstory.story.donor)
    with pytest.raises(ValidationError, match="must end in the future"):
        grant(rstory, days=0)
    with pytest.raises(ValidationError, match="at most 366 days"):
        grant(rstory, days=400)


def test_a_revoked_grant_ends_at_once_and_cannot_be_revoked_twice(rstory: ReportStory) -> None:
    given = grant(rstory)
    auditor_grants.revoke_access(rstory.session, actor=rstory.story.admin, grant=given, now=NOW)  # type: ignore[arg-type]
    assert not auditor_grants.has_auditor_access(
        rstory.session, rstory.story.auditor, rstory.campaign, NOW
    )
    with pytest.raises(Conflict):
        auditor_grants.revoke_access(rstory.session, actor=rstory.story.admin, grant=given)  # type: ignore[arg-type]


def _version(rstory: ReportStory) -> ReportVersion:
    version = ReportVersion(
        campaign_id=rstory.campaign.id,
        version=1,
        language="en",
        file_key="0" * 32 + ".pdf",
        sha256="ab" * 32,
        size_bytes=1,
        checkpoint_id=_checkpoint_id(rstory),
        tree_size=12,
        entries=12,
        report_date=NOW,
        context={},
        published_by_id=rstory.story.organiser.id,
    )
    rstory.session.add(version)
    rstory.session.flush()
    return version


def _checkpoint_id(rstory: ReportStory) -> int:
    from giving.reports.services import checkpoint_covering_ledger

    return checkpoint_covering_ledger(rstory.session, rstory.key, rstory.settings).id


def test_a_statement_that_identifies_someone_is_refused(rstory: ReportStory) -> None:
    version = _version(rstory)
    grant(rstory)
    with pytest.raises(ValidationError, match="cannot be published") as caught:
        auditors.sign_off(
            rstory.session,
            actor=rstory.story.auditor,
            version=version,
            statement="Checked with the head teacher, +86 138 1234 5678.",
            now=NOW,
        )
    assert caught.value.field == "statement"


def test_sign_offs_need_current_access_a_statement_and_happen_once(rstory: ReportStory) -> None:
    version = _version(rstory)
    auditor, session = rstory.story.auditor, rstory.session
    with pytest.raises(PermissionDenied):
        auditors.sign_off(session, actor=auditor, version=version, statement="Fine.", now=NOW)
    grant(rstory)
    with pytest.raises(ValidationError, match="what you checked"):
        auditors.sign_off(session, actor=auditor, version=version, statement="  ", now=NOW)
    signed = auditors.sign_off(session, actor=auditor, version=version, statement="Fine.", now=NOW)
    assert (signed.sha256, signed.tree_size, signed.signed_at) == (version.sha256, 12, NOW)
    with pytest.raises(Conflict, match="already signed off"):
        auditors.sign_off(session, actor=auditor, version=version, statement="Again.", now=NOW)
    assert [s.statement for s in auditors.signoffs_of(session, rstory.campaign)] == ["Fine."]
    later = utcnow() + dt.timedelta(days=400)
    with pytest.raises(PermissionDenied):
        auditors.sign_off(session, actor=auditor, version=version, statement="Late.", now=later)
