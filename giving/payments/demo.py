"""Realistic demo donations for ``giving demo``, made through the sandbox's real event path.

Every gift is a donation intent paid on the sandbox and recorded by the webhook handler from
signed, Stripe-shaped events, exactly as the offline checkout page does, so the demo's ledger
holds real entries with fees, one monthly gift with a renewal and one partial refund.
Safe to run again: campaigns that already have sandbox gifts are left alone.
"""

from __future__ import annotations

import random

import sqlalchemy as sa
from flask import current_app, has_app_context, has_request_context
from sqlalchemy.orm import Session

from giving.campaigns.models import Campaign, CampaignState
from giving.config import Settings, load_settings
from giving.db import transaction
from giving.money import Money
from giving.payments import sandbox, sandbox_flows, services
from giving.payments.config import PaymentsConfig, payments_config
from giving.payments.events import accept_webhook
from giving.payments.gateway import StripeDict
from giving.payments.jobs import InlineRunner
from giving.payments.models import Donation, Frequency
from giving.payments.sandbox import SandboxGateway

NAMES = ["王芳", "Li Wei", "陈静", "Sarah Thompson", "张伟", "Hannah Müller", "刘洋", "Ming", None]
MESSAGES = [
    "加油！希望孩子们冬天不再挨冻。",
    "Small but from the heart.",
    "每月一点心意。",
    None,
    "For the kids in the mountains. 山里的孩子们加油！",
    None,
]


def seed_demo_donations(
    session: Session,
    *,
    settings: Settings | None = None,
    per_campaign: int = 6,
    seed: int = 2024,
) -> int:
    """Give ``per_campaign`` sandbox gifts to each live campaign without any; returns how many."""
    if has_app_context() and not has_request_context():
        # Translated texts (e.g. the checkout's product name) need a locale, and the app picks
        # it from a request; a command has none, so it gets the default (English) one.
        with current_app.test_request_context("/"):
            return _seed(session, settings, per_campaign, seed)
    return _seed(session, settings, per_campaign, seed)


def _seed(session: Session, settings: Settings | None, per_campaign: int, seed: int) -> int:
    config = payments_config(settings or load_settings())
    gateway = SandboxGateway(session)
    runner = InlineRunner(config, gateway_factory=lambda _session: gateway)
    campaigns = list(
        session.scalars(
            sa.select(Campaign)
            .where(Campaign.state == CampaignState.LIVE.value)
            .order_by(Campaign.id)
        )
    )
    already = set(
        session.scalars(
            sa.select(Donation.campaign_id).where(Donation.provider == "sandbox").distinct()
        )
    )
    session.commit()
    given = 0
    for index, campaign in enumerate(campaigns):
        if campaign.id in already:
            continue
        rng = random.Random(seed + campaign.id)
        for number in range(per_campaign):
            monthly = index == 0 and number == 0
            presets = services.PRESETS[campaign.currency]
            amount = rng.choice([*presets[:3], services.MINIMUMS[campaign.currency] * 3])
            name = rng.choice(NAMES)
            events = _give(
                session,
                gateway,
                campaign,
                amount=amount,
                monthly=monthly,
                name=name,
                message=rng.choice(MESSAGES),
                method=rng.choice(["card", "alipay", "wechat_pay"]),
                base_url=(settings or load_settings()).public_base_url,
            )
            _deliver(session, runner, config, events)
            given += 1
            if monthly:
                subscription = events[0]["data"]["object"]["subscription"]
                with transaction(session):
                    renewal = sandbox_flows.renew(gateway, subscription)
                _deliver(session, runner, config, renewal)
            if index == 0 and number == 1:
                charge_id = session.scalars(
                    sa.select(Donation.charge_id).order_by(Donation.id.desc()).limit(1)
                ).one()
                with transaction(session):
                    refund = sandbox_flows.refund(gateway, charge_id, amount // 2)
                _deliver(session, runner, config, refund)
    return given


def _give(
    session: Session,
    gateway: SandboxGateway,
    campaign: Campaign,
    *,
    amount: int,
    monthly: bool,
    name: str | None,
    message: str | None,
    method: str,
    base_url: str,
) -> list[StripeDict]:
    with transaction(session):
        new = services.create_intent(
            session,
            campaign=campaign,
            amount=Money(amount, campaign.currency),
            frequency=Frequency.MONTHLY if monthly else Frequency.ONE_OFF,
            display_name=name,
            anonymous=name is None,
            message=message,
            email=None,
            donor=None,
            provider="sandbox",
        )
        services.start_checkout(
            session,
            gateway,
            new,
            success_url=f"{base_url}/donations/{new.receipt_token}",
            cancel_url=f"{base_url}/donations/cancelled/{new.intent.public_id}",
        )
        checkout_id = new.intent.checkout_session_id
        assert checkout_id is not None
        return sandbox_flows.pay(gateway, checkout_id, "card" if monthly else method)


def _deliver(
    session: Session, runner: InlineRunner, config: PaymentsConfig, events: list[StripeDict]
) -> None:
    sandbox.deliver(
        events,
        secret=config.webhook_secret,
        receive=lambda payload, header: accept_webhook(
            session, runner, payload, header, config.webhook_secret
        ),
    )
