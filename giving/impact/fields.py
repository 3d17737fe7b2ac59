"""Checking each field of a child's record, shared by the form, the service and the CSV import.

Every check either returns the clean value or raises ValidationError naming the field, so the
import can report every bad cell of a row and the form can put each message by its input.
The place is kept coarse on purpose (DESIGN §5): a province (or "elsewhere") and at most a
city name; anything that looks like a village, township, school, street or house number, or
has digits in it, is refused rather than stored.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from flask import has_app_context
from flask_babel import gettext as _

from giving.campaigns.regions import REGIONS_BY_CODE, find_region
from giving.db import utcnow
from giving.errors import ValidationError
from giving.i18n import in_every_language
from giving.impact.models import AgeBand, Need, Sex

CODE_MIN = 4
CODE_MAX = 24
CITY_MAX = 40
NEEDS_DETAIL_MAX = 500
NOTES_MAX = 2_000

_CODE_PATTERN = re.compile(r"^[A-Z0-9](?:[A-Z0-9-]*[A-Z0-9])?$")
# Markers of places finer than a city, in Chinese and English. Chinese markers are matched
# anywhere (there are no word boundaries); English ones as whole words.
_FINER_PLACE_ZH = (
    "村",
    "镇",
    "乡",
    "县",
    "屯",
    "小学",
    "中学",
    "学校",
    "幼儿园",
    "大学",
    "学院",
    "路",
    "街",
    "巷",
    "弄",
    "号",
    "楼",
    "栋",
    "室",
    "社区",
    "小区",
)
_FINER_PLACE_EN = re.compile(
    r"\b(village|villages|town|township|county|school|kindergarten|college|university|"
    r"street|st|road|rd|avenue|ave|lane|alley|building|bldg|block|room|apartment|apt|"
    r"community|estate)\b",
    re.IGNORECASE,
)
# Cities whose own names contain a marker (Zhenjiang, Pingxiang, Xinxiang, Xiangxiang); they are
# removed before the markers are looked for, so the cities pass and "镇江某某村" still does not.
_CITIES_WITH_MARKERS = ("镇江", "萍乡", "新乡", "湘乡")
_CITY_ALLOWED = re.compile(r"^[\w\s·'’.\-]+$")
_YES = frozenset({"yes", "y", "true", "1", "是", "有", "同意", "已同意"})
_NO = frozenset({"no", "n", "false", "0", "否", "无", "不同意", "未同意"})
_SEX_ALIASES = {"": "unspecified", "f": "female", "m": "male", "女": "female", "男": "male"}


def _spelling(text: str) -> str:
    """How a typed value is compared: NFKC, case-folded, without spaces, en dash as hyphen."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("–", "-")
    return re.sub(r"\s+", "", folded)


# Spellings of each value of the enumerated fields: the stored value and its label in every
# language ("education", "Education", "教育"), filled once per process from the catalogues.
_NAMES: dict[str, dict[str, str]] = {}


class Labelled(Protocol):
    """An enumerated value with a translated ``label`` (AgeBand, Sex, Need)."""

    @property
    def value(self) -> str: ...

    @property
    def label(self) -> str: ...


def _label_of(member: Labelled) -> str:
    return member.label


def value_names(values: type[enum.StrEnum]) -> dict[str, str]:
    """Every accepted spelling of each of ``values`` (its ``label`` in each language, and
    the value itself), mapped to the stored value."""
    kind = values.__name__
    known = _NAMES.get(kind)
    if known is not None:
        return known
    names: dict[str, str] = {}
    members: list[Labelled] = list(values)
    for member in members:
        names[_spelling(member.value)] = member.value
        for label in in_every_language(partial(_label_of, member)):
            names.setdefault(_spelling(label), member.value)
    if has_app_context():  # outside one only English is known: do not keep that
        _NAMES[kind] = names
    return names


@dataclass(frozen=True, slots=True)
class ChildValues:
    """A child's record as typed, after checking; ``code`` None means "generate one"."""

    code: str | None
    age_band: str
    sex: str
    province: str
    city: str
    needs: tuple[str, ...]
    needs_detail: str
    consent: bool
    consent_date: dt.date | None
    notes: str


def clean_code(raw: str | None, *, field: str = "code") -> str | None:
    """An organiser's own pseudonymous code, upper-cased; empty means generate one."""
    code = unicodedata.normalize("NFKC", raw or "").strip().upper()
    if not code:
        return None
    if not CODE_MIN <= len(code) <= CODE_MAX or not _CODE_PATTERN.match(code):
        raise ValidationError(
            _(
                "A code has %(min)s to %(max)s letters A-Z, digits and hyphens, such as "
                "C-7KQ2; leave it empty to have one made for you.",
                min=CODE_MIN,
                max=CODE_MAX,
            ),
            field=field,
        )
    # A letter and a digit: so a code can never be an everyday word or a plain number, which
    # the scanner would then refuse in every update that happened to use it.
    if not (re.search(r"[A-Z]", code) and re.search(r"[0-9]", code)):
        raise ValidationError(
            _("A code needs at least one letter and one digit, such as C-7KQ2."), field=field
        )
    return code


