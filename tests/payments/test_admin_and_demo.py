"""Admins see flagged payments; demo gifts go through the sandbox; raw events never change."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from giving.audit.models import AuditEvent
from giving.campaigns.models import Campaign, CampaignState
from giving.campaigns.queries import campaign_progress
from giving.config import load_settings
from giving.payments.demo import seed_demo_donations
from giving.payments.models import Donation, EventStatus, StripeEvent
from tests.campaigns.factories import log_in, make_admin, make_campaign, make_donor
from tests.payments import support
from tests.payments.conftest import Books, make_intent
from tests.payments.fake_stripe import FakeStripe


def flagged_payment(
    session: Session, campaign: Campaign, client: FlaskClient, fake: FakeStripe
) -> None:
    new = make_intent(session, campaign, amount=5000)
    pi, _ = fake.add_paid_intent(amount=9999, currency="CNY", fee=10)
    checkout = support.checkout_session(
        new.intent.public_id, amount=9999, currency="CNY", payment_intent=pi
    )
    support.post_event(client, support.event("checkout.session.completed", checkout))


def test_only_admins_see_flagged_payments(
    session: Session, campaign: Campaign, stripe_client: FlaskClient, fake_stripe: FakeStripe
) -> None:
    flagged_payment(session, campaign, stripe_client, fake_stripe)

    assert stripe_client.get("/admin/payments/flags").status_code == 401
    log_in(stripe_client, make_donor(session))
    assert stripe_client.get("/admin/payments/flags").status_code == 403


def test_an_admin_resolves_a_flag_saying_what_was_done_and_it_is_audited(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    flagged_payment(session, campaign, stripe_client, fake_stripe)
    admin = make_admin(session)
    log_in(stripe_client, admin)
    (flag,) = books.flags()

    page = stripe_client.get("/admin/payments/flags").get_data(as_text=True)
    assert "Amount does not match the gift" in page
    assert "9999 minor units" in page

    empty = stripe_client.post(
        f"/admin/payments/flags/{flag.id}/resolve", data={"note": ""}, follow_redirects=True
    )
    assert "Say what was done about it." in empty.get_data(as_text=True)
    assert books.flags()[0].resolved_at is None

    done = stripe_client.post(
        f"/admin/payments/flags/{flag.id}/resolve",
        data={"note": "Refunded the donor in Stripe"},
        follow_redirects=True,
    )

    assert "The flag is marked as resolved." in done.get_data(as_text=True)
    resolved = books.flags()[0]
    assert resolved.resolved_by_id == admin.id
    assert resolved.resolution_note == "Refunded the donor in Stripe"
    audit = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "payment_flag.resolved")
    ).one()
    assert audit.actor_id == admin.id


def test_demo_gifts_are_recorded_through_the_sandbox_once(
    session: Session, books: Books, tmp_path: object
) -> None:
    first = make_campaign(session, state=CampaignState.LIVE)
    second = make_campaign(session, state=CampaignState.LIVE)
    make_campaign(session, state=CampaignState.DRAFT)
    settings = load_settings({"GIVING_INSTANCE": str(tmp_path)})

    given = seed_demo_donations(session, settings=settings, per_campaign=4)
    again = seed_demo_donations(session, settings=settings, per_campaign=4)

    assert (given, again) == (8, 0)
    kinds = books.kinds(first)
    assert kinds.count("donation") == 5  # four gifts, one of them monthly with a renewal
    assert kinds.count("refund") == 1
    assert books.kinds(second).count("donation") == 4
    assert all(d.provider == "sandbox" for d in session.scalars(sa.select(Donation)))
    assert campaign_progress(session, second).donors == 4
    assert all(state.status == EventStatus.HANDLED for state in (e.state for e in books.events()))


def test_the_cli_seeds_demo_gifts(session: Session, app: Flask) -> None:
    make_campaign(session, state=CampaignState.LIVE)

    result = app.test_cli_runner().invoke(args=["payments", "seed-demo", "--per-campaign", "2"])

    assert result.exit_code == 0, result.output
    assert "2 demo gift(s) recorded through the sandbox." in result.output


def test_failed_events_are_handled_again_by_the_cli(
    session: Session, campaign: Campaign, stripe_app: Flask, fake_stripe: FakeStripe, books: Books
) -> None:
    new = make_intent(session, campaign)
    pi, _ = fake_stripe.add_paid_intent(amount=5000, currency="CNY", fee=175)
    event = support.event(
        "checkout.session.completed",
        support.checkout_session(
            new.intent.public_id, amount=5000, currency="CNY", payment_intent=pi
        ),
    )
    fake_stripe.fail_with = 503
    assert support.post_event(stripe_app.test_client(), event).status_code == 500
    fake_stripe.fail_with = None

    result = stripe_app.test_cli_runner().invoke(args=["payments", "retry-events"])

    assert result.exit_code == 0, result.output
    assert "Handled 1 event(s) again." in result.output
    assert books.kinds(campaign) == ["donation", "processor_fee"]


@pytest.mark.parametrize("statement", ["update", "delete"])
def test_stored_webhook_events_cannot_be_changed_or_deleted(
    statement: str, session: Session, stripe_client: FlaskClient
) -> None:
    support.post_event(stripe_client, support.event("payout.paid", support.fixture("payout")))
    query = (
        sa.update(StripeEvent).values(payload="{}")
        if statement == "update"
        else sa.delete(StripeEvent)
    )

    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(query)
