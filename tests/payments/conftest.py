"""Payment fixtures: a live campaign, donation intents, and an app talking to a fake Stripe."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from giving.campaigns.models import Campaign, CampaignState
from giving.ledger.models import LedgerEntry
from giving.money import Money
from giving.payments import services
from giving.payments.models import Donation, DonationIntent, Frequency, PaymentFlag, StripeEvent
from tests.campaigns.factories import make_campaign
from tests.payments.fake_stripe import API_KEY, FakeStripe, running_fake_stripe


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with running_fake_stripe() as fake:
        yield fake


@pytest.fixture
def stripe_app(make_app: Callable[..., Flask], fake_stripe: FakeStripe) -> Flask:
    """The app with Stripe keys, its client pointed at the local fake (no retries)."""
    return make_app(
        STRIPE_SECRET_KEY=API_KEY,
        STRIPE_API_BASE=fake_stripe.url,
        STRIPE_MAX_RETRIES=0,
        PAYMENTS_JOBS="inline",
    )


@pytest.fixture
def stripe_client(stripe_app: Flask) -> FlaskClient:
    return stripe_app.test_client()


@pytest.fixture
def campaign(session: Session) -> Campaign:
    return make_campaign(session, state=CampaignState.LIVE, title="Winter coats for Gansu")


def make_intent(
    session: Session,
    campaign: Campaign,
    *,
    amount: int = 5000,
    monthly: bool = False,
    provider: str = "stripe",
    name: str | None = "Li Wei",
    anonymous: bool = False,
    message: str | None = None,
) -> services.NewIntent:
    return services.create_intent(
        session,
        campaign=campaign,
        amount=Money(amount, campaign.currency),
        frequency=Frequency.MONTHLY if monthly else Frequency.ONE_OFF,
        display_name=name,
        anonymous=anonymous,
        message=message,
        email=None,
        donor=None,
        provider=provider,  # type: ignore[arg-type]
    )


class Books:
    """Reads what the webhooks left behind, always fresh from the database."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def entries(self, campaign: Campaign) -> list[LedgerEntry]:
        self.session.expire_all()
        return list(
            self.session.scalars(
                sa.select(LedgerEntry)
                .where(LedgerEntry.campaign == campaign.public_id)
                .order_by(LedgerEntry.seq)
            )
        )

    def kinds(self, campaign: Campaign) -> list[str]:
        return [entry.kind for entry in self.entries(campaign)]

    def postings(self, entry: LedgerEntry) -> dict[str, int]:
        return {p.account: p.amount for p in entry.postings}

    def donations(self) -> list[Donation]:
        self.session.expire_all()
        return list(self.session.scalars(sa.select(Donation).order_by(Donation.id)))

    def events(self) -> list[StripeEvent]:
        self.session.expire_all()
        return list(self.session.scalars(sa.select(StripeEvent).order_by(StripeEvent.id)))

    def flags(self) -> list[PaymentFlag]:
        self.session.expire_all()
        return list(self.session.scalars(sa.select(PaymentFlag).order_by(PaymentFlag.id)))

    def intent(self, public_id: str) -> DonationIntent:
        self.session.expire_all()
        found = self.session.scalar(
            sa.select(DonationIntent).where(DonationIntent.public_id == public_id)
        )
        assert found is not None
        return found

    def state_of(self, event_id: str) -> Any:
        self.session.expire_all()
        row = self.session.scalar(sa.select(StripeEvent).where(StripeEvent.event_id == event_id))
        assert row is not None
        return row.state


@pytest.fixture
def books(session: Session) -> Books:
    return Books(session)
