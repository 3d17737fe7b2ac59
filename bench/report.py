"""Report benchmark: render time and peak memory of a large campaign's PDF (issue 6).

    .venv/bin/python bench/report.py                          # 100,000 gifts, 2,000 payouts
    .venv/bin/python bench/report.py --donations 10000 --disbursements 200 --lang en
    .venv/bin/python bench/report.py --backend postgresql     # the local test server

It builds a scratch database through the migrations and seeds one live, hosted campaign the
way production records it: each gift is a ``donation`` entry and its ``processor_fee`` entry
(so 100,000 gifts are 200,000 entries) plus the ``donations`` row the payments code keeps, and
each disbursement is a ``disbursement`` entry with evidence digests and its approved request.
Seeding goes through the ledger's sealing core in batches (not timed).

Then a fresh process builds the report (``giving.reports.services.build_draft``: a signed
checkpoint, one streaming pass over the ledger that also writes the attachments, and the
WeasyPrint render) and prints wall time, CPU time and its peak resident memory. Targets:
under 20 s and under 1 GiB. The PDF is written to --output (default: a temporary folder).

Timings on a shared machine are noisy, so each line also gives the load averages before and
after, and ``--repeat N`` measures N times and prints the medians. Without ``--workdir``
every repetition seeds a new database and renders once ("cold": the first render after
seeding, as the issue measures it). With ``--workdir`` the database is seeded once and
kept; later renders reuse it ("warm"), and it is migrated to the current head first, so a
kept database survives new migrations:

    .venv/bin/python bench/report.py --backend postgresql --repeat 3               # cold
    .venv/bin/python bench/report.py --backend postgresql --workdir /tmp/rb --repeat 3   # warm
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from giving.accounts.models import User
from giving.campaigns.models import Campaign, CampaignOrganiser
from giving.db import make_engine, make_session_factory, transaction
from giving.disbursements.models import Disbursement
from giving.ledger.rules import draft_entry, fund_account
from giving.ledger.sealing import seal
from giving.migrate import upgrade
from giving.payments.models import Donation, DonationIntent

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
BATCH = 2_000
CATEGORIES = ("education", "food", "health", "shelter", "transport", "other")


def _digest(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def seed(url: str, donations: int, disbursements: int) -> str:
    """Create the campaign and its ledger; return the campaign's public id."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    rng = random.Random(6)
    public_id = "cbench" + uuid.uuid4().hex[:7]
    with factory() as session, transaction(session):
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
            title="乡村学校午餐 Village school lunches",
            summary="Lunches for 300 pupils",
            story="A story",
            language="zh",
            goal_minor=5_000_000_00,
            currency="CNY",
            region="CN-YN",
            category="food",
            state="live",
            created_by_id=user.id,
            created_at=T0,
            published_at=T0,
        )
        campaign.organisers.append(CampaignOrganiser(user_id=user.id))
        session.add(campaign)
        session.flush()
        campaign_id, user_id = campaign.id, user.id
    fund = fund_account(public_id)
    gifts: list[dict[str, object]] = []
    drafts = []
    raised = 0
    for n in range(donations):
        amount = rng.randint(1, 500) * 100
        fee = (amount * 29 + 500) // 1000 + 30
        when = T0 + dt.timedelta(seconds=n * 150)
        charge = f"ch_bench_{n:07d}"
        commitment = _digest("donor", n)
        drafts.append(
            draft_entry(
                campaign=public_id,
                kind="donation",
                occurred_at=when,
                ref=f"{charge}:donation",
                postings=[("processor:sandbox", amount, "CNY"), (fund, -amount, "CNY")],
                donor_commitment=commitment,
            )
        )
        drafts.append(
            draft_entry(
                campaign=public_id,
                kind="processor_fee",
                occurred_at=when,
                ref=f"{charge}:processor_fee",
                memo=f"fee {fee} CNY",
                postings=[(fund, fee, "CNY"), ("processor:sandbox", -fee, "CNY")],
            )
        )
        gifts.append(
            {"charge": charge, "amount": amount, "fee": fee, "when": when, "commitment": commitment}
        )
        raised += amount - fee
    payouts = []
    budget = raised * 9 // 10
    last = T0 + dt.timedelta(seconds=donations * 150)
    for n in range(disbursements):
        amount = max(100, budget // max(disbursements, 1) - rng.randint(0, 100) * 100)
        when = last + dt.timedelta(hours=n + 1)
        evidence = sorted({_digest("evidence", n, k) for k in range(1 + n % 2)})
        drafts.append(
            draft_entry(
                campaign=public_id,
                kind="disbursement",
                occurred_at=when,
                memo=f"disbursement {n + 1} ({CATEGORIES[n % 6]})",
                evidence=evidence,
                postings=[(fund, amount, "CNY"), ("payee:disbursed", -amount, "CNY")],
            )
        )
        payouts.append({"amount": amount, "when": when, "category": CATEGORIES[n % 6]})
    seqs: list[int] = []
    for start in range(0, len(drafts), BATCH):
        with factory() as session, transaction(session):
            for result in seal(session, drafts[start : start + BATCH]):
                assert result.seq is not None, result.error
                seqs.append(result.seq)
    _seed_rows(factory, campaign_id, user_id, gifts, payouts, seqs, donations)
    engine.dispose()
    return public_id


def _seed_rows(factory, campaign_id, user_id, gifts, payouts, seqs, donations) -> None:  # type: ignore[no-untyped-def]
    """The payments and disbursement rows beside the ledger (what reconciliation reads)."""
    intents, rows, requests = DonationIntent, Donation, Disbursement
    with factory() as session, transaction(session):
        for start in range(0, len(gifts), 5_000):
            chunk = gifts[start : start + 5_000]
            ids = (
                session.execute(
                    sa.insert(intents).returning(intents.id),
                    [
                        {
                            "public_id": f"di_bench_{start + i}",
                            "campaign_id": campaign_id,
                            "amount_minor": g["amount"],
                            "currency": "CNY",
                            "frequency": "one_off",
                            "anonymous": True,
                            "receipt_token_sha256": _digest("receipt", start + i),
                            "donor_commitment": g["commitment"],
                            "provider": "sandbox",
                            "status": "paid",
                            "created_at": g["when"],
                            "paid_at": g["when"],
                        }
                        for i, g in enumerate(chunk)
                    ],
                )
                .scalars()
                .all()
            )
            session.execute(
                sa.insert(rows),
                [
                    {
                        "intent_id": ids[i],
                        "campaign_id": campaign_id,
                        "provider": "sandbox",
                        "charge_id": g["charge"],
                        "amount_minor": g["amount"],
                        "currency": "CNY",
                        "fee_minor": g["fee"],
                        "platform_fee_minor": 0,
                        "ledger_seq": seqs[2 * (start + i)],
                        "paid_at": g["when"],
                    }
                    for i, g in enumerate(chunk)
                ],
            )
        if payouts:
            session.execute(
                sa.insert(requests),
                [
                    {
                        "campaign_id": campaign_id,
                        "requested_by_id": user_id,
                        "requested_at": p["when"],
                        "payee": f"供应商 Supplier {n % 40}",
                        "amount_minor": p["amount"],
                        "currency": "CNY",
                        "category": p["category"],
                        "spent_on": p["when"].date(),
                        "description": "School lunches",
                        "groups_reached": "",
                        "state": "approved",
                        "decided_by_id": user_id,
                        "decided_at": p["when"],
                        "ledger_seq": seqs[2 * donations + n],
                    }
                    for n, p in enumerate(payouts)
                ],
            )


def render(
    url: str, public_id: str, language: str, output: Path, instance: Path
) -> dict[str, float]:
    """Build the report in this process and measure it (run in a fresh child process)."""
    os.environ.update(DATABASE_URL=url, GIVING_INSTANCE=str(instance))
    from flask_babel import force_locale

    from giving import create_app
    from giving.ledger.keys import load_signing_key
    from giving.reports.gather import find_campaign
    from giving.reports.services import build_draft

    app = create_app()
    settings = app.extensions["giving.settings"]
    factory = app.extensions["giving.sessionmaker"]
    wall, cpu = time.perf_counter(), time.process_time()
    with app.app_context(), force_locale("en"), factory() as session, transaction(session):
        pdf = build_draft(
            session,
            find_campaign(session, public_id),
            language=language,
            settings=settings,
            key=load_signing_key(settings),
        )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    output.write_bytes(pdf)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mib": round(peak, 1),
        "pdf_bytes": len(pdf),
    }


