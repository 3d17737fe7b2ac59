"""The file-store seam: files by opaque key, behind one protocol (:class:`FileStore`).

Callers only ever see keys (random names chosen here), never paths they supply, so an upload
cannot pick where it lands or overwrite another file, and every caller depends on the
protocol alone: :class:`LocalStorage` (a directory) is today's implementation, and an
S3-compatible bucket (DESIGN §8) slots in as a second one chosen by ``GIVING_STORAGE``
without any caller changing. Nothing outside this module names ``LocalStorage``
(tests/unit/test_file_store.py checks that, and runs one contract over every store).

Files and database rows live in two places that cannot share a transaction, so services
that store files do it through :func:`save_for_transaction` and
:func:`delete_after_commit`: a file written during a unit of work is removed again if that
unit of work rolls back (or ends without committing), and a file meant to go is removed only
once the rows saying so are committed. A failed request then leaves no orphaned file, and a
rolled-back withdrawal leaves the file its rows still point at.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal, Protocol
from urllib.parse import urlsplit

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from giving.config import Settings, settings_of
from giving.errors import ConfigError

if TYPE_CHECKING:
    from flask import Flask

# A key is 32 hex characters and an optional short extension; anything else is not ours.
_KEY_PATTERN = re.compile(r"^[0-9a-f]{32}(\.[a-z0-9]{1,8})?$")
_SUFFIX_PATTERN = re.compile(r"^\.[a-z0-9]{1,8}$")


class FileStore(Protocol):
    """Where Giving keeps files: written once under a key it chooses, never overwritten.

    Reads of a key that is malformed or not stored raise FileNotFoundError, so a view can
    answer 404 without knowing which store it talks to. Use :func:`save_for_transaction`
    and :func:`delete_after_commit` from services, so files follow the database's unit of
    work.
    """

    def save(self, data: bytes, *, suffix: str = "") -> str:
        """Store ``data`` under a new random key ending in ``suffix`` (e.g. ".jpg")."""
        ...

    def open(self, key: str) -> BinaryIO:
        """The stored bytes as a binary file the caller closes (or hands to send_file)."""
        ...

    def read(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int:
        """Bytes stored under ``key``."""
        ...

    def digest(self, key: str) -> str:
        """SHA-256 of the stored bytes, hex: what the ledger and reports commit to."""
        ...

    def delete(self, key: str) -> None:
        """Remove the file; one already gone is not an error."""
        ...

    def within(self, folder: str) -> FileStore:
        """A store of its own beside this one's files (evidence, reports): keys stored in
        one are not found in the other."""
        ...


_FOLDER_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class LocalStorage:
    """A :class:`FileStore` in one directory, files named by random keys."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, data: bytes, *, suffix: str = "") -> str:
        """Store ``data`` under a new random key ending in ``suffix`` (e.g. ".jpg")."""
        if suffix and not _SUFFIX_PATTERN.match(suffix):
            raise ValueError(f"unsafe file suffix {suffix!r}")
        self.root.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(16) + suffix
        # "xb" refuses to replace an existing file, so a key is never reused silently.
        with open(self.root / key, "xb") as handle:
            handle.write(data)
        return key

    def path_for(self, key: str) -> Path:
        """The file's path; raises FileNotFoundError for keys that are malformed or unknown."""
        if not _KEY_PATTERN.match(key):
            raise FileNotFoundError(key)
        path = self.root / key
        if not path.is_file():
            raise FileNotFoundError(key)
        return path

    def exists(self, key: str) -> bool:
        try:
            self.path_for(key)
        except FileNotFoundError:
            return False
        return True

    def open(self, key: str) -> BinaryIO:
        return self.path_for(key).open("rb")

    def read(self, key: str) -> bytes:
        return self.path_for(key).read_bytes()

    def size(self, key: str) -> int:
        return self.path_for(key).stat().st_size

    def digest(self, key: str) -> str:
        with self.path_for(key).open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()

    def within(self, folder: str) -> LocalStorage:
        if not _FOLDER_PATTERN.match(folder):
            raise ValueError(f"unsafe folder name {folder!r}")
        return LocalStorage(self.root / folder)

    def delete(self, key: str) -> None:
        """Remove the file stored under ``key``; a file already gone is not an error."""
        with contextlib.suppress(FileNotFoundError):
            self.path_for(key).unlink()


