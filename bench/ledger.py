"""Ledger benchmark: append rates beside raw INSERT rates, and verify time (issue 3).

    .venv/bin/python bench/ledger.py                       # SQLite and PostgreSQL, quick sizes
    .venv/bin/python bench/ledger.py --backends postgresql --sizes 100000,1000000
    .venv/bin/python bench/ledger.py --backends postgresql --verify-only \
        --keep giving_bench_verify --sizes 100000,1000000   # seeds once, reused next run

For each backend it creates a scratch database, then measures for --seconds each, with 1 and
16 writer threads (each its own connection, one commit per operation), in --rounds rounds
that alternate the modes, and prints each mode's median and its ratio to the raw median:

* raw:     single-row INSERT transactions into a plain table (the ceiling);
* append:  ``append_entry`` in its own transaction (ledger lock held across the commit);
* sealer:  writers queue entries in parallel and wait for each to be sealed; one sequencer
           thread seals whatever is queued in one transaction per batch;
* sealer-pipelined: the same, but each writer keeps up to 32 submissions in flight;
* sequencer process: writers only queue (each entry its own committed transaction) while
           ``giving ledger seal`` runs as a separate process, as in production; the rate
           counts entries sealed, from the first queued to the last sealed.

Then it loads ledgers of --sizes entries (through the sealing core, in batches) and times
``verify_ledger`` over each, with each reader (--verify-readers: on PostgreSQL the fast one
and the generic one SQLite uses) and worker count, printing wall and CPU time, the database
backend's CPU and verify's own peak RSS. A kept database holds one size: to compare 100,000
with 1,000,000 entries keep two (--keep giving_bench_verify_100k --sizes 100000).
PostgreSQL needs a server URL the user may CREATE DATABASE on (--postgres-url, default the
local test server); scratch databases are dropped afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from giving.db import make_engine, make_session_factory, transaction
from giving.ledger.rules import draft_entry, fund_account
from giving.ledger.sealer import Sealed, Sealer, queue_entry
from giving.ledger.sealing import seal
from giving.ledger.services import Posting, append_entry
from giving.ledger.verify import verify_ledger
from giving.migrate import upgrade

CAMPAIGN = "cmp_bench"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def donation(n: int) -> dict[str, object]:
    amount = 100 + n % 9_000
    return {
        "campaign": CAMPAIGN,
        "kind": "donation",
        "postings": [
            Posting("processor:stripe", amount, "CNY"),
            Posting(fund_account(CAMPAIGN), -amount, "CNY"),
        ],
        "occurred_at": T0 + dt.timedelta(microseconds=n),
        "memo": "bench",
    }


# ------------------------------------------------------------------------------ databases


@contextmanager
def kept_database(backend: str, postgres_url: str, keep: str) -> Iterator[tuple[str, bool]]:
    """(url, fresh) of a database that outlives the run, so a big ledger is seeded once.

    ``keep`` names a PostgreSQL database, or for SQLite a file. Drop it by hand when done.
    """
    if backend == "sqlite":
        path = Path(keep if keep.endswith(".db") else f"{keep}.db").resolve()
        yield f"sqlite:///{path}", not path.exists()
        return
    server = make_url(postgres_url)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": keep})
        if not exists:
            conn.exec_driver_sql(f'CREATE DATABASE "{keep}"')
    admin.dispose()
    yield server.set(database=keep).render_as_string(hide_password=False), not exists


@contextmanager
def scratch_database(backend: str, postgres_url: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="giving-bench-") as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    server = make_url(postgres_url)
    name = f"giving_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def prepare(url: str, fresh: bool = True) -> tuple[Engine, sessionmaker[Session]]:
    upgrade(url)
    engine = make_engine(url, pool_size=40, max_overflow=0)
    if not fresh:
        return engine, make_session_factory(engine)
    with engine.begin() as conn:
        user_id = conn.execute(
            sa.text(
                "INSERT INTO users (email, display_name, password_hash, created_at, active, "
                "session_token) VALUES ('bench@example.org', 'Bench', 'x', :now, :yes, 't') "
                "RETURNING id"
            ),
            {"now": dt.datetime.now(dt.UTC), "yes": True},
        ).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO campaigns (public_id, slug, title, summary, story, language, "
                "goal_minor, currency, region, category, state, featured, created_by_id, "
                "created_at, updated_at) VALUES (:id, 'bench', 'Bench', 's', 's', 'en', 100, "
                "'CNY', 'yunnan', 'education', 'live', :no, :user, :now, :now)"
            ),
            {"id": CAMPAIGN, "no": False, "user": user_id, "now": dt.datetime.now(dt.UTC)},
        )
        conn.execute(
            sa.text(
                "CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)"
                if engine.dialect.name == "sqlite"
                else "CREATE TABLE bench_raw (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL)"
            )
        )
    return engine, make_session_factory(engine)


# ------------------------------------------------------------------------------ runs


def timed_writers(writers: int, seconds: float, work: Callable[[int, int], None]) -> float:
    """Run ``work(writer, n)`` in a loop on each thread for ``seconds``; return ops/s."""
    start = threading.Barrier(writers + 1)
    counts = [0] * writers
    stop = threading.Event()

    def loop(number: int) -> None:
        start.wait()
        n = 0
        while not stop.is_set():
            work(number, number * 10_000_000 + n)
            n += 1
        counts[number] = n

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - began)


def raw_rate(engine: Engine, writers: int, seconds: float) -> float:
    def work(_writer: int, n: int) -> None:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO bench_raw (payload) VALUES (:p)"), {"p": f"row {n}"})

    return timed_writers(writers, seconds, work)


def append_rate(factory: sessionmaker[Session], writers: int, seconds: float) -> float:
    def work(_writer: int, n: int) -> None:
        with factory() as session, transaction(session):
            append_entry(session, **donation(n))  # type: ignore[arg-type]

    return timed_writers(writers, seconds, work)


def sealer_rate(
    factory: sessionmaker[Session], writers: int, seconds: float, in_flight: int
) -> tuple[float, float]:
    """ops/s and mean batch size; each writer keeps up to ``in_flight`` submissions open."""
    sealer = Sealer(factory).start()
    queues: list[deque[Future[Sealed]]] = [deque() for _ in range(writers)]
    sealed = [0] * writers

    def work(writer: int, n: int) -> None:
        queue = queues[writer]
        queue.append(sealer.submit(**donation(n)))
        while len(queue) >= in_flight:
            queue.popleft().result(timeout=120)
            sealed[writer] += 1

    began = time.perf_counter()
    timed_writers(writers, seconds, work)
    for writer, queue in enumerate(queues):
        while queue:
            queue.popleft().result(timeout=120)
            sealed[writer] += 1
    elapsed = time.perf_counter() - began
    sealer.stop()
    return sum(sealed) / elapsed, sum(sealed) / max(sealer.batches, 1)


def sequencer_process_rate(url: str, engine: Engine, writers: int, seconds: float) -> float:
    """Writers queue in parallel; `giving ledger seal` (another process) seals; sealed/s."""

    def sealed() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(sa.text("SELECT COUNT(*) FROM ledger_submissions")) or 0)

    before = sealed()
    with tempfile.TemporaryDirectory(prefix="giving-bench-instance-") as instance:
        env = dict(os.environ, DATABASE_URL=url, GIVING_INSTANCE=instance)
        sequencer = subprocess.Popen(
            [sys.executable, "-c", "from giving.cli import main; main()", "ledger", "seal"],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            with engine.begin() as conn:  # warm up: time the sealing, not the start-up
                queue_entry(conn, **donation(999_999_999))  # type: ignore[arg-type]
            while sealed() == before:
                time.sleep(0.02)
            before = sealed()
            queued = [0] * writers

            def work(writer: int, n: int) -> None:
                with engine.begin() as conn:
                    queue_entry(conn, **donation(n))  # type: ignore[arg-type]
                queued[writer] += 1

            began = time.perf_counter()
            timed_writers(writers, seconds, work)
            total = sum(queued)
            while sealed() - before < total:
                time.sleep(0.02)
            elapsed = time.perf_counter() - began
        finally:
            sequencer.terminate()
            sequencer.wait(timeout=30)
    return total / elapsed


def load_ledger(factory: sessionmaker[Session], size: int, *, batch: int = 5_000) -> float:
    """Append ``size`` entries through the sealing core; return seconds taken."""
    began = time.perf_counter()
    with factory() as session:
        done = int(
            session.scalar(sa.select(sa.func.count()).select_from(sa.table("ledger_entries"))) or 0
        )
    while done < size:
        count = min(batch, size - done)
        drafts = [draft_entry(**donation(done + i)) for i in range(count)]  # type: ignore[arg-type]
        with factory() as session, transaction(session):
            results = seal(session, drafts)
        assert all(r.new for r in results)
        done += count
        print(f"\r    loaded {done:,}/{size:,}", end="", flush=True)
    print()
    with factory() as session, transaction(session):
        if session.get_bind().dialect.name == "postgresql":
            # What autovacuum would soon do: without statistics the planner takes the
            # freshly loaded tables for small ones and verify is timed on the wrong plan.
            session.execute(sa.text("ANALYZE ledger_entries, ledger_postings, ledger_nodes"))
    return time.perf_counter() - began


def verify_time(factory: sessionmaker[Session], workers: int, fast: bool) -> dict[str, float]:
    """Wall and CPU seconds, entries and memory of one verify.

    ``cpu`` is this process and its workers; ``db_cpu`` the PostgreSQL backend serving the
    session, when the server is on this machine (else -1). ``rss`` is the peak resident
    memory during the verify alone (Linux lets a process reset its high-water mark), beside
    ``rss_before``, so a ledger ten times longer shows whether memory grows with it.
    """
    with factory() as session:
        backend = None
        if session.get_bind().dialect.name == "postgresql":
            backend = session.scalar(sa.text("SELECT pg_backend_pid()"))
        rss_before = _reset_peak_rss()
        db_before = _process_cpu(backend)
        began = time.perf_counter()
        cpu_before = _cpu_seconds()
        report = verify_ledger(session, None, workers=workers, fast=fast)
        wall, cpu = time.perf_counter() - began, _cpu_seconds() - cpu_before
        db_cpu = _process_cpu(backend) - db_before if db_before >= 0 else -1.0
    return {
        "wall": wall,
        "cpu": cpu,
        "db_cpu": db_cpu,
        "entries": report.entries,
        "rss": _peak_rss_mib(),
        "rss_before": rss_before,
    }


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _process_cpu(pid: int | None) -> float:
    """CPU seconds of a local process (the database backend), or -1 if it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return -1.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _reset_peak_rss() -> float:
    """Reset this process's peak resident memory (Linux: clear_refs 5); return the current."""
    with contextlib.suppress(OSError):  # else the peak is the whole run's, as getrusage says
        Path("/proc/self/clear_refs").write_text("5")
    return _status_mib("VmRSS") or _peak_rss_mib()


