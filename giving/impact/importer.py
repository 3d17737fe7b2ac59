"""Importing children from a CSV file: every row checked first, then all or nothing.

The file is UTF-8 (a byte-order mark, as Excel writes, is fine) with a header row naming the
columns ``code, age_band, sex, province, city, needs, consent, consent_date, notes`` (and
optionally ``needs_detail``); ``age_band``, ``province`` and ``consent`` are required, the
others may be left out or empty. ``needs`` lists categories separated by ``;``.

Organisers write in English or Chinese, so a column may be named by its key or by its label
in either language ("年龄", "Age"), and every enumerated value by its stored value or its
label in either language ("教育", "Education", "education"; "女"; "云南"; "是"). The
template comes in the organiser's language.

Errors are collected for every cell of every row and reported together as (row, column,
message), where row numbers count the header as row 1, as a spreadsheet shows them. If any
row is bad nothing is imported: the rows are added in one unit of work, which the caller
commits only when the whole file was good.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.campaigns.models import Campaign
from giving.campaigns.regions import REGIONS_BY_CODE
from giving.errors import DomainError, ValidationError
from giving.i18n import in_every_language, is_chinese
from giving.impact import fields
from giving.impact.access import require_manager, require_not_frozen
from giving.impact.crypto import FieldCipher
from giving.impact.fields import ChildValues
from giving.impact.models import AgeBand, BeneficiaryChild, Need, Sex
from giving.impact.services import add_children, codes_in_use_by

MAX_IMPORT_BYTES = 1024 * 1024
MAX_IMPORT_ROWS = 2_000
MAX_REPORTED_ERRORS = 200
COLUMNS = (
    "code",
    "age_band",
    "sex",
    "province",
    "city",
    "needs",
    "consent",
    "consent_date",
    "notes",
    "needs_detail",
)
REQUIRED_COLUMNS = ("age_band", "province", "consent")
TEMPLATE_HEADER = COLUMNS[:9]
# The labels of the child form (giving/impact/forms.py), so both read the same.
COLUMN_LABELS = {
    "code": _l("Code"),
    "age_band": _l("Age"),
    "sex": _l("Sex"),
    "province": _l("Province"),
    "city": _l("City"),
    "needs": _l("Needs"),
    "consent": _l("Guardian consent"),
    "consent_date": _l("Date of consent"),
    "notes": _l("Notes"),
    "needs_detail": _l("About the needs"),
}


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem: the spreadsheet row (header = 1), the column and what is wrong."""

    row: int
    column: str
    message: str


class ImportRejected(DomainError):
    """The file had problems; nothing was imported. ``errors`` lists every one found.

    ``headings`` maps each column's key to the heading the file gave it ("年龄" for
    ``age_band``), so the problems can be shown under the names the organiser wrote.
    """

    def __init__(
        self, message: str, errors: list[RowError], headings: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, field="file")
        self.errors = errors
        self.headings = headings or {}


def template_csv(language: str = "en") -> str:
    """A file organisers can fill in: the header and one example row, in ``language``.

    The English template names columns and values by their keys; the Chinese one by their
    Chinese labels, which the import accepts just the same.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if language.startswith("zh"):
        with force_locale(language):
            writer.writerow([str(COLUMN_LABELS[column]) for column in TEMPLATE_HEADER])
            needs = ";".join((Need.EDUCATION.label, Need.FOOD.label))
            writer.writerow(
                [
                    "",
                    AgeBand.PRIMARY.value,
                    Sex.FEMALE.label,
                    REGIONS_BY_CODE["CN-YN"].name_zh,
                    "昆明",
                    needs,
                    "是",
                    "2026-03-01",
                    "",
                ]
            )
        return buffer.getvalue()
    writer.writerow(TEMPLATE_HEADER)
    writer.writerow(
        ["", "6-11", "female", "CN-YN", "Kunming", "education;food", "yes", "2026-03-01", ""]
    )
    return buffer.getvalue()


def _column_names() -> dict[str, str]:
    """Every way a column may be named in a header (key or label, either language)."""
    names = {_column_key(column): column for column in COLUMNS}
    for column, label in COLUMN_LABELS.items():
        for text in in_every_language(partial(str, label)):
            names.setdefault(_column_key(text), column)
    return names


def _column_list() -> str:
    """The columns as the visitor's template names them (keys in English, labels in Chinese)."""
    if is_chinese():
        return "、".join(str(COLUMN_LABELS[column]) for column in COLUMNS)
    return ", ".join(COLUMNS)


def _column_key(name: str) -> str:
    folded = unicodedata.normalize("NFKC", name).strip().casefold().rstrip("?？")
    return re.sub(r"[\s\-]+", "_", folded)


def _file_error(message: str, *, row: int = 0, column: str = "") -> ImportRejected:
    return ImportRejected(message, [RowError(row=row, column=column, message=message)])