def scratch_database(backend: str, workdir: Path, *, fresh: bool = True) -> tuple[str, object]:
    if backend == "sqlite":
        path = workdir / "bench.db"
        if fresh:
            path.unlink(missing_ok=True)
        return f"sqlite:///{path}", None
    server = make_url(DEFAULT_PG)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    kept = workdir / "postgresql-database.txt"
    if not fresh and kept.exists():  # --workdir: the database of an earlier run, kept
        name = kept.read_text().strip()
        admin.dispose()
        return server.set(database=name).render_as_string(hide_password=False), None
    name = f"giving_bench_report_{os.getpid()}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    return url, (admin, name)


def load_averages() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    """Seed (unless the workdir holds a seeded database) and render once in a fresh process."""
    marker = workdir / "campaign.txt"
    reuse = args.workdir is not None and marker.exists()
    url, cleanup = scratch_database(args.backend, workdir, fresh=not reuse)
    if args.workdir is not None and cleanup is not None:
        # Keep this PostgreSQL database for the next run with the same --workdir.
        (workdir / "postgresql-database.txt").write_text(cleanup[1])  # type: ignore[index]
        cleanup = None
    try:
        if reuse:
            upgrade(url)  # the kept database may predate a migration
            public_id = marker.read_text().strip()
            print(f"reusing campaign {public_id} in {workdir}", flush=True)
        else:
            upgrade(url)
            started = time.perf_counter()
            public_id = seed(url, args.donations, args.disbursements)
            marker.write_text(public_id)
            print(
                f"seeded {args.donations} gifts ({2 * args.donations} entries) and "
                f"{args.disbursements} disbursements on {args.backend} in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
        output = args.output or workdir / f"report-{args.lang}.pdf"
        before = load_averages()
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--lang",
                args.lang,
                "--output",
                str(output),
                *(["--profile", str(args.profile)] if args.profile else []),
                "--render",
                url,
                public_id,
                str(workdir / "instance"),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        figures: dict[str, float] = json.loads(child.stdout.strip().splitlines()[-1])
        verdict = "OK" if figures["seconds"] < 20 and figures["peak_rss_mib"] < 1024 else "OVER"
        print(
            f"report ({args.lang}, {'warm' if reuse else 'cold'}): {figures['seconds']} s wall, "
            f"{figures['cpu_seconds']} s CPU, "
            f"peak RSS {figures['peak_rss_mib']} MiB, PDF {figures['pdf_bytes']:,} bytes "
            f"[{verdict}: target < 20 s and < 1024 MiB] "
            f"load {before} -> {load_averages()}",
            flush=True,
        )
        return figures
    finally:
        if cleanup is not None:
            admin, name = cleanup  # type: ignore[misc]
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--donations", type=int, default=100_000)
    parser.add_argument("--disbursements", type=int, default=2_000)
    parser.add_argument("--lang", default="zh", choices=("en", "zh"))
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--output", type=Path)
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep the scratch database (SQLite file, or the PostgreSQL database's name) here "
        "and reuse it on the next run; drop a kept PostgreSQL database by hand",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="measure this many times and print the medians"
    )
    parser.add_argument("--profile", type=Path, help="write a cProfile of the render here")
    parser.add_argument(
        "--render", nargs=3, metavar=("URL", "CAMPAIGN", "INSTANCE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.render:
        url, public_id, instance = args.render
        if args.profile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)
            figures = profiler.runcall(
                render, url, public_id, args.lang, args.output, Path(instance)
            )
            profiler.dump_stats(args.profile)
        else:
            figures = render(url, public_id, args.lang, args.output, Path(instance))
        print(json.dumps(figures))
        return
    runs = []
    for _ in range(max(args.repeat, 1)):
        with tempfile.TemporaryDirectory(prefix="giving-bench-report-") as tmp:
            workdir = args.workdir or Path(tmp)
            workdir.mkdir(parents=True, exist_ok=True)
            runs.append(measure(args, workdir))
    if len(runs) > 1:
        print(
            f"median of {len(runs)}: "
            + ", ".join(
                f"{round(statistics.median(run[key] for run in runs), 2)} {unit}"
                for key, unit in (
                    ("seconds", "s wall"),
                    ("cpu_seconds", "s CPU"),
                    ("peak_rss_mib", "MiB peak RSS"),
                )
            )
        )


if __name__ == "__main__":
    main()
