"""Monthly gifts: each paid invoice is a donation, whatever order Stripe's events come in."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.campaigns.models import Campaign
from giving.campaigns.queries import campaign_progress
from tests.payments import support
from tests.payments.conftest import Books, make_intent
from tests.payments.fake_stripe import FakeStripe

# --- monthly gifts -------------------------------------------------------------------------


def test_a_monthly_gift_is_recorded_from_each_paid_invoice_and_counts_one_donor(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign, amount=2000, monthly=True)
    subscription = support.new_id("sub")
    fake_stripe.add(support.fixture("subscription", id=subscription, status="active"))
    checkout = support.checkout_session(
        new.intent.public_id,
        amount=2000,
        currency="CNY",
        payment_intent=None,
        mode="subscription",
        subscription=subscription,
    )

    support.post_event(stripe_client, support.event("checkout.session.completed", checkout))
    assert books.entries(campaign) == []  # money comes with invoice.paid, never twice
    assert books.intent(new.intent.public_id).subscription_id == subscription

    for _month in range(2):
        pi, _ = fake_stripe.add_paid_intent(amount=2000, currency="CNY", fee=88)
        invoice = support.invoice(
            amount=2000,
            currency="CNY",
            subscription=subscription,
            intent_public_id=new.intent.public_id,
        )
        fake_stripe.add_paid_invoice(invoice, pi)
        support.post_event(stripe_client, support.event("invoice.paid", invoice))

    assert books.kinds(campaign) == ["donation", "processor_fee"] * 2
    donations = books.donations()
    assert [d.invoice_id is not None for d in donations] == [True, True]
    assert {e.donor_commitment for e in books.entries(campaign) if e.kind == "donation"} == {
        new.intent.donor_commitment
    }
    progress = campaign_progress(session, campaign)
    assert (progress.raised_minor, progress.donors) == (4000, 1)


def test_an_invoice_that_overtakes_its_checkout_finds_the_gift_by_its_metadata(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign, amount=2000, monthly=True)
    pi, _ = fake_stripe.add_paid_intent(amount=2000, currency="CNY", fee=88)
    invoice = support.invoice(
        amount=2000, currency="CNY", subscription="sub_early", intent_public_id=new.intent.public_id
    )
    fake_stripe.add_paid_invoice(invoice, pi)

    support.post_event(stripe_client, support.event("invoice.paid", invoice))

    assert books.kinds(campaign) == ["donation", "processor_fee"]
    assert books.intent(new.intent.public_id).subscription_id == "sub_early"


def test_a_cancelled_subscription_marks_the_monthly_gift_cancelled(
    session: Session, campaign: Campaign, stripe_client: FlaskClient, books: Books
) -> None:
    new = make_intent(session, campaign, amount=2000, monthly=True)
    new.intent.subscription_id = "sub_gone"
    session.flush()

    support.post_event(
        stripe_client,
        support.event(
            "customer.subscription.deleted",
            support.fixture("subscription", id="sub_gone", status="canceled"),
        ),
    )

    assert books.intent(new.intent.public_id).cancelled_at is not None
