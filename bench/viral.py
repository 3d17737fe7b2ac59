"""Viral-burst benchmark: visitors arrive, give through (fake) Stripe, and nothing is lost.

    python bench/viral.py                                    # 1,000 visitors, 32 at a time
    python bench/viral.py --visitors 5000 --concurrency 64 --existing 100000

A post goes viral: --visitors people open the campaign page within minutes, each from their
own address (127.0.0.0/8 source addresses, so per-address rate limits see them as the
different people they are). Every visitor, --concurrency at a time:

1. loads the campaign page and opens the giving form;
2. submits it (an anonymous gift, as from the page itself), which makes Giving create a
   Checkout Session at the fake Stripe server (tests/payments/fake_stripe.py, spoken to by
   the real stripe client over HTTP);
3. pays: the benchmark marks that session paid at the fake, with a PaymentIntent, charge and
   balance transaction, and delivers ``checkout.session.completed`` to Giving's webhook,
   signed, as Stripe would; --duplicates of the events are delivered a second time, as
   Stripe's retries do;
4. opens the receipt page Stripe would send them back to.

Giving runs under gunicorn (gthread) on a scratch PostgreSQL database holding the demo and
--existing gifts already on the campaign (seeded in bulk). It prints gifts recorded per
second (webhook answers over the burst's wall time), page latency (p50/p99 of the campaign
page, the form, the submit and the receipt) during the burst, and errors by step and status.
Afterwards it checks the books: exactly one donation per paid visitor, none lost and none
doubled, the campaign's entries and stored figures agree, and ``verify_ledger`` passes.
"""

from __future__ import annotations

import argparse
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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from giving.campaigns.models import Campaign
from giving.config import DEV_WEBHOOK_SECRET
from giving.db import make_engine, make_session_factory
from giving.ledger.models import LedgerEntry
from giving.payments.models import Donation, DonationIntent
from giving.payments.seeding import seed_gifts
from giving.payments.services import PRESETS
from tests.payments import support
from tests.payments.fake_stripe import API_KEY, FakeStripe, running_fake_stripe

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
STEPS = ("page", "form", "submit", "webhook", "receipt")


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    errors: Counter[str] = field(default_factory=Counter)
    paid: list[str] = field(default_factory=list)  # intent public ids Stripe reported paid
    webhooks_ok: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, step: str, seconds: float, status: int, expected: tuple[int, ...]) -> bool:
        with self.lock:
            self.latencies[step].append(seconds * 1000)
            if status not in expected:
                self.errors[f"{step} {status}"] += 1
                return False
            return True


def scratch_database(server_url: str) -> tuple[str, sa.Engine, str]:
    url = make_url(server_url)
    name = f"giving_bench_viral_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False), admin, name


def prepare(url: str, instance: Path, existing: int) -> tuple[str, str, str]:
    """Demo data and --existing gifts; returns the campaign's (public id, slug, currency)."""
    from pages import demo_app

    app, campaign = demo_app(url, instance)
    factory = app.extensions["giving.sessionmaker"]
    found = campaign.public_id, campaign.slug, campaign.currency
    if existing:
        started = time.perf_counter()
        seed_gifts(factory, found[0], existing, batch=5_000)
        print(f"seeded {existing:,} existing gifts in {time.perf_counter() - started:.0f} s")
    return found


def start_giving(url: str, instance: Path, fake: FakeStripe, args: argparse.Namespace) -> int:
    from serving import serve

    process, port = serve(
        "giving:create_app()",
        lambda port: {
            "DATABASE_URL": url,
            "GIVING_INSTANCE": str(instance),
            "GIVING_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "STRIPE_SECRET_KEY": API_KEY,
            "STRIPE_API_BASE": fake.url,
            "STRIPE_WEBHOOK_SECRET": DEV_WEBHOOK_SECRET,
        },
        workers=args.workers,
        threads=args.threads,
        unset=("REDIS_URL",),  # inline webhook handling, in-process limits per worker
    )
    args.process = process
    return port


