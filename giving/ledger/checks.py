"""Bookkeeping rules that need the ledger: idempotency, reversals, refund ceilings, payouts.

They run inside the sequencer, after the ledger lock, against a :class:`LedgerView`: the
sealed ledger as stored plus the entries accepted earlier in the same batch. So a batch is
checked in memory and the database is read once per thing asked, not once per entry.
The rules themselves (what may be reversed, how much may be refunded) are documented in
giving/ledger/rules.py and on ``append_entry``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.ledger import rules
from giving.ledger.canonical import Posting
from giving.ledger.errors import InvalidEntry, RefConflict, UnknownCampaign
from giving.ledger.models import CampaignTotals, LedgerEntry, LedgerPosting
from giving.ledger.rules import EntryDraft
from giving.money import Money

_campaigns = sa.table("campaigns", sa.column("public_id", sa.String))


@dataclass(frozen=True)
class EntryFacts:
    """What the rules need to know about an entry already in the ledger (or this batch)."""

    seq: int
    campaign: str
    kind: str
    reverses: int | None
    ref: str | None
    postings: tuple[Posting, ...]

    def fund_total(self, currency: str) -> int:
        account = rules.fund_account(self.campaign)
        return sum(
            p.amount for p in self.postings if p.account == account and p.currency == currency
        )


class LedgerView:
    """The sealed ledger (read under the lock) plus entries accepted earlier in this batch."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._campaigns: dict[str, bool] = {}
        self._refs: dict[str, int | None] = {}
        self._entries: dict[int, EntryFacts | None] = {}
        self._dependents: dict[int, list[int]] = {}
        self._fund: dict[tuple[str, str], int] = {}  # as stored
        self._fund_delta: dict[tuple[str, str], int] = defaultdict(int)  # from this batch
        self._batch_dependents: dict[int, list[int]] = defaultdict(list)

    # -------------------------------------------------------------- reading, with caching

    def prefetch_campaigns(self, drafts: Sequence[EntryDraft]) -> None:
        """Whether the drafts' campaigns exist, in one query; no lock needed (never deleted)."""
        campaigns = {d.campaign for d in drafts} - self._campaigns.keys()
        if campaigns:
            found = set(
                self.session.scalars(
                    sa.select(_campaigns.c.public_id).where(_campaigns.c.public_id.in_(campaigns))
                )
            )
            self._campaigns.update({c: c in found for c in campaigns})

    def prefetch(self, drafts: Sequence[EntryDraft]) -> None:
        """Load in a few queries what checking ``drafts`` will ask for."""
        self.prefetch_campaigns(drafts)
        refs = {d.ref for d in drafts if d.ref is not None} - self._refs.keys()
        if refs:
            rows = self.session.execute(
                sa.select(LedgerEntry.ref, LedgerEntry.seq).where(LedgerEntry.ref.in_(refs))
            )
            known = {str(ref): int(seq) for ref, seq in rows}
            self._refs.update({ref: known.get(ref) for ref in refs})
            self._load_entries(known.values())
        targets = {d.reverses for d in drafts if d.reverses is not None}
        self._load_entries(targets)

    def _load_entries(self, seqs: Iterable[int]) -> None:
        wanted = set(seqs) - self._entries.keys()
        if not wanted:
            return
        rows = self.session.execute(
            sa.select(
                LedgerEntry.seq,
                LedgerEntry.campaign,
                LedgerEntry.kind,
                LedgerEntry.reverses,
                LedgerEntry.ref,
            ).where(LedgerEntry.seq.in_(wanted))
        ).all()
        postings: dict[int, list[Posting]] = defaultdict(list)
        for seq, account, amount, currency in self.session.execute(
            sa.select(
                LedgerPosting.entry_seq,
                LedgerPosting.account,
                LedgerPosting.amount,
                LedgerPosting.currency,
            )
            .where(LedgerPosting.entry_seq.in_(wanted))
            .order_by(LedgerPosting.entry_seq, LedgerPosting.line)
        ):
            postings[int(seq)].append(Posting(account, int(amount), currency))
        for seq in wanted:
            self._entries[seq] = None
        for seq, campaign, kind, reverses, ref in rows:
            self._entries[int(seq)] = EntryFacts(
                int(seq), campaign, kind, reverses, ref, tuple(postings[int(seq)])
            )

    def campaign_exists(self, campaign: str) -> bool:
        if campaign not in self._campaigns:
            self.prefetch_campaign(campaign)
        return self._campaigns[campaign]

    def prefetch_campaign(self, campaign: str) -> None:
        found = self.session.scalar(
            sa.select(_campaigns.c.public_id).where(_campaigns.c.public_id == campaign)
        )
        self._campaigns[campaign] = found is not None

    def seq_of_ref(self, ref: str) -> int | None:
        if ref not in self._refs:
            self._refs[ref] = self.session.scalar(
                sa.select(LedgerEntry.seq).where(LedgerEntry.ref == ref)
            )
        return self._refs[ref]

    def entry(self, seq: int) -> EntryFacts | None:
        self._load_entries([seq])
        return self._entries[seq]

    def dependents(self, seq: int) -> list[EntryFacts]:
        """Entries whose ``reverses`` names ``seq`` (reversals, refunds, disputes, wins)."""
        if seq not in self._dependents:
            seqs = list(
                self.session.scalars(sa.select(LedgerEntry.seq).where(LedgerEntry.reverses == seq))
            )
            self._dependents[seq] = [int(s) for s in seqs]
            self._load_entries(self._dependents[seq])
        found = [self._entries[s] for s in self._dependents[seq] + self._batch_dependents[seq]]
        return [facts for facts in found if facts is not None]

    def reversal_of(self, seq: int) -> EntryFacts | None:
        for facts in self.dependents(seq):
            if facts.kind == rules.REVERSAL:
                return facts
        return None

    def live_dependents(self, seq: int) -> list[EntryFacts]:
        return [
            facts
            for facts in self.dependents(seq)
            if facts.kind != rules.REVERSAL and self.reversal_of(facts.seq) is None
        ]

    def fund_balance(self, campaign: str, currency: str) -> int:
        """The fund's balance (credit negative), from the stored totals the sequencer keeps
        (giving/ledger/figures.py), so checking a disbursement does not sum every posting."""
        key = (campaign, currency)
        if key not in self._fund:
            available = self.session.scalar(
                sa.select(CampaignTotals.available).where(
                    CampaignTotals.campaign == campaign, CampaignTotals.currency == currency
                )
            )
            self._fund[key] = -int(available or 0)
        return self._fund[key] + self._fund_delta[key]

    # -------------------------------------------------------------- the batch overlay

    def record(self, facts: EntryFacts) -> None:
        """Make an entry accepted in this batch visible to the checks of later drafts."""
        self._entries[facts.seq] = facts
        if facts.ref is not None:
            self._refs[facts.ref] = facts.seq
        if facts.reverses is not None:
            self._batch_dependents[facts.reverses].append(facts.seq)
        fund = rules.fund_account(facts.campaign)
        for posting in facts.postings:
            if posting.account == fund:
                self._fund_delta[(facts.campaign, posting.currency)] += posting.amount


