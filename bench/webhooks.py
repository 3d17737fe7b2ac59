"""Webhook benchmark: distinct paid-checkout events per second beside a minimal endpoint.

    python bench/webhooks.py                                   # 3 rounds × 500 events
    python bench/webhooks.py --events 1000 --rounds 3 --workers 4 --threads 4

In a scratch PostgreSQL database it creates one live campaign and rounds × --events
donation intents, each paid on the sandbox provider, which yields real Stripe-shaped
checkout.session.completed events (and the sandbox charges and balance transactions the
handler reads the fee from). It starts two gunicorns under the same configuration
(gthread, --workers × --threads): the real app, with a platform fee, and
bench/minimal_webhook.py, which checks the same signature and inserts one row into a table
of the same database. Each round POSTs its own fresh events, signed just before sending,
from --senders keep-alive connections, first to the minimal endpoint, then to Giving, so
the two are measured interleaved under the same load; each line shows events/s, the
ratio, p50/p99 and the load average. Then every event is delivered again (duplicates), and
the books are checked: one donation, one donation entry, one processor fee and one platform
fee per event sent, ``verify_ledger`` passes, and entries per seal() call (one per batch).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))

import sqlalchemy as sa
from serving import serve
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from giving.accounts.models import User
from giving.campaigns.models import Campaign
from giving.config import DEV_WEBHOOK_SECRET
from giving.db import make_engine, make_session_factory, transaction
from giving.ledger.models import LedgerEntry
from giving.ledger.rules import fund_account
from giving.ledger.services import Posting, append_entry
from giving.ledger.verify import verify_ledger
from giving.migrate import upgrade
from giving.money import Money
from giving.payments import sandbox, sandbox_flows, services
from giving.payments.models import Donation, Frequency
from giving.payments.signing import sign_payload

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def scratch_database(server_url: str) -> tuple[str, Callable[[], None]]:
    url = make_url(server_url)
    name = f"giving_bench_webhooks_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def seed(factory: sessionmaker[Session], count: int) -> tuple[str, list[bytes]]:
    """One live campaign and ``count`` sandbox-paid gifts; returns the unsent event bodies."""
    session = factory()
    with transaction(session):
        user = User(
            email="bench@example.org",
            display_name="Bench",
            password_hash="!",  # noqa: S106 - no one logs in as the benchmark's organiser
            session_token=uuid.uuid4().hex,
        )
        session.add(user)
        session.flush()
        campaign = Campaign(
            public_id="cbenchwebhook1",
            slug="bench-webhooks",
            title="Benchmark campaign",
            summary="Benchmark",
            story="Benchmark",
            goal_minor=10**12,
            currency="CNY",
            region="CN-SC",
            category="education",
            state="live",
            created_by_id=user.id,
        )
        session.add(campaign)
    gateway = sandbox.SandboxGateway(session)
    bodies: list[bytes] = []
    for n in range(count):
        with transaction(session):
            new = services.create_intent(
                session,
                campaign=campaign,
                amount=Money(500 + (n % 200) * 100, "CNY"),
                frequency=Frequency.ONE_OFF,
                display_name=None,
                anonymous=True,
                message=None,
                email=None,
                donor=None,
                provider="sandbox",
            )
            services.start_checkout(
                session, gateway, new, success_url="http://x/s", cancel_url="http://x/c"
            )
            assert new.intent.checkout_session_id is not None
            (event,) = sandbox_flows.pay(gateway, new.intent.checkout_session_id, "wechat_pay")
        bodies.append(json.dumps(event, separators=(",", ":")).encode())
    session.close()
    return campaign.public_id, bodies


PLATFORM_FEE_BPS = 150


def start_gunicorn(
    database_url: str, workers: int, threads: int, *, app: str = "giving:create_app()"
) -> tuple[subprocess.Popen[bytes], int]:
    instance = tempfile.mkdtemp(prefix="giving-bench-")
    return serve(
        app,
        lambda port: {
            "DATABASE_URL": database_url,
            "MINIMAL_DATABASE_URL": database_url,
            "GIVING_INSTANCE": instance,
            "GIVING_PLATFORM_FEE_BPS": str(PLATFORM_FEE_BPS),
            "STRIPE_WEBHOOK_SECRET": DEV_WEBHOOK_SECRET,
        },
        workers=workers,
        threads=threads,
    )


def send_all(
    port: int, bodies: list[bytes], senders: int
) -> tuple[float, list[float], dict[int, int]]:
    """POST every body once from ``senders`` threads; (seconds, latencies, status counts)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    chunks = [bodies[i::senders] for i in range(senders)]
    barrier = threading.Barrier(senders + 1)

    def sender(chunk: list[bytes]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        codes: dict[int, int] = {}
        barrier.wait()
        for body in chunk:
            headers = {
                "Content-Type": "application/json",
                "Stripe-Signature": sign_payload(body, DEV_WEBHOOK_SECRET),
            }
            started = time.perf_counter()
            conn.request("POST", "/webhooks/stripe", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            codes[response.status] = codes.get(response.status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for code, n in codes.items():
                statuses[code] = statuses.get(code, 0) + n

    threads = [threading.Thread(target=sender, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, statuses


@dataclass(frozen=True)
class Run:
    rate: float
    p50: float
    p99: float
    statuses: dict[int, int]


def measure(count: int, seconds: float, latencies: list[float], statuses: dict[int, int]) -> Run:
    ordered = sorted(latencies)
    return Run(
        count / seconds,
        ordered[len(ordered) // 2] * 1000,
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        statuses,
    )


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def describe(label: str, run: Run) -> str:
    return (
        f"{label:<22} {run.rate:7.1f} events/s  p50 {run.p50:6.1f} ms  p99 {run.p99:6.1f} ms"
        f"  {run.statuses}"
    )


def raw_append_rate(
    factory: sessionmaker[Session], campaign: str, writers: int, seconds: float
) -> float:
    """``append_entry`` of a donation per transaction, from ``writers`` threads."""
    stop = time.monotonic() + seconds
    counts = [0] * writers
    fund = fund_account(campaign)

    def writer(index: int) -> None:
        session = factory()
        n = 0
        while time.monotonic() < stop:
            with transaction(session):
                append_entry(
                    session,
                    campaign=campaign,
                    kind="donation",
                    postings=[
                        Posting("processor:sandbox", 1000, "CNY"),
                        Posting(fund, -1000, "CNY"),
                    ],
                    occurred_at=dt.datetime.now(dt.UTC),
                    ref=f"bench:{index}:{n}:{uuid.uuid4().hex[:6]}",
                )
            n += 1
        counts[index] = n
        session.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--events", type=int, default=500, help="distinct events per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--append-seconds", type=float, default=0.0, help="0: skip")
    args = parser.parse_args()

    database_url, drop = scratch_database(args.postgres_url)
    engine = make_engine(database_url, pool_size=args.senders + 2)
    factory = make_session_factory(engine)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        upgrade(database_url)
        with engine.begin() as conn:
            conn.exec_driver_sql(minimal_webhook_table())
        warm = args.senders * 4  # each worker's first requests import and compile; not timed
        total = args.events * args.rounds
        print(f"seeding {warm} + {total} sandbox-paid gifts…", flush=True)
        campaign, everything = seed(factory, warm + total)
        warmup, bodies = everything[:warm], everything[warm:]
        giving, giving_port = start_gunicorn(database_url, args.workers, args.threads)
        processes.append(giving)
        minimal, minimal_port = start_gunicorn(
            database_url, args.workers, args.threads, app="minimal_webhook:app"
        )
        processes.append(minimal)
        print(
            f"gunicorn gthread {args.workers} workers × {args.threads} threads (both apps), "
            f"{args.senders} senders, PostgreSQL, {os.cpu_count()} CPUs, "
            f"platform fee {PLATFORM_FEE_BPS} bps"
        )
        send_all(minimal_port, warmup, args.senders)
        send_all(giving_port, warmup, args.senders)
        ratios: list[float] = []
        for n in range(args.rounds):
            chunk = bodies[n * args.events : (n + 1) * args.events]
            before = load()
            base = measure(len(chunk), *send_all(minimal_port, chunk, args.senders))
            ours = measure(len(chunk), *send_all(giving_port, chunk, args.senders))
            ratios.append(ours.rate / base.rate)
            print(f"round {n + 1}: {describe('minimal HMAC+INSERT', base)}")
            print(
                f"         {describe('Giving webhook', ours)}  ratio {ours.rate / base.rate:.2f}×"
                f"  ({before} → {load()})",
                flush=True,
            )
        print(
            f"ratio Giving / minimal: median {statistics.median(ratios):.2f}×, "
            f"rounds {', '.join(f'{r:.2f}' for r in ratios)}"
        )
        dup = measure(len(bodies), *send_all(giving_port, bodies, args.senders))
        print(describe("duplicates (all again)", dup))
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        processes.clear()
        check_books(factory, len(everything))
        for writers in (1, 16) if args.append_seconds > 0 else ():
            rate = raw_append_rate(factory, campaign, writers, args.append_seconds)
            print(f"ledger append_entry, {writers} writer(s): {rate:8.1f} entries/s")
    finally:
        for process in processes:
            process.kill()
        engine.dispose()
        drop()


def minimal_webhook_table() -> str:
    """The one table bench/minimal_webhook.py inserts into."""
    return (
        "CREATE TABLE bench_minimal_events (id BIGSERIAL PRIMARY KEY, "
        "event_id TEXT NOT NULL UNIQUE, payload TEXT NOT NULL)"
    )


def check_books(factory: sessionmaker[Session], sent: int) -> None:
    """No lost or doubled gift: one donation and three entries per event, ledger verified."""
    with factory() as session:
        donations = session.scalar(sa.select(sa.func.count()).select_from(Donation))
        kinds = dict(
            session.execute(
                sa.select(LedgerEntry.kind, sa.func.count()).group_by(LedgerEntry.kind)
            ).all()
        )
        seals = session.scalar(sa.select(sa.func.count(sa.distinct(LedgerEntry.sealed_at))))
        report = verify_ledger(session, None)
    assert donations == sent, f"{donations} donations for {sent} events"
    expected = {"donation": sent, "processor_fee": sent, "platform_fee": sent}
    assert kinds == expected, kinds
    print(
        f"books: {donations} donations, ledger {kinds}, verify_ledger ok ({report.entries} "
        f"entries); {sent * 3 / max(seals or 1, 1):.1f} entries per seal() — each event once"
    )


if __name__ == "__main__":
    main()
