"""Leaf hashes written straight from column values: the hot loop of verify's PostgreSQL reader.

The reference path (canonical.leaf_record, then a JSON encoder) builds a dict, validates
every field through general checks and serialises it: about 20 µs an entry, most of what
verifying a big ledger cost. :class:`FastLeaves` writes the same RFC 8785 bytes with one
f-string over the few shapes a leaf has, so a million entries cost seconds, not minutes.

It is only ever trusted in one direction. It returns a hash only when it has checked
everything leaf_record checks (safe integers, the kind, currency and digest patterns,
non-empty accounts, balance per currency, reverses < seq, valid Unicode) on values whose
types the query fixes; for anything else (a null memo, evidence that is not a plain list, a
timestamp the query could not turn into microseconds...) it returns None. The caller then
asks the reference path, as it also does whenever the hash differs from the stored one, so
every problem is found and worded by the reference code; the fast path can only save time.
tests/ledger/test_fastleaf.py checks that its bytes equal canonical.leaf_input's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from json.encoder import encode_basestring
from typing import Any

from giving.ledger.canonical import MAX_SAFE_INTEGER, TIMESTAMP_FORMAT

__all__ = ["FastLeaves", "PostingRow"]

PostingRow = tuple[int, str, int, str]
"""(entry_seq, account, amount, currency), as the postings cursor yields them."""

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DAY_MICROS = 86_400_000_000
_DAY_FORMAT = TIMESTAMP_FORMAT.split("T")[0] + "T"  # "%Y-%m-%dT": the part that needs a calendar
_HOURS_MINUTES = [f"{hour:02d}:{minute:02d}:" for hour in range(24) for minute in range(60)]
_KIND = re.compile(r"[a-z][a-z0-9_]*")
_CURRENCY = re.compile(r"[A-Z]{3}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_CACHE_LIMIT = 10_000  # per cache: bounded, so memory does not grow with the ledger
_sha256 = hashlib.sha256


class FastLeaves:
    """Leaf hashes of entry rows, with small caches of what repeats between entries.

    Kinds and currencies are validated once, and accounts, campaigns and days are
    serialised once: a ledger has a few hundred of each, and millions of entries.
    """

    def __init__(self) -> None:
        self._kinds: set[str] = set()
        self._currencies: set[str] = set()
        self._accounts: dict[str, str] = {}
        self._campaigns: dict[str, str] = {}
        self._days: dict[int, str] = {}

    def leaf_hash(
        self,
        seq: int,
        campaign: str | None,
        kind: str,
        micros: int | None,
        ref: str | None,
        memo: str | None,
        reverses: int | None,
        evidence: str,
        commitment: str | None,
        postings: Sequence[PostingRow],
    ) -> bytes | None:
        """The leaf hash of these column values, or None if the reference path must decide.

        ``micros`` is occurred_at in microseconds since 1970 UTC, ``evidence`` the JSON text
        of the column, and every text value is a str from a text column (or None).
        """
        if not 0 <= seq <= MAX_SAFE_INTEGER or micros is None or memo is None:
            return None
        if kind not in self._kinds and not self._new_kind(kind):
            return None
        if reverses is None:
            reverses_text = "null"
        elif 0 <= reverses < seq:
            reverses_text = str(reverses)
        else:
            return None
        if commitment is None:
            commitment_text = "null"
        elif _SHA256_HEX.fullmatch(commitment):
            commitment_text = f'"{commitment}"'
        else:
            return None
        evidence_text = "[]" if evidence == "[]" else _evidence(evidence)
        lines = self._postings(postings)
        moment = self._timestamp(micros)
        if evidence_text is None or lines is None or moment is None:
            return None
        if campaign is None:
            campaign_text = "null"
        else:
            campaign_text = self._campaigns.get(campaign) or self._remember(
                self._campaigns, campaign, encode_basestring(campaign)
            )
        ref_text = "null" if ref is None else encode_basestring(ref)
        text = (
            f'\x00{{"campaign":{campaign_text},"donor_commitment":{commitment_text},'
            f'"evidence":{evidence_text},"kind":"{kind}","memo":{encode_basestring(memo)},'
            f'"occurred_at":"{moment}","postings":[{lines}],"ref":{ref_text},'
            f'"reverses":{reverses_text},"seq":{seq},"v":1}}'
        )
        try:
            data = text.encode("utf-8")  # the leading NUL is RFC 9162's leaf prefix 0x00
        except UnicodeEncodeError:  # a lone surrogate: leaf_record words the refusal
            return None
        return _sha256(data).digest()

    def _postings(self, postings: Sequence[PostingRow]) -> str | None:
        """The members of the ``postings`` array, sorted, once they are known to balance."""
        if len(postings) == 2:  # nearly every entry: one debit, one credit, one currency
            (_, account, amount, currency), (_, other, other_amount, other_currency) = postings
            if (
                currency == other_currency
                and amount + other_amount == 0
                and -MAX_SAFE_INTEGER <= amount <= MAX_SAFE_INTEGER
                and account
                and other
                and (currency in self._currencies or self._new_currency(currency))
            ):
                if (other, other_amount) < (account, amount):  # same currency: sort on the rest
                    account, other, amount, other_amount = other, account, other_amount, amount
                return (
                    f'{self._account(account)}{amount},"currency":"{currency}"}},'
                    f'{self._account(other)}{other_amount},"currency":"{currency}"}}'
                )
        if not postings:
            return None
        totals: dict[str, int] = {}
        lines: list[tuple[str, str, int]] = []
        for _, account, amount, currency in postings:
            if (
                not account
                or not -MAX_SAFE_INTEGER <= amount <= MAX_SAFE_INTEGER
                or not (currency in self._currencies or self._new_currency(currency))
            ):
                return None
            totals[currency] = totals.get(currency, 0) + amount
            lines.append((account, currency, amount))
        if any(totals.values()):
            return None
        lines.sort()  # leaf_record's order: account, then currency, then amount
        return ",".join(
            f'{self._account(account)}{amount},"currency":"{currency}"}}'
            for account, currency, amount in lines
        )

    def _account(self, account: str) -> str:
        """The start of a posting object, up to its amount."""
        start = self._accounts.get(account)
        if start is None:
            start = f'{{"account":{encode_basestring(account)},"amount":'
            self._remember(self._accounts, account, start)
        return start

    def _timestamp(self, micros: int) -> str | None:
        """canonical.format_timestamp of the instant: cached dates, table lookups for the time.

        The date comes from the reference strftime (once per day); hours and minutes from a
        table, seconds and microseconds from the digits of one integer. That is exact, since
        UTC days have no leap seconds in Python or SQL, and four times cheaper than the
        formatting it replaces.
        """
        day, rest = divmod(micros, _DAY_MICROS)
        date = self._days.get(day)
        if date is None:
            try:
                midnight = _EPOCH + dt.timedelta(days=day)
            except OverflowError:
                return None
            date = self._remember(self._days, day, midnight.strftime(_DAY_FORMAT))
        minute, within = divmod(rest, 60_000_000)
        digits = str(100_000_000 + within)  # "1", seconds (2 digits), microseconds (6)
        return f"{date}{_HOURS_MINUTES[minute]}{digits[1:3]}.{digits[3:]}Z"

    def _new_kind(self, kind: str) -> bool:
        return _learn(kind, _KIND, self._kinds)

    def _new_currency(self, currency: str) -> bool:
        return _learn(currency, _CURRENCY, self._currencies)

    @staticmethod
    def _remember(cache: dict[Any, str], key: Any, value: str) -> str:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[key] = value
        return value


def _learn(word: str, pattern: re.Pattern[str], known: set[str]) -> bool:
    """Whether ``word`` fits ``pattern``; remembered in ``known`` so it is matched once."""
    if not pattern.fullmatch(word):
        return False
    if len(known) < _CACHE_LIMIT:
        known.add(word)
    return True


def _evidence(text: str) -> str | None:
    """The ``evidence`` array of a non-empty column: sorted lower-case SHA-256 hex digests."""
    try:
        digests = json.loads(text)
    except ValueError:
        return None
    if type(digests) is not list or not all(
        type(digest) is str and _SHA256_HEX.fullmatch(digest) for digest in digests
    ):
        return None
    return "[" + ",".join(f'"{digest}"' for digest in sorted(digests)) + "]"