class Visitor:
    """One person: their own source address, one keep-alive connection."""

    def __init__(self, port: int, address: str) -> None:
        self.conn = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=120, source_address=(address, 0)
        )
        self.origin = f"http://127.0.0.1:{port}"

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes, float]:
        started = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers or {})
        response = self.conn.getresponse()
        data = response.read()
        return response.status, dict(response.getheaders()), data, time.perf_counter() - started

    def close(self) -> None:
        self.conn.close()


def visit(
    n: int, port: int, campaign: tuple[str, str, str], fake: FakeStripe, tally: Tally, dup: bool
) -> None:
    public_id, slug, currency = campaign
    visitor = Visitor(port, f"127.{1 + n // 65_000 % 250}.{n // 250 % 250}.{1 + n % 250}")
    try:
        status, _, _, took = visitor.request("GET", f"/c/{slug}")
        if not tally.record("page", took, status, (200,)):
            return
        status, _, _, took = visitor.request("GET", f"/campaigns/{public_id}/give")
        if not tally.record("form", took, status, (200,)):
            return
        if n % 2:  # half choose a preset amount, half type their own
            amount = PRESETS[currency][n // 2 % len(PRESETS[currency])]
            choice = f"preset={amount}"
        else:
            major = (5, 20, 88)[n // 2 % 3]
            amount, choice = major * 100, f"custom_amount={major}"
        form = f"{choice}&frequency=one_off&display_name=&anonymous=y".encode()
        status, headers, _, took = visitor.request(
            "POST",
            f"/campaigns/{public_id}/give",
            body=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": visitor.origin,
            },
        )
        if not tally.record("submit", took, status, (303,)):
            return
        checkout_id = headers.get("Location", "").rsplit("/", 1)[-1]
        event = pay(fake, checkout_id, amount, currency)
        intent = event["data"]["object"]["metadata"]["giving_intent"]
        for attempt in range(2 if dup else 1):
            body = support.encode(event)
            status, _, _, took = visitor.request(
                "POST",
                "/webhooks/stripe",
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "Stripe-Signature": support.sign(body),
                },
            )
            if tally.record("webhook", took, status, (200,)) and attempt == 0:
                with tally.lock:
                    tally.paid.append(intent)
                    tally.webhooks_ok += 1
        success = urlsplit(event["data"]["object"]["success_url"])
        status, _, _, took = visitor.request("GET", success.path)
        tally.record("receipt", took, status, (200,))
    except (OSError, http.client.HTTPException) as exc:
        with tally.lock:
            tally.errors[f"connection {type(exc).__name__}"] += 1
    finally:
        visitor.close()


