"""The bulk seeder writes the books a webhook would, fast enough for a million gifts.

Benchmarks seed campaigns with ``giving payments seed-gifts``; their figures mean something
only if the seeded ledger is the one real gifts would leave: same entry kinds, postings and
memos as a sandbox gift through the webhook, a ledger that verifies, and derived figures
equal to a replay of the entries.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from giving.campaigns.models import Campaign, CampaignState
from giving.ledger.balances import campaign_summary
from giving.ledger.figures_replay import check_figures
from giving.ledger.verify import verify_ledger
from giving.payments.models import Donation, DonationIntent
from giving.payments.seeding import SeedRefused, receipt_token, seed_gifts
from tests.campaigns.factories import make_campaign
from tests.payments.conftest import Books
from tests.payments.test_giving import give, press


def _shape(books: Books, entry_kinds: list[str], entries: list[object]) -> list[object]:
    """Kinds, posting accounts and memo wording of entries, without ids and amounts."""
    return [
        (kind, sorted(books.postings(entry)), re.sub(r"\d+|\w+_\w+", "#", entry.memo))  # type: ignore[attr-defined]
        for kind, entry in zip(entry_kinds, entries, strict=True)
    ]


def test_a_seeded_gift_has_the_entries_of_a_gift_through_the_webhook(
    client: FlaskClient,
    session: Session,
    session_factory: sessionmaker[Session],
    campaign: Campaign,
    books: Books,
) -> None:
    press(client, give(client, campaign, preset="5000"), "pay", method="card")
    through_webhook = books.entries(campaign)
    other = make_campaign(session, state=CampaignState.LIVE, title="Books for Guizhou")

    seeded = seed_gifts(session_factory, other.public_id, 1)

    assert seeded.count == 1
    assert seeded.entries == len(through_webhook) == 2
    webhook_shape = _shape(books, books.kinds(campaign), through_webhook)
    seeded_shape = _shape(books, books.kinds(other), books.entries(other))
    assert [row[0] for row in webhook_shape] == [row[0] for row in seeded_shape]
    for (_, ours, memo), (_, theirs, seeded_memo) in zip(webhook_shape, seeded_shape, strict=True):
        assert [a.replace(campaign.public_id, "X") for a in ours] == [
            a.replace(other.public_id, "X") for a in theirs
        ]
        assert memo == seeded_memo


def test_seeded_batches_verify_and_their_figures_equal_a_replay(
    session: Session, session_factory: sessionmaker[Session], campaign: Campaign
) -> None:
    first = seed_gifts(session_factory, campaign.public_id, 23, batch=5, platform_fee_bps=150)
    more = seed_gifts(session_factory, campaign.public_id, 7, batch=4)

    assert (first.first, more.first) == (0, 23)  # a second run numbers on
    assert first.entries == 23 * 3
    assert more.entries == 7 * 2
    session.expire_all()
    donations = session.scalars(sa.select(Donation).where(Donation.campaign_id == campaign.id))
    gifts = list(donations)
    assert len(gifts) == 30
    assert len({gift.charge_id for gift in gifts}) == 30
    summary = campaign_summary(session, campaign.public_id).in_currency(campaign.currency)
    assert summary.gross_raised == sum(gift.amount_minor for gift in gifts)
    assert summary.processor_fees == sum(gift.fee_minor for gift in gifts)
    assert summary.platform_fees == sum(gift.platform_fee_minor for gift in gifts) > 0
    report = verify_ledger(session, None)
    assert report.entries >= 30 * 2
    check_figures(session)  # raises FiguresMismatch on any difference


def test_a_seeded_donor_can_open_their_receipt(
    client: FlaskClient, session_factory: sessionmaker[Session], campaign: Campaign
) -> None:
    seed_gifts(session_factory, campaign.public_id, 3)

    page = client.get(f"/donations/{receipt_token(campaign.public_id, 2)}")

    assert page.status_code == 200
    assert campaign.title in page.get_data(as_text=True)


def test_only_a_live_campaign_takes_seeded_gifts(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    draft = make_campaign(session)

    with pytest.raises(SeedRefused, match="not live"):
        seed_gifts(session_factory, draft.public_id, 1)
    with pytest.raises(SeedRefused, match="no campaign"):
        seed_gifts(session_factory, "cnosuchcampaign", 1)
    assert session.scalar(sa.select(sa.func.count()).select_from(DonationIntent)) == 0


def test_the_command_seeds_and_refuses_in_production(
    app: Flask, session: Session, campaign: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["payments", "seed-gifts", campaign.public_id, "4"])
    assert result.exit_code == 0, result.output
    assert f"Seeded gifts 0–3 of {campaign.public_id}: 8 ledger entries." in result.output

    settings = app.extensions["giving.settings"]
    monkeypatch.setitem(app.extensions, "giving.settings", replace(settings, env="production"))
    refused = runner.invoke(args=["payments", "seed-gifts", campaign.public_id, "4"])
    assert refused.exit_code == 2
    assert "refused with GIVING_ENV=production" in refused.output
    bad = runner.invoke(args=["payments", "seed-gifts", campaign.public_id, "0"])
    assert bad.exit_code == 2
