"""Reconciliation: the ledger's figures against what the payment processor reported.

What the processor reported is what Giving stored from it: each paid charge's amount and fee
(``donations`` rows, read from the charge and its balance transaction), and the raw webhook
events kept verbatim in ``stripe_events`` for refunds and disputes. The ledger side comes from
the report's own pass over the entries (giving.reports.scan), keyed by the same processor
object ids the entries carry in their ``ref``. Any object whose two sides differ is listed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.money import Money
from giving.payments.models import Donation, StripeEvent
from giving.reports.data import (
    RECONCILIATION_DETAIL_CAP,
    Reconciliation,
    ReconciliationDifference,
    ReconciliationLine,
)
from giving.reports.scan import LedgerScan

_REFUND_EVENTS = ("charge.refunded", "charge.refund.updated", "refund.updated")
_DISPUTE_EVENTS = (
    "charge.dispute.created",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.closed",
    "charge.dispute.updated",
    "charge.dispute.funds_reinstated",
)


class ProcessorReport:
    """The processor's figures for one campaign, keyed like LedgerScan's."""

    def __init__(self) -> None:
        self.donation_by_charge: dict[str, int] = {}
        self.fee_by_object: dict[str, int] = defaultdict(int)
        self.refunds_by_charge: dict[str, int] = defaultdict(int)
        self.disputes_by_id: dict[str, int] = {}


def processor_report(
    session: Session, *, campaign_id: int, currency: str, ledger_seq_below: int
) -> ProcessorReport:
    """What the processor reported for the campaign's charges recorded below the tree size."""
    report = ProcessorReport()
    rows = session.execute(
        sa.select(Donation.charge_id, Donation.amount_minor, Donation.fee_minor).where(
            Donation.campaign_id == campaign_id,
            Donation.currency == currency,
            Donation.ledger_seq < ledger_seq_below,
        )
    )
    for charge_id, amount, fee in rows:
        report.donation_by_charge[charge_id] = int(amount)
        if fee:
            report.fee_by_object[charge_id] += int(fee)
    charges = set(report.donation_by_charge)
    if charges:
        _read_events(session, report, charges, currency)
    return report


def _events(session: Session, types: Iterable[str]) -> Iterable[dict[str, Any]]:
    rows = session.execute(
        sa.select(StripeEvent.payload)
        .where(StripeEvent.type.in_(tuple(types)))
        .order_by(StripeEvent.id)
    )
    for (payload,) in rows:
        try:
            event = json.loads(payload)
        except ValueError:
            continue
        if isinstance(event, dict) and isinstance(event.get("data"), dict):
            yield event


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _read_events(
    session: Session, report: ProcessorReport, charges: set[str], currency: str
) -> None:
    refunds: dict[str, tuple[str, int]] = {}  # refund id -> (charge, amount), succeeded only
    refunded_total: dict[str, int] = {}  # charge -> amount_refunded as last reported
    for event in _events(session, _REFUND_EVENTS):
        obj = event["data"].get("object") or {}
        if obj.get("object") == "charge" and obj.get("id") in charges:
            refunded_total[obj["id"]] = int(obj.get("amount_refunded") or 0)
            inline = obj.get("refunds")
            items = inline.get("data", []) if isinstance(inline, dict) else []
        elif obj.get("object") == "refund":
            items = [obj]
        else:
            continue
        for refund in items:
            charge = _id(refund.get("charge")) or obj.get("id")
            if charge not in charges or str(refund.get("currency", "")).upper() != currency:
                continue
            if refund.get("status") == "succeeded":
                refunds[str(refund["id"])] = (charge, int(refund.get("amount") or 0))
            else:
                refunds.pop(str(refund.get("id")), None)
    by_charge: dict[str, int] = defaultdict(int)
    for charge, amount in refunds.values():
        by_charge[charge] += amount
    for charge in set(by_charge) | set(refunded_total):
        report.refunds_by_charge[charge] = max(
            by_charge.get(charge, 0), refunded_total.get(charge, 0)
        )

    latest: dict[str, dict[str, Any]] = {}
    for event in _events(session, _DISPUTE_EVENTS):
        dispute = event["data"].get("object") or {}
        if _id(dispute.get("charge")) in charges and isinstance(dispute.get("id"), str):
            latest[dispute["id"]] = dispute
    for dispute_id, dispute in latest.items():
        status = str(dispute.get("status") or "")
        if status.startswith("warning_"):
            continue  # an inquiry: no money moved
        held = 0 if status == "won" else int(dispute.get("amount") or 0)
        report.disputes_by_id[dispute_id] = held
        for txn in dispute.get("balance_transactions") or []:
            if isinstance(txn, dict) and int(txn.get("fee") or 0):
                fee = _fee_in_currency(txn, currency, int(dispute.get("amount") or 0))
                if fee is not None:
                    report.fee_by_object[str(txn.get("id"))] += fee


def _fee_in_currency(txn: dict[str, Any], currency: str, disputed: int) -> int | None:
    """A dispute transaction's fee in the campaign currency, converted as payments does."""
    fee = int(txn["fee"])
    if str(txn.get("currency", "")).upper() == currency:
        return fee
    settled = abs(int(txn.get("amount") or 0))
    if not settled or not disputed:
        return None
    return (fee * disputed * 2 + (settled if fee > 0 else -settled)) // (2 * settled)


def _compare(
    item: str,
    ledger: dict[str, int],
    processor: dict[str, int],
    currency: str,
    differences: list[ReconciliationDifference],
) -> ReconciliationLine:
    for key in sorted(set(ledger) | set(processor)):
        ours, theirs = ledger.get(key, 0), processor.get(key, 0)
        if ours != theirs:
            differences.append(
                ReconciliationDifference(
                    reference=key,
                    item=item,
                    ledger=Money(ours, currency),
                    processor=Money(theirs, currency),
                )
            )
    ledger_total, processor_total = sum(ledger.values()), sum(processor.values())
    return ReconciliationLine(
        item=item,
        ledger=Money(ledger_total, currency),
        processor=Money(processor_total, currency),
        difference=Money(ledger_total - processor_total, currency),
    )


def reconcile(scan: LedgerScan, report: ProcessorReport) -> Reconciliation:
    """Compare totals per item, and list every processor object whose sides differ."""
    currency = scan.currency
    differences: list[ReconciliationDifference] = []
    lines = (
        _compare(
            "donations", scan.donation_by_charge, report.donation_by_charge, currency, differences
        ),
        _compare(
            "processor_fees",
            dict(scan.fees_by_object),
            dict(report.fee_by_object),
            currency,
            differences,
        ),
        _compare(
            "refunds",
            dict(scan.refunds_by_charge),
            dict(report.refunds_by_charge),
            currency,
            differences,
        ),
        _compare(
            "disputes", dict(scan.disputes_by_id), report.disputes_by_id, currency, differences
        ),
    )
    return Reconciliation(
        lines=lines,
        differences=tuple(differences[:RECONCILIATION_DETAIL_CAP]),
        more_differences=max(0, len(differences) - RECONCILIATION_DETAIL_CAP),
    )