def pay(fake: FakeStripe, checkout_id: str, amount: int, currency: str) -> dict[str, object]:
    """What Stripe does when the donor pays: objects at the fake, and the event to send."""
    fee = (amount * 29 + 500) // 1000 + 50
    pi, _ = fake.add_paid_intent(amount=amount, currency=currency, fee=fee)
    with fake.lock:
        session = fake.objects[checkout_id]
        session.update(payment_status="paid", status="complete", payment_intent=pi)
        paid = json.loads(json.dumps(session))
    return support.event("checkout.session.completed", paid)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def check_books(
    url: str, instance: Path, public_id: str, paid: list[str], existing: int
) -> list[str]:
    """Problems found: lost or doubled gifts, entries without donations, a ledger that fails."""
    problems = []
    factory = make_session_factory(make_engine(url))
    with factory() as session:
        campaign = session.scalars(sa.select(Campaign).where(Campaign.public_id == public_id)).one()
        rows = session.execute(
            sa.select(DonationIntent.public_id, sa.func.count(Donation.id))
            .join(Donation, Donation.intent_id == DonationIntent.id)
            .where(DonationIntent.public_id.in_(paid))
            .group_by(DonationIntent.public_id)
        ).all()
        counts = dict(rows)
        lost = [p for p in paid if p not in counts]
        doubled = [p for p, c in counts.items() if c != 1]
        if lost:
            problems.append(f"{len(lost)} paid gifts without a donation (lost), e.g. {lost[:3]}")
        if doubled:
            problems.append(f"{len(doubled)} gifts recorded more than once, e.g. {doubled[:3]}")
        donations = session.scalar(
            sa.select(sa.func.count())
            .select_from(Donation)
            .where(Donation.campaign_id == campaign.id)
        )
        entries = session.scalar(
            sa.select(sa.func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.campaign == public_id, LedgerEntry.kind == "donation")
        )
        if donations != entries:
            problems.append(f"{donations} donations but {entries} donation entries")
        print(
            f"books: {len(paid)} paid in the burst, {len(counts)} recorded once; campaign has "
            f"{donations:,} donations ({existing:,} seeded before) and {entries:,} donation entries"
        )
    started = time.perf_counter()
    verify = subprocess.run(
        [str(Path(sys.executable).parent / "giving"), "ledger", "verify"],
        env={**os.environ, "DATABASE_URL": url, "GIVING_INSTANCE": str(instance)},
        capture_output=True,
        text=True,
        check=False,
    )
    print(f"giving ledger verify ({time.perf_counter() - started:.1f} s): {verify.stdout.strip()}")
    if verify.returncode != 0:
        problems.append(f"giving ledger verify failed: {verify.stdout.strip()} {verify.stderr}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--existing", type=int, default=10_000, help="gifts seeded beforehand")
    parser.add_argument("--duplicates", type=float, default=0.2, help="share delivered twice")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    url, admin, name = scratch_database(args.postgres_url)
    instance = Path(tempfile.mkdtemp(prefix="giving-bench-viral-"))
    args.process = None
    try:
        campaign = prepare(url, instance, args.existing)
        with running_fake_stripe() as fake:
            port = start_giving(url, instance, fake, args)
            tally = Tally()
            every = round(1 / args.duplicates) if args.duplicates > 0 else 0
            pending = iter(range(args.visitors))
            pending_lock = threading.Lock()

            def worker() -> None:
                while True:
                    with pending_lock:
                        n = next(pending, None)
                    if n is None:
                        return
                    visit(n, port, campaign, fake, tally, dup=bool(every) and n % every == 0)

            load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
            started = time.perf_counter()
            threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - started
            load_after = " ".join(f"{v:.2f}" for v in os.getloadavg())
        print(
            f"burst: {args.visitors:,} visitors, {args.concurrency} at a time, gunicorn gthread "
            f"{args.workers}×{args.threads}, {wall:.1f} s, load {load_before} -> {load_after}"
        )
        print(f"gifts recorded: {tally.webhooks_ok:,} ({tally.webhooks_ok / wall:.1f} gifts/s)")
        for step in STEPS:
            values = tally.latencies[step]
            if values:
                print(
                    f"  {step:<8} {len(values):6,} requests  "
                    f"p50 {statistics.median(values):7.1f} ms  "
                    f"p99 {percentile(values, 0.99):7.1f} ms"
                )
        errors = sum(tally.errors.values())
        print(f"errors: {errors}" + (f" {dict(tally.errors)}" if errors else ""))
        problems = check_books(url, instance, campaign[0], tally.paid, args.existing)
        if errors or problems or tally.webhooks_ok != args.visitors:
            for problem in problems:
                print(f"PROBLEM: {problem}")
            print(f"RESULT: FAIL ({tally.webhooks_ok} of {args.visitors} visitors' gifts recorded)")
            sys.exit(1)
        print("RESULT: OK: zero errors, zero lost and zero duplicated gifts")
    finally:
        if args.process is not None:
            args.process.terminate()
            args.process.wait(timeout=30)
        if args.keep:
            print(f"kept database {name}")
        else:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
