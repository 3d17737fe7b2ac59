"""Ledger tables: sealed entries and their postings, Merkle nodes, checkpoints, the seal queue.

Design overview (DESIGN §3, docs/ledger-format.md):

* ``ledger_entries`` holds sealed entries only. ``seq`` is the gap-free leaf index (0, 1, 2…);
  ``leaf_hash`` is the RFC 9162 hash of the entry's canonical leaf record and ``chain_hash`` =
  SHA-256(``prev_chain_hash`` ‖ ``leaf_hash``). ``prev_chain_hash`` is UNIQUE, so two writers
  can never both extend the same entry: the log cannot fork.
* ``ledger_postings`` are the entry's (account, amount, currency) lines, integers in minor
  units, debit positive. They are inserted *before* their entry (the foreign key is deferred)
  so that the insert trigger on ``ledger_entries`` can check, inside the database, that the
  postings balance per currency before the entry is sealed; a posting for an entry that is
  already sealed is refused.
* ``ledger_nodes`` stores every perfect subtree hash of height ≥ 1, keyed by the tree size at
  which it was completed and its height. About one row per entry; the frontier of any tree size
  is O(log n) point reads and proofs never rehash the log.
* ``ledger_checkpoints`` keeps every signed checkpoint note the platform has published.
* ``ledger_pending`` is the batch sealer's queue of unsealed entries and
  ``ledger_submissions`` the outcome of each queued submission (see giving/ledger/sealer.py).

Triggers from migration 0002 refuse UPDATE and DELETE on every ledger table. The one
exception is ``ledger_pending``: its rows are not ledger records (no seq, no hash, in no tree
head), only requests waiting for the sequencer, and the sealer deletes them in the very
transaction that seals them; UPDATE is refused there too.

Derived figures (giving/ledger/figures.py, giving/ledger/fifo.py) are the exception to
append-only: ``ledger_campaign_totals``, ``ledger_campaign_stats``, ``ledger_campaign_donors``
and the three ``ledger_fifo_*`` tables hold what pages would otherwise recompute from every
posting (totals, donor counts, first-in-first-out allocation of gifts to spending). They are
updated by the sequencer in the same transaction that seals the entries changing them, carry
no trigger, and are no source of truth: ``giving ledger verify`` recomputes them from the
entries and fails on any difference, and ``giving ledger rebuild-figures`` rewrites them.

The ledger never imports the campaigns package: ``campaign`` refers to ``campaigns.public_id``
by table name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from giving.db import Base, utcnow

HASH_BYTES = 32


class LedgerEntry(Base):
    """One sealed financial event; its public record is the Merkle leaf ``seq``."""

    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    campaign: Mapped[str] = mapped_column(sa.String(24), sa.ForeignKey("campaigns.public_id"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    occurred_at: Mapped[dt.datetime] = mapped_column()
    ref: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    memo: Mapped[str] = mapped_column(sa.Text)
    reverses: Mapped[int | None] = mapped_column(sa.BigInteger, sa.ForeignKey("ledger_entries.seq"))
    evidence: Mapped[list[str]] = mapped_column(sa.JSON)
    donor_commitment: Mapped[str | None] = mapped_column(sa.String(64))
    leaf_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(HASH_BYTES))
    chain_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(HASH_BYTES), unique=True)
    prev_chain_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(HASH_BYTES), unique=True)
    sealed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    postings: Mapped[list[LedgerPosting]] = relationship(
        primaryjoin="LedgerEntry.seq == foreign(LedgerPosting.entry_seq)",
        viewonly=True,
        lazy="selectin",
        order_by="LedgerPosting.line",
    )

    __table_args__ = (
        sa.CheckConstraint("seq >= 0", name="seq_not_negative"),
        sa.CheckConstraint("reverses IS NULL OR reverses < seq", name="reverses_earlier"),
        sa.Index("ix_ledger_entries_campaign_seq", "campaign", "seq"),
        sa.Index("ix_ledger_entries_reverses", "reverses"),
    )


class LedgerPosting(Base):
    """One line of an entry: ``amount`` minor units of ``currency`` on ``account``."""

    __tablename__ = "ledger_postings"

    entry_seq: Mapped[int] = mapped_column(
        sa.BigInteger,
        # Deferred so postings can be inserted before their entry: the entry's insert trigger
        # then sees them and checks the balance inside the database (see module docstring).
        sa.ForeignKey("ledger_entries.seq", deferrable=True, initially="DEFERRED"),
        primary_key=True,
        autoincrement=False,
    )
    # Position in the leaf's canonical order (account, currency, amount).
    line: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    account: Mapped[str] = mapped_column(sa.String(120))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))

    __table_args__ = (
        sa.CheckConstraint("amount <> 0", name="amount_not_zero"),
        sa.CheckConstraint("currency IN ('CNY', 'USD', 'HKD', 'EUR')", name="currency_known"),
        sa.Index("ix_ledger_postings_account_currency", "account", "currency"),
    )


class LedgerNode(Base):
    """A perfect subtree hash covering leaves [tree_size - 2**height, tree_size)."""

    __tablename__ = "ledger_nodes"

    tree_size: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    height: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(sa.LargeBinary(HASH_BYTES))

    __table_args__ = (
        sa.CheckConstraint("height BETWEEN 1 AND 63", name="height_range"),
        sa.CheckConstraint("tree_size > 0", name="tree_size_positive"),
    )


class LedgerCheckpoint(Base):
    """A signed C2SP checkpoint note for (tree_size, root), as published.

    ``origin``, ``key_name`` and ``key_id`` say which log name and which key the note was
    signed under, so verification checks each checkpoint against its own (the log's name
    and the key may change over the years; what was signed never does). Checkpoints stored
    before migration 0010 have them only in the note itself (NULL here): the table is
    append-only, so they are read from the note's origin line and signature lines instead.
    """

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_size: Mapped[int] = mapped_column(sa.BigInteger)
    root: Mapped[bytes] = mapped_column(sa.LargeBinary(HASH_BYTES))
    note: Mapped[str] = mapped_column(sa.Text)
    origin: Mapped[str | None] = mapped_column(sa.Text)
    key_name: Mapped[str | None] = mapped_column(sa.Text)
    key_id: Mapped[bytes | None] = mapped_column(sa.LargeBinary(4))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("tree_size >= 0", name="tree_size_not_negative"),
        sa.Index("ix_ledger_checkpoints_tree_size", "tree_size"),
    )


class PendingEntry(Base):
    """An entry submitted to the batch sealer and not yet sealed (a queue row, not a record)."""

    __tablename__ = "ledger_pending"

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    )
    token: Mapped[str] = mapped_column(sa.String(32), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SealOutcome(Base):
    """What became of a submission: the seq it was sealed as (or matched by ref), or why not."""

    __tablename__ = "ledger_submissions"

    token: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    seq: Mapped[int | None] = mapped_column(sa.BigInteger, sa.ForeignKey("ledger_entries.seq"))
    error: Mapped[str | None] = mapped_column(sa.Text)
    sealed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.CheckConstraint("(seq IS NULL) <> (error IS NULL)", name="seq_or_error"),)


# --------------------------------------------------------------------------- derived figures


class CampaignTotals(Base):
    """A campaign's money in one currency, as ``balances.CurrencySummary`` splits it.

    ``uncovered`` is spending no gift has paid for yet (FIFO), ``last_seq`` the newest entry
    that changed the row, a cheap validator for caches.
    """

    __tablename__ = "ledger_campaign_totals"

    campaign: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    gross_raised: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    processor_fees: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    platform_fees: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    refunds: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    disputes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    disbursed: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    available: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    uncovered: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    last_seq: Mapped[int] = mapped_column(sa.BigInteger)


class CampaignStats(Base):
    """Counts over all of a campaign's currencies: distinct donors, gifts, the newest entry."""

    __tablename__ = "ledger_campaign_stats"

    campaign: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    donors: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    donations: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    last_seq: Mapped[int] = mapped_column(sa.BigInteger)


