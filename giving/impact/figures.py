"""Impact figures: the ONE service that turns children's records into public numbers.

Every output that mentions children helped (the campaign page partial
``templates/impact/_figures.html``, ``GET /api/v1/campaigns/<public_id>/impact``, exports and
the accountability report) calls :func:`campaign_figures`, so the suppression rule cannot be
skipped in one place. Nothing else may count children for the public.

What is counted: the *children helped* are the registered children linked to at least one
approved disbursement of the campaign (reversed or rejected ones reached nobody). They are
broken down by age band, by region (province) and by the spending category of the
disbursements that reached them (a child reached by food and by education money counts in
both, so that breakdown does not add up to the total). Cost per child is the money disbursed
(from the ledger) divided by the children helped.

The suppression rule, with k = ``settings().suppression_threshold`` (default 10, never
below 5):

1. **Small counts.** Any count from 1 to k-1 (a cell or the total) is shown as "fewer than
   k". Zeros are shown as 0: knowing that no child is 0-2 years old identifies nobody.
2. **Coarsening.** If anything is shown as "fewer than k", every other count in the output,
   cells and total alike, is shown as a range of width k aligned on multiples of k (e.g.
   "20 to 29"), and cost per child is left out (money disbursed is public in the ledger, so
   it would give the exact total away). If nothing is small, every count is exact.
3. **Complementary suppression.** If exactly one cell of a breakdown is "fewer than k", the
   next smallest cell of that breakdown is not shown either, so the small one is not simply
   the total minus the rest.
4. **Audit.** The published figures are then attacked as a reader would: from the exact
   values, ranges and totals, and the fact that age bands and regions each add up to the
   total, every value each hidden count could still take is worked out
   (``giving.impact.suppression``). While some hidden count is pinned to a single value,
   the next smallest count of its breakdown is withheld too, and when none is left the
   whole breakdown is. Hiding more only ever widens what a reader must consider, so this
   ends, and it ends with every hidden count ambiguous.
5. **Saying so.** Every output carries ``suppressed`` and a notice explaining what was
   hidden or rounded and why.

Known limit: two outputs published at different times can still be compared (one more
child in a band between two reports); ranges make that comparison coarse, not impossible.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.campaigns.models import Campaign, CampaignCategory
from giving.campaigns.regions import REGIONS, region_name
from giving.disbursements.models import Disbursement, DisbursementState
from giving.impact.models import AgeBand, BeneficiaryChild, DisbursementBeneficiary
from giving.impact.suppression import (
    Count,
    Dimension,
    Published,
    Shown,
    banded,
    check_threshold,
    fewer,
    publish,
)
from giving.ledger.balances import campaign_summary
from giving.money import Money

AGE_BAND = "age_band"
REGION = "region"
CATEGORY = "category"
NOT_RECORDED = "not_recorded"


def count_text(count: Count) -> str:
    """How a count reads on a page."""
    if count.shown is Shown.EXACT:
        return f"{count.value:,}"
    if count.shown is Shown.FEWER:
        return str(_("fewer than %(k)s", k=count.threshold))
    if count.shown is Shown.RANGE:
        return str(_("%(low)s to %(high)s", low=count.low, high=count.high))
    return str(_("not shown"))


def count_json(count: Count) -> dict[str, Any]:
    """How a count reads in the API and exports: never more than the page shows."""
    data: dict[str, Any] = {"shown": count.shown.value, "text": count_text(count)}
    if count.shown is Shown.EXACT:
        data["value"] = count.value
    elif count.shown is Shown.FEWER:
        data["below"] = count.threshold
    elif count.shown is Shown.RANGE:
        data["min"] = count.low
        data["max"] = count.high
    return data


@dataclass(frozen=True, slots=True)
class FigureCell:
    breakdown: str
    key: str
    count: Count

    @property
    def label(self) -> str:
        if self.key == NOT_RECORDED:
            return str(_("Not recorded"))
        if self.breakdown == AGE_BAND:
            return AgeBand(self.key).label
        if self.breakdown == CATEGORY:
            return CampaignCategory(self.key).label
        locale = get_locale()
        return region_name(self.key, "zh" if locale and locale.language == "zh" else "en")

    @property
    def text(self) -> str:
        return count_text(self.count)


@dataclass(frozen=True, slots=True)
class Breakdown:
    key: str
    cells: tuple[FigureCell, ...]
    withheld: bool

    @property
    def title(self) -> str:
        titles: dict[str, str] = {
            AGE_BAND: str(_("By age")),
            REGION: str(_("By region")),
            CATEGORY: str(_("By what the money paid for")),
        }
        return titles[self.key]


@dataclass(frozen=True, slots=True)
class ImpactFigures:
    """Children helped by one campaign, as everyone may see them."""

    campaign_public_id: str
    threshold: int
    children: Count
    breakdowns: tuple[Breakdown, ...]
    cost_per_child: Money | None
    suppressed: bool

    @property
    def has_children(self) -> bool:
        return not (self.children.shown is Shown.EXACT and self.children.value == 0)

    @property
    def children_text(self) -> str:
        return count_text(self.children)

    @property
    def notice(self) -> str:
        """What was hidden or rounded, for every output to print next to the figures."""
        if not self.suppressed:
            return str(
                _(
                    "Counts below %(k)s would be shown as “fewer than %(k)s” to protect "
                    "children's privacy; none are this time.",
                    k=self.threshold,
                )
            )
        parts = [
            _(
                "To protect children's privacy, counts below %(k)s are shown as “fewer than "
                "%(k)s” and the other counts as ranges.",
                k=self.threshold,
            )
        ]
        if any(
            cell.count.shown is Shown.WITHHELD for b in self.breakdowns for cell in b.cells
        ) or any(b.withheld for b in self.breakdowns):
            parts.append(
                _("Some counts are not shown, so that a hidden count cannot be worked out.")
            )
        parts.append(_("Cost per child is shown only when every count is exact."))
        return " ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """The figures for the API and exports (JSON-ready)."""
        return {
            "campaign": self.campaign_public_id,
            "suppression_threshold": self.threshold,
            "suppressed": self.suppressed,
            "notice": self.notice,
            "children_helped": count_json(self.children),
            "cost_per_child": (
                {
                    "amount_minor": self.cost_per_child.amount_minor,
                    "currency": self.cost_per_child.currency,
                }
                if self.cost_per_child is not None
                else None
            ),
            "breakdowns": {
                breakdown.key: (
                    None
                    if breakdown.withheld
                    else [
                        {"key": cell.key, "label": cell.label, **count_json(cell.count)}
                        for cell in breakdown.cells
                    ]
                )
                for breakdown in self.breakdowns
            },
        }

    def rows(self) -> list[tuple[str, str, str]]:
        """(breakdown, label, text) rows for CSV exports and printed reports."""
        rows = [("total", _("Children helped"), self.children_text)]
        for breakdown in self.breakdowns:
            if breakdown.withheld:
                rows.append((breakdown.key, "", _("not shown")))
            rows.extend((breakdown.key, cell.label, cell.text) for cell in breakdown.cells)
        return rows


@dataclass(frozen=True, slots=True)
class HelpedChild:
    age_band: str | None
    province: str | None
    categories: frozenset[str]


def helped_children(session: Session, campaign: Campaign) -> list[HelpedChild]:
    """Children reached by approved disbursements, with the categories that reached them."""
    rows = session.execute(
        sa.select(
            BeneficiaryChild.id,
            BeneficiaryChild.age_band,
            BeneficiaryChild.province,
            Disbursement.category,
        )
        .join(DisbursementBeneficiary, DisbursementBeneficiary.child_id == BeneficiaryChild.id)
        .join(Disbursement, Disbursement.id == DisbursementBeneficiary.disbursement_id)
        .where(
            Disbursement.campaign_id == campaign.id,
            BeneficiaryChild.campaign_id == campaign.id,
            Disbursement.state == DisbursementState.APPROVED.value,
        )
    )
    attributes: dict[int, tuple[str | None, str | None]] = {}
    categories: dict[int, set[str]] = defaultdict(set)
    for child_id, age_band, province, category in rows:
        attributes[child_id] = (age_band, province)
        categories[child_id].add(category)
    return [
        HelpedChild(age_band, province, frozenset(categories[child_id]))
        for child_id, (age_band, province) in attributes.items()
    ]


def dimensions_of(children: list[HelpedChild]) -> list[Dimension]:
    """The three breakdowns' true counts, in their fixed display order."""
    ages: dict[str, int] = defaultdict(int)
    regions: dict[str, int] = defaultdict(int)
    cats: dict[str, int] = defaultdict(int)
    for child in children:
        ages[child.age_band or NOT_RECORDED] += 1
        regions[child.province or NOT_RECORDED] += 1
        for category in child.categories:
            cats[category] += 1
    # Cells are always in a fixed order, never by size: ordering hidden cells by their
    # true counts would tell a reader which of two "fewer than 10" is larger.
    age_cells = [(band.value, ages[band.value]) for band in AgeBand]
    if ages[NOT_RECORDED]:
        age_cells.append((NOT_RECORDED, ages[NOT_RECORDED]))
    region_cells = [(region.code, regions[region.code]) for region in REGIONS]
    known_regions = {region.code for region in REGIONS}
    region_cells += [(code, n) for code, n in sorted(regions.items()) if code not in known_regions]
    return [
        Dimension(AGE_BAND, tuple(age_cells), True, fixed=True),
        Dimension(REGION, tuple(region_cells), True),
        Dimension(CATEGORY, tuple((c.value, cats[c.value]) for c in CampaignCategory), False),
    ]


