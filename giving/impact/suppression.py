"""The suppression rule as a pure function of counts, and the audit that proves it held.

``giving.impact.figures`` gathers the counts from the database and explains the rule in its
docstring; this module applies it. :func:`publish` turns true counts into published
:class:`Count` values, then :func:`recoverable` plays the attacker: from everything that is
published, it works out every value each hidden count could still have, and :func:`publish`
keeps hiding more until no hidden count is pinned to a single value.

The attacker's knowledge, per published count:

* exact ``n`` → n; ``fewer than k`` → 1 … k-1 (zeros are shown as 0, so a hidden count is
  not zero); a range ``a to b`` → a … b; ``not shown`` → k or more (it would otherwise have
  been "fewer than k");
* a breakdown that partitions the children (age band, region) sums to the total; a
  breakdown that does not (spending category: one child may be reached by food and by
  education) has each count at most the total and together at least the total;
* the breakdowns are marginals of one table, so any combination of values that satisfies
  each breakdown for the same total is possible.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_THRESHOLD = 5


class Shown(enum.StrEnum):
    EXACT = "exact"
    FEWER = "fewer_than"
    RANGE = "range"
    WITHHELD = "withheld"


@dataclass(frozen=True, slots=True)
class Count:
    """A count as published: exact, "fewer than k", a range, or not shown at all."""

    shown: Shown
    threshold: int
    value: int | None = None
    low: int | None = None
    high: int | None = None

    @property
    def suppressed(self) -> bool:
        return self.shown is not Shown.EXACT

    @property
    def is_hidden(self) -> bool:
        """Whether the count is one the rule protects (not merely rounded)."""
        return self.shown in (Shown.FEWER, Shown.WITHHELD)

    def bounds(self) -> tuple[int, float]:
        """What someone reading the output knows about the true value."""
        if self.shown is Shown.EXACT:
            assert self.value is not None
            return self.value, self.value
        if self.shown is Shown.FEWER:
            return 1, self.threshold - 1
        if self.shown is Shown.RANGE:
            assert self.low is not None
            assert self.high is not None
            return self.low, self.high
        return self.threshold, math.inf


def exact(value: int, threshold: int) -> Count:
    return Count(Shown.EXACT, threshold, value=value)


def fewer(threshold: int) -> Count:
    return Count(Shown.FEWER, threshold, high=threshold - 1)


def banded(value: int, threshold: int) -> Count:
    """``value`` (at least the threshold) as the range of width ``threshold`` holding it."""
    low = (value // threshold) * threshold
    return Count(Shown.RANGE, threshold, low=low, high=low + threshold - 1)


def withheld(threshold: int) -> Count:
    return Count(Shown.WITHHELD, threshold)


@dataclass(frozen=True, slots=True)
class Dimension:
    """A breakdown's true counts, in display order, and how it relates to the total."""

    key: str
    cells: tuple[tuple[str, int], ...]
    additive: bool  # the cells partition the children, so they sum to the total
    # Fixed lists (age bands) show every cell, zeros included; others list only cells that
    # have children (there are too many regions to list empty ones).
    fixed: bool = False

    def listed(self) -> tuple[tuple[str, int], ...]:
        return tuple((k, n) for k, n in self.cells if self.fixed or n > 0)


@dataclass(slots=True)
class Published:
    total: Count
    dimensions: dict[str, list[tuple[str, Count]] | None]  # None: the breakdown is withheld
    suppressed: bool


def check_threshold(threshold: int) -> int:
    if threshold < MIN_THRESHOLD:
        raise ValueError(f"the suppression threshold is never below {MIN_THRESHOLD}")
    return threshold