class CampaignDonor(Base):
    """One donor commitment seen on a campaign's donations, so a donor counts once."""

    __tablename__ = "ledger_campaign_donors"

    campaign: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    donor_commitment: Mapped[str] = mapped_column(sa.String(64), primary_key=True)


class FifoInflow(Base):
    """A donation as FIFO sees it: what it brought, lost, paid in fees, gave, and has left."""

    __tablename__ = "ledger_fifo_inflows"

    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    campaign: Mapped[str] = mapped_column(sa.String(24))
    currency: Mapped[str] = mapped_column(sa.String(3))
    gross: Mapped[int] = mapped_column(sa.BigInteger)
    taken_back: Mapped[int] = mapped_column(sa.BigInteger)
    own_fees: Mapped[int] = mapped_column(sa.BigInteger)
    remaining: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (
        # The queue of gifts with money left, oldest first: the next outflow's source.
        sa.Index(
            "ix_ledger_fifo_inflows_with_money",
            "campaign",
            "currency",
            "seq",
            postgresql_where=sa.text("remaining > 0"),
            sqlite_where=sa.text("remaining > 0"),
        ),
    )


class FifoOutflow(Base):
    """Money that left a fund (a disbursement, or fees no gift bore) and how much is unpaid."""

    __tablename__ = "ledger_fifo_outflows"

    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    campaign: Mapped[str] = mapped_column(sa.String(24))
    currency: Mapped[str] = mapped_column(sa.String(3))
    kind: Mapped[str] = mapped_column(sa.String(16))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    uncovered: Mapped[int] = mapped_column(sa.BigInteger)
    occurred_at: Mapped[dt.datetime] = mapped_column()

    __table_args__ = (
        sa.Index("ix_ledger_fifo_outflows_campaign", "campaign", "currency", "seq"),
        sa.Index(
            "ix_ledger_fifo_outflows_uncovered",
            "campaign",
            "currency",
            "seq",
            postgresql_where=sa.text("uncovered > 0"),
            sqlite_where=sa.text("uncovered > 0"),
        ),
    )


class FifoAllocation(Base):
    """The part of donation ``donation_seq`` that paid for outflow ``outflow_seq``."""

    __tablename__ = "ledger_fifo_allocations"

    donation_seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    outflow_seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    amount: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (sa.Index("ix_ledger_fifo_allocations_outflow", "outflow_seq"),)
