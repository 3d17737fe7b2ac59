"""The children's registry: registering, reading (logged), editing and erasing a child.

Rules worth knowing:

* Every function takes the actor and checks it against ``giving.impact.access``: strangers
  get NotFound (the registry does not exist for them), read-only viewers PermissionDenied.
* Reading a child is logged before the record is returned, in the caller's transaction: a
  list logs one ``listed`` row per child shown, the full (decrypted) record a ``viewed`` row.
  Entry points commit even for reads, so the log is never lost with a rolled-back request.
* Changes are written to the audit log without any personal data: the child's random ref
  and which fields changed, never their values.
* Erasure wipes the code and every encrypted field for good. A child some disbursement
  reached keeps its coarse attributes (age band, sex, province) so published figures stay
  reproducible; any other tombstone keeps nothing. Ledger entries hold only digests, so
  they remain valid either way.
* Evidence files showing a child rest on the guardian's consent: when an edit withdraws it,
  or the record is erased, every such file is withheld (``giving.disbursements.consent``)
  in the same transaction, and its stored bytes are deleted once that commits.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from dataclasses import fields as dataclass_fields

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from giving.accounts.models import User
from giving.audit.services import record_action
from giving.campaigns.models import Campaign
from giving.db import utcnow
from giving.disbursements.consent import withhold_evidence_showing
from giving.disbursements.models import WithheldReason
from giving.errors import Conflict, NotFound
from giving.impact import fields
from giving.impact.access import require_manager, require_not_frozen, require_viewer
from giving.impact.crypto import FieldCipher
from giving.impact.fields import ChildValues
from giving.impact.models import (
    AccessKind,
    BeneficiaryChild,
    ChildAccessLog,
    DisbursementBeneficiary,
)
from giving.impact.records import ChildRecord, decrypt_record, seal, values_from_record
from giving.storage import FileStore

MAX_CHILDREN_PER_CAMPAIGN = 5_000
REGISTRY_PAGE_SIZE = 100
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and copied by hand
_CODE_DIGITS = "".join(char for char in _CODE_ALPHABET if char.isdigit())
_CODE_LETTERS = "".join(char for char in _CODE_ALPHABET if char.isalpha())
_FIELD_NAMES = tuple(field.name for field in dataclass_fields(ChildValues))


# --- the access log ----------------------------------------------------------------------


def log_reads(
    session: Session,
    *,
    actor: User,
    campaign: Campaign,
    children: Sequence[BeneficiaryChild],
    kind: AccessKind,
) -> None:
    now = utcnow()
    session.add_all(
        ChildAccessLog(
            occurred_at=now,
            actor_id=actor.id,
            campaign_id=campaign.id,
            child_id=child.id,
            kind=kind.value,
        )
        for child in children
    )
    session.flush()


# --- lookups -----------------------------------------------------------------------------


def live_children_query(campaign: Campaign) -> sa.Select[BeneficiaryChild]:
    return (
        sa.select(BeneficiaryChild)
        .where(BeneficiaryChild.campaign_id == campaign.id, BeneficiaryChild.erased_at.is_(None))
        .order_by(BeneficiaryChild.code)
    )


def _child(session: Session, campaign: Campaign, ref: str) -> BeneficiaryChild:
    child = session.scalar(
        sa.select(BeneficiaryChild).where(
            BeneficiaryChild.ref == ref,
            BeneficiaryChild.campaign_id == campaign.id,
            BeneficiaryChild.erased_at.is_(None),
        )
    )
    if child is None:
        raise NotFound(_("We could not find that child's record."))
    return child


@dataclass(frozen=True, slots=True)
class ChildrenPage:
    """One page of the registry, cut by code (the unique, indexed key), with the codes to
    pass back as ``before``/``after`` for the pages either side (None where there are none)."""

    children: list[BeneficiaryChild]
    before_first: str | None
    after_last: str | None


def list_children(
    session: Session,
    *,
    actor: User | None,
    campaign: Campaign,
    after: str | None = None,
    before: str | None = None,
    per_page: int = REGISTRY_PAGE_SIZE,
) -> ChildrenPage:
    """One page of the registry's lines (nothing decrypted); each child shown is logged.

    ``after`` a code gives the page that follows it, ``before`` the one that precedes it.
    """
    viewer = require_viewer(session, actor, campaign)
    query = live_children_query(campaign)
    if before is not None:
        query = (
            query.where(BeneficiaryChild.code < before)
            .order_by(None)
            .order_by(BeneficiaryChild.code.desc())
        )
    elif after is not None:
        query = query.where(BeneficiaryChild.code > after)
    rows = list(session.scalars(query.limit(per_page + 1)))
    more = len(rows) > per_page
    children = rows[:per_page]
    if before is not None:
        children.reverse()
        if not children:  # nothing precedes it: the first page
            return list_children(session, actor=actor, campaign=campaign, per_page=per_page)
    log_reads(session, actor=viewer, campaign=campaign, children=children, kind=AccessKind.LISTED)
    first_page = (before is None and after is None) or (before is not None and not more)
    last_page = before is None and not more
    return ChildrenPage(
        children,
        before_first=None if first_page or not children else children[0].code,
        after_last=None if last_page or not children else children[-1].code,
    )


def read_child(
    session: Session,
    *,
    actor: User | None,
    campaign: Campaign,
    ref: str,
    cipher: FieldCipher,
    kind: AccessKind = AccessKind.VIEWED,
) -> ChildRecord:
    """One child's full record, decrypted, with the read logged."""
    viewer = require_viewer(session, actor, campaign)
    if kind is AccessKind.EDIT_FORM:
        require_manager(session, actor, campaign)
    child = _child(session, campaign, ref)
    log_reads(session, actor=viewer, campaign=campaign, children=[child], kind=kind)
    return decrypt_record(cipher, child)


