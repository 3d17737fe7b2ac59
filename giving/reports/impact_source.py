"""Children helped, read from giving.impact.figures: the one service for suppressed aggregates.

Reports never count children themselves: they print what ``campaign_figures`` publishes for
the campaign's public page, so a cell hidden there ("fewer than 10") is hidden here too and
no figure can be derived by comparing the two. Call inside ``force_locale`` so the labels
come out in the report's language; the texts are snapshotted with a published version.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from giving.campaigns.models import Campaign
from giving.config import Settings
from giving.impact.figures import ImpactFigures, campaign_figures
from giving.reports.data import ChildrenFigures, ChildrenGroup, ChildrenRow


def children_figures(
    session: Session, campaign: Campaign, *, settings: Settings
) -> ChildrenFigures:
    figures = campaign_figures(session, campaign, threshold=settings.suppression_threshold)
    return from_impact(figures)


def from_impact(figures: ImpactFigures) -> ChildrenFigures:
    groups = tuple(
        ChildrenGroup(
            title=breakdown.title,
            rows=tuple(ChildrenRow(cell.label, cell.text) for cell in breakdown.cells),
            withheld=breakdown.withheld,
        )
        for breakdown in figures.breakdowns
    )
    cost = figures.cost_per_child
    return ChildrenFigures(
        total=figures.children_text,
        groups=groups,
        suppressed=figures.suppressed,
        threshold=figures.threshold,
        notice=figures.notice,
        cost_per_child_minor=cost.amount_minor if cost is not None else None,
        available=figures.has_children,
    )
