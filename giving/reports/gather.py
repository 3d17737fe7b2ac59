"""The one service that gathers a report's figures: ledger, payments, disbursements, impact.

``build_context`` collects the facts that live outside the ledger (and are snapshotted when a
version is published); ``gather_report`` adds everything the ledger says up to a signed
checkpoint, in one streaming pass that also writes the attachments. Templates receive the
result and print it; they compute nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import segno
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.campaigns.models import Campaign, CampaignCategory
from giving.config import Settings
from giving.disbursements.models import Disbursement
from giving.disbursements.queries import budget_amounts
from giving.errors import NotFound, ValidationError
from giving.hosts.services import host_of
from giving.ledger.checkpoint import parse_checkpoint
from giving.ledger.models import LedgerCheckpoint, LedgerEntry
from giving.ledger.tree import log_size
from giving.money import Money
from giving.reports import impact_source
from giving.reports.attachments import AttachmentWriter, CompressedAttachment
from giving.reports.data import (
    DISBURSEMENT_TABLE_CAP,
    LANGUAGES,
    LEDGER_APPENDIX_CAP,
    BudgetRow,
    DisbursementDetail,
    Integrity,
    ReportContext,
    ReportData,
    Series,
    SeriesPoint,
    SignOffLine,
    Summary,
)
from giving.reports.entries import leaf_hashes
from giving.reports.models import ReportSignOff, ReportVersion
from giving.reports.proofs import ProofTree
from giving.reports.reconcile import processor_report, reconcile
from giving.reports.scan import LedgerScan, scan_campaign

DAILY_SERIES_MAX_DAYS = 62
LEDGER_ATTACHMENT = "campaign-ledger.jsonl"
CSV_ATTACHMENT = "campaign-entries.csv"
CHECKPOINT_ATTACHMENT = "checkpoint.txt"
VKEY_ATTACHMENT = "verifier-key.txt"


class UnknownCampaign(NotFound):
    """No campaign has that public id or slug."""


class NoEntries(ValidationError):
    """The campaign has nothing in the ledger yet, so there is nothing to report."""


class LanguageNotOffered(ValidationError):
    """Reports exist in English and Simplified Chinese only."""


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise LanguageNotOffered(
            _(
                "Reports are offered in English (en) and Simplified Chinese (zh), "
                "not %(language)s.",
                language=repr(language),
            ),
            field="language",
        )
    return language


def find_campaign(session: Session, ident: str) -> Campaign:
    """A campaign by its public id or its slug; a clear error for anything else."""
    campaign = session.scalar(
        sa.select(Campaign).where(sa.or_(Campaign.public_id == ident, Campaign.slug == ident))
    )
    if campaign is None:
        raise UnknownCampaign(
            _(
                "There is no campaign %(campaign)s: give a campaign's public id or its slug.",
                campaign=repr(ident),
            ),
            field="campaign",
        )
    return campaign


def campaign_entry_count(session: Session, campaign: Campaign, below: int | None = None) -> int:
    query = sa.select(sa.func.count()).where(LedgerEntry.campaign == campaign.public_id)
    if below is not None:
        query = query.where(LedgerEntry.seq < below)
    return int(session.scalar(query) or 0)


def has_entries(session: Session, campaign: Campaign) -> bool:
    """Whether the campaign has any entry: one index probe, however many gifts it has."""
    first = sa.select(LedgerEntry.seq).where(LedgerEntry.campaign == campaign.public_id).limit(1)
    return session.scalar(first) is not None


def require_entries(session: Session, campaign: Campaign) -> None:
    if not has_entries(session, campaign):
        raise NoEntries(
            _(
                "The campaign %(campaign)s has no ledger entries yet (no donations or "
                "disbursements), so there is nothing to report.",
                campaign=campaign.public_id,
            ),
            field="campaign",
        )


# --------------------------------------------------------------------------- context


def public_url(settings: Settings, endpoint: str, **values: object) -> str:
    """An absolute public URL, built without a request (CLI and jobs have none)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return f"{settings.public_base_url}{path}"


