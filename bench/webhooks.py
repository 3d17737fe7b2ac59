"""Webhook benchmark: signed checkout.session.completed events per second through HTTP (issue 4).

    .venv/bin/python bench/webhooks.py                         # 2000 events, 16 senders
    .venv/bin/python bench/webhooks.py --events 5000 --workers 4 --threads 4

In a scratch PostgreSQL database it creates one live campaign and --events donation intents,
each paid on the sandbox provider, which yields real Stripe-shaped checkout.session.completed
events (and the sandbox charges and balance transactions the handler reads the fee from).
Then it starts gunicorn (gthread, --workers × --threads) on the real app and
--senders threads POST the events, each signed just before sending, over keep-alive
connections. Every event is handled inline in its request: stored once, charge and fee looked
up, donation + processor fee entries appended to the ledger, committed. It reports events/s
and latency percentiles, then the same for a second delivery of every event (duplicates,
recognised and answered without recording), then the ledger's raw ``append_entry`` rate in the
same database (1 and 16 writer threads, one commit per entry), and checks the books.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from giving.accounts.models import User
from giving.campaigns.models import Campaign
from giving.config import DEV_WEBHOOK_SECRET
from giving.db import make_engine, make_session_factory, transaction
from giving.ledger.models import LedgerEntry
from giving.ledger.rules import fund_account
from giving.ledger.services import Posting, append_entry
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(
    database_url: str, workers: int, threads: int
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        GIVING_INSTANCE=tempfile.mkdtemp(prefix="giving-bench-"),
        STRIPE_WEBHOOK_SECRET=DEV_WEBHOOK_SECRET,
    )
    for name in ("STRIPE_SECRET_KEY", "REDIS_URL"):  # sandbox provider, inline handling
        env.pop(name, None)
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
            "giving:create_app()",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


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


def describe(
    label: str, count: int, seconds: float, latencies: list[float], statuses: dict[int, int]
) -> None:
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2] * 1000
    p95 = ordered[int(len(ordered) * 0.95)] * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    print(
        f"{label:<34} {count / seconds:8.1f} events/s   p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   "
        f"p99 {p99:6.1f} ms   mean {statistics.mean(ordered) * 1000:6.1f} ms   statuses {statuses}"
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
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--append-seconds", type=float, default=5.0)
    args = parser.parse_args()

    database_url, drop = scratch_database(args.postgres_url)
    engine = make_engine(database_url, pool_size=args.senders + 2)
    factory = make_session_factory(engine)
    process = None
    try:
        upgrade(database_url)
        print(f"seeding {args.events} sandbox-paid gifts…", flush=True)
        campaign, bodies = seed(factory, args.events)
        process, port = start_gunicorn(database_url, args.workers, args.threads)
        print(
            f"gunicorn gthread {args.workers} workers × {args.threads} threads, "
            f"{args.senders} senders, PostgreSQL, {os.cpu_count()} CPUs"
        )
        seconds, latencies, statuses = send_all(port, bodies, args.senders)
        describe("checkout.session.completed (new)", len(bodies), seconds, latencies, statuses)
        seconds, latencies, statuses = send_all(port, bodies, args.senders)
        describe("same events again (duplicates)", len(bodies), seconds, latencies, statuses)
        process.terminate()
        process.wait(timeout=30)
        process = None

        with factory() as session:
            donations = session.scalar(sa.select(sa.func.count()).select_from(Donation))
            kinds = dict(
                session.execute(
                    sa.select(LedgerEntry.kind, sa.func.count()).group_by(LedgerEntry.kind)
                ).all()
            )
        assert donations == len(bodies), f"{donations} donations for {len(bodies)} events"
        assert kinds == {"donation": len(bodies), "processor_fee": len(bodies)}, kinds
        print(f"books: {donations} donations, ledger {kinds} — each event recorded exactly once")

        for writers in (1, 16):
            rate = raw_append_rate(factory, campaign, writers, args.append_seconds)
            print(
                f"{'ledger append_entry, ' + str(writers) + ' writer(s)':<34} {rate:8.1f} entries/s"
            )
    finally:
        if process is not None:
            process.kill()
        engine.dispose()
        drop()


if __name__ == "__main__":
    main()
