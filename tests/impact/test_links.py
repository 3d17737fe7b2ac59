"""Linking disbursements to the children they reached."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from giving.disbursements import services as disbursements
from giving.errors import Conflict, NotFound, PermissionDenied, ValidationError
from giving.impact import links, services
from giving.impact.models import ChildAccessLog, DisbursementBeneficiary
from tests.disbursements.support import Story
from tests.impact.support import approved, child_values, erase, make_cipher, reach, register


def linked(session: Session, disbursement_id: int) -> set[int]:
    return set(
        session.scalars(
            sa.select(DisbursementBeneficiary.child_id).where(
                DisbursementBeneficiary.disbursement_id == disbursement_id
            )
        )
    )


def test_an_organiser_sets_the_children_a_request_reached_and_can_correct_it(
    story: Story, session: Session
) -> None:
    a, b, c = (register(story) for _ in range(3))
    request = story.request()
    assert links.set_disbursement_children(
        session, actor=story.organiser, disbursement=request, refs=[a.ref, b.ref]
    ) == {a.ref, b.ref}
    assert linked(session, request.id) == {a.id, b.id}
    links.set_disbursement_children(
        session, actor=story.co_organiser, disbursement=request, refs=[b.ref, c.ref]
    )
    assert linked(session, request.id) == {b.id, c.id}
    choices = links.link_choices(
        session, actor=story.organiser, campaign=story.campaign, disbursement=request
    )
    assert {choice.ref for choice in choices if choice.linked} == {b.ref, c.ref}
    # Showing the checkboxes is a read of each child's line.
    assert (
        session.scalar(
            sa.select(sa.func.count(ChildAccessLog.id)).where(ChildAccessLog.kind == "listed")
        )
        == 3
    )


def test_children_of_another_campaign_cannot_be_linked(story: Story, session: Session) -> None:
    mine = register(story)
    theirs = services.register_child(
        session,
        actor=story.other_organiser,
        campaign=story.other_campaign,
        values=child_values(),
        cipher=make_cipher(),
    )
    request = story.request()
    with pytest.raises(ValidationError) as caught:
        links.set_disbursement_children(
            session, actor=story.organiser, disbursement=request, refs=[mine.ref, theirs.ref]
        )
    assert caught.value.field == "children"
    assert linked(session, request.id) == set()


def test_only_the_campaigns_organisers_link(story: Story, session: Session) -> None:
    child = register(story)
    request = story.request()
    with pytest.raises(PermissionDenied):
        links.set_disbursement_children(
            session, actor=story.finance, disbursement=request, refs=[child.ref]
        )
    with pytest.raises(NotFound):
        links.set_disbursement_children(
            session, actor=story.other_organiser, disbursement=request, refs=[child.ref]
        )


def test_rejected_requests_reached_nobody(story: Story, session: Session) -> None:
    child = register(story)
    request = story.request()
    disbursements.reject_disbursement(
        session, actor=story.finance, disbursement=request, reason="No receipt"
    )
    with pytest.raises(Conflict):
        links.set_disbursement_children(
            session, actor=story.organiser, disbursement=request, refs=[child.ref]
        )


def test_an_erased_child_stays_linked_so_published_figures_do_not_move(
    story: Story, session: Session
) -> None:
    kept, erased = register(story), register(story)
    payment = approved(story)
    reach(story, payment, [kept, erased])
    erase(story, erased)
    # The organiser saves the form again; the erased child is not offered and not dropped.
    links.set_disbursement_children(
        session, actor=story.organiser, disbursement=payment, refs=[kept.ref]
    )
    assert linked(session, payment.id) == {kept.id, erased.id}
    with pytest.raises(ValidationError):
        links.set_disbursement_children(
            session, actor=story.organiser, disbursement=payment, refs=[erased.ref]
        )
