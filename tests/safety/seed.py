"""A campaign whose children carry distinctive strings, for the leak crawl and access matrix.

Every private value of every child (code, city, needs detail, notes) starts with ``ZZLEAK``,
so one case-insensitive search for that marker finds any of them in any response. The
campaign is live, hosted and funded; an approved disbursement reached twelve children (more
than the threshold, so figures are shown), one child was reached and then erased, one was
never reached, and a second request is still waiting. The approved one's evidence includes a
photo of a child (with consent), whose token no public response may contain either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from giving.campaigns import services as campaigns
from giving.disbursements.models import Disbursement
from giving.disbursements.services import EvidenceUpload
from giving.impact import services
from giving.impact.models import BeneficiaryChild
from tests.disbursements.support import Story, image_bytes, make_story, pdf_bytes, upload
from tests.impact.support import approved, child_values, erase, make_cipher, reach

MARKER = "ZZLEAK"
PROVINCES = ("CN-SC", "CN-YN", "CN-XZ")


@dataclass
class LeakStory:
    story: Story
    children: list[BeneficiaryChild]
    erased_ref: str
    paid: Disbursement
    waiting: Disbursement
    refs: list[str] = field(default_factory=list)
    child_photo_token: str = ""

    @property
    def forbidden(self) -> list[str]:
        """Strings no public response may contain (compared case-insensitively)."""
        return [MARKER.lower(), *self.refs, self.child_photo_token.lower()]


def seed_leak_story(session: Session, instance_path: Path) -> LeakStory:
    # make_story grants its auditor time-limited access to the campaign.
    story = make_story(
        session, instance_path / "files" / "evidence", raised_minor=1_000_000, grant_auditor=True
    )
    made = []
    for number in range(1, 15):
        made.append(
            services.register_child(
                session,
                actor=story.organiser,
                campaign=story.campaign,
                values=child_values(
                    code=f"{MARKER}-CODE-{number}",
                    city=f"{MARKER}-CITY-{'ABCDEFGHIJKLMN'[number - 1]}",
                    needs_detail=f"{MARKER}-NEED-{number}",
                    notes=f"{MARKER}-NOTE-{number}",
                    province=PROVINCES[number % 3],
                    age_band=("6-11", "12-14", "3-5")[number % 3],
                ),
                cipher=make_cipher(),
            )
        )
    photo = EvidenceUpload(
        image_bytes("JPEG"), "pupils.jpg", shows_children=True, children=(made[0].ref,)
    )
    paid = approved(
        story,
        240_000,
        category="education",
        description="Textbooks for the term",
        evidence=[upload(pdf_bytes("textbooks invoice")), photo],
    )
    reach(story, paid, made[:13])
    erased = made[12]
    erase(story, erased)
    waiting = story.request(50_000, category="food", description="Lunches for the winter")
    reach(story, waiting, made[:2])
    campaigns.post_update(
        session,
        actor=story.organiser,
        campaign=story.campaign,
        title="Books have arrived",
        body="Every pupil in the class now has a full set of textbooks.",
    )
    session.flush()
    return LeakStory(
        story=story,
        children=[child for child in made if child is not erased],
        erased_ref=erased.ref,
        paid=paid,
        waiting=waiting,
        refs=[child.ref for child in made],
        child_photo_token=paid.evidence[1].token,
    )