def clean_age_band(raw: str | None, *, field: str = "age_band") -> str:
    """An age band as its value ("6-11") or its label in either language ("6 至 11 岁")."""
    value = value_names(AgeBand).get(_spelling(raw or ""))
    if value is None:
        raise ValidationError(
            _(
                "Choose an age band: %(bands)s.",
                bands=", ".join(band.value for band in AgeBand),
            ),
            field=field,
        )
    return value


def clean_sex(raw: str | None, *, field: str = "sex") -> str:
    """female, male or unspecified, also as a label in either language ("女", "Not stated")."""
    typed = _spelling(raw or "")
    value = _SEX_ALIASES.get(typed) or value_names(Sex).get(typed)
    if value is None:
        raise ValidationError(_("Sex is female, male or unspecified (or left empty)."), field=field)
    return value


def clean_province(raw: str | None, *, field: str = "province") -> str:
    """A region code from the list; its English (pinyin) or Chinese name is accepted too,
    written in full or not ("云南", "云南省", "Yunnan", "Yunnan Province")."""
    value = (raw or "").strip()
    if value in REGIONS_BY_CODE:
        return value
    region = find_region(value)
    if region is not None:
        return region.code
    raise ValidationError(
        _("Choose a province from the list (a code such as CN-YN, or its name)."), field=field
    )


def clean_city(raw: str | None, *, field: str = "city") -> str:
    """A city name or nothing; anything that narrows the place further is refused."""
    city = unicodedata.normalize("NFKC", raw or "").strip()
    city = re.sub(r"\s+", " ", city)
    if not city:
        return ""
    if len(city) > CITY_MAX:
        raise ValidationError(
            _("Use at most %(max)s characters for the city.", max=CITY_MAX), field=field
        )
    unmarked = city
    for name in _CITIES_WITH_MARKERS:
        unmarked = unmarked.replace(name, "")
    finer = (
        any(char.isdigit() for char in city)
        or any(marker in unmarked for marker in _FINER_PLACE_ZH)
        or _FINER_PLACE_EN.search(city) is not None
    )
    if finer:
        raise ValidationError(
            _(
                "Record the city at most, never a village, township, school, street or house "
                "number: they could identify the child."
            ),
            field=field,
        )
    if not _CITY_ALLOWED.match(city):
        raise ValidationError(_("A city name has letters and spaces only."), field=field)
    return city


def clean_needs(raw: Iterable[str] | str | None, *, field: str = "needs") -> tuple[str, ...]:
    """Need categories from the list, in the list's order, each once."""
    if raw is None:
        items: list[str] = []
    elif isinstance(raw, str):
        items = re.split(r"[;,|/、，；]", raw)
    else:
        items = list(raw)
    wanted: set[str] = set()
    names = value_names(Need)
    for item in items:
        if not item.strip():
            continue
        value = names.get(_spelling(item))
        if value is None:
            raise ValidationError(
                _(
                    "Unknown need %(need)s; use %(needs)s.",
                    need=item.strip(),
                    needs=", ".join(need.label for need in Need),
                ),
                field=field,
            )
        wanted.add(value)
    return tuple(need.value for need in Need if need.value in wanted)


def clean_consent(raw: bool | str | None, *, field: str = "consent") -> bool:
    if isinstance(raw, bool):
        return raw
    value = _spelling(raw or "")
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise ValidationError(_("Guardian consent is yes or no."), field=field)


def parse_date(raw: str | None, *, field: str = "consent_date") -> dt.date | None:
    value = (raw or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            _("Write the date as YYYY-MM-DD, such as 2026-03-01."), field=field
        ) from None


def clean_consent_date(
    consent: bool, consent_date: dt.date | None, *, field: str = "consent_date"
) -> dt.date | None:
    if consent and consent_date is None:
        raise ValidationError(_("Give the date the guardian consented."), field=field)
    if consent_date is not None and consent_date > utcnow().date() + dt.timedelta(days=1):
        raise ValidationError(_("The consent date cannot be in the future."), field=field)
    return consent_date


def clean_free_text(raw: str | None, *, field: str, maximum: int) -> str:
    text = (raw or "").strip()
    if len(text) > maximum:
        raise ValidationError(_("Use at most %(max)s characters.", max=maximum), field=field)
    return text