# ------------------------------------------------------------------------------ the rules


def check_against_ledger(view: LedgerView, draft: EntryDraft) -> int | None:
    """Apply the rules that need the ledger; return the seq of an identical earlier entry.

    A repeated ``ref`` is the same external event delivered again: it returns the entry
    already recorded, provided campaign, kind, postings and ``reverses`` agree (memo and
    time may differ between deliveries); anything else reusing the ref is a conflict.
    """
    if not view.campaign_exists(draft.campaign):
        raise UnknownCampaign(
            _("There is no campaign %(campaign)s", campaign=draft.campaign), field="campaign"
        )
    if draft.ref is not None:
        existing = view.seq_of_ref(draft.ref)
        if existing is not None:
            facts = view.entry(existing)
            assert facts is not None
            if (facts.campaign, facts.kind, facts.postings, facts.reverses) == draft.substance():
                return existing
            raise RefConflict(
                _(
                    "The reference %(ref)r is already recorded as entry %(seq)d, "
                    "with different contents",
                    ref=draft.ref,
                    seq=existing,
                ),
                field="ref",
            )
    if draft.reverses is not None:
        _check_reverses(view, draft, draft.reverses)
    if draft.kind == rules.DISBURSEMENT:
        for currency in sorted(draft.currencies()):
            available = -view.fund_balance(draft.campaign, currency)
            amount = draft.fund_total(currency)
            if amount > available:
                raise InvalidEntry(
                    _(
                        "The disbursement of %(amount)s exceeds the %(available)s available "
                        "to campaign %(campaign)s",
                        amount=Money(amount, currency),
                        available=Money(available, currency),
                        campaign=draft.campaign,
                    ),
                    field="postings",
                )
    return None


