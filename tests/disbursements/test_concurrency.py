"""Two finance members pressing "approve" at the same moment: one approval, one entry."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from giving.db import make_engine, make_session_factory, transaction
from giving.disbursements import services
from giving.disbursements.models import Disbursement, DisbursementActivity
from giving.errors import Conflict
from giving.hosts import services as hosts
from giving.ledger.models import LedgerEntry
from tests.campaigns.factories import make_user
from tests.conftest import DatabaseFactory
from tests.disbursements.support import make_story


@pytest.mark.postgres_only
def test_concurrent_approvals_record_one_decision(
    database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    engine = make_engine(database_factory.fresh())
    factory = make_session_factory(engine)
    try:
        with factory() as session, transaction(session):
            story = make_story(session, tmp_path)
            second = make_user(session, name="Finance Two")
            hosts.add_member(
                session, actor=story.admin, host=story.host, email=second.email, role="finance"
            )
            request_id = story.request(20_000).id
            deciders = [story.finance.id, second.id]
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def decide(user_id: int) -> None:
            with factory() as session:
                try:
                    with transaction(session):
                        disbursement = session.get(Disbursement, request_id)
                        actor = session.get(type(story.finance), user_id)
                        assert disbursement is not None
                        assert actor is not None
                        barrier.wait(timeout=10)
                        services.approve_disbursement(
                            session, actor=actor, disbursement=disbursement
                        )
                    outcomes.append("approved")
                except Conflict:
                    outcomes.append("conflict")

        threads = [threading.Thread(target=decide, args=(user,)) for user in deciders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(outcomes) == ["approved", "conflict"]
        with factory() as session:
            kinds = session.scalars(
                sa.select(DisbursementActivity.kind).order_by(DisbursementActivity.id)
            ).all()
            assert [k for k in kinds if k == "approved"] == ["approved"]
            assert (
                session.scalar(
                    sa.select(sa.func.count())
                    .select_from(LedgerEntry)
                    .where(LedgerEntry.kind == "disbursement")
                )
                == 1
            )
    finally:
        engine.dispose()
