"""Giving stops at the end of a campaign's end date, in the campaign's time zone (issue 11,
item 2): a campaign three days past its end took a ¥1,200 gift and stayed live. Every way in
is closed (the give form, creating an intent and its checkout, the sandbox's pay buttons),
and a payment the provider completes after the end anyway is recorded, since the money
moved, and flagged for the campaign's host and organisers."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

from giving.campaigns.models import CAMPAIGN_TIME_ZONE, Campaign, CampaignState
from giving.campaigns.services import close_ended
from giving.db import utcnow
from giving.errors import Conflict
from giving.hosts import services as hosts
from giving.payments import services
from giving.payments.models import FlagKind
from tests.campaigns.factories import log_in, make_admin, make_campaign, make_host, make_user
from tests.payments import support
from tests.payments.conftest import Books, make_intent
from tests.payments.fake_stripe import FakeStripe
from tests.payments.test_giving import give


def _shanghai_today() -> dt.date:
    return utcnow().astimezone(CAMPAIGN_TIME_ZONE).date()


def _end(session: Session, campaign: Campaign, ends_on: dt.date) -> None:
    """Time passes: the end date is now ``ends_on`` (set directly, as the calendar would)."""
    campaign.ends_on = ends_on
    session.flush()


def test_the_end_is_midnight_after_the_end_date_in_the_campaigns_time_zone(
    session: Session, campaign: Campaign
) -> None:
    campaign.ends_on = dt.date(2026, 3, 1)
    # Midnight at the end of 1 March in Beijing is 16:00 UTC on 1 March.
    assert campaign.ends_at == dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC)
    assert not campaign.has_ended(dt.datetime(2026, 3, 1, 15, 59, 59, tzinfo=dt.UTC))
    assert campaign.has_ended(dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC))
    assert campaign.takes_gifts(dt.datetime(2026, 3, 1, 15, 0, tzinfo=dt.UTC))
    assert not campaign.takes_gifts(dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
    campaign.ends_on = None
    assert not campaign.has_ended(dt.datetime(2099, 1, 1, tzinfo=dt.UTC))


def test_a_campaign_past_its_end_date_offers_no_form_and_takes_no_gift(
    app: Flask, client: FlaskClient, session: Session, campaign: Campaign
) -> None:
    _end(session, campaign, _shanghai_today() - dt.timedelta(days=3))

    page = client.get(f"/c/{campaign.slug}").get_data(as_text=True)
    assert "no longer takes gifts" in page
    assert "Continue to payment" not in page
    assert client.get(f"/campaigns/{campaign.public_id}/give").status_code == 409
    response = client.post(
        f"/campaigns/{campaign.public_id}/give",
        data={"preset": "120000", "custom_amount": "1200", "frequency": "one_off"},
    )
    assert response.status_code == 409
    assert "no longer takes gifts" in response.get_data(as_text=True)
    with app.test_request_context(), pytest.raises(Conflict, match="no longer takes gifts"):
        make_intent(session, campaign, amount=1200_00)


def test_the_last_day_still_takes_gifts(
    client: FlaskClient, session: Session, campaign: Campaign
) -> None:
    _end(session, campaign, _shanghai_today())
    assert give(client, campaign).startswith("/sandbox/checkout/")


def test_a_checkout_started_before_the_end_cannot_be_created_or_paid_after_it(
    app: Flask, client: FlaskClient, session: Session, campaign: Campaign, books: Books
) -> None:
    new = make_intent(session, campaign, amount=1200_00, provider="sandbox")
    checkout = give(client, campaign)  # a sandbox page opened while the campaign was open
    _end(session, campaign, _shanghai_today() - dt.timedelta(days=1))

    with app.test_request_context(), pytest.raises(Conflict, match="no longer takes gifts"):
        services.start_checkout(
            session, _NoGateway(), new, success_url="http://x/ok", cancel_url="http://x/no"
        )
    for action in ("pay", "later"):
        response = client.post(checkout, data={"action": action, "method": "card"})
        assert response.status_code == 400
        assert "no longer takes gifts" in response.get_data(as_text=True)
    assert books.entries(campaign) == []


class _NoGateway:
    provider = "sandbox"

    def create_checkout_session(self, params: object, *, idempotency_key: str) -> object:
        raise AssertionError("no checkout may be created after the end")


def test_the_checkout_page_expires_at_the_end_within_stripes_limits(campaign: Campaign) -> None:
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    campaign.ends_on = dt.date(2026, 3, 1)  # ends 16:00 UTC, four hours on
    assert services.checkout_expiry(campaign, now) == int(campaign.ends_at.timestamp())  # type: ignore[union-attr]
    # Ten minutes before the end the page still gets Stripe's shortest life (30 minutes).
    soon = dt.datetime(2026, 3, 1, 15, 50, tzinfo=dt.UTC)
    assert services.checkout_expiry(campaign, soon) == int(
        (soon + dt.timedelta(minutes=31)).timestamp()
    )
    # Days away: Stripe's own default (24 hours).
    assert services.checkout_expiry(campaign, now - dt.timedelta(days=3)) is None


def test_a_stripe_payment_completed_after_the_end_is_recorded_and_flagged_for_the_host(
    session: Session,
    make_app: Flask,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    admin = make_admin(session)
    host = make_host(session, admin)
    treasurer = make_user(session)
    hosts.add_member(session, actor=admin, host=host, email=treasurer.email, role="finance")
    campaign = make_campaign(session, state=CampaignState.LIVE, admin=admin, host=host)
    new = make_intent(session, campaign, amount=1200_00)
    _end(session, campaign, _shanghai_today() - dt.timedelta(days=3))
    pi, _charge = fake_stripe.add_paid_intent(amount=1200_00, currency="CNY", fee=79)
    checkout = support.checkout_session(
        new.intent.public_id, amount=1200_00, currency="CNY", payment_intent=pi
    )
    late = support.event("checkout.session.completed", checkout)
    late["created"] = int(time.time())  # completed now, three days after the end

    assert support.post_event(stripe_client, late).status_code == 200
    assert support.post_event(stripe_client, late).status_code == 200  # redelivered

    # The money moved, so the gift is in the books ...
    assert books.kinds(campaign) == ["donation", "processor_fee"]
    # ... and flagged, once, for the host to decide on.
    (flag,) = books.flags()
    assert flag.kind == FlagKind.AFTER_END
    assert flag.intent_id == new.intent.id
    assert flag.resolved_at is None
    assert "after campaign" in flag.summary

    for reader, path in (
        (treasurer, "/hosts/mine"),
        (
            session.get(type(treasurer), campaign.created_by_id),
            f"/my/campaigns/{campaign.public_id}",
        ),
    ):
        client = stripe_client.application.test_client()
        assert reader is not None
        log_in(client, reader)
        page = client.get(path)
        assert page.status_code == 200, path
        html = page.get_data(as_text=True)
        assert "Gifts paid after the end date" in html, path
        assert "CN¥1,200.00" in html, path


def test_a_payment_before_the_end_is_not_flagged(
    session: Session,
    campaign: Campaign,
    stripe_client: FlaskClient,
    fake_stripe: FakeStripe,
    books: Books,
) -> None:
    new = make_intent(session, campaign, amount=1200_00)
    pi, _charge = fake_stripe.add_paid_intent(amount=1200_00, currency="CNY", fee=79)
    checkout = support.checkout_session(
        new.intent.public_id, amount=1200_00, currency="CNY", payment_intent=pi
    )
    paid = support.event("checkout.session.completed", checkout)
    paid["created"] = int(time.time())

    assert support.post_event(stripe_client, paid).status_code == 200
    assert books.kinds(campaign) == ["donation", "processor_fee"]
    assert books.flags() == []


def test_ended_campaigns_are_closed_by_the_periodic_command(
    session: Session, app: Flask, runner: FlaskCliRunner
) -> None:
    ended = make_campaign(session, state=CampaignState.LIVE)
    running = make_campaign(session, state=CampaignState.LIVE)
    _end(session, ended, _shanghai_today() - dt.timedelta(days=3))

    assert [c.public_id for c in close_ended(session, now=utcnow())] == [ended.public_id]
    assert ended.state == CampaignState.CLOSED
    assert running.state == CampaignState.LIVE
    result = runner.invoke(args=["campaigns", "close-ended"])
    assert result.exit_code == 0, result.output
    assert "Closed 0 ended campaigns." in result.output


def test_on_the_last_day_the_stripe_checkout_expires_when_the_campaign_ends(
    session: Session, campaign: Campaign, stripe_client: FlaskClient, fake_stripe: FakeStripe
) -> None:
    _end(session, campaign, _shanghai_today())
    response = stripe_client.post(
        f"/campaigns/{campaign.public_id}/give",
        data={"preset": "5000", "frequency": "one_off", "display_name": "Li Wei"},
    )

    assert response.status_code == 303
    (created,) = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert campaign.ends_at is not None
    expected = max(campaign.ends_at, utcnow() + dt.timedelta(minutes=31))
    assert abs(int(created.params["expires_at"]) - expected.timestamp()) < 120