def _check_reverses(view: LedgerView, draft: EntryDraft, target_seq: int) -> None:
    target = view.entry(target_seq)
    if target is None:
        raise InvalidEntry(
            _(
                "There is no entry %(seq)d for this %(kind)s to undo",
                seq=target_seq,
                kind=draft.kind,
            ),
            field="reverses",
        )
    if target.campaign != draft.campaign:
        raise InvalidEntry(
            _(
                "Entry %(seq)d belongs to campaign %(campaign)s, not %(draft_campaign)s",
                seq=target_seq,
                campaign=target.campaign,
                draft_campaign=draft.campaign,
            ),
            field="reverses",
        )
    if draft.kind == rules.REVERSAL:
        _check_reversal(view, draft, target)
        return
    expected = rules.SHAPES[draft.kind].reverses_kind
    if target.kind != expected:
        raise InvalidEntry(
            _(
                "A %(kind)s must name a %(expected)s, but entry %(seq)d is a %(actual)s",
                kind=draft.kind,
                expected=expected,
                seq=target_seq,
                actual=target.kind,
            ),
            field="reverses",
        )
    reversal = view.reversal_of(target_seq)
    if reversal is not None:
        raise InvalidEntry(
            _(
                "Entry %(seq)d was reversed by entry %(reversal)d",
                seq=target_seq,
                reversal=reversal.seq,
            ),
            field="reverses",
        )
    for currency in sorted(draft.currencies()):
        amount = abs(draft.fund_total(currency))
        remaining = _remaining(view, target, currency)
        if amount > remaining:
            raise InvalidEntry(
                _(
                    "The %(kind)s of %(amount)s exceeds the %(remaining)s of entry %(seq)d "
                    "not yet refunded or disputed",
                    kind=draft.kind,
                    amount=Money(amount, currency),
                    remaining=Money(remaining, currency),
                    seq=target_seq,
                )
                if target.kind == rules.DONATION
                else _(
                    "The %(kind)s of %(amount)s exceeds the %(remaining)s of dispute %(seq)d "
                    "not yet won back",
                    kind=draft.kind,
                    amount=Money(amount, currency),
                    remaining=Money(remaining, currency),
                    seq=target_seq,
                ),
                field="postings",
            )


def _remaining(view: LedgerView, target: EntryFacts, currency: str) -> int:
    """How much of a donation can still be refunded or disputed, or of a dispute won back."""
    if target.kind == rules.DONATION:
        remaining = -target.fund_total(currency)
        for dependent in view.live_dependents(target.seq):
            remaining -= dependent.fund_total(currency)  # refunds and disputes debit the fund
            if dependent.kind == rules.DISPUTE:
                for won in view.live_dependents(dependent.seq):
                    remaining -= won.fund_total(currency)  # a win credits the fund back
        return remaining
    remaining = target.fund_total(currency)
    for won in view.live_dependents(target.seq):
        remaining += won.fund_total(currency)
    return remaining


def _check_reversal(view: LedgerView, draft: EntryDraft, target: EntryFacts) -> None:
    if target.kind == rules.REVERSAL:
        raise InvalidEntry(
            _(
                "Entry %(seq)d is itself a reversal and cannot be reversed; append the "
                "original entry again instead",
                seq=target.seq,
            ),
            field="reverses",
        )
    reversal = view.reversal_of(target.seq)
    if reversal is not None:
        raise InvalidEntry(
            _(
                "Entry %(seq)d is already reversed (by entry %(reversal)d)",
                seq=target.seq,
                reversal=reversal.seq,
            ),
            field="reverses",
        )
    blocking = view.live_dependents(target.seq)
    if blocking:
        names = ", ".join(f"{d.kind} {d.seq}" for d in blocking)
        raise InvalidEntry(
            _(
                "Entry %(seq)d still has %(names)s against it; reverse those first",
                seq=target.seq,
                names=names,
            ),
            field="reverses",
        )
    negated = sorted(
        (Posting(p.account, -p.amount, p.currency) for p in target.postings),
        key=lambda p: (p.account, p.currency, p.amount),
    )
    if tuple(negated) != draft.postings:
        raise InvalidEntry(
            _(
                "A reversal's postings must exactly negate those of entry %(seq)d",
                seq=target.seq,
            ),
            field="postings",
        )
