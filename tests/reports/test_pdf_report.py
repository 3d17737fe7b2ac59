"""The PDF report read the way an auditor reads it: text, fonts, metadata and attachments.

Each test builds the report of a campaign with gifts, fees, a refund, a dispute and a
disbursement, then checks the printed figures against the ledger's own summary, that
Chinese text is set in embedded fonts and extracts correctly, that the file is PDF/A-3b with
title, author and language, and that the attached ledger verifies with the standalone
verifier against the checkpoint printed in the report.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from giving import PROJECT_ROOT
from giving.ledger.balances import campaign_summary
from giving.ledger.export import write_export
from giving.reports import services
from giving.reports.data import LANGUAGES
from giving.reports.render import colour_profile_css
from tests.reports.support import (
    ReportStory,
    count_after,
    detach,
    figure_after,
    pdf_fonts,
    pdf_text,
    run,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("app_context")]

VERIFIER = PROJECT_ROOT / "tools" / "giving_verify.py"


def build(rstory: ReportStory, language: str, tmp_path: Path) -> tuple[Path, str]:
    pdf = services.build_draft(
        rstory.session, rstory.campaign, language=language, settings=rstory.settings, key=rstory.key
    )
    path = tmp_path / f"report-{language}.pdf"
    path.write_bytes(pdf)
    return path, pdf_text(path)


def printed_checkpoint(text: str, origin: str) -> str:
    """The checkpoint note as printed in the integrity section, rebuilt line by line."""
    lines = [line.strip() for line in text.splitlines()]
    start = lines.index(origin)
    size, root = lines[start + 1], lines[start + 2]
    signature = next(line for line in lines[start + 3 :] if line.startswith("\u2014 "))
    return f"{origin}\n{size}\n{root}\n\n{signature}\n"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_printed_figure_matches_the_ledger_summary(
    rstory: ReportStory, tmp_path: Path, language: str
) -> None:
    _path, text = build(rstory, language, tmp_path)
    summary = campaign_summary(rstory.session, rstory.campaign.public_id).in_currency("CNY")
    with force_locale(LANGUAGES[language]):
        labels = {
            "gross": _("Gross raised"),
            "processor": _("Processor fees"),
            "platform": _("Platform fees"),
            "refunds": _("Refunds"),
            "disputes": _("Disputes"),
            "net": _("Net raised"),
            "disbursed": _("Disbursed"),
            "held": _("Held by the campaign"),
            "goal": _("Goal"),
            "donations": _("Donations"),
            "donors": _("Donors"),
            "percent": _("Raised against goal"),
        }
    assert figure_after(text, labels["gross"]) == summary.gross_raised == 400_00
    assert figure_after(text, labels["processor"]) == summary.processor_fees == 12_50
    assert figure_after(text, labels["platform"]) == summary.platform_fees == 4_00
    assert figure_after(text, labels["refunds"]) == summary.refunds == 20_00
    assert figure_after(text, labels["disputes"]) == summary.disputes == 50_00
    assert figure_after(text, labels["net"]) == summary.net_raised == 313_50
    assert figure_after(text, labels["disbursed"]) == summary.disbursed == 120_00
    assert figure_after(text, labels["held"]) == summary.available == 193_50
    assert figure_after(text, labels["goal"]) == rstory.campaign.goal_minor
    assert count_after(text, labels["donations"]) == 3
    assert count_after(text, labels["donors"]) == 3
    assert count_after(text, labels["percent"]) == 400_00 * 100 // rstory.campaign.goal_minor
    # The disbursement, with its evidence digest and payee, and children as the public sees them.
    assert rstory.disbursement is not None
    for evidence in rstory.disbursement.evidence:
        assert evidence.sha256 in text.replace("\n", "").replace(" ", "")
    assert "凉山新华书店" in text
    with force_locale(LANGUAGES[language]):
        assert _("fewer than %(k)s", k=10) in text
    # Reconciliation: every line agrees, so every difference printed is zero.
    assert "0.00" in text


def test_the_chinese_report_sets_chinese_in_embedded_cjk_fonts(
    rstory: ReportStory, tmp_path: Path
) -> None:
    rstory.campaign.title = "凉山孩子的课本"
    path, text = build(rstory, "zh", tmp_path)
    fonts = pdf_fonts(path)
    assert fonts, "the report has no fonts at all"
    assert all(font["emb"] == "yes" and font["sub"] == "yes" for font in fonts)
    assert all(font["uni"] == "yes" for font in fonts)  # text extracts through ToUnicode
    assert any("CJK" in font["name"] for font in fonts)
    assert "凉山孩子的课本" in text
    info = run("pdfinfo", path)
    assert "凉山孩子的课本" in info


def test_the_file_is_pdf_a_3b_with_title_author_and_language(
    rstory: ReportStory, tmp_path: Path
) -> None:
    path, _text = build(rstory, "en", tmp_path)
    info = run("pdfinfo", path)
    assert re.search(r"^Title:\s+Accountability report: School books", info, re.M)
    assert re.search(r"^Author:\s+Giving$", info, re.M)
    xmp = run("pdfinfo", "-meta", path)
    assert re.search(r"pdfaid:part(>|=\")3", xmp)
    assert re.search(r"pdfaid:conformance(>|=\")B", xmp)
    assert "Accountability report: School books" in xmp  # dc:title
    raw = path.read_bytes()
    assert raw.startswith(b"%PDF-1.7")
    listing = run("pdfdetach", "-list", path)
    for name in ("campaign-ledger.jsonl", "campaign-entries.csv", "checkpoint.txt"):
        assert name in listing
    zh_path, _ = build(rstory, "zh", tmp_path)
    assert b"zh-Hans" in _inflated(zh_path.read_bytes())
    assert b"/Lang (en)" in _inflated(raw)
    assert b"GTS_PDFA1" in _inflated(raw)  # the output intent PDF/A needs
    assert "sRGB" not in colour_profile_css()[:30]


def _inflated(pdf: bytes) -> bytes:
    """Every deflated stream of the file, inflated (to look inside object streams)."""
    import zlib

    out = bytearray()
    for match in re.finditer(rb"stream\r?\n", pdf):
        try:
            out += zlib.decompressobj().decompress(pdf[match.end() : match.end() + 4_000_000])
        except zlib.error:
            continue
    return bytes(out)


def test_the_attached_ledger_verifies_against_the_printed_checkpoint(
    rstory: ReportStory, tmp_path: Path
) -> None:
    path, text = build(rstory, "en", tmp_path)
    files = detach(path, tmp_path / "attached")
    origin = files["checkpoint.txt"].read_text().splitlines()[0]
    printed = printed_checkpoint(text, origin)
    assert printed == files["checkpoint.txt"].read_text()
    (tmp_path / "printed-checkpoint.txt").write_text(printed)
    result = subprocess.run(
        [
            sys.executable,
            str(VERIFIER),
            "export",
            str(files["campaign-ledger.jsonl"]),
            "--campaign-export",
            "--checkpoint",
            str(tmp_path / "printed-checkpoint.txt"),
            "--key",
            str(files["verifier-key.txt"]),
            "--campaign",
            rstory.campaign.public_id,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Byte for byte the ledger's own per-campaign export at the same tree size.
    size = int(printed.splitlines()[1])
    campaign = rstory.campaign.public_id
    write_export(rstory.session, tmp_path / "ledger.jsonl", campaign=campaign, tree_size=size)
    assert files["campaign-ledger.jsonl"].read_bytes() == (tmp_path / "ledger.jsonl").read_bytes()
    csv_text = files["campaign-entries.csv"].read_bytes().decode("utf-8-sig")
    assert csv_text.count("\r\n") == 1 + sum(len(entry.postings) for entry in _entries(rstory))


def _entries(rstory: ReportStory) -> list:  # type: ignore[type-arg]
    import sqlalchemy as sa

    from giving.ledger.models import LedgerEntry

    return list(
        rstory.session.scalars(
            sa.select(LedgerEntry).where(LedgerEntry.campaign == rstory.campaign.public_id)
        )
    )


def test_building_twice_against_the_same_checkpoint_gives_the_same_bytes(
    rstory: ReportStory, tmp_path: Path
) -> None:
    first = build(rstory, "zh", tmp_path)[0].read_bytes()
    second = build(rstory, "zh", tmp_path)[0].read_bytes()
    assert first == second
