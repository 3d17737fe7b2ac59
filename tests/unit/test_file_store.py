"""The FileStore contract, run against every store Giving has (giving/storage.py).

A new store (the S3-compatible one) joins ``STORES`` and must pass the same tests; callers
depend only on the protocol, which the last test keeps true.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from giving.storage import FileStore, LocalStorage

GIVING = Path(__file__).resolve().parents[2] / "giving"

STORES: dict[str, Callable[[Path], FileStore]] = {
    "local": lambda tmp: LocalStorage(tmp / "files"),
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> FileStore:
    return STORES[request.param](tmp_path)


def test_a_saved_file_reads_back_with_its_size_and_digest(store: FileStore) -> None:
    data = "收据 receipt".encode() * 1000
    key = store.save(data, suffix=".txt")
    assert re.fullmatch(r"[0-9a-f]{32}\.txt", key)
    assert store.exists(key)
    assert store.read(key) == data
    with store.open(key) as handle:
        assert handle.read() == data
    assert store.size(key) == len(data)
    assert store.digest(key) == hashlib.sha256(data).hexdigest()


def test_every_save_gets_a_new_key(store: FileStore) -> None:
    first, second = store.save(b"same"), store.save(b"same")
    assert first != second
    assert store.read(first) == store.read(second) == b"same"


@pytest.mark.parametrize(
    "key", ["0" * 32, "../../etc/passwd", "0" * 32 + "/../x", "", "ABCDEF" * 6, "0" * 32 + ".EXE"]
)
def test_unknown_or_malformed_keys_are_not_found(store: FileStore, key: str) -> None:
    assert not store.exists(key)
    for read in (store.read, store.open, store.size, store.digest):
        with pytest.raises(FileNotFoundError):
            read(key)


def test_delete_removes_a_file_and_forgives_a_second_time(store: FileStore) -> None:
    key = store.save(b"gone soon")
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)
    store.delete("../../etc/passwd")


@pytest.mark.parametrize("suffix", ["txt", ".tar.gz", "./x", ".有", "." + "a" * 9])
def test_unsafe_suffixes_are_refused(store: FileStore, suffix: str) -> None:
    with pytest.raises(ValueError, match="unsafe file suffix"):
        store.save(b"x", suffix=suffix)


def test_a_folder_is_a_store_of_its_own(store: FileStore) -> None:
    evidence = store.within("evidence")
    outside = store.save(b"cover")
    inside = evidence.save(b"receipt")
    assert evidence.read(inside) == b"receipt"
    assert not evidence.exists(outside)
    assert not store.exists(inside)
    assert store.within("evidence").read(inside) == b"receipt"


@pytest.mark.parametrize("folder", ["", "..", "../up", "a/b", "Evidence", "x" * 33])
def test_unsafe_folder_names_are_refused(store: FileStore, folder: str) -> None:
    with pytest.raises(ValueError, match="unsafe folder name"):
        store.within(folder)


def test_callers_depend_on_the_protocol_not_on_a_store() -> None:
    named = sorted(
        str(path.relative_to(GIVING))
        for path in GIVING.rglob("*.py")
        if path.name != "storage.py" and "LocalStorage" in path.read_text(encoding="utf-8")
    )
    assert named == []
