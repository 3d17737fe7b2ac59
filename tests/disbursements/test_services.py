"""Disbursement stories: request, approval into the ledger, rejection, reversal, refusals."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.campaigns import services as campaigns
from giving.campaigns.models import CampaignOrganiser
from giving.db import utcnow
from giving.disbursements import queries, services
from giving.disbursements.models import (
    Disbursement,
    DisbursementActivity,
    DisbursementState,
    EvidenceFile,
)
from giving.errors import Conflict, PermissionDenied, ValidationError
from giving.hosts import services as hosts
from giving.ledger.balances import campaign_summary
from giving.ledger.models import LedgerEntry
from giving.money import Money
from tests.campaigns.factories import make_user
from tests.disbursements.support import Story, give, image_bytes, make_host, pdf_bytes, upload


def _counts(session: Session) -> tuple[int, int, int, int]:
    return (
        session.scalar(sa.select(sa.func.count()).select_from(Disbursement)) or 0,
        session.scalar(sa.select(sa.func.count()).select_from(EvidenceFile)) or 0,
        session.scalar(sa.select(sa.func.count()).select_from(DisbursementActivity)) or 0,
        session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) or 0,
    )


def _kinds(session: Session, story: Story) -> list[str]:
    return [row.kind for row in reversed(queries.activity_of(session, story.campaign))]


def test_an_approved_request_posts_a_disbursement_with_its_evidence_digests(
    session: Session, story: Story
) -> None:
    disbursement = story.request(
        40_000, evidence=[upload(pdf_bytes("invoice")), upload(image_bytes("PNG"), "photo.png")]
    )
    assert disbursement.state == DisbursementState.REQUESTED
    assert disbursement.ledger_seq is None
    digests = sorted(e.sha256 for e in disbursement.evidence)
    for evidence in disbursement.evidence:
        assert story.storage.read(evidence.storage_key)  # stored under a random name
        assert evidence.storage_key != evidence.filename

    services.approve_disbursement(
        session, actor=story.finance, disbursement=disbursement, note="Invoice checked"
    )

    entry = session.get(LedgerEntry, disbursement.ledger_seq)
    assert entry is not None
    assert entry.kind == "disbursement"
    assert entry.evidence == digests
    assert entry.memo == f"disbursement {disbursement.id} (education)"
    assert "Bookshop" not in entry.memo  # the payee is not published in the ledger
    postings = {(p.account, p.amount) for p in entry.postings}
    assert postings == {
        (f"campaign:{story.campaign.public_id}:fund", 40_000),
        ("payee:disbursed", -40_000),
    }
    summary = campaign_summary(session, story.campaign.public_id).in_currency("CNY")
    assert (summary.disbursed, summary.available) == (40_000, 60_000)
    assert disbursement.state == DisbursementState.APPROVED
    assert disbursement.decided_by_id == story.finance.id
    assert _kinds(session, story) == ["requested", "approved"]


def test_an_admin_may_approve_when_the_host_cannot(session: Session, story: Story) -> None:
    disbursement = story.request()
    services.approve_disbursement(session, actor=story.admin, disbursement=disbursement)
    assert disbursement.state == DisbursementState.APPROVED


def test_nobody_approves_their_own_request(session: Session, story: Story) -> None:
    # The finance member also organises the campaign and asks for money: someone else decides.
    story.campaign.organisers.append(
        CampaignOrganiser(user_id=story.finance.id, role="co_organiser")
    )
    session.flush()
    disbursement = story.request(actor=story.finance)
    before = _counts(session)
    with pytest.raises(PermissionDenied, match="someone else"):
        services.approve_disbursement(session, actor=story.finance, disbursement=disbursement)
    with pytest.raises(PermissionDenied, match="someone else"):
        services.reject_disbursement(
            session, actor=story.finance, disbursement=disbursement, reason="mine"
        )
    assert _counts(session) == before
    assert disbursement.state == DisbursementState.REQUESTED
    services.approve_disbursement(session, actor=story.admin, disbursement=disbursement)


@pytest.mark.parametrize("who", ["organiser", "co_organiser", "host_member", "auditor", "donor"])
def test_only_host_finance_members_and_admins_decide(
    session: Session, story: Story, who: str
) -> None:
    disbursement = story.request()
    before = _counts(session)
    with pytest.raises(PermissionDenied, match="finance member"):
        services.approve_disbursement(session, actor=getattr(story, who), disbursement=disbursement)
    with pytest.raises(PermissionDenied):
        services.reject_disbursement(
            session, actor=getattr(story, who), disbursement=disbursement, reason="no"
        )
    assert _counts(session) == before


def test_finance_members_of_another_host_cannot_decide(session: Session, story: Story) -> None:
    other_host = make_host(session, story.admin)
    outsider = make_user(session)
    hosts.add_member(
        session, actor=story.admin, host=other_host, email=outsider.email, role="finance"
    )
    disbursement = story.request()
    with pytest.raises(PermissionDenied):
        services.approve_disbursement(session, actor=outsider, disbursement=disbursement)


def test_a_request_above_the_available_balance_cannot_be_approved(
    session: Session, story: Story
) -> None:
    disbursement = story.request(100_001)  # the campaign holds 1,000.00
    before = _counts(session)
    with pytest.raises(Conflict, match=r"holds 1000\.00 CNY, less than the 1000\.01 CNY"):
        services.approve_disbursement(session, actor=story.finance, disbursement=disbursement)
    assert _counts(session) == before
    assert disbursement.state == DisbursementState.REQUESTED
    # Once more money arrives it can be approved.
    give(session, story.campaign, 1)
    services.approve_disbursement(session, actor=story.finance, disbursement=disbursement)
    assert campaign_summary(session, story.campaign.public_id).in_currency("CNY").available == 0


def test_two_approvals_cannot_overdraw_the_fund(session: Session, story: Story) -> None:
    first, second = story.request(60_000), story.request(60_000)
    services.approve_disbursement(session, actor=story.finance, disbursement=first)
    with pytest.raises(Conflict, match=r"holds 400\.00 CNY"):
        services.approve_disbursement(session, actor=story.finance, disbursement=second)


@pytest.mark.parametrize(
    ("amount", "field", "message"),
    [
        (Money(0, "CNY"), "amount", "more than zero"),
        (Money(-500, "CNY"), "amount", "more than zero"),
        (Money(10_00, "USD"), "currency", "in CNY"),
    ],
)
def test_zero_negative_and_foreign_currency_amounts_are_refused(
    session: Session, story: Story, amount: Money, field: str, message: str
) -> None:
    before = _counts(session)
    files_before = list(story.storage.root.glob("*")) if story.storage.root.exists() else []
    with pytest.raises(ValidationError, match=message) as caught:
        story.request(amount=amount)
    assert caught.value.field == field
    assert _counts(session) == before
    after = list(story.storage.root.glob("*")) if story.storage.root.exists() else []
    assert after == files_before


def test_a_bad_file_among_good_ones_stores_nothing(session: Session, story: Story) -> None:
    before = _counts(session)
    with pytest.raises(ValidationError, match="not a PDF"):
        story.request(
            evidence=[upload(pdf_bytes("good")), upload(b"MZ" + b"\0" * 64, "invoice.pdf")]
        )
    with pytest.raises(ValidationError, match="too large"):
        story.request(evidence=[upload(pdf_bytes("big"))], max_bytes=100)
    with pytest.raises(ValidationError, match="attached twice"):
        story.request(evidence=[upload(pdf_bytes("same")), upload(pdf_bytes("same"))])
    assert _counts(session) == before
    assert not story.storage.root.exists() or not list(story.storage.root.iterdir())


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"payee": "  "}, "payee"),
        ({"description": ""}, "description"),
        ({"category": "weapons"}, "category"),
        ({"spent_on": utcnow().date() + dt.timedelta(days=10)}, "spent_on"),
        ({"people_reached": -1}, "people_reached"),
        ({"groups_reached": "x" * 301}, "groups_reached"),
    ],
)
def test_incomplete_requests_are_refused_on_the_field_at_fault(
    session: Session, story: Story, overrides: dict[str, object], field: str
) -> None:
    before = _counts(session)
    with pytest.raises(ValidationError) as caught:
        story.request(**overrides)
    assert caught.value.field == field
    assert _counts(session) == before


def test_only_organisers_request_and_only_for_live_or_closed_campaigns(
    session: Session, story: Story
) -> None:
    with pytest.raises(PermissionDenied):
        story.request(actor=story.finance)
    with pytest.raises(PermissionDenied):
        story.request(actor=story.other_organiser)
    campaigns.freeze(session, actor=story.admin, campaign=story.campaign, reason="Checking")
    with pytest.raises(Conflict, match="once the campaign is live"):
        story.request()


def test_a_frozen_campaign_pays_nothing_out(session: Session, story: Story) -> None:
    disbursement = story.request()
    campaigns.freeze(session, actor=story.admin, campaign=story.campaign, reason="Checking")
    with pytest.raises(Conflict, match="not live or closed"):
        services.approve_disbursement(session, actor=story.finance, disbursement=disbursement)


def test_evidence_is_needed_before_approval_and_fixed_after(session: Session, story: Story) -> None:
    disbursement = story.request(evidence=[])
    with pytest.raises(Conflict, match="at least one evidence file"):
        services.approve_disbursement(session, actor=story.finance, disbursement=disbursement)
    services.add_evidence(
        session,
        actor=story.co_organiser,
        disbursement=disbursement,
        evidence=[upload(pdf_bytes("late receipt"))],
        storage=story.storage,
    )
    services.approve_disbursement(session, actor=story.finance, disbursement=disbursement)
    with pytest.raises(Conflict, match="before a decision"):
        services.add_evidence(
            session,
            actor=story.organiser,
            disbursement=disbursement,
            evidence=[upload(pdf_bytes("too late"))],
            storage=story.storage,
        )
    assert _kinds(session, story) == ["requested", "evidence_added", "approved"]


def test_a_rejection_needs_a_reason_and_posts_nothing(session: Session, story: Story) -> None:
    disbursement = story.request()
    entries = _counts(session)[3]
    with pytest.raises(ValidationError, match="why"):
        services.reject_disbursement(
            session, actor=story.finance, disbursement=disbursement, reason=" "
        )
    services.reject_disbursement(
        session, actor=story.finance, disbursement=disbursement, reason="Invoice is unreadable"
    )
    assert disbursement.state == DisbursementState.REJECTED
    assert disbursement.decision_reason == "Invoice is unreadable"
    assert _counts(session)[3] == entries
    with pytest.raises(Conflict, match="already decided"):
        services.approve_disbursement(session, actor=story.admin, disbursement=disbursement)
    assert _kinds(session, story) == ["requested", "rejected"]


def test_a_reversal_returns_the_money_to_the_fund(session: Session, story: Story) -> None:
    disbursement = story.request(25_000)
    with pytest.raises(Conflict, match="Only an approved"):
        services.reverse_disbursement(
            session, actor=story.finance, disbursement=disbursement, reason="x"
        )
    services.approve_disbursement(session, actor=story.finance, disbursement=disbursement)
    with pytest.raises(PermissionDenied):
        services.reverse_disbursement(
            session, actor=story.organiser, disbursement=disbursement, reason="oops"
        )
    services.reverse_disbursement(
        session, actor=story.finance, disbursement=disbursement, reason="Paid twice by mistake"
    )
    reversal = session.get(LedgerEntry, disbursement.reversal_seq)
    assert reversal is not None
    assert (reversal.kind, reversal.reverses) == ("reversal", disbursement.ledger_seq)
    summary = campaign_summary(session, story.campaign.public_id).in_currency("CNY")
    assert (summary.disbursed, summary.available) == (0, 100_000)
    assert disbursement.state == DisbursementState.REVERSED
    assert queries.campaign_money_flow(session, story.campaign).spent == ()
    with pytest.raises(Conflict):
        services.reverse_disbursement(
            session, actor=story.admin, disbursement=disbursement, reason="again"
        )
    assert _kinds(session, story) == ["requested", "approved", "reversed"]


def test_the_activity_log_cannot_be_rewritten(session: Session, story: Story) -> None:
    story.request()
    session.flush()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), session.begin_nested():
        session.execute(sa.update(DisbursementActivity).values(kind="approved"))
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), session.begin_nested():
        session.execute(sa.delete(DisbursementActivity))


def test_an_evidence_original_cannot_be_swapped_or_deleted(session: Session, story: Story) -> None:
    story.request()
    session.flush()
    with pytest.raises(sa.exc.DatabaseError, match="original"), session.begin_nested():
        session.execute(sa.update(EvidenceFile).values(sha256="0" * 64))
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), session.begin_nested():
        session.execute(sa.delete(EvidenceFile))
    with session.begin_nested():  # publishing a redacted copy later is allowed
        session.execute(sa.update(EvidenceFile).values(caption="Receipt"))


def test_publishing_a_redacted_copy_keeps_the_original_private(
    session: Session, story: Story
) -> None:
    disbursement = story.request()
    evidence = disbursement.evidence[0]
    with pytest.raises(ValidationError, match="original file"):
        services.publish_redacted(
            session,
            actor=story.organiser,
            evidence=evidence,
            upload=upload(story.storage.read(evidence.storage_key)),
            storage=story.storage,
        )
    with pytest.raises(PermissionDenied):
        services.publish_redacted(
            session,
            actor=story.finance,
            evidence=evidence,
            upload=upload(pdf_bytes("redacted")),
            storage=story.storage,
        )
    services.publish_redacted(
        session,
        actor=story.organiser,
        evidence=evidence,
        upload=upload(pdf_bytes("redacted")),
        caption="Invoice, address removed",
        storage=story.storage,
    )
    assert evidence.is_published
    assert evidence.redacted_sha256 != evidence.sha256
    stored = story.storage.read(evidence.redacted_key or "")
    # Published PDFs are rewritten without their metadata, so the digest is of the rewrite.
    assert stored.startswith(b"%PDF-")
    assert hashlib.sha256(stored).hexdigest() == evidence.redacted_sha256
    assert _kinds(session, story) == ["requested", "evidence_published"]


def test_the_budget_is_compared_with_what_was_spent(session: Session, story: Story) -> None:
    services.set_budget(
        session,
        actor=story.organiser,
        campaign=story.campaign,
        amounts={"education": 50_000, "food": 20_000, "health": 0},
    )
    first = story.request(30_000)
    second = story.request(25_000)
    services.approve_disbursement(session, actor=story.finance, disbursement=first)
    services.approve_disbursement(session, actor=story.finance, disbursement=second)
    story.request(10_000, category="food")  # requested only: not spent
    rows = {row.category: row for row in queries.budget_vs_actual(session, story.campaign)}
    assert set(rows) == {"education", "food"}
    assert (rows["education"].planned_minor, rows["education"].actual_minor) == (50_000, 55_000)
    assert rows["education"].over_budget
    assert (rows["food"].planned_minor, rows["food"].actual_minor) == (20_000, 0)
    services.set_budget(
        session, actor=story.organiser, campaign=story.campaign, amounts={"education": 60_000}
    )
    assert queries.budget_amounts(session, story.campaign)["education"] == 60_000


@pytest.mark.parametrize("amount", [-1, 1.5, "100"])
def test_a_budget_takes_whole_non_negative_minor_units(
    session: Session, story: Story, amount: object
) -> None:
    with pytest.raises(ValidationError) as caught:
        services.set_budget(
            session,
            actor=story.organiser,
            campaign=story.campaign,
            amounts={"food": amount},  # type: ignore[dict-item]
        )
    assert caught.value.field == "food"
    with pytest.raises(PermissionDenied):
        services.set_budget(
            session, actor=story.finance, campaign=story.campaign, amounts={"food": 1}
        )


@pytest.mark.parametrize(
    ("field", "text", "found"),
    [
        ("description", "Paid to the mother, phone 138 0013 8000", "phone"),
        ("groups_reached", "Pupil 11010519491231002X and classmates", "identity"),
    ],
)
def test_public_text_that_identifies_someone_is_refused(
    session: Session, story: Story, field: str, text: str, found: str
) -> None:
    before = _counts(session)
    with pytest.raises(ValidationError, match=found) as caught:
        story.request(**{field: text})
    assert caught.value.field == field
    assert _counts(session) == before
