"""A child's record in the clear and at rest: which fields are encrypted, and how.

The free text and the finer place (city, needs detail, notes) are sealed with the app's
``FieldCipher`` under a context naming the table, the column and the child's random ref, so
a ciphertext copied into another row or column does not open. Empty values are stored as
NULL: there is nothing to protect, and "not recorded" stays visible without decrypting.
Nothing here checks who is reading or logs the read; ``giving.impact.services`` does both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.impact.crypto import FieldCipher
from giving.impact.fields import ChildValues
from giving.impact.models import BeneficiaryChild

ENCRYPTED_FIELDS = ("city", "needs_detail", "notes")


@dataclass(frozen=True, slots=True)
class ChildRecord:
    """A child's record as its readers see it, decrypted."""

    ref: str
    code: str
    age_band: str
    sex: str
    province: str
    city: str
    needs: tuple[str, ...]
    needs_detail: str
    consent: bool
    consent_date: dt.date | None
    notes: str
    created_at: dt.datetime


def context_for(child: BeneficiaryChild, column: str) -> str:
    return f"beneficiary_children.{column}.{child.ref}"


def seal(cipher: FieldCipher, child: BeneficiaryChild, column: str, value: str) -> str | None:
    # Empty values are stored as NULL: there is nothing to protect, and it keeps
    # "not recorded" distinguishable without decrypting.
    return cipher.encrypt(value, context=context_for(child, column)) if value else None


def unseal(cipher: FieldCipher, child: BeneficiaryChild, column: str) -> str:
    token = getattr(child, f"{column}_enc")
    return cipher.decrypt(token, context=context_for(child, column)) if token else ""


def decrypt_record(cipher: FieldCipher, child: BeneficiaryChild) -> ChildRecord:
    """The record in the clear; callers log the read (see :func:`read_child`)."""
    assert child.code is not None
    assert child.age_band is not None
    assert child.consent is not None
    return ChildRecord(
        ref=child.ref,
        code=child.code,
        age_band=child.age_band,
        sex=child.sex or "unspecified",
        province=child.province or "",
        city=unseal(cipher, child, "city"),
        needs=tuple(need.value for need in child.need_list),
        needs_detail=unseal(cipher, child, "needs_detail"),
        consent=child.consent,
        consent_date=child.consent_date,
        notes=unseal(cipher, child, "notes"),
        created_at=child.created_at,
    )


def rotate_encryption(session: Session, cipher: FieldCipher, *, batch: int = 500) -> int:
    """Re-encrypt every value not under the current key; returns how many were rewritten.

    Run after putting a new secret first in ``GIVING_DATA_KEY`` (the old one still listed);
    once it returns 0, the old secret can be removed.
    """
    rewritten = 0
    last_id = 0
    while True:
        children = list(
            session.scalars(
                sa.select(BeneficiaryChild)
                .where(BeneficiaryChild.id > last_id, BeneficiaryChild.erased_at.is_(None))
                .order_by(BeneficiaryChild.id)
                .limit(batch)
            )
        )
        if not children:
            return rewritten
        for child in children:
            for column in ENCRYPTED_FIELDS:
                token = getattr(child, f"{column}_enc")
                if token and cipher.needs_rotation(token):
                    plain = cipher.decrypt(token, context=context_for(child, column))
                    setattr(child, f"{column}_enc", seal(cipher, child, column, plain))
                    rewritten += 1
        last_id = children[-1].id
        session.flush()


def values_from_record(record: ChildRecord) -> ChildValues:
    return ChildValues(
        code=record.code,
        age_band=record.age_band,
        sex=record.sex,
        province=record.province,
        city=record.city,
        needs=record.needs,
        needs_detail=record.needs_detail,
        consent=record.consent,
        consent_date=record.consent_date,
        notes=record.notes,
    )
