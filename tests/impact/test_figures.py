"""Impact figures: what the public sees of children helped, and that nothing hidden leaks.

The property test plays a reader who knows the rule's published semantics and subtracts:
for random registries, every count shown as "fewer than k" or "not shown" must still have at
least two possible values given everything else that is published.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from giving.campaigns.models import CampaignCategory
from giving.disbursements import services as disbursements
from giving.impact.figures import (
    AGE_BAND,
    CATEGORY,
    REGION,
    HelpedChild,
    ImpactFigures,
    campaign_figures,
    figures_from_counts,
    public_count,
)
from giving.impact.models import AgeBand
from giving.impact.suppression import Count, Shown
from giving.money import Money
from tests.disbursements.support import Story
from tests.impact.support import approved, erase, reach, register

AGES = [band.value for band in AgeBand]
PROVINCES = ["CN-SC", "CN-YN", "CN-GZ", "CN-XZ", "CN-GS", "CN-QH"]
CATEGORIES = [category.value for category in CampaignCategory]


def children(*specs: tuple[str, str, tuple[str, ...]]) -> list[HelpedChild]:
    return [HelpedChild(age, province, frozenset(cats)) for age, province, cats in specs]


def cells(figures: ImpactFigures, key: str) -> dict[str, Count] | None:
    breakdown = next(b for b in figures.breakdowns if b.key == key)
    return None if breakdown.withheld else {cell.key: cell.count for cell in breakdown.cells}


def make(kids: list[HelpedChild], k: int = 10, disbursed: int = 1_000_000) -> ImpactFigures:
    return figures_from_counts("cabc", kids, threshold=k, disbursed=Money(disbursed, "CNY"))


# --- the rule on worked examples -----------------------------------------------------------


def test_with_no_small_count_everything_is_exact_and_cost_per_child_is_shown() -> None:
    kids = children(
        *[("6-11", "CN-SC", ("education",))] * 12, *[("12-14", "CN-SC", ("food",))] * 10
    )
    figures = make(kids, disbursed=2_200_000)
    assert not figures.suppressed
    assert figures.children == Count(Shown.EXACT, 10, value=22)
    ages = cells(figures, AGE_BAND)
    assert ages is not None
    assert ages["6-11"].value == 12
    assert ages["0-2"].value == 0
    assert figures.cost_per_child == Money(100_000, "CNY")


def test_one_small_cell_is_hidden_with_the_next_smallest_and_the_rest_become_ranges() -> None:
    kids = children(
        *[("6-11", "CN-SC", ("education",))] * 25,
        *[("12-14", "CN-SC", ("education",))] * 14,
        *[("15-17", "CN-SC", ("education",))] * 3,
    )
    figures = make(kids)
    ages = cells(figures, AGE_BAND)
    assert ages is not None
    assert ages["15-17"].shown is Shown.FEWER
    assert ages["12-14"].shown is Shown.WITHHELD  # the next smallest
    assert (ages["6-11"].low, ages["6-11"].high) == (20, 29)
    assert ages["0-2"] == Count(Shown.EXACT, 10, value=0)
    assert (figures.children.low, figures.children.high) == (40, 49)
    assert figures.suppressed
    assert figures.cost_per_child is None


def test_a_campaign_with_few_children_shows_only_fewer_than_the_threshold() -> None:
    figures = make(children(("3-5", "CN-YN", ("health",)), ("3-5", "CN-YN", ("food",))))
    assert figures.children.shown is Shown.FEWER
    assert figures.suppressed
    for key in (AGE_BAND, REGION, CATEGORY):
        shown = cells(figures, key) or {}
        assert all(count.shown in (Shown.FEWER, Shown.EXACT) for count in shown.values())
        assert all(count.value in (None, 0) for count in shown.values())


def test_when_the_total_itself_could_be_worked_out_the_breakdowns_are_withheld() -> None:
    # Four children in four age bands, k = 5: "fewer than 5" in four bands means each band
    # holds at least one, so the total would be 4 and every band exactly 1.
    kids = children(*[(age, "CN-SC", ("food",)) for age in AGES[:4]])
    figures = make(kids, k=5)
    assert figures.children.shown is Shown.FEWER
    assert all(breakdown.withheld for breakdown in figures.breakdowns)
    assert possible_values(figures)[("total", "")] == {1, 2, 3, 4}


def test_no_children_means_no_figures_and_nothing_to_suppress() -> None:
    figures = make([])
    assert not figures.has_children
    assert not figures.suppressed
    assert figures.cost_per_child is None


def test_the_threshold_is_never_below_five() -> None:
    with pytest.raises(ValueError, match="below 5"):
        make([], k=4)
    figures = make(children(*[("6-11", "CN-SC", ("food",))] * 6), k=5)
    assert figures.children.value == 6


def test_other_public_counts_are_never_exact() -> None:
    assert public_count(0, threshold=10).value == 0
    assert public_count(7, threshold=10).shown is Shown.FEWER
    assert (public_count(32, threshold=10).low, public_count(32, threshold=10).high) == (30, 39)


def test_the_outputs_say_what_was_suppressed(app: Flask) -> None:
    kids = children(*[("6-11", "CN-SC", ("food",))] * 20, ("0-2", "CN-YN", ("food",)))
    with app.test_request_context():
        figures = make(kids)
        data = figures.as_dict()
        assert data["suppressed"] is True
        assert "fewer than 10" in data["notice"]
        assert data["children_helped"] == {
            "shown": "range",
            "text": "20 to 29",
            "min": 20,
            "max": 29,
        }
        assert data["breakdowns"]["age_band"][0] == {
            "key": "0-2",
            "label": "0 to 2 years",
            "shown": "fewer_than",
            "text": "fewer than 10",
            "below": 10,
        }
        assert ("total", "Children helped", "20 to 29") in figures.rows()


# --- the reader who subtracts ---------------------------------------------------------------


def known(count: Count, k: int) -> tuple[int, float]:
    """The reader's knowledge of one published count (the rule's published semantics)."""
    if count.shown is Shown.EXACT:
        return count.value or 0, count.value or 0
    if count.shown is Shown.FEWER:
        return 1, k - 1  # zeros are printed as 0, so a hidden small count is at least 1
    if count.shown is Shown.RANGE:
        return count.low or 0, count.high or 0
    return k, math.inf  # not shown: it would otherwise have said "fewer than k"


def possible_values(figures: ImpactFigures) -> dict[tuple[str, str], set[int]]:
    """For every hidden count, each value consistent with all published figures.

    Age bands and regions add up to the total; categories overlap (each at most the total,
    together at least the total). Breakdowns only share the total, so for a given total each
    one can be satisfied independently.
    """
    k = figures.threshold
    t_lo, t_hi = known(figures.children, k)
    published = {
        b.key: [(c.key, known(c.count, k), c.count) for c in b.cells]
        for b in figures.breakdowns
        if not b.withheld
    }
    additive = {AGE_BAND: True, REGION: True, CATEGORY: False}

    def range_for(key: str, total: int, skip: int | None) -> tuple[float, float]:
        """Bounds on the sum of the other cells of a breakdown (capped for categories)."""
        rest = [b for i, (_, b, _) in enumerate(published[key]) if i != skip]
        if additive[key]:
            return sum(lo for lo, _ in rest), sum(hi for _, hi in rest)
        return sum(min(lo, total) for lo, _ in rest), sum(min(hi, total) for _, hi in rest)

    def total_ok(key: str, total: int) -> bool:
        lo, hi = range_for(key, total, None)
        if additive[key]:
            return lo <= total <= hi
        return all(b[0] <= total for _, b, _ in published[key]) and hi >= total

    totals = [
        t for t in range(int(t_lo), int(t_hi) + 1) if all(total_ok(key, t) for key in published)
    ]
    result: dict[tuple[str, str], set[int]] = {}
    if figures.children.shown is Shown.FEWER:
        result[("total", "")] = set(totals)
    for key, entries in published.items():
        for index, (cell, (lo, hi), count) in enumerate(entries):
            if count.shown not in (Shown.FEWER, Shown.WITHHELD):
                continue
            values: set[int] = set()
            for t in range(int(t_lo), int(t_hi) + 1):
                if not all(total_ok(other, t) for other in published if other != key):
                    continue
                rest_lo, rest_hi = range_for(key, t, index)
                if additive[key]:
                    low, high = max(lo, t - rest_hi), min(hi, t - rest_lo)
                else:
                    if any(b[0] > t for i, (_, b, _) in enumerate(entries) if i != index):
                        continue
                    low, high = max(lo, t - rest_hi), min(hi, t)
                values.update(range(int(low), int(high) + 1))
            result[(key, cell)] = values
    return result


child_specs = st.tuples(
    st.sampled_from(AGES),
    st.sampled_from(PROVINCES),
    st.sets(st.sampled_from(CATEGORIES), min_size=1, max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(
    specs=st.lists(child_specs, min_size=1, max_size=70),
    k=st.sampled_from([5, 7, 10]),
)
def test_no_hidden_count_can_be_recovered_by_subtraction(
    specs: list[tuple[str, str, set[str]]], k: int
) -> None:
    kids = [HelpedChild(age, province, frozenset(cats)) for age, province, cats in specs]
    figures = make(kids, k=k)
    truth = {
        AGE_BAND: Counter(child.age_band for child in kids),
        REGION: Counter(child.province for child in kids),
        CATEGORY: Counter(cat for child in kids for cat in child.categories),
    }
    if not figures.suppressed:
        assert figures.children.value == len(kids)
        assert all(count >= k for counter in truth.values() for count in counter.values())
        return
    assert figures.cost_per_child is None
    for breakdown in figures.breakdowns:
        for cell in breakdown.cells:
            true_value = truth[breakdown.key][cell.key]
            low, high = known(cell.count, k)
            assert low <= true_value <= high, "a published count contradicts the truth"
            assert cell.count.shown is not Shown.EXACT or true_value == 0
    for (key, cell), values in possible_values(figures).items():
        true_value = len(kids) if key == "total" else truth[key][cell]
        assert true_value in values, "the reader's reasoning must admit the truth"
        assert len(values) >= 2, f"{key}/{cell} can be worked out: it must be {values}"


# --- from the database ---------------------------------------------------------------------


def test_only_approved_disbursements_count_and_cost_comes_from_the_ledger(
    story: Story, session: Session, app: Flask
) -> None:
    kids = [register(story, age_band="6-11", province="CN-SC") for _ in range(12)]
    paid = approved(story, 120_000, category="education")
    reach(story, paid, kids)
    pending = story.request(50_000, category="food")
    reach(story, pending, kids[:3])
    undone = approved(story, 30_000, category="health")
    reach(story, undone, kids[:2])
    disbursements.reverse_disbursement(
        session, actor=story.finance, disbursement=undone, reason="Wrong payee"
    )
    figures = campaign_figures(session, story.campaign, threshold=10)
    assert figures.children.value == 12
    assert not figures.suppressed
    assert cells(figures, CATEGORY) == {"education": Count(Shown.EXACT, 10, value=12)}
    # 1,200 yuan disbursed net of the reversal, over 12 children.
    assert figures.cost_per_child == Money(10_000, "CNY")


def test_erased_children_still_count_where_they_were_counted(
    story: Story, session: Session
) -> None:
    kids = [register(story, province="CN-YN") for _ in range(10)]
    reach(story, approved(story), kids)
    before = campaign_figures(session, story.campaign, threshold=10)
    erase(story, kids[0])
    assert campaign_figures(session, story.campaign, threshold=10) == before


def test_the_api_serves_the_same_figures_to_everyone(
    story: Story, session: Session, client: object
) -> None:
    from flask.testing import FlaskClient

    assert isinstance(client, FlaskClient)
    kids = [register(story) for _ in range(3)]
    reach(story, approved(story), kids)
    session.commit()
    response = client.get(f"/api/v1/campaigns/{story.campaign.public_id}/impact")
    assert response.status_code == 200
    data = response.get_json()
    assert data["children_helped"] == {"shown": "fewer_than", "text": "fewer than 10", "below": 10}
    assert data["suppressed"] is True
    assert client.get("/api/v1/campaigns/cnope/impact").status_code == 404


def test_the_campaign_page_partial_shows_suppressed_figures_and_says_so(
    story: Story, session: Session, app: Flask
) -> None:
    from flask import render_template_string

    kids = [register(story, age_band="6-11", province="CN-SC") for _ in range(14)]
    kids.append(register(story, age_band="0-2", province="CN-YN"))
    reach(story, approved(story, category="food"), kids)
    from giving.impact.views import figures_for

    # The view reads the figures (one service) and the partial only formats them.
    with app.test_request_context():
        html = render_template_string(
            '{% include "impact/_figures.html" %}',
            campaign=story.campaign,
            impact=figures_for(story.campaign),
        )
    assert "Children helped" in html
    assert "10 to 19" in html
    assert "fewer than 10" in html
    assert "To protect children" in html
    assert "Cost per child:" not in html
    assert all(kid.code not in html for kid in kids)


def test_the_demo_children_show_suppression_at_work(story: Story, session: Session) -> None:
    from giving.impact.demo import seed_demo_children
    from tests.impact.support import make_cipher

    payments = [approved(story, category="education"), approved(story, category="food")]
    line = seed_demo_children(
        session,
        campaign=story.campaign,
        organiser=story.organiser,
        disbursements=payments,
        cipher=make_cipher(),
    )
    assert "23 registered" in line
    again = seed_demo_children(
        session,
        campaign=story.campaign,
        organiser=story.organiser,
        disbursements=payments,
        cipher=make_cipher(),
    )
    assert "already registered" in again
    figures = campaign_figures(session, story.campaign, threshold=10)
    assert figures.suppressed
    assert (figures.children.low, figures.children.high) == (20, 29)
    ages = cells(figures, AGE_BAND)
    assert ages is not None
    assert ages["3-5"].shown is Shown.FEWER