def signoff_lines(
    session: Session, campaign: Campaign, as_of: dt.datetime
) -> tuple[SignOffLine, ...]:
    rows = session.execute(
        sa.select(ReportSignOff, ReportVersion.version)
        .join(ReportVersion, ReportVersion.id == ReportSignOff.version_id)
        .where(ReportVersion.campaign_id == campaign.id, ReportSignOff.signed_at <= as_of)
        .order_by(ReportSignOff.signed_at, ReportSignOff.id)
    )
    return tuple(
        SignOffLine(
            auditor=signoff.auditor.display_name,
            signed_at=signoff.signed_at.replace(microsecond=0),
            version=int(version),
            sha256=signoff.sha256,
            tree_size=int(signoff.tree_size),
            statement=signoff.statement,
        )
        for signoff, version in rows
    )


def build_context(
    session: Session,
    campaign: Campaign,
    *,
    settings: Settings,
    vkey: str,
    as_of: dt.datetime,
) -> ReportContext:
    """The non-ledger facts of a report as they stand at ``as_of``."""
    host = host_of(session, campaign)
    details = {
        int(d.ledger_seq): DisbursementDetail(
            seq=int(d.ledger_seq),
            category=d.category,
            payee=d.payee,
            spent_on=d.spent_on,
            description=d.description,
        )
        for d in session.scalars(
            sa.select(Disbursement).where(
                Disbursement.campaign_id == campaign.id, Disbursement.ledger_seq.is_not(None)
            )
        )
        if d.ledger_seq is not None
    }
    return ReportContext(
        campaign_public_id=campaign.public_id,
        title=campaign.title,
        host_name=host.name if host is not None else None,
        organisers=tuple(row.user.display_name for row in campaign.organisers),
        currency=campaign.currency,
        goal_minor=campaign.goal_minor,
        budget=budget_amounts(session, campaign),
        disbursements=details,
        children=impact_source.children_figures(session, campaign, settings=settings),
        signoffs=signoff_lines(session, campaign, as_of),
        campaign_url=public_url(settings, "campaigns.show_campaign", slug=campaign.slug),
        verify_url=public_url(settings, "reports.verify_page", campaign=campaign.public_id),
        vkey=vkey,
    )


# --------------------------------------------------------------------------- ledger figures