def _peak_rss_mib() -> float:
    """Peak resident memory of this process since the last reset (or since it started)."""
    return _status_mib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mib(field: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return 0.0


# ------------------------------------------------------------------------------ main


MODES = ("raw insert", "append_entry", "sealer (wait)", "sealer (32 open)", "sequencer process")


def measure(
    mode: str,
    url: str,
    engine: Engine,
    factory: sessionmaker[Session],
    writers: int,
    seconds: float,
) -> tuple[float, str]:
    """ops/s of one mode, and a note."""
    if mode == "raw insert":
        return raw_rate(engine, writers, seconds), ""
    if mode == "append_entry":
        return append_rate(factory, writers, seconds), ""
    if mode == "sequencer process":
        return sequencer_process_rate(url, engine, writers, seconds), "giving ledger seal"
    in_flight = 1 if mode == "sealer (wait)" else 32
    rate, batch = sealer_rate(factory, writers, seconds, in_flight=in_flight)
    return rate, f"mean batch {batch:.0f}"


def bench_backend(backend: str, args: argparse.Namespace) -> None:
    print(f"\n=== {backend} ===")
    if args.keep:
        with kept_database(backend, args.postgres_url, args.keep) as (url, fresh):
            engine, factory = prepare(url, fresh)
            if not args.verify_only:
                bench_writes(url, engine, factory, args)
            bench_verify(engine, factory, args)
        return
    with scratch_database(backend, args.postgres_url) as url:
        engine, factory = prepare(url)
        if not args.verify_only:
            bench_writes(url, engine, factory, args)
        bench_verify(engine, factory, args)


def bench_writes(
    url: str, engine: Engine, factory: sessionmaker[Session], args: argparse.Namespace
) -> None:
    """Append rates per mode and writer count."""
    writer_counts = [int(w) for w in args.writers.split(",")]
    print(
        f"{'writers':>7}  {'mode':<17} {'median/s':>9}  {'vs raw':>7}  "
        f"rounds (ops/s; the machine is shared, so modes alternate within each round)"
    )
    for writers in writer_counts:
        runs: dict[str, list[float]] = {mode: [] for mode in MODES}
        notes: dict[str, str] = {}
        for _ in range(args.rounds):
            for mode in MODES:
                rate, notes[mode] = measure(mode, url, engine, factory, writers, args.seconds)
                runs[mode].append(rate)
        raw = statistics.median(runs["raw insert"])
        for mode in MODES:
            median = statistics.median(runs[mode])
            rounds = " ".join(f"{r:.0f}" for r in runs[mode])
            print(
                f"{writers:>7}  {mode:<17} {median:>9.0f}  {median / raw:>7.2f}  "
                f"[{rounds}] {notes[mode]}"
            )


def bench_verify(engine: Engine, factory: sessionmaker[Session], args: argparse.Namespace) -> None:
    """Load the ledger up to each size (kept between runs with --keep) and time verify."""
    with factory() as session:
        existing = int(session.scalar(sa.text("SELECT COUNT(*) FROM ledger_entries")) or 0)
    print(f"  ledger now holds {existing:,} entries; verify:")
    for size in sorted(int(s) for s in args.sizes.split(",")):
        if size > existing:
            loaded = load_ledger(factory, size)
            print(f"    loading to {size:,} took {loaded:.1f} s")
            existing = size
        postgres = engine.dialect.name == "postgresql"
        for reader in args.verify_readers.split(","):
            for workers in [int(w) for w in args.verify_workers.split(",")]:
                # verify_ledger's choice: on PostgreSQL, workers mean the generic reader.
                if reader == "fast" and (workers or not postgres):
                    continue
                for round_ in range(args.verify_rounds):
                    run = verify_time(factory, workers, fast=reader == "fast")
                    entries, seconds = int(run["entries"]), run["wall"]
                    db = f", database CPU {run['db_cpu']:.1f} s" if run["db_cpu"] >= 0 else ""
                    print(
                        f"    verify {entries:,} entries, {reader} reader, {workers} workers, "
                        f"round {round_ + 1}: wall {seconds:.1f} s "
                        f"({entries / seconds:,.0f}/s), CPU {run['cpu']:.1f} s{db}, "
                        f"peak RSS {run['rss']:.0f} MiB (from {run['rss_before']:.0f}), "
                        f"load {os.getloadavg()[0]:.2f}"
                    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG))
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per mode")
    parser.add_argument("--writers", default="1,16")
    parser.add_argument(
        "--sizes", default="20000", help="ledger sizes to verify, e.g. 100000,1000000"
    )
    parser.add_argument("--verify-only", action="store_true", help="skip the append modes")
    parser.add_argument(
        "--keep", default="", help="reuse (or create and keep) this database: seeded once"
    )
    parser.add_argument("--verify-rounds", type=int, default=1)
    parser.add_argument("--verify-workers", default=f"0,{os.cpu_count() or 1}")
    parser.add_argument(
        "--verify-readers",
        default="fast,generic",
        help="fast: PostgreSQL's own reader (without workers); generic: the one SQLite uses",
    )
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    for backend in args.backends.split(","):
        bench_backend(backend.strip(), args)


if __name__ == "__main__":
    main()
