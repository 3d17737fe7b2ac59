"""The IATI 2.03 Standard ruleset, applied the way IATI's own validator applies it.

``iati_rulesets/standard.json`` is ``rulesets/standard.json`` of github.com/IATI/IATI-Rulesets,
branch ``version-2.03`` at commit a88f835ba9a85eefb1384484eb20df10a007a31a (MIT licence, copied
beside it): a JSON list of rules per context XPath, each with an id (e.g. 8.10.1 "The actual
must have a value when the indicator measure is non-qualitative"), a severity and a message.
This module interprets every rule type that file uses, following the repository's reference
implementation (``iatirulesets/__init__.py``) and its SPEC.rst. Deliberate differences, all
stricter or louder: ``date_order`` compares every matching date rather than only the first;
cases with an ``idCondition`` (IATI's validator runs them only for identifiers that are not
registered) are run regardless, except the one that needs the published list of
organisation-identifier prefixes (``ORG-ID-PREFIX``, not bundled), which is counted as skipped
rather than silently passed.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

RULESET = Path(__file__).parent / "iati_rulesets" / "standard.json"


@dataclass(frozen=True)
class Failure:
    rule_id: str
    severity: str
    message: str
    context: str

    def __str__(self) -> str:
        return f"{self.severity} {self.rule_id} at {self.context}: {self.message}"


def _texts(element: etree._Element, paths: list[str]) -> list[str]:
    found: list[str] = []
    for path in paths:
        for match in element.xpath(path):
            found.append(match.text or "" if isinstance(match, etree._Element) else str(match))
    return found


def _dates(element: etree._Element, path: str, today: dt.date) -> list[dt.date]:
    if path in ("NOW", "TODAY"):
        return [today]
    return [dt.date.fromisoformat(text[:10]) for text in _texts(element, [path]) if text]


def _one_year_after(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _holds(rule: str, case: dict[str, Any], element: etree._Element, today: dt.date) -> bool:
    paths: list[str] = case.get("paths", [])
    texts = _texts(element, paths)
    if rule == "atleast_one":
        return len(texts) >= 1
    if rule == "no_more_than_one":
        return len(texts) <= 1
    if rule == "unique":
        return len(texts) == len(set(texts))
    if rule == "strict_sum":
        return sum(map(Decimal, texts), Decimal(0)) == Decimal(case["sum"])
    if rule == "range":
        low, high = Decimal(case.get("min", "-Infinity")), Decimal(case.get("max", "Infinity"))
        return all(low <= Decimal(text) <= high for text in texts)
    if rule == "no_spaces":
        return all(text == text.strip() for text in texts)
    if rule == "regex_matches":
        return all(re.search(case["regex"], text) for text in texts)
    if rule == "startswith":
        prefixes = [p + case.get("separator", "") for p in _texts(element, case["prefix"])]
        return all(any(text.startswith(p) for p in prefixes) for text in texts)
    if rule == "if_then":
        return not element.xpath(case["if"]) or bool(element.xpath(case["then"]))
    if rule == "one_or_all":
        if element.xpath(case["one"]):
            return True
        if case["all"] == "lang":
            return all(n.xpath("@xml:lang") for n in element.xpath("descendant::narrative"))
        if case["all"] == "sector":
            return all(t.xpath("sector") for t in element.xpath("transaction"))
        if case["all"] == "currency":
            return all(
                v.xpath("@currency")
                for tag in ("value", "forecast", "loan-status")
                for v in element.xpath("descendant::" + tag)
            )
        raise AssertionError(f"one_or_all of {case['all']!r} is not implemented")
    if rule == "date_order":
        less, more = _dates(element, case["less"], today), _dates(element, case["more"], today)
        return all(a <= b for a in less for b in more)
    if rule == "date_now":
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        return all(
            dt.datetime.fromisoformat(text[:19]) < now for text in _texts(element, [case["date"]])
        )
    if rule == "time_limit":
        starts, ends = _dates(element, case["start"], today), _dates(element, case["end"], today)
        return all(end <= _one_year_after(start) for start in starts for end in ends)
    if rule == "between_dates":
        starts, ends = _dates(element, case["start"], today), _dates(element, case["end"], today)
        return all(
            s < day < e
            for day in _dates(element, case["date"], today)
            for s in starts
            for e in ends
        )
    raise AssertionError(f"rule type {rule!r} is not implemented")


def _substitute(value: Any, replacement: str) -> Any:
    if isinstance(value, str):
        return value.replace("$1", replacement)
    if isinstance(value, list):
        return [_substitute(item, replacement) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, replacement) for key, item in value.items()}
    return value


def _cases(rule: str, case: dict[str, Any], element: etree._Element) -> list[tuple[str, Any]]:
    """The (rule, case) pairs a case stands for: a ``loop`` unrolled over its values."""
    if rule != "loop":
        return [(rule, case)]
    unrolled = []
    for value in sorted(set(_texts(element, [case["foreach"]]))):
        for inner, body in case["do"].items():
            for sub in body["cases"]:
                unrolled.append((inner, _substitute(sub, value)))
    return unrolled


def check(document: etree._Element, *, today: dt.date | None = None) -> tuple[list[Failure], int]:
    """The rules ``document`` (an ``iati-activities`` root) breaks, and how many cases were
    skipped for needing the organisation-identifier lists."""
    today = today or dt.datetime.now(dt.UTC).date()
    ruleset: dict[str, dict[str, Any]] = json.loads(RULESET.read_text(encoding="utf-8"))
    tree = etree.ElementTree(document)
    failures: list[Failure] = []
    skipped = 0
    for context, rules in ruleset.items():
        for element in tree.xpath(context):
            for rule, body in rules.items():
                for top in body["cases"]:
                    for kind, case in _cases(rule, top, element):
                        if "ORG-ID-PREFIX" in case.get("prefix", ()):
                            skipped += 1
                            continue
                        if "condition" in case and not element.xpath(case["condition"]):
                            continue
                        if not _holds(kind, case, element, today):
                            info = case["ruleInfo"]
                            failures.append(
                                Failure(
                                    info["id"],
                                    info["severity"],
                                    info["message"],
                                    tree.getpath(element),
                                )
                            )
    return failures, skipped
