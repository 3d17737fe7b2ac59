"""IATI 2.03 activity XML of a campaign, for the aid sector's own tools.

One ``iati-activity`` per campaign, reported by the publisher the settings name
(``GIVING_IATI_ORG_REF``, ``_NAME``, ``_TYPE``) as a secondary reporter, since the money is
neither its own nor spent by it. Its identifier is ``<publisher ref>-<campaign public id>``, as
IATI requires an activity identifier to start with the reporting organisation's. Donors are
the funding organisation (role 1); the host organisation, the registered charity that holds
the funds and whose finance members approve every disbursement, is the accountable one (role
2), identified by its org-id.guide identifier where its register has one (giving.orgids) and
by name only otherwise. While the publisher is still the development placeholder, the file
says so in a comment, so that nobody sends it to the IATI Registry. The activity holds:

* transactions: incoming funds (type 1), summed per day — a campaign of 100,000 gifts would
  otherwise list 100,000 transactions, and single gifts are not what IATI readers look for;
  refunds and lost disputes as negative incoming funds per day; each disbursement to a payee
  (type 3, a reversal as its negative); processor and platform fees per day as expenditure
  (type 4). Values are decimal major units in the campaign's currency;
* the goal as indicative budgets, one per year of the campaign at most (IATI allows no budget
  period longer than a year), shared by days;
* sectors: OECD DAC 5-digit codes (vocabulary 1) for the spending categories, weighted by
  what was disbursed in each (percentages summing to exactly 100), or the campaign's own
  category while nothing is spent;
* a result with "children reached" indicators from giving.impact.figures: a count is given as
  an ``actual`` value only when the public figures show it exactly. A suppressed one ("fewer
  than 10", a range) has no ``actual`` at all, since the IATI 2.03 ruleset requires every
  ``actual`` of a counted (unit) indicator to have a numeric ``@value`` (rule 8.10.1); its text
  is listed in the indicator's description instead, so the export never says more than the
  campaign's public page.

Every narrative says its own language (``xml:lang``), detected from its text
(giving.text.written_language): a campaign written in English may still have a Chinese payee
or host name, and the figures' notice follows the exporting visitor's language.

Built with the standard library's ElementTree, so the running app needs no lxml; the tests
validate the output against the official 2.03 schema.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.campaigns.models import PUBLIC_STATES, Campaign, CampaignCategory, CampaignState
from giving.config import Settings
from giving.disbursements.models import Disbursement
from giving.hosts.models import HostOrganisation
from giving.hosts.services import host_of
from giving.impact.figures import ImpactFigures, campaign_figures
from giving.impact.suppression import Count, Shown
from giving.ledger import rules
from giving.ledger.tree import log_size
from giving.orgids import host_org_ref
from giving.reports.entries import entry_rows
from giving.reports.exports import major_units
from giving.text import written_language

IATI_VERSION = "2.03"
FUNDING, ACCOUNTABLE = "1", "2"  # IATI OrganisationRole codes
NATIONAL_NGO, OTHER_ORGANISATION = "22", "90"  # IATI OrganisationType codes
PLACEHOLDER_NOTICE = (
    " The publisher identifier {ref} is Giving's development placeholder, not a registered "
    "organisation identifier: do not publish this file to the IATI Registry. Set "
    "GIVING_IATI_ORG_REF, GIVING_IATI_ORG_NAME and GIVING_IATI_ORG_TYPE to the operator's own. "
)

DAC_SECTORS: dict[str, str] = {
    CampaignCategory.EDUCATION.value: "11220",  # Primary education
    CampaignCategory.FOOD.value: "52010",  # Food assistance
    CampaignCategory.HEALTH.value: "12220",  # Basic health care
    CampaignCategory.SHELTER.value: "16040",  # Low-cost housing
    CampaignCategory.TRANSPORT.value: "21020",  # Road transport
    CampaignCategory.OTHER.value: "99810",  # Sectors not specified
}
_ACTIVITY_STATUS = {
    CampaignState.LIVE.value: "2",  # Implementation
    CampaignState.CLOSED.value: "3",  # Finalisation
    CampaignState.FROZEN.value: "6",  # Suspended
}
INCOMING_FUNDS, DISBURSEMENT, EXPENDITURE = "1", "3", "4"


@dataclass
class _Flows:
    incoming: dict[dt.date, int] = field(default_factory=lambda: defaultdict(int))
    returned: dict[dt.date, int] = field(default_factory=lambda: defaultdict(int))
    fees: dict[dt.date, int] = field(default_factory=lambda: defaultdict(int))
    payouts: list[tuple[int, dt.date, int, int | None]] = field(default_factory=list)
    spent_by_category: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _flows(session: Session, campaign: Campaign, categories: dict[int, str]) -> _Flows:
    flows, fund = _Flows(), rules.fund_account(campaign.public_id)
    kind_of: dict[int, str] = {}
    size = log_size(session)
    for entry in entry_rows(session, campaign=campaign.public_id, before_seq=size):
        kind, reverses = entry.kind, entry.reverses
        kind_of[entry.seq] = kind
        undone = reverses if kind == rules.REVERSAL else None
        effective = kind_of.get(undone, kind) if undone is not None else kind
        day = dt.date.fromisoformat(entry.occurred_at[:10])
        total = sum(
            amount
            for account, currency, amount in entry.postings
            if account == fund and currency == campaign.currency
        )
        if effective == rules.DONATION:
            flows.incoming[day] -= total
        elif effective in (rules.REFUND, rules.DISPUTE, rules.DISPUTE_WON):
            flows.returned[day] += total
        elif effective in (rules.PROCESSOR_FEE, rules.PLATFORM_FEE):
            flows.fees[day] += total
        elif effective == rules.DISBURSEMENT:
            original = reverses if kind == rules.REVERSAL else None
            source = original if original is not None else entry.seq
            flows.payouts.append((entry.seq, day, total, original))
            flows.spent_by_category[categories.get(source, CampaignCategory.OTHER.value)] += total
    return flows


def sector_percentages(spent: dict[str, int], fallback: str) -> list[tuple[str, Decimal]]:
    """DAC codes with percentages (two decimals) that add up to exactly 100."""
    positive = {code: amount for code, amount in spent.items() if amount > 0}
    if not positive:
        return [(DAC_SECTORS.get(fallback, DAC_SECTORS["other"]), Decimal(100))]
    by_sector: dict[str, int] = defaultdict(int)
    for category, amount in positive.items():
        by_sector[DAC_SECTORS.get(category, DAC_SECTORS["other"])] += amount
    total = sum(by_sector.values())
    # Largest remainder: hundredths of a percent, rounded down, the rest to the largest
    # remainders, so the printed percentages sum to 100.00 exactly.
    shares = {code: amount * 10_000 // total for code, amount in by_sector.items()}
    remainders = sorted(by_sector, key=lambda code: (-(by_sector[code] * 10_000 % total), code))
    for code in remainders[: 10_000 - sum(shares.values())]:
        shares[code] += 1
    return [(code, Decimal(shares[code]).scaleb(-2)) for code in sorted(shares)]


def budget_periods(
    start: dt.date, end: dt.date, goal_minor: int
) -> list[tuple[dt.date, dt.date, int]]:
    """The goal as indicative budgets of at most a year each (IATI 2.03 rule 7.5.3: "Budget
    Period must not be longer than one year"), shared by the days each period covers; the
    amounts add up to the goal exactly (the last period takes the rounding)."""
    periods: list[tuple[dt.date, dt.date]] = []
    while True:
        try:
            year_later = start.replace(year=start.year + 1)
        except ValueError:  # 29 February
            year_later = start.replace(year=start.year + 1, day=28)
        period_end = min(end, year_later - dt.timedelta(days=1))
        periods.append((start, period_end))
        if period_end >= end:
            break
        start = period_end + dt.timedelta(days=1)
    total_days = (end - periods[0][0]).days + 1
    shares: list[tuple[dt.date, dt.date, int]] = []
    given = 0
    for index, (period_start, period_end) in enumerate(periods):
        if index == len(periods) - 1:
            amount = goal_minor - given
        else:
            amount = goal_minor * ((period_end - period_start).days + 1) // total_days
        given += amount
        shares.append((period_start, period_end, amount))
    return shares


def _narrative(parent: ET.Element, text: str) -> ET.Element:
    element = ET.SubElement(parent, "narrative")
    # The activity's default language is the campaign's, but names and notices need not be
    # in it; text in no particular script (digits only) keeps the default.
    lang = written_language(text)
    if lang is not None:
        element.set("xml:lang", lang)
    element.text = text
    return element


def _value(parent: ET.Element, amount: int, currency: str, day: dt.date) -> None:
    value = ET.SubElement(parent, "value", {"currency": currency, "value-date": day.isoformat()})
    value.text = major_units(amount, currency)


def _transaction(
    activity: ET.Element,
    *,
    code: str,
    day: dt.date,
    amount: int,
    currency: str,
    description: str,
    ref: str | None = None,
    receiver: str | None = None,
) -> None:
    attrs = {"ref": ref} if ref else {}
    transaction = ET.SubElement(activity, "transaction", attrs)
    ET.SubElement(transaction, "transaction-type", {"code": code})
    ET.SubElement(transaction, "transaction-date", {"iso-date": day.isoformat()})
    _value(transaction, amount, currency, day)
    _narrative(ET.SubElement(transaction, "description"), description)
    if receiver:
        _narrative(ET.SubElement(transaction, "receiver-org"), receiver)


def _suppressed_text(count: Count) -> str:
    if count.shown is Shown.FEWER:
        return f"fewer than {count.threshold}"
    if count.shown is Shown.RANGE:
        return f"{count.low} to {count.high}"
    return "not shown"


def _count_actual(
    period: ET.Element, count: Count, dimension: tuple[str, str] | None, suppressed: list[str]
) -> None:
    """An ``actual`` for an exact count; a suppressed one is only named in ``suppressed``."""
    if count.shown is not Shown.EXACT or count.value is None:
        where = f"{dimension[0]} {dimension[1]}" if dimension is not None else "all children"
        suppressed.append(f"{where}: {_suppressed_text(count)}")
        return
    actual = ET.SubElement(period, "actual", {"value": str(count.value)})
    if dimension is not None:
        ET.SubElement(actual, "dimension", {"name": dimension[0], "value": dimension[1]})


def _result(activity: ET.Element, figures: ImpactFigures, start: dt.date, end: dt.date) -> None:
    result = ET.SubElement(activity, "result", {"type": "1", "aggregation-status": "0"})
    _narrative(ET.SubElement(result, "title"), "Children reached")
    _narrative(ET.SubElement(result, "description"), figures.notice)
    indicator = ET.SubElement(result, "indicator", {"measure": "1", "ascending": "1"})
    _narrative(ET.SubElement(indicator, "title"), "Children reached")
    description = ET.SubElement(indicator, "description")  # filled in below, before the period
    period = ET.SubElement(indicator, "period")
    ET.SubElement(period, "period-start", {"iso-date": start.isoformat()})
    ET.SubElement(period, "period-end", {"iso-date": end.isoformat()})
    suppressed: list[str] = []
    _count_actual(period, figures.children, None, suppressed)
    for breakdown in figures.breakdowns:
        if breakdown.withheld:
            continue
        for cell in breakdown.cells:
            _count_actual(period, cell.count, (breakdown.key, cell.key), suppressed)
    if suppressed:
        _narrative(
            description,
            "Not given as values, to protect children (as on the campaign's public page): "
            + "; ".join(suppressed)
            + ".",
        )
    else:
        indicator.remove(description)


def activity_identifier(settings: Settings, campaign: Campaign) -> str:
    """The campaign's IATI activity identifier: the publisher's identifier, then its own id."""
    return f"{settings.iati_org_ref}-{campaign.public_id}"


def host_participant_attributes(host: HostOrganisation) -> dict[str, str]:
    """The host as the accountable organisation, with a ``ref`` only when its registration
    number makes a real org-id.guide identifier (the schema allows a name alone)."""
    attributes = {"role": ACCOUNTABLE, "type": NATIONAL_NGO}
    ref = host_org_ref(host.country, host.registration_number)
    if ref is not None:
        attributes["ref"] = ref
    return attributes


def activity_xml(
    session: Session, campaign: Campaign, settings: Settings, *, now: dt.datetime | None = None
) -> bytes:
    """The campaign as an ``iati-activities`` document (UTF-8 bytes)."""
    return activities_xml(session, [campaign], settings, now=now)


def public_campaigns(session: Session) -> list[Campaign]:
    """The campaigns the public can see (live, closed, frozen), oldest first: ``export all``."""
    states = sorted(state.value for state in PUBLIC_STATES)
    return list(
        session.scalars(sa.select(Campaign).where(Campaign.state.in_(states)).order_by(Campaign.id))
    )


def activities_xml(
    session: Session,
    campaigns: list[Campaign],
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> bytes:
    """One ``iati-activities`` document with an ``iati-activity`` per campaign (UTF-8 bytes)."""
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    root = ET.Element(
        "iati-activities",
        {"version": IATI_VERSION, "generated-datetime": now.isoformat().replace("+00:00", "Z")},
    )
    if settings.iati_org_is_placeholder:
        root.append(ET.Comment(PLACEHOLDER_NOTICE.format(ref=settings.iati_org_ref)))
    for campaign in campaigns:
        _add_activity(root, session, campaign, settings, now)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def _add_activity(
    root: ET.Element, session: Session, campaign: Campaign, settings: Settings, now: dt.datetime
) -> None:
    currency = campaign.currency
    disbursements = list(
        session.scalars(
            sa.select(Disbursement).where(
                Disbursement.campaign_id == campaign.id, Disbursement.ledger_seq.is_not(None)
            )
        )
    )
    by_seq = {int(d.ledger_seq): d for d in disbursements if d.ledger_seq is not None}
    flows = _flows(session, campaign, {seq: d.category for seq, d in by_seq.items()})
    lang = "zh" if campaign.language == "zh" else "en"
    activity = ET.SubElement(
        root,
        "iati-activity",
        {
            "last-updated-datetime": now.isoformat().replace("+00:00", "Z"),
            "xml:lang": lang,
            "default-currency": currency,
            "humanitarian": "0",
        },
    )
    ET.SubElement(activity, "iati-identifier").text = activity_identifier(settings, campaign)
    reporting = ET.SubElement(
        activity,
        "reporting-org",
        {"ref": settings.iati_org_ref, "type": settings.iati_org_type, "secondary-reporter": "1"},
    )
    _narrative(reporting, settings.iati_org_name)
    _narrative(ET.SubElement(activity, "title"), campaign.title)
    _narrative(ET.SubElement(activity, "description", {"type": "1"}), campaign.summary)
    funding = ET.SubElement(
        activity, "participating-org", {"role": FUNDING, "type": OTHER_ORGANISATION}
    )
    _narrative(funding, "Individual donors through Giving")
    host = host_of(session, campaign)
    if host is not None:
        _narrative(
            ET.SubElement(activity, "participating-org", host_participant_attributes(host)),
            host.name,
        )
    ET.SubElement(activity, "activity-status", {"code": _ACTIVITY_STATUS.get(campaign.state, "1")})
    start = (campaign.published_at or campaign.created_at).date()
    ET.SubElement(activity, "activity-date", {"type": "2", "iso-date": start.isoformat()})
    if campaign.closed_at is not None:
        ET.SubElement(
            activity,
            "activity-date",
            {"type": "4", "iso-date": campaign.closed_at.date().isoformat()},
        )
    elif campaign.ends_on is not None:
        ET.SubElement(
            activity, "activity-date", {"type": "3", "iso-date": campaign.ends_on.isoformat()}
        )
    ET.SubElement(activity, "recipient-country", {"code": "CN", "percentage": "100"})
    for code, percentage in sector_percentages(flows.spent_by_category, campaign.category):
        ET.SubElement(
            activity, "sector", {"vocabulary": "1", "code": code, "percentage": f"{percentage:.2f}"}
        )
    budget_end = max(campaign.ends_on or (start + dt.timedelta(days=364)), start)
    for period_start, period_end, amount in budget_periods(start, budget_end, campaign.goal_minor):
        budget = ET.SubElement(activity, "budget", {"type": "1", "status": "1"})
        ET.SubElement(budget, "period-start", {"iso-date": period_start.isoformat()})
        ET.SubElement(budget, "period-end", {"iso-date": period_end.isoformat()})
        _value(budget, amount, currency, period_start)

    for day in sorted(flows.incoming):
        _transaction(
            activity,
            code=INCOMING_FUNDS,
            day=day,
            amount=flows.incoming[day],
            currency=currency,
            description="Donations received (daily total)",
        )
    for day in sorted(flows.returned):
        if flows.returned[day]:
            _transaction(
                activity,
                code=INCOMING_FUNDS,
                day=day,
                amount=-flows.returned[day],
                currency=currency,
                description="Refunds and card disputes (daily total)",
            )
    for seq, day, amount, original in flows.payouts:
        request = by_seq.get(original if original is not None else seq)
        _transaction(
            activity,
            code=DISBURSEMENT,
            day=request.spent_on if request is not None and original is None else day,
            amount=amount,
            currency=currency,
            description=f"Reversal of ledger entry {original}"
            if original is not None
            else (request.description if request is not None else "Disbursement"),
            ref=f"{campaign.public_id}-{seq}",
            receiver=request.payee if request is not None else None,
        )
    for day in sorted(flows.fees):
        if flows.fees[day]:
            _transaction(
                activity,
                code=EXPENDITURE,
                day=day,
                amount=flows.fees[day],
                currency=currency,
                description="Payment processing and platform fees (daily total)",
            )

    figures = campaign_figures(session, campaign, threshold=settings.suppression_threshold)
    end = campaign.closed_at.date() if campaign.closed_at is not None else now.date()
    _result(activity, figures, start, max(end, start))
