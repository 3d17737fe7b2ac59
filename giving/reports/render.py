"""Turning ReportData into a PDF/A-3b file with WeasyPrint, the same bytes every time.

Determinism: the creation and modification dates are the report's date (HTML ``dcterms``
meta tags), the PDF file identifier is derived from the report's inputs, the attachments
carry the report's date too, fonts are subset by HarfBuzz (deterministic), and nothing reads
the clock. So regenerating a published version from the ledger reproduces its SHA-256.

Safety: the HTML is ours, but it contains text that organisers typed (titles, payees,
memos). WeasyPrint gets a URL fetcher that serves only ``data:`` URLs and files inside the
report templates folder, so no text can make the renderer reach the network or read other
files.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import unicodedata
from collections.abc import Callable, Sequence
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pydyf  # type: ignore[import-untyped]
from babel.dates import format_skeleton
from babel.numbers import format_decimal
from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from giving.config import PROJECT_ROOT
from giving.i18n import format_day, format_money
from giving.money import Money, currency_digits
from giving.reports import charts
from giving.reports.attachments import CompressedAttachment
from giving.reports.data import HTML_LANG, LANGUAGES, ReportData
from giving.reports.labels import category_label, item_label, kind_label

TEMPLATE_DIR = PROJECT_ROOT / "templates" / "reports"
PRINT_CSS = TEMPLATE_DIR / "print.css"
PDF_VARIANT = "pdf/a-3b"
AUTHOR = "Giving"


class ReportFetcher(URLFetcher):  # type: ignore[misc]
    """Serves ``data:`` URLs and the report templates folder; refuses everything else."""

    def __init__(self, allowed_root: Path = TEMPLATE_DIR) -> None:
        super().__init__(allowed_protocols={"data", "file"}, allow_redirects=False)
        self._root = allowed_root.resolve()

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url.startswith("file:"):
            from urllib.request import url2pathname

            path = Path(url2pathname(url.removeprefix("file://").split("?")[0])).resolve()
            if not path.is_relative_to(self._root):
                raise ValueError(f"the report renderer does not read {url}")
        elif not url.startswith("data:"):
            raise ValueError(f"the report renderer does not fetch {url}")
        response: URLFetcherResponse = super().fetch(url, headers)
        return response


OUTPUT_INTENT = "--giving-srgb"


@functools.cache
def colour_profile_css() -> str:
    """PDF/A's output intent: WeasyPrint's own sRGB profile, declared in CSS.

    WeasyPrint's built-in ``output_intent="srgb"`` leaves the profile's file open; giving it
    as an ``@color-profile`` rule loads it through the URL fetcher, which closes it.
    """
    icc = (resources.files("weasyprint") / "pdf" / "sRGB2014.icc").read_bytes()
    data = base64.b64encode(icc).decode("ascii")
    return (
        f"@color-profile {OUTPUT_INTENT} {{ src: url(data:application/vnd.iccprofile;base64,"
        f"{data}); components: r, g, b; }}"
    )


def pdf_date(moment: dt.datetime) -> str:
    """W3C date-time for the HTML metadata WeasyPrint copies into the PDF."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pdf_identifier(data: ReportData) -> bytes:
    """32 hex digits derived from what the report is (campaign, version, language, ledger)."""
    basis = json.dumps(
        {
            "campaign": data.context.campaign_public_id,
            "version": data.version,
            "language": data.language,
            "checkpoint": data.integrity.checkpoint_note,
            "attachments": [a.sha256 for a in data.integrity.attachments],
            "date": pdf_date(data.report_date),
        },
        sort_keys=True,
    )
    return hashlib.sha256(basis.encode()).hexdigest()[:32].encode("ascii")


def embed_attachments(
    attachments: Sequence[CompressedAttachment], when: dt.datetime
) -> Callable[[Any, pydyf.PDF], None]:
    """A WeasyPrint finisher adding pre-compressed files as PDF/A-3 associated files."""
    stamp = when.astimezone(dt.UTC).strftime("D:%Y%m%d%H%M%SZ")

    def finisher(_document: Any, pdf: pydyf.PDF) -> None:
        names = pydyf.Array()
        associated = pdf.catalog.get("AF") or pydyf.Array()
        for attachment in sorted(attachments, key=lambda a: a.info.name):
            info = attachment.info
            stream = pydyf.Stream(
                [attachment.deflated],
                pydyf.Dictionary(
                    {
                        "Type": "/EmbeddedFile",
                        "Subtype": "/" + info.mime_type.replace("/", "#2f"),
                        "Filter": "/FlateDecode",
                        "Params": pydyf.Dictionary(
                            {
                                "CheckSum": f"<{attachment.md5_hex}>",
                                "Size": info.size,
                                "CreationDate": pydyf.String(stamp),
                                "ModDate": pydyf.String(stamp),
                            }
                        ),
                    }
                ),
                compress=False,  # already deflated in giving.reports.attachments
            )
            pdf.add_object(stream)
            spec = pydyf.Dictionary(
                {
                    "Type": "/Filespec",
                    "F": pydyf.String(info.name),
                    "UF": pydyf.String(info.name),
                    "EF": pydyf.Dictionary({"F": stream.reference, "UF": stream.reference}),
                    "Desc": pydyf.String(info.description),
                    "AFRelationship": "/Data",
                }
            )
            pdf.add_object(spec)
            names.extend([pydyf.String(info.name), spec.reference])
            associated.append(spec.reference)
        tree = pydyf.Dictionary({"Names": names})
        pdf.add_object(tree)
        if "Names" not in pdf.catalog:
            pdf.catalog["Names"] = pydyf.Dictionary()
        pdf.catalog["Names"]["EmbeddedFiles"] = tree.reference
        pdf.catalog["AF"] = associated
        deflate_streams_once(pdf)

    return finisher