def _decode(data: bytes) -> str:
    if not data.strip():
        raise _file_error(_("The file is empty."))
    if len(data) > MAX_IMPORT_BYTES:
        raise _file_error(
            _(
                "The file is larger than %(size)s KB; split it into smaller files.",
                size=MAX_IMPORT_BYTES // 1024,
            )
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _file_error(
            _("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")
        ) from None


def _header(raw: list[str]) -> list[str]:
    names = _column_names()
    unknown = [name.strip() for name in raw if _column_key(name) not in names]
    if unknown:
        raise _file_error(
            _(
                "Unknown column %(column)s; the columns are %(columns)s.",
                column=unknown[0] or "(empty)",
                columns=_column_list(),
            ),
            row=1,
            column=unknown[0],
        )
    columns = [names[_column_key(name)] for name in raw]
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise _file_error(
            _("The column %(column)s appears twice.", column=repeated[0]),
            row=1,
            column=repeated[0],
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise _file_error(
            _("The file needs a column named %(column)s.", column=missing[0]),
            row=1,
            column=missing[0],
        )
    return columns


def _check_cell(errors: list[RowError], row: int, column: str, check: Callable[[], Any]) -> Any:
    try:
        return check()
    except ValidationError as exc:
        errors.append(RowError(row=row, column=column, message=exc.message))
        return None


def parse_rows(data: bytes, *, codes_in_use: set[str]) -> list[ChildValues]:
    """Every row checked; raises ImportRejected listing every problem found."""
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    try:
        raw_header = next(reader)
    except StopIteration:
        raise _file_error(_("The file is empty.")) from None
    except csv.Error as exc:
        raise _file_error(_("The file is not valid CSV: %(error)s", error=str(exc))) from None
    columns = _header(raw_header)

    errors: list[RowError] = []
    rows: list[ChildValues] = []
    seen_codes: dict[str, int] = {}
    data_rows = 0
    try:
        for cells in reader:
            row = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank lines, often left at the end by spreadsheets
            data_rows += 1
            if data_rows > MAX_IMPORT_ROWS:
                raise _file_error(
                    _(
                        "The file has more than %(max)s rows; split it into smaller files.",
                        max=MAX_IMPORT_ROWS,
                    ),
                    row=row,
                )
            if len(cells) != len(columns):
                errors.append(
                    RowError(
                        row=row,
                        column="",
                        message=_(
                            "This row has %(found)s cells but the header has %(expected)s.",
                            found=len(cells),
                            expected=len(columns),
                        ),
                    )
                )
                continue
            values = _parse_row(dict(zip(columns, cells, strict=True)), row, errors)
            if values is None:
                continue
            if values.code is not None:
                if values.code in seen_codes:
                    errors.append(
                        RowError(
                            row=row,
                            column="code",
                            message=_(
                                "The code %(code)s is also used in row %(other)s.",
                                code=values.code,
                                other=seen_codes[values.code],
                            ),
                        )
                    )
                elif values.code in codes_in_use:
                    errors.append(
                        RowError(
                            row=row,
                            column="code",
                            message=_(
                                "The code %(code)s is already used in this campaign.",
                                code=values.code,
                            ),
                        )
                    )
                seen_codes.setdefault(values.code, row)
            rows.append(values)
    except csv.Error as exc:
        errors.append(
            RowError(
                row=reader.line_num,
                column="",
                message=_("The file is not valid CSV: %(error)s", error=str(exc)),
            )
        )
    if errors:
        raise ImportRejected(
            _(
                "Nothing was imported: %(count)s problem(s) were found. Correct them and "
                "upload the whole file again.",
                count=len(errors),
            ),
            errors[:MAX_REPORTED_ERRORS],
            headings={
                column: heading.strip() for column, heading in zip(columns, raw_header, strict=True)
            },
        )
    if not rows:
        raise _file_error(_("The file has a header but no children."))
    return rows


def _parse_row(cells: dict[str, str], row: int, errors: list[RowError]) -> ChildValues | None:
    before = len(errors)

    def check(column: str, fn: Callable[[], Any]) -> Any:
        return _check_cell(errors, row, column, fn)

    def cell(name: str) -> str:
        return cells.get(name, "")

    code = check("code", lambda: fields.clean_code(cell("code")))
    age_band = check("age_band", lambda: fields.clean_age_band(cell("age_band")))
    sex = check("sex", lambda: fields.clean_sex(cell("sex")))
    province = check("province", lambda: fields.clean_province(cell("province")))
    city = check("city", lambda: fields.clean_city(cell("city")))
    needs = check("needs", lambda: fields.clean_needs(cell("needs")))
    consent = check("consent", lambda: fields.clean_consent(cell("consent")))
    errors_before_date = len(errors)
    consent_date = check("consent_date", lambda: fields.parse_date(cell("consent_date")))
    if consent is not None and len(errors) == errors_before_date:
        check(
            "consent_date",
            lambda: fields.clean_consent_date(bool(consent), consent_date),
        )
    notes = check(
        "notes",
        lambda: fields.clean_free_text(cell("notes"), field="notes", maximum=fields.NOTES_MAX),
    )
    needs_detail = check(
        "needs_detail",
        lambda: fields.clean_free_text(
            cell("needs_detail"), field="needs_detail", maximum=fields.NEEDS_DETAIL_MAX
        ),
    )
    if len(errors) > before:
        return None
    return ChildValues(
        code=code,
        age_band=age_band,
        sex=sex,
        province=province,
        city=city,
        needs=needs,
        needs_detail=needs_detail,
        consent=bool(consent),
        consent_date=consent_date,
        notes=notes,
    )


def import_children(
    session: Session,
    *,
    actor: User | None,
    campaign: Campaign,
    data: bytes,
    cipher: FieldCipher,
) -> list[BeneficiaryChild]:
    """Register every child in the CSV ``data``, or none (ImportRejected lists why)."""
    require_manager(session, actor, campaign)
    require_not_frozen(campaign)
    rows = parse_rows(data, codes_in_use=codes_in_use_by(session, campaign))
    return add_children(
        session, actor=actor, campaign=campaign, rows=rows, cipher=cipher, source="csv"
    )
