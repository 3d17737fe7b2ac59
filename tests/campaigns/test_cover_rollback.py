"""A cover image stored by a campaign change that then fails is not left behind in storage,
and a cover that was replaced goes once the replacement commits."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from giving.campaigns import services
from giving.campaigns.services import CoverUpload
from giving.db import transaction
from giving.storage import LocalStorage
from tests.campaigns.factories import campaign_values, image_bytes, make_organiser


def stored(storage: LocalStorage) -> list[str]:
    return sorted(p.name for p in storage.root.iterdir()) if storage.root.exists() else []


def test_a_cover_saved_before_a_failure_is_removed_and_one_committed_is_kept(
    session: Session, tmp_path: Path
) -> None:
    storage = LocalStorage(tmp_path / "files")
    owner = make_organiser(session)
    session.commit()

    def create_then_fail() -> None:
        with transaction(session):
            campaign = services.create_campaign(
                session,
                actor=owner,
                cover=CoverUpload(data=image_bytes("PNG"), storage=storage),
                **campaign_values(),
            )
            assert campaign.cover_image_key in stored(storage)  # saved, then the failure:
            raise RuntimeError("the transaction fails after the file was saved")

    with pytest.raises(RuntimeError):
        create_then_fail()
    assert stored(storage) == []

    with transaction(session):
        campaign = services.create_campaign(
            session,
            actor=owner,
            cover=CoverUpload(data=image_bytes("PNG"), storage=storage),
            **campaign_values(title="Winter coats"),
        )
    assert stored(storage) == [campaign.cover_image_key]

    def replace_then_fail() -> None:
        with transaction(session):
            services.update_campaign(
                session,
                actor=owner,
                campaign=campaign,
                cover=CoverUpload(data=image_bytes("JPEG"), storage=storage),
                **campaign_values(title="Winter coats"),
            )
            raise RuntimeError("the transaction fails after the new cover was saved")

    with pytest.raises(RuntimeError):
        replace_then_fail()
    assert stored(storage) == [campaign.cover_image_key]

    first_cover = campaign.cover_image_key
    with transaction(session):
        services.update_campaign(
            session,
            actor=owner,
            campaign=campaign,
            cover=CoverUpload(data=image_bytes("JPEG"), storage=storage),
            **campaign_values(title="Winter coats"),
        )
    assert campaign.cover_image_key != first_cover
    assert stored(storage) == [campaign.cover_image_key]
