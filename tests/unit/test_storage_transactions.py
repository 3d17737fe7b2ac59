"""Stored files follow the database transaction: kept on commit, removed on rollback, and
files meant to go are removed only once the rows saying so are committed."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from giving.db import transaction
from giving.storage import LocalStorage, delete_after_commit, save_for_transaction


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


def names(storage: LocalStorage) -> list[str]:
    return sorted(p.name for p in storage.root.iterdir()) if storage.root.exists() else []


def test_a_file_saved_in_a_committed_transaction_stays(
    session: Session, storage: LocalStorage
) -> None:
    with transaction(session):
        key = save_for_transaction(session, storage, b"receipt", suffix=".pdf")
    assert names(storage) == [key]
    # Later transactions on the same session do not touch it.
    with pytest.raises(RuntimeError), transaction(session):
        raise RuntimeError("unrelated failure")
    assert storage.read(key) == b"receipt"


def test_a_file_saved_in_a_transaction_that_fails_is_removed(
    session: Session, storage: LocalStorage
) -> None:
    def store_then_fail() -> None:
        with transaction(session):
            save_for_transaction(session, storage, b"orphan", suffix=".pdf")
            raise RuntimeError("the database write failed")

    with pytest.raises(RuntimeError):
        store_then_fail()
    assert names(storage) == []


def test_a_file_saved_by_a_session_closed_without_committing_is_removed(
    session_factory: sessionmaker[Session], storage: LocalStorage
) -> None:
    session = session_factory()
    session.execute(sa.text("SELECT 1"))
    save_for_transaction(session, storage, b"abandoned")
    assert len(names(storage)) == 1
    session.close()
    assert names(storage) == []


def test_a_rolled_back_savepoint_removes_only_its_own_files(
    session: Session, storage: LocalStorage
) -> None:
    with transaction(session):
        kept = save_for_transaction(session, storage, b"outer")
        savepoint = session.begin_nested()
        save_for_transaction(session, storage, b"inner")
        savepoint.rollback()
        assert names(storage) == [kept]
    assert names(storage) == [kept]


def test_a_file_to_delete_goes_only_when_the_transaction_commits(
    session: Session, storage: LocalStorage
) -> None:
    key = storage.save(b"withdrawn photo", suffix=".jpg")

    def doom_then_fail() -> None:
        with transaction(session):
            delete_after_commit(session, storage, key)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        doom_then_fail()
    assert storage.exists(key)
    with transaction(session):
        delete_after_commit(session, storage, key)
        assert storage.exists(key)
    assert not storage.exists(key)
    storage.delete(key)  # deleting what is gone is not an error