class _KeptData:
    """Mixin for a pydyf stream: ``data`` is computed on first use, then kept."""

    @property
    def data(self) -> bytes:
        kept: bytes | None = self.__dict__.get("_giving_kept_data")
        if kept is None:
            kept = self.__dict__["_giving_kept_data"] = super().data  # type: ignore[misc]
        return kept


_KEEPING: dict[type, type] = {}


def _keeping(cls: type) -> type:
    """``cls`` with its ``data`` computed on first use and then kept."""
    if cls not in _KEEPING:
        _KEEPING[cls] = type(f"Kept{cls.__name__}", (_KeptData, cls), {})
    return _KEEPING[cls]


def deflate_streams_once(pdf: pydyf.PDF) -> None:
    """Serialise each compressed stream once; call when no object changes any more.

    With a file identifier, pydyf serialises every object twice (once to hash the file for
    the identifier, once to write it), and each time recompresses each page's content at
    zlib level 9: a tenth of a large report's render. The bytes are the same both times, so
    the first ones are kept (the streams, WeasyPrint's own subclass among them, get a
    subclass that keeps them).
    """
    for obj in pdf.objects:
        if isinstance(obj, pydyf.Stream) and obj.compress and not isinstance(obj, _KeptData):
            obj.__class__ = _keeping(type(obj))


# --------------------------------------------------------------------------- formatting


def _locale_name() -> str:
    locale = get_locale()
    return str(locale) if locale is not None else "en"


def money(value: Money) -> str:
    return format_money(value.amount_minor, value.currency)


def axis_amount(amount_minor: int, currency: str) -> str:
    major = Decimal(amount_minor).scaleb(-currency_digits(currency))
    return str(format_decimal(major, format="#,##0.##", locale=_locale_name()))


def period_label(start: dt.date, unit: str) -> str:
    skeleton = "MMMd" if unit == "day" else "yMMM"
    return str(format_skeleton(skeleton, start, locale=_locale_name()))


def chart_svgs(data: ReportData) -> tuple[Markup, Markup]:
    """The two charts, with words in the report's language."""
    currency = data.series.currency
    points = data.series.points
    over_time = charts.money_over_time(
        data.series,
        charts.ChartWords(
            title=_("Money in and out over time"),
            description=_(
                "Bars show money into and out of the campaign fund in each period; the line "
                "shows what the fund held at the end of each period. The same figures are in "
                "the summary and the ledger appendix."
            ),
            money_in=_("Money in"),
            money_out=_("Money out"),
            held=_("Held by the campaign"),
        ),
        amount_label=lambda value: axis_amount(value, currency),
        period_label=lambda index: period_label(points[index].start, data.series.unit),
    )
    budget = {row.category: row.budget for row in data.budget}
    categories = charts.spending_by_category(
        [
            (
                category_label(code),
                amount.amount_minor,
                budget[code].amount_minor if budget.get(code) is not None else None,  # type: ignore[union-attr]
            )
            for code, amount in data.spending_by_category
        ],
        charts.ChartWords(
            title=_("Spending by category"),
            description=_("Money disbursed per category; dashed marks show the budget."),
            money_out=_("Disbursed"),
            budget=_("Budget"),
        ),
        amount_label=lambda value: format_money(value, currency),
    )
    return Markup(over_time), Markup(categories)  # noqa: S704 - SVG we generated and escaped


# --------------------------------------------------------------------------- long lists

TABLE_ROWS_MAX = 150
"""Longer lists are printed as fixed-width lines: WeasyPrint lays out a 2,000-row table in
about ten seconds of CPU, the same rows as preformatted lines in about one."""

LINES_PER_BLOCK = 50
"""Lines per <pre> block. WeasyPrint re-reads the rest of a text block for every line it
breaks, so one block of 2,000 lines costs quadratic time; blocks of 50 keep it linear."""


