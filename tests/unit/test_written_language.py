"""giving.text.written_language: which language a short public text is written in."""

from __future__ import annotations

import pytest

from giving.text import written_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("凉山新华书店", "zh"),
        ("Textbooks for 凉山 schools", "zh"),  # any Chinese character makes it Chinese
        ("𠀀", "zh"),  # an ideograph outside the Basic Multilingual Plane (Extension B)
        ("Liangshan Xinhua Bookshop", "en"),
        ("2026-11-29 #42", None),  # no script at all: the document's default stands
        ("", None),
    ],
)
def test_a_text_is_chinese_when_it_has_a_chinese_character_and_english_when_latin_only(
    text: str, language: str | None
) -> None:
    assert written_language(text) == language