def move_between_directories(source: FileStore, target: FileStore, key: str) -> bool:
    """Move ``key`` from one local directory store to another, keeping the key (rows name
    it). Only a repair of old local data needs this, so other stores answer False."""
    if not isinstance(source, LocalStorage) or not isinstance(target, LocalStorage):
        return False
    if target.exists(key) or not source.exists(key):
        return False
    target.root.mkdir(parents=True, exist_ok=True)
    source.path_for(key).replace(target.root / key)
    return True


# --- files in a unit of work -------------------------------------------------------------

_log = logging.getLogger(__name__)
_PENDING = "giving.storage.pending"


@dataclass(frozen=True, slots=True)
class _PendingFile:
    storage: FileStore
    key: str
    # "written": delete unless committed; "doomed": delete once committed.
    action: Literal["written", "doomed"]
    transaction: SessionTransaction


def _transaction_of(session: Session) -> SessionTransaction:
    """The innermost transaction now open, beginning one if the session has none yet."""
    return session.get_nested_transaction() or session.get_transaction() or session.begin()


def _pending(session: Session) -> list[_PendingFile]:
    pending: list[_PendingFile] = session.info.setdefault(_PENDING, [])
    return pending


def save_for_transaction(
    session: Session, storage: FileStore, data: bytes, *, suffix: str = ""
) -> str:
    """Store ``data`` as :meth:`FileStore.save` does, tied to ``session``'s transaction:
    if the transaction rolls back, or the session closes without committing, the file goes."""
    transaction = _transaction_of(session)
    key = storage.save(data, suffix=suffix)
    _pending(session).append(_PendingFile(storage, key, "written", transaction))
    return key


def delete_after_commit(session: Session, storage: FileStore, key: str) -> None:
    """Remove the file under ``key`` once ``session``'s transaction commits (never if it
    rolls back, so the rows that still name the file keep it)."""
    transaction = _transaction_of(session)
    _pending(session).append(_PendingFile(storage, key, "doomed", transaction))


def _delete_quietly(item: _PendingFile) -> None:
    # Runs inside SQLAlchemy's commit/rollback: an error here must not hide the original one.
    try:
        item.storage.delete(item.key)
    except OSError:  # pragma: no cover - a full or read-only disk; the file is only left over
        _log.exception("could not delete stored file %s", item.key)


@event.listens_for(Session, "after_commit")
def _on_commit(session: Session) -> None:
    """The outermost transaction committed: doomed files go, written ones are kept."""
    for item in session.info.pop(_PENDING, []):
        if item.action == "doomed":
            _delete_quietly(item)


@event.listens_for(Session, "after_transaction_end")
def _on_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended without a commit (rolled back or closed): files
    written in it go, and files doomed in it stay."""
    if transaction.parent is not None or _PENDING not in session.info:
        return
    for item in session.info.pop(_PENDING):
        if item.action == "written":
            _delete_quietly(item)


def _within(transaction: SessionTransaction, ancestor: SessionTransaction) -> bool:
    current: SessionTransaction | None = transaction
    while current is not None:
        if current is ancestor:
            return True
        current = current.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _on_savepoint_rollback(session: Session, previous: SessionTransaction) -> None:
    """A savepoint rolled back: undo what was stored or doomed inside it, keep the rest."""
    if not previous.nested or _PENDING not in session.info:
        return
    kept = []
    for item in session.info[_PENDING]:
        if _within(item.transaction, previous):
            if item.action == "written":
                _delete_quietly(item)
        else:
            kept.append(item)
    session.info[_PENDING] = kept


def storage_from_settings(settings: Settings) -> FileStore:
    """Build the storage ``GIVING_STORAGE`` describes: a directory path (or file:// URL)."""
    value = settings.storage.strip()
    if not value:
        return LocalStorage(settings.instance_path / "files")
    parts = urlsplit(value)
    # A one-letter "scheme" is a Windows drive letter, i.e. still a path.
    if parts.scheme and len(parts.scheme) > 1:
        if parts.scheme != "file":
            raise ConfigError(
                f"GIVING_STORAGE={value!r}: only a local directory is supported so far; "
                f"{parts.scheme}:// storage (e.g. S3-compatible buckets) is not implemented"
            )
        if parts.netloc not in ("", "localhost"):
            raise ConfigError(f"GIVING_STORAGE={value!r}: file:// URLs must be local")
        return LocalStorage(Path(parts.path).resolve())
    return LocalStorage(Path(value).resolve())


def app_storage(app: Flask) -> FileStore:
    """The app's storage, built from its settings on first use and then reused."""
    storage: FileStore | None = app.extensions.get("giving.storage")
    if storage is None:
        storage = storage_from_settings(settings_of(app))
        app.extensions["giving.storage"] = storage
    return storage
