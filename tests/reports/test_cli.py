"""``giving report build`` and ``giving export csv|iati`` from the command line, bad input
included: each mistake exits 2 with a message that says what was wrong, and writes nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskCliRunner
from lxml import etree

from giving.campaigns.models import Campaign
from giving.ledger.models import LedgerEntry
from tests.reports.support import ReportStory, pdf_text
from tests.reports.test_iati import SCHEMA as IATI_SCHEMA


@pytest.mark.slow
def test_report_build_writes_the_pdf_in_the_language_asked(
    rstory: ReportStory, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    output = tmp_path / "report.pdf"
    result = runner.invoke(
        args=["report", "build", rstory.campaign.public_id, "--lang", "zh", "-o", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert f"Wrote the zh report of {rstory.campaign.public_id}" in result.output
    assert output.read_bytes().startswith(b"%PDF-1.7")
    assert "School books for Liangshan" in pdf_text(output)
    # The slug works as well as the public id.
    again = runner.invoke(args=["report", "build", rstory.campaign.slug, "-o", str(output)])
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "build", "no-such-campaign"], "There is no campaign 'no-such-campaign'"),
        (["report", "build", "{campaign}", "--lang", "fr"], "not 'fr'"),
        (["report", "build", "{empty}"], "has no ledger entries yet"),
        (["export", "csv", "no-such-campaign"], "There is no campaign"),
        (["export", "iati", "nope"], "There is no campaign 'nope'"),
    ],
)
def test_bad_input_gets_a_clear_message_and_exit_status_2(
    rstory: ReportStory,
    runner: FlaskCliRunner,
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    output = tmp_path / "out.file"
    filled = [
        arg.format(campaign=rstory.campaign.public_id, empty=rstory.story.other_campaign.slug)
        for arg in args
    ]
    result = runner.invoke(args=[*filled, "-o", str(output)])
    assert result.exit_code == 2
    assert message in result.output
    assert not output.exists()


def test_an_unwritable_destination_is_refused_before_any_work(
    rstory: ReportStory, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(
        args=["export", "csv", rstory.campaign.public_id, "-o", str(tmp_path / "missing" / "x")]
    )
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_export_csv_and_iati(rstory: ReportStory, runner: FlaskCliRunner, tmp_path: Path) -> None:
    csv_path = tmp_path / "ledger.csv"
    result = runner.invoke(args=["export", "csv", rstory.campaign.slug, "-o", str(csv_path)])
    assert result.exit_code == 0, result.output
    assert "Exported 12 entries" in result.output
    rows = list(csv.DictReader(io.StringIO(csv_path.read_bytes().decode("utf-8-sig"))))
    fund = f"campaign:{rstory.campaign.public_id}:fund"
    held = -sum(int(row["amount_minor"]) for row in rows if row["account"] == fund)
    assert held == 193_50
    xml_path = tmp_path / "activity.xml"
    result = runner.invoke(args=["export", "iati", rstory.campaign.public_id, "-o", str(xml_path)])
    assert result.exit_code == 0, result.output
    assert xml_path.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    # The ledger's own JSON-lines export is in the same group.
    assert runner.invoke(args=["export", "--help"]).output.count("jsonl") >= 1


def test_export_csv_all_writes_every_entry_of_the_ledger_with_its_campaign(
    rstory: ReportStory, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    """The README documents ``all`` for every export kind, not only jsonl."""
    output = tmp_path / "ledger.csv"
    result = runner.invoke(args=["export", "csv", "all", "-o", str(output)])
    assert result.exit_code == 0, result.output
    stored = rstory.session.execute(sa.select(LedgerEntry.seq, LedgerEntry.campaign)).all()
    assert f"Exported {len(stored)} entries of the whole ledger as CSV" in result.output
    rows = list(csv.DictReader(io.StringIO(output.read_bytes().decode("utf-8-sig"))))
    assert list(rows[0])[:2] == ["seq", "campaign"]
    assert {(int(row["seq"]), row["campaign"] or None) for row in rows} == {
        (int(seq), campaign) for seq, campaign in stored
    }
    # Every entry balances in the whole export as in each campaign's.
    for seq in {row["seq"] for row in rows}:
        assert sum(int(row["amount_minor"]) for row in rows if row["seq"] == seq) == 0


def test_export_iati_all_writes_one_activity_per_public_campaign(
    rstory: ReportStory, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    output = tmp_path / "activities.xml"
    result = runner.invoke(args=["export", "iati", "all", "-o", str(output)])
    assert result.exit_code == 0, result.output
    document = etree.fromstring(output.read_bytes())
    schema = etree.XMLSchema(etree.parse(str(IATI_SCHEMA)))
    assert schema.validate(document), schema.error_log
    identifiers = [node.text for node in document.iter("iati-identifier")]
    public = [
        campaign.public_id
        for campaign in rstory.session.scalars(sa.select(Campaign).order_by(Campaign.id))
        if campaign.is_public
    ]
    assert len(public) >= 2
    assert [identifier.rsplit("-", 1)[-1] for identifier in identifiers] == public  # type: ignore[union-attr]
    assert f"Exported {len(public)} campaigns as IATI 2.03 XML" in result.output
    # A single campaign's file is the same activity.
    one = tmp_path / "one.xml"
    assert runner.invoke(args=["export", "iati", public[0], "-o", str(one)]).exit_code == 0
    assert (
        etree.fromstring(one.read_bytes()).findtext("iati-activity/iati-identifier")
        == (identifiers[0])
    )
