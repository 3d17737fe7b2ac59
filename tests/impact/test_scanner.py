"""The identifying-text scanner: what it catches, what it lets through, what it says."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from giving.errors import ValidationError
from giving.impact import services
from giving.scanner import (
    CHILD_CODE,
    ID_CARD,
    LANDLINE,
    MOBILE,
    PHONE,
    check_public_text,
    check_text,
    id_check_char,
    is_valid_id18,
    scan_text,
)
from tests.disbursements.support import Story
from tests.impact.support import child_values, make_cipher, register

# GB 11643-1999's worked example, and the same number with a wrong check digit.
VALID_ID = "11010519491231002X"
WRONG_CHECK = "110105194912310021"


def kinds(text: str, codes: tuple[str, ...] = ()) -> list[str]:
    return [finding.kind for finding in scan_text(text, child_codes=codes)]


def test_the_iso_7064_check_digit_is_computed_as_the_standard_says() -> None:
    assert id_check_char("11010519491231002") == "X"
    assert id_check_char("44052418800101001") == "4"
    assert is_valid_id18(VALID_ID)
    assert is_valid_id18(VALID_ID.lower())
    assert not is_valid_id18(WRONG_CHECK)


@pytest.mark.parametrize(
    "text",
    [
        f"身份证号{VALID_ID}。",
        f"ID: {VALID_ID.lower()}",
        "110105 19491231 002X",
        "110105-19491231-002X",
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width, as Chinese input methods type it
        "old card 110105491231002 still in use",
    ],
)
def test_identity_card_numbers_are_found(text: str) -> None:
    assert kinds(text) == [ID_CARD]


@pytest.mark.parametrize(
    "text",
    [
        f"order {WRONG_CHECK}",  # 18 digits, but the check digit is wrong
        "tracking 1234567890123456789012",  # too long to be an ID
        "invoice 110105999999002",  # 15 digits without a valid birth date
        "we spent 1,234,567.89 yuan on 2026-03-01",
        "grade 3, 40 pupils, room 12",
        "邮编 010020",  # a postcode starts with 0 like a trunk prefix
        "ISBN 978-7-04-012345-6",
    ],
)
def test_numbers_that_are_not_identity_cards_or_phones_pass(text: str) -> None:
    assert kinds(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "call 13812345678",
        "call 138 1234 5678",
        "call 138-1234-5678",
        "call +86 138 1234 5678",
        "call +8613812345678",
        "call 0086-13812345678",
        "call (+86) 19912345678",
        "电话：１５９１２３４５６７８",
    ],
)
def test_mainland_mobile_numbers_are_found_however_they_are_written(text: str) -> None:
    assert kinds(text) == [MOBILE]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("call +852 9123 4567", MOBILE),  # Hong Kong
        ("WhatsApp 9123 4567", MOBILE),  # Hong Kong, written nationally
        ("call +853 6612 3456", MOBILE),  # Macao
        ("call +886 912 345 678", MOBILE),  # Taiwan
        ("LINE 0912-345-678", MOBILE),  # Taiwan, written nationally
        ("call +1 415 555 0132", PHONE),  # anywhere else, written internationally
        ("office +852 2123 4567", LANDLINE),
    ],
)
def test_phone_numbers_of_every_served_region_and_international_ones_are_found(
    text: str, kind: str
) -> None:
    assert kinds(text) == [kind]


def test_a_donor_message_with_a_mobile_number_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        check_text("加油！call 13812345678", field="message")
    assert caught.value.field == "message"


@pytest.mark.parametrize("text", ["office 010-12345678", "office 0755-8765432", "(028) 87654321"])
def test_landlines_are_found(text: str) -> None:
    assert kinds(text) == [LANDLINE]


def test_a_number_starting_12_is_not_a_mobile() -> None:
    assert kinds("reference 12812345678") == []


def test_registered_codes_are_found_in_any_case_and_with_or_without_the_hyphen() -> None:
    codes = ("C-7KQ2", "ZZLEAK-CODE-1")
    assert kinds("Thanks to C-7KQ2!", codes) == [CHILD_CODE]
    assert kinds("thanks to c7kq2 and zzleak code 1", codes) == [CHILD_CODE, CHILD_CODE]
    # Part of a longer word is not the code.
    assert kinds("see XC-7KQ2Z", codes) == []


def test_the_message_says_what_was_found_but_masks_it() -> None:
    text = f"Contact 13812345678, ID {VALID_ID}, child C-7KQ2"
    with pytest.raises(ValidationError) as caught:
        check_text(text, child_codes=["C-7KQ2"], field="body")
    message = caught.value.message
    assert caught.value.field == "body"
    assert "identity-card number" in message
    assert "mobile phone number" in message
    assert "registered child's code" in message
    assert "138******78" in message
    assert VALID_ID not in message
    assert "13812345678" not in message
    assert "C-7KQ2" not in message


def test_check_public_text_uses_the_campaigns_own_registered_codes(
    app: Flask, story: Story, session: Session
) -> None:
    child = register(story, code="ZZ-42A")
    other = services.register_child(
        session,
        actor=story.other_organiser,
        campaign=story.other_campaign,
        values=child_values(code="OT-77B"),
        cipher=make_cipher(),
    )
    with app.test_request_context():
        with pytest.raises(ValidationError) as caught:
            check_public_text(session, story.campaign, f"Books for {child.code}", field="body")
        assert caught.value.field == "body"
        # Another campaign's code means nothing here; a plain text passes.
        check_public_text(session, story.campaign, f"Books for {other.code}", field="body")
        check_public_text(session, story.campaign, "Books for the whole class", field="body")


def test_the_registry_is_the_installed_source_of_childrens_codes() -> None:
    """Packages below giving/impact check public text through giving/scanner.py; the codes
    it checks against are the registry's, installed when giving.impact is imported."""
    import giving.impact  # noqa: F401 - the import installs the source
    from giving import scanner
    from giving.impact.queries import registered_codes

    assert scanner._child_code_sources == [registered_codes]


def test_without_a_registry_public_text_is_refused_not_waved_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from giving import scanner

    monkeypatch.setattr(scanner, "_child_code_sources", [])
    with pytest.raises(RuntimeError, match="no registry of children's codes"):
        scanner.check_public_text(
            None,  # type: ignore[arg-type]
            SimpleNamespace(id=1),
            "a harmless sentence",
        )
