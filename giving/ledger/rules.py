"""The ledger's bookkeeping grammar: entry kinds, account names, and checks that need no DB.

Sign convention (DESIGN §3, docs/ledger-format.md): debit positive, credit negative, integer
minor units. A campaign's fund is a *credit* balance: money held for campaign C is
``-balance("campaign:C:fund")``. Every kind moves money between the campaign's fund and one
platform-wide counter-account, so the fund alone tells a campaign's story:

================  ==========================  ==========================  ===================
kind              debit (+)                   credit (-)                  ``reverses``
================  ==========================  ==========================  ===================
donation          processor:<p>               campaign:<id>:fund          none
processor_fee     campaign:<id>:fund          processor:<p>               none
platform_fee      campaign:<id>:fund          income:platform_fees        none
refund            campaign:<id>:fund          processor:<p>               the donation
dispute           campaign:<id>:fund          dispute:held                the donation
dispute_won       dispute:held                campaign:<id>:fund          the dispute
disbursement      campaign:<id>:fund          payee:disbursed             none
reversal          exactly the negation of the reversed entry's postings   the entry undone
================  ==========================  ==========================  ===================

Accounts: ``campaign:<public id>:fund`` (only the entry's own campaign), ``processor:stripe``
and ``processor:sandbox`` (cash at the payment processor), ``income:platform_fees``,
``dispute:held`` (money frozen by a card dispute), ``payee:disbursed`` (paid out to the
campaign's payees). Rules that need the database (idempotency, refund ceilings, reversals,
available balance) live in giving/ledger/checks.py.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from giving.ledger.canonical import Posting
from giving.ledger.errors import InvalidEntry
from giving.money import MAX_AMOUNT_MINOR, SUPPORTED_CURRENCIES

DONATION = "donation"
PROCESSOR_FEE = "processor_fee"
PLATFORM_FEE = "platform_fee"
REFUND = "refund"
DISPUTE = "dispute"
DISPUTE_WON = "dispute_won"
DISBURSEMENT = "disbursement"
REVERSAL = "reversal"
KINDS: tuple[str, ...] = (
    DONATION,
    PROCESSOR_FEE,
    PLATFORM_FEE,
    REFUND,
    DISPUTE,
    DISPUTE_WON,
    DISBURSEMENT,
    REVERSAL,
)

FUND = "fund"  # stands for campaign:<the entry's campaign>:fund in the shapes below
PROCESSORS: tuple[str, ...] = ("stripe", "sandbox")
PROCESSOR_ACCOUNTS = frozenset(f"processor:{name}" for name in PROCESSORS)
PLATFORM_FEES_ACCOUNT = "income:platform_fees"
DISPUTE_ACCOUNT = "dispute:held"
PAYEE_ACCOUNT = "payee:disbursed"
PLATFORM_ACCOUNTS: frozenset[str] = PROCESSOR_ACCOUNTS | {
    PLATFORM_FEES_ACCOUNT,
    DISPUTE_ACCOUNT,
    PAYEE_ACCOUNT,
}
_PROCESSOR = "processor"  # any processor account


@dataclass(frozen=True)
class Shape:
    """Which accounts a kind debits and credits, and what its ``reverses`` must point at."""

    debit: str
    credit: str
    reverses_kind: str | None = None


SHAPES: dict[str, Shape] = {
    DONATION: Shape(debit=_PROCESSOR, credit=FUND),
    PROCESSOR_FEE: Shape(debit=FUND, credit=_PROCESSOR),
    PLATFORM_FEE: Shape(debit=FUND, credit=PLATFORM_FEES_ACCOUNT),
    REFUND: Shape(debit=FUND, credit=_PROCESSOR, reverses_kind=DONATION),
    DISPUTE: Shape(debit=FUND, credit=DISPUTE_ACCOUNT, reverses_kind=DONATION),
    DISPUTE_WON: Shape(debit=DISPUTE_ACCOUNT, credit=FUND, reverses_kind=DISPUTE),
    DISBURSEMENT: Shape(debit=FUND, credit=PAYEE_ACCOUNT),
}

CAMPAIGN_ID = re.compile(r"[A-Za-z0-9_-]{1,24}")
_CAMPAIGN_ACCOUNT = re.compile(r"campaign:([A-Za-z0-9_-]{1,24}):fund")
REF_MAX = 200
MEMO_MAX = 500
EVIDENCE_MAX = 50
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def fund_account(campaign: str) -> str:
    """The account holding campaign ``campaign``'s money."""
    return f"campaign:{campaign}:fund"


def is_known_account(account: str) -> bool:
    """Whether ``account`` is in the grammar (any campaign's fund, or a platform account)."""
    return account in PLATFORM_ACCOUNTS or _CAMPAIGN_ACCOUNT.fullmatch(account) is not None


