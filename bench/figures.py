"""Derived-figures benchmark: wall, CPU and peak memory of ``check_figures`` (issue 10).

    .venv/bin/python bench/figures.py seed --gifts 500000      # once: giving_bench_figures
    .venv/bin/python bench/figures.py measure --repeat 3        # check_figures alone

``seed`` creates (or continues) a PostgreSQL database migrated to head with one large live
campaign in CNY and a smaller one in USD. Gifts go in through ``seed_gifts`` (the webhook's
own drafting and sealing), in rounds; after each round the campaign spends most of what it
holds (so FIFO allocations span many gifts), some older gifts are refunded in full or in part
or disputed (uncovering spending they had paid for), some disputes are won, and a few
disbursements, refunds and fees are reversed: every FIFO rule runs at scale. Half the
rounds carry platform fees. The database is kept; later runs only measure.

``measure`` runs ``check_figures`` in a fresh process per round and prints wall time, CPU
time and peak resident memory with the load averages, since the machine is shared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/giving_bench_figures"
ROUND = 10_000


def _ensure_database(url: str) -> None:
    engine = sa.create_engine(sa.engine.make_url(url).set(database="postgres"))
    name = sa.engine.make_url(url).database
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()


def _campaign(factory: object, currency: str) -> str:
    from giving.accounts.models import User
    from giving.campaigns.models import Campaign, CampaignOrganiser
    from giving.db import transaction

    with factory() as session:  # type: ignore[operator]
        found = session.scalar(
            sa.select(Campaign.public_id)
            .where(Campaign.currency == currency, Campaign.slug.startswith("figbench"))
            .order_by(Campaign.id)
        )
        if found is not None:
            return str(found)
    public_id = "figbench" + uuid.uuid4().hex[:7]
    now = dt.datetime.now(dt.UTC)
    with factory() as session, transaction(session):  # type: ignore[operator]
        user = User(
            email=f"{public_id}@bench.example",
            display_name="Bench Organiser",
            password_hash="x",  # noqa: S106 - a bench account that never logs in
            session_token=uuid.uuid4().hex,
        )
        session.add(user)
        session.flush()
        campaign = Campaign(
            public_id=public_id,
            slug=public_id,
            title=f"Figures bench {currency}",
            summary="FIFO at scale",
            story="A story",
            language="en",
            goal_minor=5_000_000_00,
            currency=currency,
            region="CN-YN",
            category="food",
            state="live",
            created_by_id=user.id,
            created_at=now,
            published_at=now,
        )
        campaign.organisers.append(CampaignOrganiser(user_id=user.id))
        session.add(campaign)
    return public_id


def _spend_and_take_back(
    factory: object, public_id: str, currency: str, rng: random.Random, spend_percent: int = 85
) -> dict[str, int]:
    """Disburse most of the fund, then refund, dispute, win and reverse a few entries."""
    from giving.db import transaction
    from giving.ledger.models import LedgerEntry
    from giving.ledger.rules import draft_entry, fund_account
    from giving.ledger.sealing import seal

    fund = fund_account(public_id)
    done = {
        "disbursement": 0,
        "refund": 0,
        "dispute": 0,
        "dispute_won": 0,
        "reversal": 0,
        "refused": 0,
    }
    now = dt.datetime.now(dt.UTC)

    def seal_all(drafts: list[object]) -> list[int | None]:
        with factory() as session, transaction(session):  # type: ignore[operator]
            results = seal(session, drafts)  # type: ignore[arg-type]
        seqs = []
        for draft, result in zip(drafts, results, strict=True):
            if result.seq is None:
                done["refused"] += 1
            else:
                done[draft.kind] += 1  # type: ignore[attr-defined]
            seqs.append(result.seq)
        return seqs

    with factory() as session:  # type: ignore[operator]
        balance = -int(
            session.scalar(
                sa.text(
                    "SELECT coalesce(sum(amount), 0) FROM ledger_postings "
                    "WHERE account = :a AND currency = :c"
                ),
                {"a": fund, "c": currency},
            )
        )
        gifts = session.execute(
            sa.select(LedgerEntry.seq, LedgerEntry.ref)
            .where(LedgerEntry.campaign == public_id, LedgerEntry.kind == "donation")
            .order_by(sa.func.random())
            .limit(60)
        ).all()
        disbursements = session.execute(
            sa.select(LedgerEntry.seq)
            .where(LedgerEntry.campaign == public_id, LedgerEntry.kind == "disbursement")
            .order_by(sa.func.random())
            .limit(1)
        ).all()
    drafts = []
    spend = balance * spend_percent // 100
    for part in (spend // 2, spend // 3, spend - spend // 2 - spend // 3):
        if part > 0:
            drafts.append(
                draft_entry(
                    campaign=public_id,
                    kind="disbursement",
                    occurred_at=now,
                    memo="bench payout",
                    postings=[(fund, part, currency), ("payee:disbursed", -part, currency)],
                )
            )
    seal_all(drafts)
    takebacks = []
    with factory() as session:  # type: ignore[operator]
        for seq, ref in gifts:
            amount = -int(
                session.scalar(
                    sa.text(
                        "SELECT sum(amount) FROM ledger_postings WHERE entry_seq = :s "
                        "AND account = :a"
                    ),
                    {"s": seq, "a": fund},
                )
            )
            takebacks.append((int(seq), ref.removesuffix(":donation"), amount))
    drafts = []
    for n, (seq, charge, amount) in enumerate(takebacks):
        kind = "dispute" if n % 6 == 0 else "refund"
        part = amount if n % 3 else max(1, amount // 2)
        drafts.append(
            draft_entry(
                campaign=public_id,
                kind=kind,
                occurred_at=now,
                ref=f"{charge}:{kind}:{uuid.uuid4().hex[:6]}",
                reverses=seq,
                postings=[
                    (fund, part, currency),
                    (
                        f"{'processor:sandbox' if kind == 'refund' else 'dispute:held'}",
                        -part,
                        currency,
                    ),
                ],
            )
        )
    seqs = seal_all(drafts)
    later = []
    for n, seq in enumerate(seqs):
        if seq is None:
            continue
        kind = "dispute" if n % 6 == 0 else "refund"
        part = takebacks[n][2] if n % 3 else max(1, takebacks[n][2] // 2)
        if kind == "dispute" and n % 12 == 0:
            later.append(
                draft_entry(
                    campaign=public_id,
                    kind="dispute_won",
                    occurred_at=now,
                    reverses=seq,
                    postings=[("dispute:held", part, currency), (fund, -part, currency)],
                )
            )
        elif kind == "refund" and n % 10 == 1:
            later.append(
                _reversal_of(
                    public_id,
                    seq,
                    [(fund, part, currency), ("processor:sandbox", -part, currency)],
                    now,
                )
            )
    for (seq,) in disbursements[: rng.randint(0, 1)]:
        with factory() as session:  # type: ignore[operator]
            postings = session.execute(
                sa.text(
                    "SELECT account, amount, currency FROM ledger_postings WHERE entry_seq = :s"
                ),
                {"s": seq},
            ).all()
        later.append(_reversal_of(public_id, int(seq), [tuple(p) for p in postings], now))
    if later:
        seal_all(later)
    return done


def _reversal_of(
    public_id: str, seq: int, postings: list[tuple[object, ...]], now: dt.datetime
) -> object:
    from giving.ledger.rules import draft_entry

    return draft_entry(
        campaign=public_id,
        kind="reversal",
        occurred_at=now,
        reverses=seq,
        memo="bench reversal",
        postings=[(a, -int(m), c) for a, m, c in postings],  # type: ignore[call-overload]
    )


def seed(url: str, gifts: int, small: int) -> None:
    from giving.campaigns.models import Campaign
    from giving.db import make_engine, make_session_factory
    from giving.migrate import upgrade
    from giving.payments.seeding import seed_gifts, seeded_gifts

    _ensure_database(url)
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    rng = random.Random(10)
    for currency, wanted in (("USD", small), ("CNY", gifts)):
        public_id = _campaign(factory, currency)
        with factory() as session:
            campaign = session.scalars(
                sa.select(Campaign).where(Campaign.public_id == public_id)
            ).one()
            have = seeded_gifts(session, campaign)
        n = have // ROUND
        while have < wanted:
            started = time.monotonic()
            count = min(ROUND, wanted - have)
            seed_gifts(factory, public_id, count, platform_fee_bps=150 * (n % 2), batch=5_000)
            # The last round spends everything first, so its take-backs leave spending uncovered.
            last = have + count >= wanted
            done = _spend_and_take_back(
                factory, public_id, currency, rng, spend_percent=100 if last else 85
            )
            have += count
            n += 1
            seconds = time.monotonic() - started
            print(
                f"{currency} {public_id}: {have:,} gifts, round {seconds:.0f} s, {done}", flush=True
            )
    engine.dispose()


def _one_check(url: str) -> None:
    from giving.db import make_engine, make_session_factory
    from giving.ledger.figures_replay import check_figures

    factory = make_session_factory(make_engine(url))
    load = os.getloadavg()
    wall, cpu = time.perf_counter(), time.process_time()
    with factory() as session:
        summary = check_figures(session).summary()
    out = {
        "wall_s": round(time.perf_counter() - wall, 2),
        "cpu_s": round(time.process_time() - cpu, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_before": [round(x, 2) for x in load],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "summary": summary,
    }
    print(json.dumps(out))


def measure(url: str, repeat: int) -> None:
    with sa.create_engine(url).connect() as conn:
        entries = conn.scalar(sa.text("SELECT count(*) FROM ledger_entries"))
        kinds = dict(
            conn.execute(sa.text("SELECT kind, count(*) FROM ledger_entries GROUP BY kind")).all()
        )
    print(f"{url.rsplit('/', 1)[-1]}: {entries:,} entries {kinds}")
    for _ in range(repeat):
        subprocess.run([sys.executable, __file__, "_one", "--url", url], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("seed", "measure", "_one"))
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--gifts", type=int, default=500_000)
    parser.add_argument("--small", type=int, default=20_000, help="gifts of the USD campaign")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.command == "seed":
        seed(args.url, args.gifts, args.small)
    elif args.command == "measure":
        measure(args.url, args.repeat)
    else:
        _one_check(args.url)


if __name__ == "__main__":
    main()
