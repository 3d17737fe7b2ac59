"""What a donor's receipt shows, and the inclusion proof the browser checks.

The proof is for the donation's ledger entry against the newest signed checkpoint; if no
checkpoint covers the entry yet, one is made on demand (checkpoints are cheap: one Ed25519
signature over the current tree head). The JSON carries the exact leaf input bytes, so the
browser recomputes the leaf hash itself rather than trusting any hash sent with it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.config import Settings
from giving.errors import NotFound
from giving.ledger.canonical import Posting, canonical_json
from giving.ledger.checkpoint import parse_checkpoint
from giving.ledger.keys import ledger_origin, load_signing_key, vkey_text
from giving.ledger.models import FifoInflow, LedgerCheckpoint, LedgerEntry
from giving.ledger.queries import leaf_of
from giving.ledger.services import latest_checkpoint, make_checkpoint
from giving.ledger.tree import LedgerTree
from giving.payments.models import Donation, DonationIntent
from giving.payments.services import donor_commitment, donor_secret


@dataclass(frozen=True)
class PaymentLine:
    """One paid charge of the gift (a monthly gift has one per month)."""

    donation: Donation
    taken_back_minor: int  # refunded or lost to a dispute, from the ledger


@dataclass(frozen=True)
class Receipt:
    intent: DonationIntent
    lines: list[PaymentLine]
    donor_secret: str
    donor_commitment: str

    @property
    def total_minor(self) -> int:
        return sum(line.donation.amount_minor for line in self.lines)


def build_receipt(session: Session, intent: DonationIntent, token: str) -> Receipt:
    secret = donor_secret(token)
    donations = list(
        session.scalars(
            sa.select(Donation)
            .where(Donation.intent_id == intent.id)
            .order_by(Donation.paid_at, Donation.id)
        )
    )
    lines = [PaymentLine(d, _taken_back(session, d)) for d in donations]
    return Receipt(
        intent=intent, lines=lines, donor_secret=secret, donor_commitment=donor_commitment(secret)
    )


def _taken_back(session: Session, donation: Donation) -> int:
    """Refunded or lost to disputes (net of disputes won), from the gift's stored FIFO row,
    which the sequencer keeps as those entries are sealed (giving/ledger/figures.py)."""
    taken_back = session.scalar(
        sa.select(FifoInflow.taken_back).where(FifoInflow.seq == donation.ledger_seq)
    )
    return int(taken_back or 0)


def checkpoint_covering(session: Session, settings: Settings, seq: int) -> LedgerCheckpoint:
    """The newest checkpoint if it includes entry ``seq``, else a new one (flushed)."""
    key, origin = load_signing_key(settings), ledger_origin(settings)
    # Only one signed as the receipt's verifier key says: this log's name, this key.
    latest = latest_checkpoint(session, signed_as=(origin, key))
    if latest is not None and latest.tree_size > seq:
        return latest
    return make_checkpoint(session, key, origin=origin)


def inclusion_proof_json(
    session: Session, settings: Settings, donation: Donation
) -> dict[str, Any]:
    """Everything the browser needs to check that the donation's entry is in the signed log."""
    # Read the one entry directly: ledger.queries.published_entry streams with a server-side
    # cursor that it leaves open after the first row.
    entry = session.get(LedgerEntry, donation.ledger_seq)
    if entry is None:  # pragma: no cover - a donation always has its entry
        raise NotFound("No such ledger entry.")
    leaf = leaf_of(entry, [Posting(p.account, p.amount, p.currency) for p in entry.postings])
    checkpoint = checkpoint_covering(session, settings, donation.ledger_seq)
    parsed = parse_checkpoint(checkpoint.note)
    proof = LedgerTree(session, size=checkpoint.tree_size).inclusion_proof(
        entry.seq, checkpoint.tree_size
    )
    leaf_input = canonical_json(leaf)
    return {
        "seq": entry.seq,
        "leaf": leaf,
        "leaf_input_b64": base64.b64encode(leaf_input).decode("ascii"),
        "leaf_hash": bytes(entry.leaf_hash).hex(),
        "tree_size": checkpoint.tree_size,
        "root_hash": parsed.root_hash.hex(),
        "inclusion_proof": [node.hex() for node in proof],
        "checkpoint": checkpoint.note,
        "vkey": vkey_text(settings, load_signing_key(settings)),
    }