@dataclass(frozen=True)
class EntryDraft:
    """An entry that passed every check that needs no database, ready to be sequenced."""

    campaign: str
    kind: str
    postings: tuple[Posting, ...]  # in the leaf's canonical order
    occurred_at: dt.datetime
    ref: str | None
    memo: str
    reverses: int | None
    evidence: tuple[str, ...]  # sorted
    donor_commitment: str | None

    def fund_total(self, currency: str) -> int:
        """Net posting to this entry's campaign fund in ``currency`` (negative = money in)."""
        account = fund_account(self.campaign)
        return sum(
            p.amount for p in self.postings if p.account == account and p.currency == currency
        )

    def currencies(self) -> set[str]:
        return {p.currency for p in self.postings}

    def substance(self) -> tuple[Any, ...]:
        """What must match for a repeated ref to be the same event (not memo or time)."""
        return (self.campaign, self.kind, self.postings, self.reverses)

    def to_payload(self) -> dict[str, Any]:
        """JSON form for the seal queue."""
        return {
            "campaign": self.campaign,
            "kind": self.kind,
            "postings": [list(p) for p in self.postings],
            "occurred_at": self.occurred_at.isoformat(),
            "ref": self.ref,
            "memo": self.memo,
            "reverses": self.reverses,
            "evidence": list(self.evidence),
            "donor_commitment": self.donor_commitment,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> EntryDraft:
        """Rebuild (and re-check) a draft read back from the seal queue."""
        return draft_entry(
            campaign=payload["campaign"],
            kind=payload["kind"],
            postings=[Posting(*p) for p in payload["postings"]],
            occurred_at=dt.datetime.fromisoformat(payload["occurred_at"]),
            ref=payload["ref"],
            memo=payload["memo"],
            reverses=payload["reverses"],
            evidence=payload["evidence"],
            donor_commitment=payload["donor_commitment"],
        )


def draft_entry(
    *,
    campaign: str,
    kind: str,
    postings: Sequence[Posting | tuple[Any, Any, Any]],
    occurred_at: dt.datetime,
    ref: str | None = None,
    memo: str = "",
    reverses: int | None = None,
    evidence: Iterable[str] = (),
    donor_commitment: str | None = None,
) -> EntryDraft:
    """Check everything about an entry that does not depend on the rest of the ledger."""
    if not isinstance(campaign, str) or not CAMPAIGN_ID.fullmatch(campaign):
        raise InvalidEntry(
            _("Campaign id %(campaign)r is not a campaign public id", campaign=campaign),
            field="campaign",
        )
    if kind not in KINDS:
        raise InvalidEntry(
            _(
                "Unknown entry kind %(kind)r; use one of %(kinds)s",
                kind=kind,
                kinds=", ".join(KINDS),
            ),
            field="kind",
        )
    if not isinstance(occurred_at, dt.datetime) or occurred_at.utcoffset() is None:
        raise InvalidEntry(_("occurred_at must be a timezone-aware datetime"), field="occurred_at")
    occurred_at = occurred_at.astimezone(dt.UTC)
    if ref is not None and (not isinstance(ref, str) or not ref.strip() or len(ref) > REF_MAX):
        raise InvalidEntry(
            _("ref must be a non-empty string of at most %(count)d characters", count=REF_MAX),
            field="ref",
        )
    if not isinstance(memo, str) or len(memo) > MEMO_MAX:
        raise InvalidEntry(
            _("memo must be text of at most %(count)d characters", count=MEMO_MAX), field="memo"
        )
    if reverses is not None and (type(reverses) is not int or reverses < 0):
        raise InvalidEntry(
            _("reverses must be the seq (a whole number) of an earlier entry"), field="reverses"
        )
    evidence_list = _checked_evidence(evidence)
    if donor_commitment is not None and (
        not isinstance(donor_commitment, str) or not _SHA256_HEX.fullmatch(donor_commitment)
    ):
        raise InvalidEntry(
            _("donor_commitment must be 64 lower-case hex digits"), field="donor_commitment"
        )
    checked = [_checked_posting(p) for p in postings]
    if not checked:
        raise InvalidEntry(_("An entry needs at least one posting"), field="postings")
    _check_balanced(checked)
    _check_shape(kind, campaign, checked, reverses)
    checked.sort(key=lambda p: (p.account, p.currency, p.amount))
    draft = EntryDraft(
        campaign=campaign,
        kind=kind,
        postings=tuple(checked),
        occurred_at=occurred_at,
        ref=ref,
        memo=memo,
        reverses=reverses,
        evidence=tuple(sorted(evidence_list)),
        donor_commitment=donor_commitment,
    )
    # Everything else canonical.leaf_record checks is implied by the checks above, except that
    # text must be valid Unicode (a lone surrogate cannot be encoded as UTF-8).
    texts = [campaign, memo, ref or "", *(p.account for p in checked)]
    try:
        for text in texts:
            text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidEntry(
            _("The entry cannot be published: its text is not valid Unicode")
        ) from None
    return draft


def leaf_fields(draft: EntryDraft) -> dict[str, Any]:
    """Keyword arguments of canonical.leaf_record for a draft (all but ``seq``)."""
    return {
        "campaign": draft.campaign,
        "kind": draft.kind,
        "occurred_at": draft.occurred_at,
        "postings": draft.postings,
        "ref": draft.ref,
        "memo": draft.memo,
        "reverses": draft.reverses,
        "evidence": draft.evidence,
        "donor_commitment": draft.donor_commitment,
    }


def _checked_evidence(evidence: Iterable[str]) -> list[str]:
    if isinstance(evidence, str):
        raise InvalidEntry(
            _("evidence is a list of SHA-256 hex digests, not one string"), field="evidence"
        )
    digests = list(evidence)
    if len(digests) > EVIDENCE_MAX:
        raise InvalidEntry(
            _("At most %(count)d evidence digests per entry", count=EVIDENCE_MAX), field="evidence"
        )
    for digest in digests:
        if not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest):
            raise InvalidEntry(
                _(
                    "Evidence %(digest)r is not a SHA-256 digest (64 lower-case hex digits)",
                    digest=digest,
                ),
                field="evidence",
            )
    if len(set(digests)) != len(digests):
        raise InvalidEntry(_("The same evidence digest is listed twice"), field="evidence")
    return digests