def figures_from_counts(
    campaign_public_id: str,
    children: list[HelpedChild],
    *,
    threshold: int,
    disbursed: Money | None,
) -> ImpactFigures:
    """The public figures for these children (pure; :func:`campaign_figures` feeds it)."""
    k = check_threshold(threshold)
    total = len(children)
    if total == 0:
        published = Published(total=Count(Shown.EXACT, k, value=0), dimensions={}, suppressed=False)
    else:
        published = publish(total, dimensions_of(children), k)
    breakdowns = tuple(
        Breakdown(
            key=key,
            cells=tuple(FigureCell(key, cell, count) for cell, count in (cells or [])),
            withheld=cells is None,
        )
        for key, cells in published.dimensions.items()
    )
    cost = None
    if not published.suppressed and total and disbursed is not None and disbursed.amount_minor > 0:
        # Rounded half up to the minor unit; only ever shown beside the exact count.
        cost = Money((disbursed.amount_minor * 2 + total) // (2 * total), disbursed.currency)
    return ImpactFigures(
        campaign_public_id=campaign_public_id,
        threshold=k,
        children=published.total,
        breakdowns=breakdowns,
        cost_per_child=cost,
        suppressed=published.suppressed,
    )


def campaign_figures(session: Session, campaign: Campaign, *, threshold: int) -> ImpactFigures:
    """Children helped by ``campaign``, suppressed for the public. Pass
    ``settings().suppression_threshold``; anything below 5 is refused."""
    children = helped_children(session, campaign)
    disbursed = None
    if children:
        summary = campaign_summary(session, campaign.public_id).in_currency(campaign.currency)
        disbursed = Money(summary.disbursed, campaign.currency)
    return figures_from_counts(
        campaign.public_id, children, threshold=threshold, disbursed=disbursed
    )


def public_count(value: int, *, threshold: int) -> Count:
    """Any other number of children or people shown publicly (e.g. a disbursement's reach):
    "fewer than k" below the threshold and a range above it, never exact, so it cannot be
    subtracted from the campaign's figures."""
    k = check_threshold(threshold)
    if value == 0:
        return Count(Shown.EXACT, k, value=0)
    return fewer(k) if value < k else banded(value, k)