def publish(total: int, dimensions: Sequence[Dimension], threshold: int) -> Published:
    """Apply the rule (see giving.impact.figures) to true counts."""
    k = check_threshold(threshold)
    listed = {dim.key: dim.listed() for dim in dimensions}
    small = total < k or any(0 < n < k for cells in listed.values() for _, n in cells)
    if not small:
        return Published(
            total=exact(total, k),
            dimensions={key: [(c, exact(n, k)) for c, n in cells] for key, cells in listed.items()},
            suppressed=False,
        )

    def coarse(n: int) -> Count:
        if n == 0:
            return exact(0, k)
        return fewer(k) if n < k else banded(n, k)

    shown: dict[str, list[tuple[str, Count]] | None] = {
        key: [(c, coarse(n)) for c, n in cells] for key, cells in listed.items()
    }
    true = {key: dict(cells) for key, cells in listed.items()}
    total_count = coarse(total)
    # Complementary suppression: a lone "fewer than k" in a breakdown would be the total
    # minus the others, so the next smallest count is withheld with it.
    for key, cells in shown.items():
        assert cells is not None
        if sum(1 for _, count in cells if count.shown is Shown.FEWER) == 1:
            _withhold_next_smallest(shown, true, key, or_breakdown=False)
    additive = {dim.key: dim.additive for dim in dimensions}
    while True:
        weak = recoverable(total_count, shown, additive)
        if not weak:
            break
        for key in weak:
            if key == "":
                # The total itself could be worked out: drop every breakdown.
                shown = dict.fromkeys(shown)
                break
            _withhold_next_smallest(shown, true, key, or_breakdown=True)
    return Published(total=total_count, dimensions=shown, suppressed=True)


def _withhold_next_smallest(
    shown: dict[str, list[tuple[str, Count]] | None],
    true: dict[str, dict[str, int]],
    key: str,
    *,
    or_breakdown: bool,
) -> None:
    """Withhold the smallest count still shown as a range; failing that, maybe the breakdown."""
    cells = shown[key]
    if cells is None:
        return
    candidates = [
        (true[key][cell], index)
        for index, (cell, count) in enumerate(cells)
        if count.shown is Shown.RANGE
    ]
    if not candidates:
        if or_breakdown:
            shown[key] = None
        return
    _, index = min(candidates)
    cells[index] = (cells[index][0], withheld(cells[index][1].threshold))


# --- the attacker --------------------------------------------------------------------------

Bounds = tuple[int, float]


def _feasible_total(t: int, cells: Sequence[Bounds], additive: bool) -> bool:
    """Whether a breakdown's published bounds allow the total to be ``t``."""
    if additive:
        return sum(lo for lo, _ in cells) <= t <= sum(hi for _, hi in cells)
    if any(lo > t for lo, _ in cells):
        return False
    return (not cells and t == 0) or sum(min(hi, t) for _, hi in cells) >= t


def _feasible_cell(t: int, v: int, others: Sequence[Bounds], additive: bool) -> bool:
    """Whether one cell can be ``v`` while its breakdown totals ``t``."""
    if additive:
        rest = t - v
        return sum(lo for lo, _ in others) <= rest <= sum(hi for _, hi in others)
    if v > t or any(lo > t for lo, _ in others):
        return False
    return v + sum(min(hi, t) for _, hi in others) >= t


def candidate_values(
    total: Count,
    shown: dict[str, list[tuple[str, Count]] | None],
    additive: dict[str, bool],
    key: str,
    index: int,
) -> list[int]:
    """Every value the ``index``-th cell of breakdown ``key`` could have, given the output."""
    t_lo, t_hi = total.bounds()
    bounds = {k: [c.bounds() for _, c in cells] for k, cells in shown.items() if cells is not None}
    mine = bounds[key]
    lo, hi = mine[index]
    others = mine[:index] + mine[index + 1 :]
    values = []
    for v in range(int(lo), int(min(hi, t_hi)) + 1):
        for t in range(int(t_lo), int(t_hi) + 1):
            if not _feasible_cell(t, v, others, additive[key]):
                continue
            if all(_feasible_total(t, b, additive[k]) for k, b in bounds.items() if k != key):
                values.append(v)
                break
    return values


def candidate_totals(
    total: Count, shown: dict[str, list[tuple[str, Count]] | None], additive: dict[str, bool]
) -> list[int]:
    t_lo, t_hi = total.bounds()
    bounds = {k: [c.bounds() for _, c in cells] for k, cells in shown.items() if cells is not None}
    return [
        t
        for t in range(int(t_lo), int(t_hi) + 1)
        if all(_feasible_total(t, b, additive[k]) for k, b in bounds.items())
    ]


def recoverable(
    total: Count, shown: dict[str, list[tuple[str, Count]] | None], additive: dict[str, bool]
) -> list[str]:
    """Breakdowns with a hidden count pinned to one value ("" for the total itself)."""
    weak: list[str] = []
    if total.is_hidden and len(candidate_totals(total, shown, additive)) < 2:
        return [""]
    for key, cells in shown.items():
        if cells is None:
            continue
        for index, (_, count) in enumerate(cells):
            if count.is_hidden and len(candidate_values(total, shown, additive, key, index)) < 2:
                weak.append(key)
                break
    return weak