def _checked_posting(posting: Posting | tuple[Any, Any, Any]) -> Posting:
    try:
        account, amount, currency = posting
    except (TypeError, ValueError):
        raise InvalidEntry(
            _("A posting is (account, amount, currency), not %(posting)r", posting=posting),
            field="postings",
        ) from None
    # type() rather than isinstance(): bool is an int subclass, and True is not an amount.
    if type(amount) is not int:
        raise InvalidEntry(
            _(
                "Amounts are whole numbers of minor units (fen, cents); %(amount)r (%(type)s) "
                "on %(account)r is not",
                amount=amount,
                type=type(amount).__name__,
                account=account,
            ),
            field="postings",
        )
    if amount == 0:
        raise InvalidEntry(
            _("The posting to %(account)r has a zero amount", account=account), field="postings"
        )
    if abs(amount) > MAX_AMOUNT_MINOR:
        raise InvalidEntry(
            _("The amount %(amount)d on %(account)r is too large", amount=amount, account=account),
            field="postings",
        )
    if currency not in SUPPORTED_CURRENCIES:
        raise InvalidEntry(
            _(
                "Unknown currency %(currency)r; use one of %(currencies)s",
                currency=currency,
                currencies=", ".join(SUPPORTED_CURRENCIES),
            ),
            field="postings",
        )
    if not isinstance(account, str) or not is_known_account(account):
        raise InvalidEntry(_("Unknown account %(account)r", account=account), field="postings")
    return Posting(account, amount, currency)


def _check_balanced(postings: Sequence[Posting]) -> None:
    totals: dict[str, int] = {}
    for posting in postings:
        totals[posting.currency] = totals.get(posting.currency, 0) + posting.amount
    unbalanced = {currency: total for currency, total in totals.items() if total}
    if unbalanced:
        detail = ", ".join(f"{c} {t:+d}" for c, t in sorted(unbalanced.items()))
        raise InvalidEntry(
            _(
                "The postings do not balance: they must sum to zero per currency (%(detail)s)",
                detail=detail,
            ),
            field="postings",
        )


def _role_matches(role: str, account: str, campaign: str) -> bool:
    if role == FUND:
        return account == fund_account(campaign)
    if role == _PROCESSOR:
        return account in PROCESSOR_ACCOUNTS
    return account == role


def _describe(role: str, campaign: str) -> str:
    if role == FUND:
        return fund_account(campaign)
    if role == _PROCESSOR:
        return " or ".join(sorted(PROCESSOR_ACCOUNTS))
    return role


def _check_shape(
    kind: str, campaign: str, postings: Sequence[Posting], reverses: int | None
) -> None:
    for posting in postings:
        match = _CAMPAIGN_ACCOUNT.fullmatch(posting.account)
        if match and match.group(1) != campaign:
            raise InvalidEntry(
                _(
                    "An entry of campaign %(campaign)s cannot post to %(account)s",
                    campaign=campaign,
                    account=posting.account,
                ),
                field="postings",
            )
    if kind == REVERSAL:
        if reverses is None:
            raise InvalidEntry(
                _("A reversal must name the seq of the entry it reverses"), field="reverses"
            )
        return  # its postings are checked against the reversed entry's
    shape = SHAPES[kind]
    if shape.reverses_kind is not None and reverses is None:
        raise InvalidEntry(
            _(
                "A %(kind)s must name the %(target)s it undoes (reverses=<seq>)",
                kind=kind,
                target=shape.reverses_kind,
            ),
            field="reverses",
        )
    if shape.reverses_kind is None and reverses is not None:
        raise InvalidEntry(
            _("A %(kind)s does not reverse another entry", kind=kind), field="reverses"
        )
    for posting in postings:
        role = shape.debit if posting.amount > 0 else shape.credit
        if not _role_matches(role, posting.account, campaign):
            wanted = _describe(role, campaign)
            message = (
                _(
                    "A %(kind)s must debit %(wanted)s, not %(account)s",
                    kind=kind,
                    wanted=wanted,
                    account=posting.account,
                )
                if posting.amount > 0
                else _(
                    "A %(kind)s must credit %(wanted)s, not %(account)s",
                    kind=kind,
                    wanted=wanted,
                    account=posting.account,
                )
            )
            raise InvalidEntry(
                message,
                field="postings",
            )