# --- registering and editing -------------------------------------------------------------


def new_ref() -> str:
    return secrets.token_hex(8)


def codes_in_use_by(session: Session, campaign: Campaign) -> set[str]:
    return set(
        session.scalars(
            sa.select(BeneficiaryChild.code).where(
                BeneficiaryChild.campaign_id == campaign.id, BeneficiaryChild.code.is_not(None)
            )
        )
    )


def generate_code(taken: set[str]) -> str:
    """A fresh "C-XXXX" code not in ``taken``; longer ones once short ones grow scarce."""
    for length in (4, 4, 4, 4, 4, 4, 4, 4, 6, 6, 6, 6, 8):
        code = "C-" + _mixed_characters(length)
        if code not in taken:
            return code
    raise RuntimeError("could not generate an unused child code")  # pragma: no cover


def _mixed_characters(length: int) -> str:
    """``length`` characters of the code alphabet, at least one digit and one letter.

    Generated codes mix letters and digits, like organisers' own (fields.clean_code). Drawing
    and retrying until a code happened to mix failed about once in 12,000 codes (when eight
    draws in a row were all letters), so the mix is built in: one digit, one letter, the rest
    from the whole alphabet, in a random order.
    """
    picks = [secrets.choice(_CODE_DIGITS), secrets.choice(_CODE_LETTERS)]
    picks += [secrets.choice(_CODE_ALPHABET) for _ in range(length - 2)]
    shuffled = []
    while picks:
        shuffled.append(picks.pop(secrets.randbelow(len(picks))))
    return "".join(shuffled)


def _count_live(session: Session, campaign: Campaign) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count(BeneficiaryChild.id)).where(
                BeneficiaryChild.campaign_id == campaign.id,
                BeneficiaryChild.erased_at.is_(None),
            )
        )
        or 0
    )


def check_values(values: ChildValues) -> ChildValues:
    """Run every field check on ``values`` (already-typed values from a form or a row)."""
    consent = fields.clean_consent(values.consent)
    return ChildValues(
        code=fields.clean_code(values.code),
        age_band=fields.clean_age_band(values.age_band),
        sex=fields.clean_sex(values.sex),
        province=fields.clean_province(values.province),
        city=fields.clean_city(values.city),
        needs=fields.clean_needs(values.needs),
        needs_detail=fields.clean_free_text(
            values.needs_detail, field="needs_detail", maximum=fields.NEEDS_DETAIL_MAX
        ),
        consent=consent,
        consent_date=fields.clean_consent_date(consent, values.consent_date),
        notes=fields.clean_free_text(values.notes, field="notes", maximum=fields.NOTES_MAX),
    )


def _apply(cipher: FieldCipher, child: BeneficiaryChild, values: ChildValues) -> None:
    child.age_band = values.age_band
    child.sex = values.sex
    child.province = values.province
    child.needs = ",".join(values.needs)
    child.consent = values.consent
    child.consent_date = values.consent_date
    child.city_enc = seal(cipher, child, "city", values.city)
    child.needs_detail_enc = seal(cipher, child, "needs_detail", values.needs_detail)
    child.notes_enc = seal(cipher, child, "notes", values.notes)


