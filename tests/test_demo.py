"""`giving demo` builds a usable, bilingual demo through the real services, idempotently."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask.testing import FlaskClient

from giving import create_app
from giving.accounts.services import authenticate
from giving.audit.models import AuditEvent
from giving.campaigns.models import Campaign
from giving.config import load_settings
from giving.db import make_engine, make_session_factory
from giving.demo_content import DEMO_ACCOUNTS


def test_demo_command_seeds_accounts_and_bilingual_campaigns_once(
    database_factory: object, tmp_path: Path
) -> None:
    url = database_factory.fresh()  # type: ignore[attr-defined]
    settings = load_settings({"DATABASE_URL": url, "GIVING_INSTANCE": str(tmp_path)})
    app = create_app(config={"TESTING": True}, settings=settings)
    runner = app.test_cli_runner()

    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert "(0 new)" in second.output
    assert "0 new sandbox gifts" in second.output
    verify = runner.invoke(args=["ledger", "verify"])
    assert verify.exit_code == 0, verify.output
    assert verify.output.startswith("OK:")

    engine = make_engine(url)
    session = make_session_factory(engine)()
    try:
        campaigns = session.scalars(sa.select(Campaign)).all()
        assert {c.language for c in campaigns} == {"en", "zh"}
        assert len({c.title for c in campaigns}) == len(campaigns)
        assert {c.state for c in campaigns} >= {"live", "in_review", "draft"}
        # The organiser chose the host while drafting, before submitting (as the pages do).
        for campaign in campaigns:
            if campaign.state == "draft":
                continue
            actions = list(
                session.scalars(
                    sa.select(AuditEvent.action)
                    .where(AuditEvent.subject_id == campaign.public_id)
                    .order_by(AuditEvent.id)
                )
            )
            assert actions.index("campaign.host_assigned") < actions.index("campaign.submitted")
        for account in DEMO_ACCOUNTS:
            assert authenticate(session, email=account.email, password=account.password)
            assert account.email in first.output
    finally:
        session.close()
        engine.dispose()

    client: FlaskClient = app.test_client()
    lunch = client.get("/campaigns?q=午餐").get_data(as_text=True)
    assert "山区小学午餐计划" in lunch
    home = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "山区小学午餐计划" in home
    assert "Safe rides to school" in home
    app.extensions["giving.engine"].dispose()
