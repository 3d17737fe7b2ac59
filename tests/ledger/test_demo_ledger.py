"""The demo ledger is realistic, idempotent, and verifies like a real one."""

from __future__ import annotations

from flask.testing import FlaskCliRunner
from sqlalchemy.orm import Session

from giving.ledger.balances import campaign_summary
from giving.ledger.demo import seed_demo_ledger
from giving.ledger.verify import verify_ledger
from tests.ledger.support import add_campaign, count_entries


def test_seeding_twice_appends_nothing_the_second_time(session: Session) -> None:
    campaigns = [add_campaign(session, "cmp_demo_a"), add_campaign(session, "cmp_demo_b", "USD")]

    seed_demo_ledger(session, campaigns)
    first = count_entries(session)
    seed_demo_ledger(session, campaigns)

    assert first > 10
    assert count_entries(session) == first
    assert verify_ledger(session, None).entries == first


def test_demo_campaigns_have_every_kind_of_money_movement(session: Session) -> None:
    campaign = add_campaign(session, "cmp_demo_c", "HKD")

    seed_demo_ledger(session, [campaign])

    summary = campaign_summary(session, campaign).in_currency("HKD")
    assert summary.gross_raised > 0
    assert 0 < summary.processor_fees < summary.gross_raised
    assert summary.platform_fees > 0
    assert summary.refunds > 0
    assert summary.disbursed > 0
    assert summary.available > 0


def test_the_demo_ledger_passes_ledger_verify_with_a_checkpoint(
    runner: FlaskCliRunner, session: Session
) -> None:
    seed_demo_ledger(session, [add_campaign(session, "cmp_demo_d")])
    assert runner.invoke(args=["ledger", "checkpoint"]).exit_code == 0

    result = runner.invoke(args=["ledger", "verify"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: 9 entries, 1 checkpoints")  # 3 gifts, 3 fees, 3 more
