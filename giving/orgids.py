"""Organisation identifiers as org-id.guide builds them: ``<register prefix>-<number>``.

IATI (and 360Giving, Open Contracting) identify an organisation by the register that lists it
and its number there, e.g. ``GB-CHC-1047501`` for charity 1047501 in the Charity Commission
for England and Wales' register. A reader can then look the organisation up, so an identifier
is only worth giving when the number really is one from that register: a host's number is
turned into one only for registers whose numbers can be recognised for sure, and anything else
is left without an identifier rather than given one that points at nobody (or somebody else).
"""

from __future__ import annotations

import re

# A register prefix is a country code (or XI international, XM multilateral) and a list code;
# IATI allows letters, digits, "-", "_", ":" and "." in the number. It must end in a letter or
# digit, because activity identifiers append "-<activity id>".
_ORG_ID = re.compile(r"[A-Z]{2}-[A-Z0-9]{2,}-[A-Za-z0-9](?:[A-Za-z0-9._:-]*[A-Za-z0-9])?")

# GB 32100-2015: 18 characters from this alphabet (no I, O, S, V, Z), the last a check
# character over the first 17 with weights 3^i mod 31.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_USCC = re.compile(f"[{_USCC_ALPHABET}]{{18}}")
# Charity Commission for England and Wales: six or seven digits (subsidiary "-1" suffixes
# name a linked charity, not the organisation, so they are not accepted).
_GB_CHARITY = re.compile(r"\d{6,7}")
# US Internal Revenue Service employer identification number: nine digits, written 12-3456789.
_US_EIN = re.compile(r"\d{2}-?\d{7}")


def is_org_id(ref: str) -> bool:
    """Whether ``ref`` has the shape ``<register prefix>-<number>`` (not whether it exists)."""
    return _ORG_ID.fullmatch(ref) is not None and (
        not ref.startswith("CN-USC-") or is_uscc(ref.removeprefix("CN-USC-"))
    )


def uscc_check_character(first17: str) -> str:
    """The 18th character of a unified social credit code that starts with ``first17``."""
    total = sum(
        _USCC_ALPHABET.index(char) * weight
        for char, weight in zip(first17, _USCC_WEIGHTS, strict=True)
    )
    return _USCC_ALPHABET[-total % 31]


def is_uscc(code: str) -> bool:
    """Whether ``code`` is a well-formed unified social credit code, check character included."""
    return _USCC.fullmatch(code) is not None and uscc_check_character(code[:17]) == code[17]


def _compact(number: str) -> str:
    return re.sub(r"\s+", "", number).upper()


def host_org_ref(country: str, registration_number: str) -> str | None:
    """The org-id.guide identifier for a registered organisation, or None when its number is
    not recognisably one from a register with a prefix (CN-USC, GB-CHC, US-EIN)."""
    number = _compact(registration_number)
    country = country.strip().upper()
    if country == "CN" and is_uscc(number):
        return f"CN-USC-{number}"
    if country == "GB" and _GB_CHARITY.fullmatch(number):
        return f"GB-CHC-{number}"
    if country == "US" and _US_EIN.fullmatch(number):
        return f"US-EIN-{number.replace('-', '')}"
    return None
