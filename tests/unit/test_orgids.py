"""org-id.guide identifiers: which registration numbers become an identifier, and which do not."""

from __future__ import annotations

import pytest

from giving.orgids import host_org_ref, is_org_id, is_uscc, uscc_check_character


def test_unified_social_credit_codes_are_checked_as_gb_32100_prescribes() -> None:
    # The worked example that accompanies descriptions of GB 32100-2015.
    assert is_uscc("91350100M000100Y43")
    assert uscc_check_character("91350100M000100Y4") == "3"
    assert not is_uscc("91350100M000100Y44")  # one wrong check character
    assert not is_uscc("91350100M000100Y4")  # seventeen characters
    assert not is_uscc("91350100MO00100Y43")  # O is not in the code's alphabet
    assert not is_uscc("91350100m000100y43")  # codes are written in capitals


@pytest.mark.parametrize(
    ("country", "number", "expected"),
    [
        ("CN", "91350100M000100Y43", "CN-USC-91350100M000100Y43"),
        ("cn", " 91350100 m000100y43 ", "CN-USC-91350100M000100Y43"),
        ("CN", "91350100M000100Y44", None),
        ("CN", "53100000DEMO00001X", None),
        ("GB", "1047501", "GB-CHC-1047501"),
        ("GB", "283302", "GB-CHC-283302"),
        ("GB", "1047501-1", None),  # a linked charity, not the organisation itself
        ("GB", "06368740", None),  # a company number
        ("US", "52-2044704", "US-EIN-522044704"),
        ("FR", "123456789", None),  # a register Giving does not recognise: no identifier
    ],
)
def test_a_host_gets_an_identifier_only_from_a_number_its_register_could_have_issued(
    country: str, number: str, expected: str | None
) -> None:
    ref = host_org_ref(country, number)
    assert ref == expected
    if ref is not None:
        assert is_org_id(ref)


def test_identifier_shape() -> None:
    assert is_org_id("GB-COH-06368740")
    assert is_org_id("XM-DAC-41114")
    assert not is_org_id("GB-COH")
    assert not is_org_id("GB-COH-06368740?")
    assert not is_org_id("CN-USC-91350100M000100Y44")
