"""Refusing to publish text that identifies a person: ID numbers, phones, children's codes.

Every free text that reaches a public page, feed, API answer, export or report (campaign
texts and updates, disbursement descriptions and payees, evidence captions, donors' names and
messages, auditors' statements, ...) passes :func:`check_public_text` (or :func:`check_text`
where no campaign exists yet) before it is stored. It looks for:

* Chinese resident identity-card numbers, validated with python-stdnum's ``cn.ric`` (ISO 7064
  MOD 11-2 check character and a real birth date, so most other 18-digit numbers, such as
  order numbers, pass), and the old 15-digit format (widened to 18 digits the way the
  2004 cards were, then checked the same way); digits may be grouped by spaces or hyphens;
* phone numbers, found by ``phonenumbers``' PhoneNumberMatcher in every region Giving serves
  (mainland China, Hong Kong, Macao, Taiwan: :data:`PHONE_REGIONS`), so a number written
  nationally for any of them, or internationally (``+1 415 …``) for anywhere, is caught; a
  mainland number dialled with its trunk ``0`` counts even when its length is out of date;
* the campaign's registered children's pseudonymous codes, in any letter case and with or
  without the hyphen.

A ground-floor module: accounts, hosts, campaigns, payments, disbursements and reports all
check text, and the children's codes live in giving/impact, which sits above most of them.
So the codes come through :func:`use_child_codes`, which giving/impact installs when it is
imported (every app and every test loads it with the models); without it
:func:`check_public_text` refuses to run rather than let a child's code through unchecked.

Text is NFKC-normalised first, so full-width digits (１３８…) are caught like ASCII ones.
What is found is reported by type with a partly masked fragment, so the writer can find it
without the message repeating the personal data in full.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import phonenumbers
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as NumberInvalid

from giving.errors import ValidationError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class Published(Protocol):
    """What text is published on: a campaign (only its id is read here)."""

    @property
    def id(self) -> int: ...


ChildCodes = Callable[["Session", int], Iterable[str]]
# The installed source of a campaign's registered children's codes (see the module docstring).
_child_code_sources: list[ChildCodes] = []

ID_CARD = "id_card"
MOBILE = "mobile"
LANDLINE = "landline"
PHONE = "phone"
CHILD_CODE = "child_code"

KIND_LABELS = {
    ID_CARD: _l("an identity-card number"),
    MOBILE: _l("a mobile phone number"),
    LANDLINE: _l("a landline phone number"),
    PHONE: _l("a phone number"),
    CHILD_CODE: _l("a registered child's code"),
}

# Where Giving's donors, organisers and children are (giving/campaigns/regions.py): numbers
# written without a country code are read as each of these in turn.
PHONE_REGIONS = ("CN", "HK", "MO", "TW")

# Candidates for identity numbers; python-stdnum decides whether one is valid. Digits may be
# grouped with single spaces or hyphens, as people type them ("110105 19491231 002X").
_SEP = r"[ \-]?"
_ID18 = re.compile(r"(?<!\d)([1-9](?:" + _SEP + r"\d){16}" + _SEP + r"[0-9Xx])(?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<!\d)([1-9](?:" + _SEP + r"\d){14})(?!\d)")
_NON_DIGITS = re.compile(r"\D")
# Trunk 0 and a 2-3 digit area code, set apart, then 7-8 digits (which may be grouped).
_LANDLINE_AS_WRITTEN = re.compile(r"^(?:\(0\d{2,3}\)[ \-]?|0\d{2,3}[ \-])\d{3,4}[ \-]?\d{3,4}$")


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
    # python-stdnum's calc_check_digit expects the number with a (any) check place at the end.
    return str(ric.calc_check_digit(first17 + "0"))


def is_valid_id18(number: str) -> bool:
    """Whether ``number`` is an 18-character identity number: check character and birth date.

    The birth place is not required to be in python-stdnum's list of counties: a number that
    is right in every other way identifies someone whether or not their county was renamed.
    """
    try:
        compact = str(ric.compact(number))
        if len(compact) != 18 or not compact[:17].isdigit():
            return False
        if compact[-1] != ric.calc_check_digit(compact):
            return False
        ric.get_birth_date(compact)
    except (NumberInvalid, ValueError):
        return False
    return True


def _is_plausible_id15(number: str) -> bool:
    # Old cards (until 2004) had a 2-digit year and no check character; they were widened to
    # 18 characters by inserting "19" before the year and appending the check character.
    first17 = number[:6] + "19" + number[6:]
    return is_valid_id18(first17 + id_check_char(first17))


def mask(fragment: str) -> str:
    """Keep the first three and last two characters visible and star the rest."""
    compact = fragment.strip()
    if len(compact) <= 4:
        return compact[:1] + "*" * (len(compact) - 1)
    keep_head = 3 if len(compact) > 6 else 1
    return compact[:keep_head] + "*" * (len(compact) - keep_head - 2) + compact[-2:]


def _digits(fragment: str) -> str:
    return re.sub(r"[^0-9Xx]", "", fragment)


def _phone_kind(number: phonenumbers.PhoneNumber) -> str:
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.MOBILE:
        return MOBILE
    if kind == phonenumbers.PhoneNumberType.FIXED_LINE:
        return LANDLINE
    return PHONE


def _written_as_dialled(raw: str, number: phonenumbers.PhoneNumber) -> bool:
    """Whether the matched text's digits are the number itself, with at most a trunk ``0`` or
    an international prefix and country code before it.

    phonenumbers also strips mainland carrier-selection prefixes (``11010…``), which would
    make a 15-digit invoice number "contain" a landline; nobody writes a number that way.
    """
    digits = _NON_DIGITS.sub("", raw)
    national = phonenumbers.national_significant_number(number)
    if not digits.endswith(national):
        return False
    prefix = digits[: len(digits) - len(national)]
    country = str(number.country_code)
    return prefix in ("", "0") or (prefix.endswith(country) and len(prefix) <= len(country) + 3)


def _phone_findings(text: str) -> list[tuple[int, int, Finding]]:
    """Phone numbers in ``text`` as (start, end, finding), read in each served region."""
    found: list[tuple[int, int, Finding]] = []
    seen: set[tuple[int, int]] = set()
    passes = [(region, phonenumbers.Leniency.VALID) for region in PHONE_REGIONS]
    # A mainland number written with its trunk 0, an area code and a separator ("0755-876
    # 5432") is a landline even where its length no longer matches today's plan: 7-digit
    # local numbers linger in print. Postcodes ("010020") and plain digit runs do not count.
    passes.append(("CN", phonenumbers.Leniency.POSSIBLE))
    for region, leniency in passes:
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=leniency):
            span = (match.start, match.end)
            if span in seen or not _written_as_dialled(match.raw_string, match.number):
                continue
            kind = _phone_kind(match.number)
            if leniency == phonenumbers.Leniency.POSSIBLE:
                if not _LANDLINE_AS_WRITTEN.match(match.raw_string):
                    continue
                kind = LANDLINE if kind == PHONE else kind
            seen.add(span)
            national = phonenumbers.national_significant_number(match.number)
            found.append((match.start, match.end, Finding(kind, mask(national))))
    return found


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
    for start, end, finding in _phone_findings(normalised):
        if not overlaps(start, end):
            add(start, end, finding)

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
    session: Session, campaign: Published, text: str, *, field: str | None = None
) -> None:
    """Refuse ``text`` for publication on ``campaign`` if it identifies anyone.

    Call it in every service that stores text the public will read, before storing it, with
    ``field`` naming the form field so the message appears next to it.
    """
    check_text(text, child_codes=child_codes(session, campaign.id), field=field)


def child_codes(session: Session, campaign_id: int) -> Iterable[str]:
    """The campaign's registered children's codes, from the installed registry."""
    if not _child_code_sources:
        raise RuntimeError("no registry of children's codes is installed: import giving.impact")
    return _child_code_sources[-1](session, campaign_id)


def use_child_codes(source: ChildCodes) -> None:
    """Install where :func:`check_public_text` reads a campaign's children's codes."""
    _child_code_sources[:] = [source]
