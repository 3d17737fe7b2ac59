"""What a report shows, as plain frozen dataclasses with every figure already computed.

Templates only print these values (and format them for the reader's language); they never
add, subtract or count. Two halves:

* ``ReportContext`` holds the facts that do not come from the ledger (campaign title, host,
  organisers, budget, payees and categories of disbursements, children reached, sign-offs).
  A published version stores its context as JSON, so regenerating that version later uses
  the same names and figures even if a title was edited or more children were registered.
* Everything else (``Summary``, the series for the charts, reconciliation, the ledger
  appendix, the integrity section) is recomputed from the ledger, bounded by the
  checkpoint's tree size, which never changes once signed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from giving.money import Money

LEDGER_APPENDIX_CAP = 2_000
"""Rows of the printed ledger appendix; the attached JSON lines carry every entry."""

DISBURSEMENT_TABLE_CAP = 1_000
"""Disbursements printed one by one (with their evidence digests); beyond this the report
gives them by category and the attached ledger and CSV carry every one."""

RECONCILIATION_DETAIL_CAP = 50
"""Differences listed one by one; beyond this only their count is printed."""

LANGUAGES: dict[str, str] = {"en": "en", "zh": "zh_Hans_CN"}
"""Report languages offered (``--lang``) and the gettext locale each renders with."""

HTML_LANG: dict[str, str] = {"en": "en", "zh": "zh-Hans"}


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class DisbursementDetail:
    """The non-ledger half of a paid disbursement: what it was for and to whom."""

    seq: int
    category: str
    payee: str
    spent_on: dt.date
    description: str


@dataclass(frozen=True)
class ChildrenRow:
    """One line of a children-reached breakdown, already suppressed for display."""

    label: str
    value: str  # "12", "fewer than 10", "20 to 29" or "not shown"


@dataclass(frozen=True)
class ChildrenGroup:
    """One breakdown (by age, by region, by what the money paid for)."""

    title: str
    rows: tuple[ChildrenRow, ...]
    withheld: bool = False  # the whole breakdown is not shown


@dataclass(frozen=True)
class ChildrenFigures:
    """Children helped, exactly as the public pages show them (giving.impact.figures)."""

    total: str
    groups: tuple[ChildrenGroup, ...] = ()
    suppressed: bool = False
    threshold: int = 10
    notice: str = ""
    cost_per_child_minor: int | None = None
    available: bool = True  # False when no child is recorded as reached

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "groups": [
                {
                    "title": g.title,
                    "withheld": g.withheld,
                    "rows": [[r.label, r.value] for r in g.rows],
                }
                for g in self.groups
            ],
            "suppressed": self.suppressed,
            "threshold": self.threshold,
            "notice": self.notice,
            "cost_per_child_minor": self.cost_per_child_minor,
            "available": self.available,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChildrenFigures:
        return cls(
            total=data["total"],
            groups=tuple(
                ChildrenGroup(
                    title=g["title"],
                    rows=tuple(ChildrenRow(label, value) for label, value in g["rows"]),
                    withheld=bool(g["withheld"]),
                )
                for g in data["groups"]
            ),
            suppressed=bool(data["suppressed"]),
            threshold=int(data["threshold"]),
            notice=data["notice"],
            cost_per_child_minor=data["cost_per_child_minor"],
            available=bool(data["available"]),
        )


@dataclass(frozen=True)
class SignOffLine:
    """An auditor's sign-off of an earlier version, printed in later versions."""

    auditor: str
    signed_at: dt.datetime
    version: int
    sha256: str
    tree_size: int
    statement: str


@dataclass(frozen=True)
class ReportContext:
    """The facts a report needs that do not live in the ledger (snapshotted on publish)."""

    campaign_public_id: str
    title: str
    host_name: str | None
    organisers: tuple[str, ...]
    currency: str
    goal_minor: int
    budget: dict[str, int]  # category -> planned minor units
    disbursements: dict[int, DisbursementDetail]  # by ledger seq
    children: ChildrenFigures
    signoffs: tuple[SignOffLine, ...]
    campaign_url: str
    verify_url: str
    vkey: str  # the platform's public key, as published when the report was made

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign_public_id": self.campaign_public_id,
            "title": self.title,
            "host_name": self.host_name,
            "organisers": list(self.organisers),
            "currency": self.currency,
            "goal_minor": self.goal_minor,
            "budget": dict(sorted(self.budget.items())),
            "disbursements": [
                {
                    "seq": d.seq,
                    "category": d.category,
                    "payee": d.payee,
                    "spent_on": d.spent_on.isoformat(),
                    "description": d.description,
                }
                for _, d in sorted(self.disbursements.items())
            ],
            "children": self.children.to_json(),
            "signoffs": [
                {
                    "auditor": s.auditor,
                    "signed_at": s.signed_at.isoformat(),
                    "version": s.version,
                    "sha256": s.sha256,
                    "tree_size": s.tree_size,
                    "statement": s.statement,
                }
                for s in self.signoffs
            ],
            "campaign_url": self.campaign_url,
            "verify_url": self.verify_url,
            "vkey": self.vkey,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReportContext:
        return cls(
            campaign_public_id=data["campaign_public_id"],
            title=data["title"],
            host_name=data["host_name"],
            organisers=tuple(data["organisers"]),
            currency=data["currency"],
            goal_minor=int(data["goal_minor"]),
            budget={k: int(v) for k, v in data["budget"].items()},
            disbursements={
                int(d["seq"]): DisbursementDetail(
                    seq=int(d["seq"]),
                    category=d["category"],
                    payee=d["payee"],
                    spent_on=dt.date.fromisoformat(d["spent_on"]),
                    description=d["description"],
                )
                for d in data["disbursements"]
            },
            children=ChildrenFigures.from_json(data["children"]),
            signoffs=tuple(
                SignOffLine(
                    auditor=s["auditor"],
                    signed_at=dt.datetime.fromisoformat(s["signed_at"]),
                    version=int(s["version"]),
                    sha256=s["sha256"],
                    tree_size=int(s["tree_size"]),
                    statement=s["statement"],
                )
                for s in data["signoffs"]
            ),
            campaign_url=data["campaign_url"],
            verify_url=data["verify_url"],
            vkey=data["vkey"],
        )


