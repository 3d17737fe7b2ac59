"""One streaming pass over a campaign's ledger entries that yields every ledger figure.

The pass reads entries with seq below the checkpoint's tree size (so a published version's
figures never change), in seq order, through giving.reports.entries, and at the
same time writes the two attachments (JSON lines with inclusion proofs, CSV). Nothing is
listed in memory beyond the capped appendix and disbursement rows: a campaign of 100,000
donations is summed, not listed.

Figures come from the campaign's fund account only (giving/ledger/rules.py): each kind moves
money between the fund and one counter-account, and a reversal counts as the kind it
reverses, exactly as giving.ledger.balances.campaign_summary splits the balance.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from giving.ledger import rules
from giving.ledger.canonical import parse_timestamp
from giving.ledger.memos import display_memo
from giving.money import Money
from giving.reports.attachments import AttachmentWriter
from giving.reports.data import DisbursementDetail, DisbursementRow, LedgerRow
from giving.reports.entries import EntryRow, entry_rows
from giving.reports.exports import CsvWriter
from giving.reports.proofs import ProofTree

# Summary field of each kind, and the sign that turns its fund postings into that figure.
FIELD_OF_KIND: dict[str, tuple[str, int]] = {
    rules.DONATION: ("gross", -1),
    rules.PROCESSOR_FEE: ("processor_fees", 1),
    rules.PLATFORM_FEE: ("platform_fees", 1),
    rules.REFUND: ("refunds", 1),
    rules.DISPUTE: ("disputes", 1),
    rules.DISPUTE_WON: ("disputes", 1),
    rules.DISBURSEMENT: ("disbursed", 1),
}


_quote = json.encoder.encode_basestring  # "…" with JSON escapes, non-ASCII kept as is


def _text_or_null(value: object) -> str:
    return "null" if value is None else _quote(str(value))


def jsonl_line(entry: EntryRow, tree_size: int, proof_text: str) -> bytes:
    """The per-campaign export line of giving.ledger.export, byte for byte.

    RFC 8785 for the values a line holds (objects with ASCII keys in a fixed set, strings,
    integers, null, no floats) is: members sorted by name, no whitespace, strings with
    ``"``, ``\\`` and control characters escaped and everything else as UTF-8. The line is
    assembled here in that order directly, about three times faster than a general
    canonicaliser; a property test compares it with ``canonical_json`` on arbitrary text,
    and another the whole export with giving.ledger.export's.
    """
    postings = ",".join(
        f'{{"account":{_quote(account)},"amount":{amount},"currency":{_quote(currency)}}}'
        for account, currency, amount in entry.postings
    )
    evidence = ",".join(f'"{digest}"' for digest in entry.evidence)
    reverses = "null" if entry.reverses is None else entry.reverses
    line = (
        f'{{"chain_hash":"{entry.chain_hash}","inclusion_proof":[{proof_text}],'
        f'"leaf":{{"campaign":{_text_or_null(entry.campaign)},'
        f'"donor_commitment":{_text_or_null(entry.donor_commitment)},'
        f'"evidence":[{evidence}],"kind":{_quote(entry.kind)},"memo":{_quote(entry.memo)},'
        f'"occurred_at":"{entry.occurred_at}","postings":[{postings}],'
        f'"ref":{_text_or_null(entry.ref)},"reverses":{reverses},'
        f'"seq":{entry.seq},"v":1}},"leaf_hash":"{entry.leaf_hash}","seq":{entry.seq},'
        f'"tree_size":{tree_size}}}\n'
    )
    return line.encode("utf-8")


@dataclass
class LedgerScan:
    """What the pass found; turned into ReportData by giving.reports.gather."""

    currency: str
    totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    held: int = 0
    donations: int = 0
    donors: int = 0
    entries: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    other_currencies: set[str] = field(default_factory=set)
    by_day: dict[dt.date, list[int]] = field(default_factory=dict)  # day -> [in, out]
    ledger_rows: list[LedgerRow] = field(default_factory=list)
    disbursements: list[DisbursementRow] = field(default_factory=list)
    disbursements_total: int = 0
    spending_by_category: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # For reconciliation with the processor, keyed by the processor's object ids.
    donation_by_charge: dict[str, int] = field(default_factory=dict)
    fees_by_object: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refunds_by_charge: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    disputes_by_id: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _object_id(ref: object) -> str | None:
    """``ch_123:donation`` -> ``ch_123``."""
    if not isinstance(ref, str) or ":" not in ref:
        return None
    return ref.rsplit(":", 1)[0]


class _Scanner:
    def __init__(
        self,
        scan: LedgerScan,
        *,
        campaign: str,
        details: dict[int, DisbursementDetail],
        ledger_row_cap: int,
        disbursement_cap: int,
    ) -> None:
        self.scan = scan
        self.fund = rules.fund_account(campaign)
        self.details = details
        self.ledger_row_cap = ledger_row_cap
        self.disbursement_cap = disbursement_cap
        self.kind_of: dict[int, str] = {}
        self.ref_of: dict[int, str | None] = {}
        self.charge_of_donation: dict[int, str] = {}
        self.disbursement_index: dict[int, int] = {}
        self.category_of: dict[int, str] = {}
        self.donors: set[str] = set()
        self._last_day_text = ""
        self._last_day = dt.date.min

    def add(self, entry: EntryRow) -> None:
        scan = self.scan
        kind, seq, ref, reverses = entry.kind, entry.seq, entry.ref, entry.reverses
        self.kind_of[seq] = kind
        self.ref_of[seq] = ref
        undone = reverses if kind == rules.REVERSAL else None  # the entry a reversal undoes
        effective = self.kind_of.get(undone, kind) if undone is not None else kind
        fund_total = 0
        for account, currency, amount in entry.postings:
            if account == self.fund:
                if currency == scan.currency:
                    fund_total += amount
                else:
                    scan.other_currencies.add(currency)
        delta = -fund_total  # into the fund positive
        scan.held += delta
        name, sign = FIELD_OF_KIND.get(effective, ("other", 1))
        scan.totals[name] += sign * fund_total

        occurred = entry.occurred_at
        day = self._day(occurred)
        bucket = scan.by_day.get(day)
        if bucket is None:
            bucket = scan.by_day[day] = [0, 0]
        if delta >= 0:
            bucket[0] += delta
        else:
            bucket[1] -= delta
        if scan.first_seq is None:
            scan.first_seq, scan.first_day = seq, day
        scan.last_seq, scan.last_day = seq, day
        scan.entries += 1

        if len(scan.ledger_rows) < self.ledger_row_cap:
            scan.ledger_rows.append(
                LedgerRow(
                    seq=seq,
                    occurred_at=parse_timestamp(occurred),
                    kind=kind,
                    amount=Money(delta, scan.currency),
                    memo=display_memo(kind, entry.memo),
                )
            )
        if kind != rules.DISBURSEMENT:
            self._reconciliation_facts(entry, effective, fund_total)
        if effective == rules.DISBURSEMENT:
            self._disbursement(entry, fund_total)

    def _day(self, occurred: str) -> dt.date:
        # Entries come in time order more or less, so the same day repeats: parse it once.
        text = occurred[:10]
        if text != self._last_day_text:
            self._last_day_text = text
            self._last_day = dt.date.fromisoformat(text)
        return self._last_day

    def _reconciliation_facts(self, entry: EntryRow, effective: str, fund_total: int) -> None:
        scan = self.scan
        seq, kind, ref, reverses = entry.seq, entry.kind, entry.ref, entry.reverses
        if kind == rules.DONATION:
            scan.donations += 1
            commitment = entry.donor_commitment
            self.donors.add(str(commitment) if commitment else f"entry:{seq}")
            charge = _object_id(ref)
            if charge is not None:
                self.charge_of_donation[seq] = charge
                scan.donation_by_charge[charge] = -fund_total
        elif effective == rules.PROCESSOR_FEE:
            # A reversed dispute fee counts against the object of the fee it reverses.
            source = self._source_ref(reverses, kind, ref)
            obj = _object_id(source)
            if obj is not None:
                scan.fees_by_object[obj] += fund_total
        elif kind == rules.REFUND and reverses is not None:
            charge = self.charge_of_donation.get(reverses)
            if charge is not None:
                scan.refunds_by_charge[charge] += fund_total
        elif effective in (rules.DISPUTE, rules.DISPUTE_WON):
            source = self._source_ref(reverses, kind, ref)
            dispute = _object_id(source)
            if dispute is not None:
                scan.disputes_by_id[dispute] += fund_total

    def _source_ref(self, reverses: int | None, kind: str, ref: str | None) -> str | None:
        """A reversal counts against the processor object of the entry it reverses."""
        if kind == rules.REVERSAL and reverses is not None:
            return self.ref_of.get(reverses)
        return ref

    def _disbursement(self, entry: EntryRow, fund_total: int) -> None:
        scan = self.scan
        seq, kind, reverses = entry.seq, entry.kind, entry.reverses
        if kind == rules.REVERSAL and reverses is not None:
            category = self.category_of.get(reverses, "other")
            scan.spending_by_category[category] += fund_total
            index = self.disbursement_index.get(reverses)
            if index is not None:
                row = scan.disbursements[index]
                scan.disbursements[index] = replace(row, reversed=True)
            return
        detail = self.details.get(seq)
        category = detail.category if detail is not None else "other"
        self.category_of[seq] = category
        scan.spending_by_category[category] += fund_total
        scan.disbursements_total += 1
        if len(scan.disbursements) >= self.disbursement_cap:
            return
        self.disbursement_index[seq] = len(scan.disbursements)
        scan.disbursements.append(
            DisbursementRow(
                seq=seq,
                occurred_at=parse_timestamp(entry.occurred_at),
                spent_on=detail.spent_on if detail is not None else None,
                category=category,
                payee=detail.payee if detail is not None else "",
                amount=Money(fund_total, scan.currency),
                evidence=tuple(entry.evidence),
                description=detail.description if detail is not None else entry.memo,
                reversed=False,
            )
        )

    def finish(self) -> LedgerScan:
        self.scan.donors = len(self.donors)
        return self.scan


def scan_campaign(
    session: Session,
    *,
    campaign: str,
    currency: str,
    tree_size: int,
    details: dict[int, DisbursementDetail],
    proof_tree: ProofTree | None = None,
    jsonl: AttachmentWriter | None = None,
    csv_out: AttachmentWriter | None = None,
    ledger_row_cap: int,
    disbursement_cap: int,
) -> LedgerScan:
    """Sum the campaign's entries below ``tree_size`` and write the attachments on the way."""
    scanner = _Scanner(
        LedgerScan(currency=currency),
        campaign=campaign,
        details=details,
        ledger_row_cap=ledger_row_cap,
        disbursement_cap=disbursement_cap,
    )
    csv_writer = CsvWriter(csv_out) if csv_out is not None else None
    for entry in entry_rows(session, campaign=campaign, before_seq=tree_size):
        scanner.add(entry)
        if jsonl is not None:
            assert proof_tree is not None
            jsonl.write(jsonl_line(entry, tree_size, proof_tree.proof_text(entry.seq)))
        if csv_writer is not None:
            csv_writer.add(entry)
    if csv_writer is not None:
        csv_writer.flush()
    return scanner.finish()
