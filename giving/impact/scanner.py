"""Refusing to publish text that identifies a person: ID numbers, phones, children's codes.

Everything an organiser writes for the public (campaign updates, disbursement descriptions,
evidence captions) passes :func:`check_public_text` before it is stored. It looks for:

* Chinese resident identity-card numbers: 18 characters whose last may be ``X`` and whose
  check digit is valid under ISO 7064 MOD 11-2 (so most other 18-digit numbers, such as
  order numbers, pass), and the old 15-digit format with a plausible birth date;
* mainland mobile numbers ``1[3-9]`` + 9 digits, also written with spaces or hyphens and with
  a ``+86``/``0086``/``86`` prefix;
* landlines: ``0`` + a 2-3 digit area code, ``-`` or a space, and 7-8 digits (``(010) …`` too);
* the campaign's registered children's pseudonymous codes, in any letter case and with or
  without the hyphen.

Text is NFKC-normalised first, so full-width digits (１３８…) are caught like ASCII ones.
What is found is reported by type with a partly masked fragment, so the organiser can find
it without the message repeating the personal data in full.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from giving.errors import ValidationError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from giving.campaigns.models import Campaign

ID_CARD = "id_card"
MOBILE = "mobile"
LANDLINE = "landline"
CHILD_CODE = "child_code"

KIND_LABELS = {
    ID_CARD: _l("an identity-card number"),
    MOBILE: _l("a mobile phone number"),
    LANDLINE: _l("a landline phone number"),
    CHILD_CODE: _l("a registered child's code"),
}

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"

# Digits may be grouped with single spaces or hyphens, as people type them ("1101 0519…").
_SEP = r"[ \-]?"
_ID18 = re.compile(r"(?<!\d)([1-9](?:" + _SEP + r"\d){16}" + _SEP + r"[0-9Xx])(?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<!\d)([1-9](?:" + _SEP + r"\d){14})(?!\d)")
_MOBILE = re.compile(
    r"(?<![\d+])((?:(?:\+|00)?86[ \-]?|\(\+?86\)[ \-]?)?"
    r"1[3-9]\d" + _SEP + r"\d{4}" + _SEP + r"\d{4})(?!\d)"
)
_LANDLINE = re.compile(r"(?<!\d)((?:\(0\d{2,3}\)[ \-]?|0\d{2,3}[ \-])\d{7,8})(?!\d)")


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of identifying text: its kind and a masked copy of what matched."""

    kind: str
    masked: str

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self.kind])


def id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for an identity number's first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def is_valid_id18(number: str) -> bool:
    number = number.upper()
    if len(number) != 18 or not number[:17].isdigit():
        return False
    return id_check_char(number[:17]) == number[17]


def _plausible_birth_date(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _is_plausible_id15(number: str) -> bool:
    # Old cards (until 2004): 6-digit area, YYMMDD birth date in the 1900s, 3-digit sequence.
    return _plausible_birth_date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))


def mask(fragment: str) -> str:
    """Keep the first three and last two characters visible and star the rest."""
    compact = fragment.strip()
    if len(compact) <= 4:
        return compact[:1] + "*" * (len(compact) - 1)
    keep_head = 3 if len(compact) > 6 else 1
    return compact[:keep_head] + "*" * (len(compact) - keep_head - 2) + compact[-2:]


def _digits(fragment: str) -> str:
    return re.sub(r"[^0-9Xx]", "", fragment)


def _code_pattern(code: str) -> str:
    """A regex for ``code`` where separators are optional and may be space or underscore."""
    parts = [re.escape(part) for part in re.split(r"[-_ ]+", code) if part]
    return r"[-_ ]?".join(parts)


def scan_text(text: str, *, child_codes: Iterable[str] = ()) -> list[Finding]:
    """Everything identifying in ``text``, in order of appearance, each reported once."""
    if not text:
        return []
    normalised = unicodedata.normalize("NFKC", text)
    found: list[tuple[int, Finding]] = []
    taken: list[tuple[int, int]] = []

    def overlaps(start: int, end: int) -> bool:
        return any(start < t_end and t_start < end for t_start, t_end in taken)

    def add(start: int, end: int, finding: Finding) -> None:
        taken.append((start, end))
        found.append((start, finding))

    for match in _ID18.finditer(normalised):
        if is_valid_id18(_digits(match.group(1))):
            add(match.start(1), match.end(1), Finding(ID_CARD, mask(_digits(match.group(1)))))
    for match in _ID15.finditer(normalised):
        digits = _digits(match.group(1))
        if not overlaps(match.start(1), match.end(1)) and _is_plausible_id15(digits):
            add(match.start(1), match.end(1), Finding(ID_CARD, mask(digits)))
    for match in _MOBILE.finditer(normalised):
        if not overlaps(match.start(1), match.end(1)):
            national = _digits(match.group(1))[-11:]
            add(match.start(1), match.end(1), Finding(MOBILE, mask(national)))
    for match in _LANDLINE.finditer(normalised):
        if not overlaps(match.start(1), match.end(1)):
            add(match.start(1), match.end(1), Finding(LANDLINE, mask(_digits(match.group(1)))))

    codes = sorted({code for code in child_codes if code}, key=len, reverse=True)
    if codes:
        alternatives = "|".join(_code_pattern(code) for code in codes)
        pattern = re.compile(
            r"(?<![0-9A-Za-z])(" + alternatives + r")(?![0-9A-Za-z])", re.IGNORECASE
        )
        for match in pattern.finditer(normalised):
            if not overlaps(match.start(1), match.end(1)):
                add(match.start(1), match.end(1), Finding(CHILD_CODE, mask(match.group(1))))

    found.sort(key=lambda item: item[0])
    unique: list[Finding] = []
    for _start, finding in found:
        if finding not in unique:
            unique.append(finding)
    return unique


def describe_findings(findings: Iterable[Finding]) -> str:
    """The refusal message: what was found, partly masked, and what to do."""
    listed = "; ".join(f"{finding.label} ({finding.masked})" for finding in findings)
    return str(
        _(
            "This text cannot be published because it seems to contain personal details: "
            "%(found)s. Remove them and try again; never publish a child's code, an identity "
            "number or a phone number.",
            found=listed,
        )
    )


def check_text(text: str, *, child_codes: Iterable[str] = (), field: str | None = None) -> None:
    """Raise ValidationError naming what identifying text was found, if any."""
    findings = scan_text(text, child_codes=child_codes)
    if findings:
        raise ValidationError(describe_findings(findings), field=field)


def check_public_text(
    session: Session, campaign: Campaign, text: str, *, field: str | None = None
) -> None:
    """Refuse ``text`` for publication on ``campaign`` if it identifies anyone.

    Call it in every service that stores text the public will read, before storing it, with
    ``field`` naming the form field so the message appears next to it.
    """
    from giving.impact.queries import registered_codes

    check_text(text, child_codes=registered_codes(session, campaign.id), field=field)