# --------------------------------------------------------------------------- ledger figures


@dataclass(frozen=True)
class Summary:
    """The campaign's money in its own currency, from the fund account's postings."""

    gross: Money
    processor_fees: Money
    platform_fees: Money
    refunds: Money
    disputes: Money  # net of disputes won back
    net: Money  # gross less fees, refunds and disputes
    disbursed: Money
    held: Money  # still in the fund: net less disbursed
    donations: int
    donors: int
    goal: Money
    goal_percent: int  # gross raised as a whole percentage of the goal (rounded down)
    other_currencies: tuple[str, ...] = ()  # postings in other currencies (listed as a problem)


@dataclass(frozen=True)
class BudgetRow:
    category: str
    budget: Money | None
    actual: Money
    difference: Money | None  # budget less actual; negative means over budget


@dataclass(frozen=True)
class SeriesPoint:
    """Money in and out of the fund in one period, and what it held at the period's end."""

    start: dt.date
    money_in: int
    money_out: int
    held_after: int


@dataclass(frozen=True)
class Series:
    unit: str  # "day" or "month"
    currency: str
    points: tuple[SeriesPoint, ...]


@dataclass(frozen=True)
class DisbursementRow:
    seq: int
    occurred_at: dt.datetime
    spent_on: dt.date | None
    category: str
    payee: str
    amount: Money
    evidence: tuple[str, ...]
    description: str
    reversed: bool


@dataclass(frozen=True)
class ReconciliationLine:
    """One comparison of the ledger with what the payment processor reported."""

    item: str  # "donations", "processor_fees", "refunds", "disputes"
    ledger: Money
    processor: Money
    difference: Money  # ledger less processor

    @property
    def matches(self) -> bool:
        return self.difference.amount_minor == 0


@dataclass(frozen=True)
class ReconciliationDifference:
    reference: str  # the processor's object id
    item: str
    ledger: Money
    processor: Money


@dataclass(frozen=True)
class Reconciliation:
    lines: tuple[ReconciliationLine, ...]
    differences: tuple[ReconciliationDifference, ...]
    more_differences: int  # beyond RECONCILIATION_DETAIL_CAP

    @property
    def all_match(self) -> bool:
        return all(line.matches for line in self.lines) and not self.differences


@dataclass(frozen=True)
class LedgerRow:
    seq: int
    occurred_at: dt.datetime
    kind: str
    amount: Money  # into the fund positive, out of it negative
    memo: str


@dataclass(frozen=True)
class AttachmentInfo:
    name: str
    description: str
    mime_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Integrity:
    checkpoint_note: str
    origin: str
    tree_size: int
    root_hex: str
    vkey: str
    first_seq: int | None
    last_seq: int | None
    entries: int
    verify_url: str
    qr_svg: str
    attachments: tuple[AttachmentInfo, ...] = field(default=())


@dataclass(frozen=True)
class ReportData:
    """Everything one rendering of a report prints."""

    context: ReportContext
    language: str  # "en" or "zh"
    version: int | None  # None for an unpublished build
    report_date: dt.datetime
    period_start: dt.date | None
    period_end: dt.date | None
    summary: Summary
    budget: tuple[BudgetRow, ...]
    spending_by_category: tuple[tuple[str, Money], ...]
    series: Series
    disbursements: tuple[DisbursementRow, ...]
    disbursements_total: int
    reconciliation: Reconciliation
    ledger_rows: tuple[LedgerRow, ...]
    ledger_rows_total: int
    integrity: Integrity

    @property
    def ledger_rows_omitted(self) -> int:
        return self.ledger_rows_total - len(self.ledger_rows)

    @property
    def disbursements_omitted(self) -> int:
        return self.disbursements_total - len(self.disbursements)