def add_children(
    session: Session,
    *,
    actor: User | None,
    campaign: Campaign,
    rows: Sequence[ChildValues],
    cipher: FieldCipher,
    source: str = "form",
) -> list[BeneficiaryChild]:
    """Register checked ``rows`` (codes unique in the campaign); all or nothing."""
    organiser = require_manager(session, actor, campaign)
    require_not_frozen(campaign)
    if _count_live(session, campaign) + len(rows) > MAX_CHILDREN_PER_CAMPAIGN:
        raise Conflict(
            _(
                "A campaign registers at most %(max)s children.",
                max=MAX_CHILDREN_PER_CAMPAIGN,
            )
        )
    taken = codes_in_use_by(session, campaign)
    children: list[BeneficiaryChild] = []
    for row in rows:
        values = check_values(row)
        code = values.code
        if code is None:
            code = generate_code(taken)
        elif code in taken:
            raise Conflict(
                _("The code %(code)s is already used in this campaign.", code=code),
                field="code",
            )
        taken.add(code)
        child = BeneficiaryChild(
            ref=new_ref(), campaign_id=campaign.id, code=code, created_by_id=organiser.id
        )
        _apply(cipher, child, values)
        children.append(child)
    session.add_all(children)
    session.flush()
    record_action(
        session,
        actor_id=organiser.id,
        action="children.registered",
        subject_type="campaign",
        subject_id=campaign.public_id,
        count=len(children),
        source=source,
        refs=[child.ref for child in children[:50]],
    )
    return children


def register_child(
    session: Session,
    *,
    actor: User | None,
    campaign: Campaign,
    values: ChildValues,
    cipher: FieldCipher,
) -> BeneficiaryChild:
    return add_children(session, actor=actor, campaign=campaign, rows=[values], cipher=cipher)[0]


def update_child(
    session: Session,
    *,
    actor: User | None,
    campaign: Campaign,
    ref: str,
    values: ChildValues,
    cipher: FieldCipher,
    evidence_storage: FileStore,
) -> BeneficiaryChild:
    """Change a child's record; the code is kept unless a new one is given. Withdrawing
    consent withholds the evidence files showing the child (from ``evidence_storage``)."""
    organiser = require_manager(session, actor, campaign)
    require_not_frozen(campaign)
    child = _child(session, campaign, ref)
    values = check_values(values)
    if values.code is None:
        values = replace(values, code=child.code)
    elif values.code != child.code and values.code in codes_in_use_by(session, campaign):
        raise Conflict(
            _("The code %(code)s is already used in this campaign.", code=values.code),
            field="code",
        )
    before = values_from_record(decrypt_record(cipher, child))
    changed = [name for name in _FIELD_NAMES if getattr(before, name) != getattr(values, name)]
    child.code = values.code
    _apply(cipher, child, values)
    session.flush()
    withheld = []
    if not child.consent:
        withheld = withhold_evidence_showing(
            session,
            actor=organiser,
            child=child,
            reason=WithheldReason.CONSENT_WITHDRAWN,
            storage=evidence_storage,
        )
    record_action(
        session,
        actor_id=organiser.id,
        action="child.updated",
        subject_type="child",
        subject_id=child.ref,
        campaign=campaign.public_id,
        fields=changed,
        evidence_withheld=len(withheld),
    )
    return child


def erase_child(
    session: Session,
    *,
    actor: User | None,
    campaign: Campaign,
    ref: str,
    evidence_storage: FileStore,
) -> BeneficiaryChild:
    """Wipe a child's record for good, leaving a tombstone (see the module docstring), and
    withhold the evidence files showing the child (from ``evidence_storage``)."""
    organiser = require_manager(session, actor, campaign)
    child = _child(session, campaign, ref)
    withheld = withhold_evidence_showing(
        session,
        actor=organiser,
        child=child,
        reason=WithheldReason.CHILD_ERASED,
        storage=evidence_storage,
    )
    reached = session.scalar(
        sa.select(sa.func.count())
        .select_from(DisbursementBeneficiary)
        .where(DisbursementBeneficiary.child_id == child.id)
    )
    child.erased_at = utcnow()
    child.erased_by_id = organiser.id
    child.code = None
    child.city_enc = None
    child.needs_detail_enc = None
    child.notes_enc = None
    child.consent_date = None
    child.consent = None
    child.needs = None
    if not reached:
        child.age_band = None
        child.sex = None
        child.province = None
    session.flush()
    record_action(
        session,
        actor_id=organiser.id,
        action="child.erased",
        subject_type="child",
        subject_id=child.ref,
        campaign=campaign.public_id,
        evidence_withheld=len(withheld),
    )
    return child