def _months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(current)
        current = (current.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return months


def build_series(scan: LedgerScan) -> Series:
    """Contiguous periods (days, or months for longer campaigns) with in, out and held."""
    if scan.first_day is None or scan.last_day is None:
        return Series(unit="day", currency=scan.currency, points=())
    span = (scan.last_day - scan.first_day).days
    daily = span < DAILY_SERIES_MAX_DAYS
    if daily:
        starts = [scan.first_day + dt.timedelta(days=n) for n in range(span + 1)]
    else:
        starts = _months_between(scan.first_day, scan.last_day)
    sums: dict[dt.date, list[int]] = {start: [0, 0] for start in starts}
    for day, (money_in, money_out) in scan.by_day.items():
        bucket = sums[day if daily else day.replace(day=1)]
        bucket[0] += money_in
        bucket[1] += money_out
    held, points = 0, []
    for start in starts:
        money_in, money_out = sums[start]
        held += money_in - money_out
        points.append(SeriesPoint(start, money_in, money_out, held))
    return Series(unit="day" if daily else "month", currency=scan.currency, points=tuple(points))


def build_summary(scan: LedgerScan, context: ReportContext) -> Summary:
    c = context.currency
    totals = scan.totals
    gross = totals.get("gross", 0)
    deductions = sum(
        totals.get(name, 0) for name in ("processor_fees", "platform_fees", "refunds", "disputes")
    )
    net = gross - deductions
    disbursed = totals.get("disbursed", 0)
    return Summary(
        gross=Money(gross, c),
        processor_fees=Money(totals.get("processor_fees", 0), c),
        platform_fees=Money(totals.get("platform_fees", 0), c),
        refunds=Money(totals.get("refunds", 0), c),
        disputes=Money(totals.get("disputes", 0), c),
        net=Money(net, c),
        disbursed=Money(disbursed, c),
        held=Money(scan.held, c),
        donations=scan.donations,
        donors=scan.donors,
        goal=Money(context.goal_minor, c),
        goal_percent=gross * 100 // context.goal_minor if context.goal_minor > 0 else 0,
        other_currencies=tuple(sorted(scan.other_currencies)),
    )


def build_budget(scan: LedgerScan, context: ReportContext) -> tuple[BudgetRow, ...]:
    c = context.currency
    rows = []
    for category in CampaignCategory:
        planned = context.budget.get(category.value)
        actual = scan.spending_by_category.get(category.value, 0)
        if planned is None and not actual:
            continue
        rows.append(
            BudgetRow(
                category=category.value,
                budget=Money(planned, c) if planned is not None else None,
                actual=Money(actual, c),
                difference=Money(planned - actual, c) if planned is not None else None,
            )
        )
    return tuple(rows)


def qr_svg(url: str) -> str:
    """The QR code of ``url`` as inline SVG (no XML declaration), deterministic."""
    qr: Any = segno.make(url, error="m")
    return str(qr.svg_inline(scale=3, border=2, omitsize=False))


def small_attachment(name: str, text: str, description: str) -> CompressedAttachment:
    writer = AttachmentWriter(name, description=description, mime_type="text/plain")
    writer.write(text.encode("utf-8"))
    return writer.finish()


@dataclass(frozen=True)
class Gathered:
    data: ReportData
    attachments: tuple[CompressedAttachment, ...]


def load_proof_tree(session: Session, tree_size: int) -> ProofTree:
    return ProofTree(leaf_hashes(session, tree_size))


def gather_report(
    session: Session,
    campaign: Campaign,
    *,
    context: ReportContext,
    checkpoint: LedgerCheckpoint,
    language: str,
    version: int | None,
    report_date: dt.datetime,
) -> Gathered:
    """Every figure of the report for the ledger as of ``checkpoint``, plus the attachments."""
    check_language(language)
    tree_size = int(checkpoint.tree_size)
    if tree_size > log_size(session):
        raise ValidationError(_("The checkpoint is larger than the ledger; it is not ours."))
    jsonl = AttachmentWriter(
        LEDGER_ATTACHMENT,
        description="Campaign ledger entries with inclusion proofs (docs/ledger-format.md 6.2)",
        mime_type="application/x-ndjson",
    )
    csv_out = AttachmentWriter(
        CSV_ATTACHMENT,
        description="Campaign ledger entries and postings, one row per posting",
        mime_type="text/csv",
    )
    try:
        scan = scan_campaign(
            session,
            campaign=campaign.public_id,
            currency=context.currency,
            tree_size=tree_size,
            details=context.disbursements,
            proof_tree=load_proof_tree(session, tree_size),
            jsonl=jsonl,
            csv_out=csv_out,
            ledger_row_cap=LEDGER_APPENDIX_CAP,
            disbursement_cap=DISBURSEMENT_TABLE_CAP,
        )
    except BaseException:
        jsonl.abort()
        csv_out.abort()
        raise
    if scan.entries == 0:
        raise NoEntries(
            _(
                "The campaign %(campaign)s has no ledger entries covered by the checkpoint "
                "of tree size %(size)s, so there is nothing to report.",
                campaign=campaign.public_id,
                size=tree_size,
            ),
            field="campaign",
        )
    attachments = (
        jsonl.finish(),
        csv_out.finish(),
        small_attachment(
            CHECKPOINT_ATTACHMENT, checkpoint.note, "The signed ledger checkpoint (C2SP note)"
        ),
        small_attachment(VKEY_ATTACHMENT, context.vkey + "\n", "The platform's verifier key"),
    )
    parsed = parse_checkpoint(checkpoint.note)
    integrity = Integrity(
        checkpoint_note=checkpoint.note,
        origin=parsed.origin,
        tree_size=tree_size,
        root_hex=bytes(checkpoint.root).hex(),
        vkey=context.vkey,
        first_seq=scan.first_seq,
        last_seq=scan.last_seq,
        entries=scan.entries,
        verify_url=context.verify_url,
        qr_svg=qr_svg(context.verify_url),
        attachments=tuple(a.info for a in attachments),
    )
    reconciliation = reconcile(
        scan,
        processor_report(
            session, campaign_id=campaign.id, currency=context.currency, ledger_seq_below=tree_size
        ),
    )
    by_category = tuple(
        (category.value, Money(scan.spending_by_category[category.value], context.currency))
        for category in CampaignCategory
        if scan.spending_by_category.get(category.value)
    )
    data = ReportData(
        context=context,
        language=language,
        version=version,
        report_date=report_date,
        period_start=scan.first_day,
        period_end=scan.last_day,
        summary=build_summary(scan, context),
        budget=build_budget(scan, context),
        spending_by_category=by_category,
        series=build_series(scan),
        disbursements=tuple(scan.disbursements),
        disbursements_total=scan.disbursements_total,
        reconciliation=reconciliation,
        ledger_rows=tuple(scan.ledger_rows),
        ledger_rows_total=scan.entries,
        integrity=integrity,
    )
    return Gathered(data=data, attachments=attachments)
