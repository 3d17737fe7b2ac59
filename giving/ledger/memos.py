"""Processor-fee memos: how new ones are written, and how old ones are shown to people.

A fee entry's memo says where its figure came from, e.g. ``fee 0.79 CNY (txn_…)``, amounts in
major units with their currency. Entries sealed before issue 11 wrote the same figures in
minor units (``fee 79 CNY (txn_…)`` on a −CN¥0.79 entry), a hundredfold overstatement.
Their memos cannot change: the leaf hash covers them and the ledger is append-only. So the
raw memo stays exactly as sealed wherever the hash needs it (the API's leaf records, the
JSON-lines export, the ``memo`` column of ledger.csv) and everything written for people
(the PDF appendix, the CSV's ``description`` column) shows ``display_memo``, which restates
an old-format fee memo in major units. The two formats cannot be confused: the old one has
only whole numbers, the new one always a decimal point (no currency Giving takes is
zero-decimal; for one that is, both spellings are the same text anyway).
"""

from __future__ import annotations

import re

from giving.ledger.rules import PROCESSOR_FEE
from giving.money import format_major

# The two shapes giving.payments.gateway wrote before issue 11, minor units throughout.
_OLD_SAME_CURRENCY = re.compile(r"fee (\d+) ([A-Z]{3}) (\(.*\))", re.DOTALL)
_OLD_CONVERTED = re.compile(
    r"fee (\d+) ([A-Z]{3}) of (\d+) ([A-Z]{3}) settled = (\d+) ([A-Z]{3}) (\(.*\))", re.DOTALL
)


def fee_memo(fee_minor: int, currency: str, transaction_id: str) -> str:
    """The memo of a fee charged in the gift's own currency."""
    return f"fee {format_major(fee_minor, currency)} {currency} ({transaction_id})"


def converted_fee_memo(
    *,
    fee_minor: int,
    settled_minor: int,
    settlement_currency: str,
    converted_minor: int,
    currency: str,
    transaction_id: str,
) -> str:
    """The memo of a fee settled in another currency and converted at the transaction's rate."""
    return (
        f"fee {format_major(fee_minor, settlement_currency)} {settlement_currency} of "
        f"{format_major(settled_minor, settlement_currency)} {settlement_currency} settled "
        f"= {format_major(converted_minor, currency)} {currency} ({transaction_id})"
    )


def display_memo(kind: str, memo: str) -> str:
    """The memo as people should read it: old-format fee memos restated in major units.

    Any other memo is returned unchanged. Never use the result where a hash is computed.
    """
    if kind != PROCESSOR_FEE or not memo.startswith("fee "):
        return memo
    if found := _OLD_CONVERTED.fullmatch(memo):
        fee, settled_in, settled, _same, converted, currency, rest = found.groups()
        return (
            f"fee {format_major(int(fee), settled_in)} {settled_in} of "
            f"{format_major(int(settled), settled_in)} {settled_in} settled "
            f"= {format_major(int(converted), currency)} {currency} {rest}"
        )
    if found := _OLD_SAME_CURRENCY.fullmatch(memo):
        fee, currency, rest = found.groups()
        return f"fee {format_major(int(fee), currency)} {currency} {rest}"
    return memo
