"""Where a campaign helps: China's province-level divisions by ISO 3166-2:CN code.

Regions stop at province level on purpose: DESIGN §5 never records a child's village or
school, and a public campaign page should not narrow the place down further either. The
names are proper nouns held in both languages here (not in the gettext catalogue), so the
list is complete even before translations are filled in.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name_en: str
    name_zh: str

    def name(self, language: str) -> str:
        """The name in ``language`` ("zh…" for Chinese, anything else English)."""
        return self.name_zh if language.startswith("zh") else self.name_en


OTHER = "other"

# Mainland divisions in the order of their English (pinyin) names, then Hong Kong, Macao and
# Taiwan as ISO 3166-2:CN lists them, then everywhere else.
REGIONS: tuple[Region, ...] = (
    Region("CN-AH", "Anhui", "安徽"),
    Region("CN-BJ", "Beijing", "北京"),
    Region("CN-CQ", "Chongqing", "重庆"),
    Region("CN-FJ", "Fujian", "福建"),
    Region("CN-GS", "Gansu", "甘肃"),
    Region("CN-GD", "Guangdong", "广东"),
    Region("CN-GX", "Guangxi", "广西"),
    Region("CN-GZ", "Guizhou", "贵州"),
    Region("CN-HI", "Hainan", "海南"),
    Region("CN-HE", "Hebei", "河北"),
    Region("CN-HL", "Heilongjiang", "黑龙江"),
    Region("CN-HA", "Henan", "河南"),
    Region("CN-HB", "Hubei", "湖北"),
    Region("CN-HN", "Hunan", "湖南"),
    Region("CN-NM", "Inner Mongolia", "内蒙古"),
    Region("CN-JS", "Jiangsu", "江苏"),
    Region("CN-JX", "Jiangxi", "江西"),
    Region("CN-JL", "Jilin", "吉林"),
    Region("CN-LN", "Liaoning", "辽宁"),
    Region("CN-NX", "Ningxia", "宁夏"),
    Region("CN-QH", "Qinghai", "青海"),
    Region("CN-SN", "Shaanxi", "陕西"),
    Region("CN-SD", "Shandong", "山东"),
    Region("CN-SH", "Shanghai", "上海"),
    Region("CN-SX", "Shanxi", "山西"),
    Region("CN-SC", "Sichuan", "四川"),
    Region("CN-TJ", "Tianjin", "天津"),
    Region("CN-XZ", "Tibet", "西藏"),
    Region("CN-XJ", "Xinjiang", "新疆"),
    Region("CN-YN", "Yunnan", "云南"),
    Region("CN-ZJ", "Zhejiang", "浙江"),
    Region("CN-HK", "Hong Kong", "香港"),
    Region("CN-MO", "Macao", "澳门"),
    Region("CN-TW", "Taiwan", "台湾"),
    Region(OTHER, "Elsewhere", "其他地区"),
)

REGIONS_BY_CODE: dict[str, Region] = {region.code: region for region in REGIONS}
REGION_CODES: frozenset[str] = frozenset(REGIONS_BY_CODE)


def is_region(code: str) -> bool:
    return code in REGION_CODES


def region_name(code: str, language: str = "en") -> str:
    """The region's name for display; an unknown code is shown as it is rather than failing."""
    region = REGIONS_BY_CODE.get(code)
    return region.name(language) if region is not None else code


def region_choices(language: str = "en") -> list[tuple[str, str]]:
    """(code, name) pairs for a select box, in the list's fixed order."""
    return [(region.code, region.name(language)) for region in REGIONS]


# Other spellings people use for a division: the official romanisations of the autonomous
# regions and the Portuguese-derived "Macau", beside the English names above.
_OTHER_NAMES: dict[str, tuple[str, ...]] = {
    "CN-NM": ("Nei Mongol", "Neimenggu"),
    "CN-XZ": ("Xizang",),
    "CN-MO": ("Macau",),
    "CN-HK": ("Hongkong",),
}
# What follows a division's name when written in full: "四川省", "广西壮族自治区",
# "香港特别行政区", "Sichuan Province", "Beijing Municipality", "Tibet Autonomous Region".
_ZH_SUFFIXES = ("特别行政区", "壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "省", "市")
_EN_SUFFIXES = (
    "special administrative region",
    "autonomous region",
    "municipality",
    "province",
    "sar",
)
_NOT_NAME = re.compile(r"[\s\-_'’.·]+")


def _key(text: str) -> str:
    """A spelling-insensitive form: NFKC, case-folded, without spaces, hyphens or dots."""
    return _NOT_NAME.sub("", unicodedata.normalize("NFKC", text).casefold())


def _names(region: Region) -> tuple[str, ...]:
    return (region.code, region.name_en, region.name_zh, *_OTHER_NAMES.get(region.code, ()))


_BY_NAME: dict[str, str] = {_key(name): r.code for r in REGIONS for name in _names(r)}


def find_region(text: str) -> Region | None:
    """The region ``text`` names: its code, its English (pinyin) or Chinese name, in any case
    and spacing, with or without "省", "自治区", "Province" and the like; else None."""
    key = _key(text)
    if not key:
        return None
    candidates = [key]
    for suffix in (*_ZH_SUFFIXES, *(_key(suffix) for suffix in _EN_SUFFIXES)):
        if key.endswith(suffix) and len(key) > len(suffix):
            candidates.append(key[: -len(suffix)])
    for candidate in candidates:
        code = _BY_NAME.get(candidate)
        if code is not None:
            return REGIONS_BY_CODE[code]
    return None


def regions_named_by(query: str) -> list[str]:
    """Codes of the regions a search for ``query`` means: the region it names, or those whose
    English or Chinese name starts with it (at least two Chinese characters or three letters,
    so "an" does not find every province with "an" in its name)."""
    found = find_region(query)
    if found is not None:
        return [found.code]
    key = _key(query)
    shortest = 2 if any(ord(char) > 0x2E7F for char in key) else 3
    if len(key) < shortest:
        return []
    return [
        region.code
        for region in REGIONS
        if region.code != OTHER and any(_key(name).startswith(key) for name in _names(region)[1:])
    ]
