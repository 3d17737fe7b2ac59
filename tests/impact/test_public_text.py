"""Every free text bound for a public page, feed, export or report is scanned when given.

Organisers, admins, hosts and donors all write text that reaches the public; each service
that stores such text refuses identity-card numbers, phone numbers and children's codes with
a message on the field concerned (the scanner itself is tested in test_scanner.py).
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from giving.accounts.services import register_user
from giving.campaigns import services as campaigns
from giving.errors import ValidationError
from giving.hosts import services as hosts
from tests.disbursements.support import Story
from tests.impact.support import register

PHONE = "call +852 9123 4567"
VALID_ID = "11010519491231002X"


def test_a_payee_naming_a_phone_number_is_refused_because_reports_print_it(
    story: Story,
) -> None:
    with pytest.raises(ValidationError, match="cannot be published") as caught:
        story.request(payee=f"Wang's shop {PHONE}")
    assert caught.value.field == "payee"


def test_a_payee_naming_a_registered_child_is_refused(story: Story) -> None:
    child = register(story, code="ZZ-77Q")
    with pytest.raises(ValidationError) as caught:
        story.request(payee=f"Guardian of {child.code}")
    assert caught.value.field == "payee"


def test_a_freeze_reason_is_shown_publicly_so_it_is_scanned(story: Story) -> None:
    with pytest.raises(ValidationError) as caught:
        campaigns.freeze(
            story.session,
            actor=story.admin,
            campaign=story.campaign,
            reason=f"Complaint from ID {VALID_ID}",
        )
    assert caught.value.field == "reason"


def test_a_host_organisation_name_is_scanned(story: Story) -> None:
    with pytest.raises(ValidationError) as caught:
        hosts.register_host(
            story.session,
            actor=story.admin,
            name="Hope Charity 13812345678",
            registration_number="53510000MJ99999999",
            country="CN",
            contact_email="hope@example.org",
            contact_phone="+86 10 1234 5678",
        )
    assert caught.value.field == "name"


def test_an_account_name_is_shown_publicly_so_it_is_scanned(session: Session) -> None:
    with pytest.raises(ValidationError) as caught:
        register_user(
            session,
            email="someone@example.org",
            password="a long enough passphrase 42",
            display_name="Li +886 912 345 678",
        )
    assert caught.value.field == "display_name"
