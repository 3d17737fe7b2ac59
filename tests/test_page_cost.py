"""A public page costs the same work however many gifts its campaign has (issue 10).

Timing pages in tests would be noise, so this counts work instead: the SQL statements a
request sends and, on SQLite, the virtual-machine instructions the database executes for
them (``sqlite3``'s progress handler), which grow with every row an aggregate or a scan reads.
Each page is measured with a few gifts, then again after ten times as many; a page that
reads a bounded amount of data does the same work both times.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from giving.disbursements import services as disbursements
from tests.disbursements.support import Story, make_story

STEP = 50  # SQLite instructions per progress-handler call


@dataclass(frozen=True)
class Cost:
    statements: int
    steps: int  # SQLite VM instructions, in units of STEP (0 on PostgreSQL)


@contextmanager
def counting(connection: sa.Connection) -> Iterator[list[int]]:
    """Count statements and (on SQLite) VM instructions executed on ``connection``."""
    counts = [0, 0]

    def on_execute(*_args: Any) -> None:
        counts[0] += 1

    def on_progress() -> int:
        counts[1] += 1
        return 0

    raw = connection.connection.driver_connection
    sqlite = connection.dialect.name == "sqlite"
    event.listen(connection, "before_cursor_execute", on_execute)
    if sqlite:
        raw.set_progress_handler(on_progress, STEP)  # type: ignore[union-attr]
    try:
        yield counts
    finally:
        event.remove(connection, "before_cursor_execute", on_execute)
        if sqlite:
            raw.set_progress_handler(None, STEP)  # type: ignore[union-attr]


def give_through_the_sandbox(client: FlaskClient, public_id: str, amount: str) -> str:
    """A real gift: the give form, the sandbox checkout, its webhook; returns the receipt."""
    response = client.post(
        f"/campaigns/{public_id}/give",
        data={"preset": amount, "frequency": "one_off", "display_name": "Li Wei"},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    checkout = response.headers["Location"]
    paid = client.post(checkout, data={"action": "pay", "method": "card"})
    assert paid.status_code == 303, paid.get_data(as_text=True)
    return "/" + paid.headers["Location"].split("/", 3)[3]


@pytest.fixture
def story(session: Session, instance_path: Path) -> Story:
    return make_story(session, instance_path / "files" / "evidence")


def spend(story: Story, amount_minor: int) -> None:
    request = story.request(amount_minor)
    disbursements.approve_disbursement(story.session, actor=story.finance, disbursement=request)


def pages(story: Story, receipt: str, client: FlaskClient) -> list[str]:
    slug, public_id = story.campaign.slug, story.campaign.public_id
    html = client.get(receipt).get_data(as_text=True)
    proof = re.search(r'/donations/[^"]+/proof/\d+\.json', html)
    assert proof is not None, "the receipt links its proof"
    seq = proof.group(0).rsplit("/", 1)[1].split(".")[0]
    return [
        "/",
        "/campaigns",
        f"/c/{slug}",
        f"/c/{slug}/spending",
        f"/c/{slug}/transparency",
        f"/c/{slug}/feed.atom",
        receipt,
        proof.group(0),
        f"/api/v1/ledger/proofs/inclusion?seq={seq}",
        "/api/v1/ledger/checkpoint",
        "/api/v1/ledger/tree-head",
        f"/api/v1/ledger/campaigns/{public_id}/summary",
        f"/api/v1/campaigns/{public_id}/impact",
    ]


def measure(client: FlaskClient, connection: sa.Connection, path: str) -> Cost:
    client.get(path)  # warm: a receipt's first proof may sign a checkpoint
    with counting(connection) as counts:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return Cost(counts[0], counts[1])


@pytest.mark.slow
def test_public_pages_do_the_same_work_at_ten_gifts_and_at_many(
    app: Flask, story: Story, session: Session, connection: sa.Connection
) -> None:
    client = app.test_client()
    public_id = story.campaign.public_id
    receipt = give_through_the_sandbox(client, public_id, "5000")
    for _ in range(8):
        give_through_the_sandbox(client, public_id, "10000")
    spend(story, 30_000)
    session.commit()
    paths = pages(story, receipt, client)
    before = {path: measure(client, connection, path) for path in paths}

    for _ in range(80):
        give_through_the_sandbox(client, public_id, "1000")
    session.commit()
    after = {path: measure(client, connection, path) for path in paths}

    for path in paths:
        small, large = before[path], after[path]
        # The same page, ten times the gifts: allow a little for B-tree depth and longer
        # numbers, nothing in proportion to the gifts.
        assert large.statements <= small.statements, (path, small, large)
        assert large.steps <= small.steps * 1.25 + 40, (path, small, large)