def blocks(header: str, lines: list[str]) -> list[str]:
    """The header and lines as <pre> blocks of LINES_PER_BLOCK lines."""
    rows = [header, *lines]
    return ["\n".join(rows[i : i + LINES_PER_BLOCK]) for i in range(0, len(rows), LINES_PER_BLOCK)]


def display_width(text: str) -> int:
    """Columns ``text`` takes in a CJK monospace font (wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fit(text: str, width: int, *, right: bool = False) -> str:
    """``text`` cut to ``width`` columns (ending in "…" when cut) and padded to it."""
    text = " ".join(text.split())
    if display_width(text) > width:
        kept, used = [], 0
        for ch in text:
            step = display_width(ch)
            if used + step > width - 1:
                break
            kept.append(ch)
            used += step
        text = "".join(kept) + "…"
    padding = " " * (width - display_width(text))
    return padding + text if right else text + padding


def ledger_blocks(data: ReportData) -> list[str]:
    return blocks(*ledger_lines(data))


def disbursement_blocks(data: ReportData) -> list[str]:
    return blocks(*disbursement_lines(data))


def ledger_lines(data: ReportData) -> tuple[str, list[str]]:
    header = " ".join(
        [
            fit(_("Entry"), 8, right=True),
            fit(_("Date"), 10),
            fit(_("Kind"), 18),
            fit(_("Amount"), 16, right=True),
            _("Memo"),
        ]
    )
    lines = [
        " ".join(
            [
                fit(str(row.seq), 8, right=True),
                row.occurred_at.strftime("%Y-%m-%d"),
                fit(kind_label(row.kind), 18),
                fit(money(row.amount), 16, right=True),
                fit(row.memo, 60).rstrip(),
            ]
        )
        for row in data.ledger_rows
    ]
    return header, lines


def disbursement_lines(data: ReportData) -> tuple[str, list[str]]:
    """One line per disbursement with its first evidence digest; more digests beneath."""
    widths = (8, 10, 12, 16, 26)
    header = " ".join(
        [
            fit(_("Entry"), widths[0], right=True),
            fit(_("Date"), widths[1]),
            fit(_("Category"), widths[2]),
            fit(_("Amount"), widths[3], right=True),
            fit(_("Payee"), widths[4]),
            _("Evidence (SHA-256)"),
        ]
    )
    indent = " " * (sum(widths) + len(widths))
    lines = []
    for row in data.disbursements:
        payee = row.payee + (" " + _("(reversed)") if row.reversed else "")
        day = row.spent_on or row.occurred_at.date()
        digests = list(row.evidence) or [_("none")]
        lines.append(
            " ".join(
                [
                    fit(str(row.seq), widths[0], right=True),
                    day.isoformat(),
                    fit(category_label(row.category), widths[2]),
                    fit(money(row.amount), widths[3], right=True),
                    fit(payee, widths[4]),
                    digests[0],
                ]
            )
        )
        lines.extend(indent + digest for digest in digests[1:])
    return header, lines


# --------------------------------------------------------------------------- rendering


def render_html(data: ReportData) -> str:
    """The report's HTML in its language (call inside an app context)."""
    with force_locale(LANGUAGES[data.language]):
        over_time, by_category = chart_svgs(data)
        template = current_app.jinja_env.get_template("reports/report.html")
        return template.render(
            data=data,
            html_lang=HTML_LANG[data.language],
            created=pdf_date(data.report_date),
            author=AUTHOR,
            money=money,
            money_minor=format_money,
            day=format_day,
            category_label=category_label,
            kind_label=kind_label,
            item_label=item_label,
            table_rows_max=TABLE_ROWS_MAX,
            ledger_blocks=ledger_blocks,
            disbursement_blocks=disbursement_blocks,
            chart_over_time=over_time,
            chart_by_category=by_category,
            qr_svg=Markup(data.integrity.qr_svg),  # noqa: S704 - segno's SVG of our own URL
        )


def render_pdf(data: ReportData, attachments: Sequence[CompressedAttachment]) -> bytes:
    """The report as PDF/A-3b bytes, with the attachments embedded."""
    html = render_html(data)
    fetcher = ReportFetcher()
    profiles: dict[str, Any] = {}  # filled by the @color-profile rule, read by write_pdf
    document = HTML(string=html, base_url=str(TEMPLATE_DIR) + "/", url_fetcher=fetcher)
    pdf = document.write_pdf(
        stylesheets=[
            CSS(filename=str(PRINT_CSS), url_fetcher=fetcher),
            CSS(string=colour_profile_css(), url_fetcher=fetcher, color_profiles=profiles),
        ],
        color_profiles=profiles,
        pdf_variant=PDF_VARIANT,
        output_intent=OUTPUT_INTENT,
        pdf_identifier=pdf_identifier(data),
        custom_metadata=False,
        finisher=embed_attachments(attachments, data.report_date),
    )
    assert isinstance(pdf, bytes)
    return pdf
