"""Generated children's codes: short, unambiguous, always a mix of letters and digits."""

from __future__ import annotations

import re

from giving.impact.services import generate_code

SHORT_CODE = re.compile(r"C-[2-9A-HJKMNP-Z]{4}")


def test_twenty_thousand_fresh_codes_are_all_short_and_mixed() -> None:
    # Drawing until a code happened to mix fell through to six characters about once in
    # 12,000 codes, which made registry tests fail now and then.
    for _ in range(20_000):
        code = generate_code(set())
        assert SHORT_CODE.fullmatch(code), code
        assert any(char.isdigit() for char in code[2:]), code
        assert any(char.isalpha() for char in code[2:]), code


def test_codes_already_taken_are_never_returned() -> None:
    taken = {generate_code(set()) for _ in range(500)}
    for _ in range(2_000):
        assert generate_code(taken) not in taken
