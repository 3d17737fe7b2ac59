"""The local file storage: random keys in, the same bytes out, nothing outside its folder."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from giving.config import ConfigError, load_settings
from giving.storage import LocalStorage, storage_from_settings


def test_saved_bytes_come_back_under_a_random_key(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    first = storage.save(b"cover one", suffix=".jpg")
    second = storage.save(b"cover one", suffix=".jpg")
    assert first != second
    assert first.endswith(".jpg")
    assert storage.read(first) == b"cover one"
    with storage.open(second) as handle:
        assert handle.read() == b"cover one"
    assert storage.path_for(first).parent == tmp_path / "files"


@pytest.mark.parametrize(
    "key", ["0" * 32 + ".jpg", "../etc/passwd", "/etc/passwd", "..", "", "a" * 32 + "/x"]
)
def test_unknown_or_malformed_keys_are_not_found(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path)
    with pytest.raises(FileNotFoundError):
        storage.path_for(key)
    assert not storage.exists(key)


def test_a_suffix_cannot_smuggle_a_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="suffix"):
        LocalStorage(tmp_path).save(b"x", suffix="/../../x")


def test_storage_defaults_to_files_in_the_instance_folder(tmp_path: Path) -> None:
    settings = load_settings({"GIVING_INSTANCE": str(tmp_path)})
    assert storage_from_settings(settings).root == tmp_path / "files"


def test_a_directory_or_file_url_configures_local_storage(tmp_path: Path) -> None:
    settings = load_settings({"GIVING_INSTANCE": str(tmp_path)})
    as_path = replace(settings, storage=str(tmp_path / "uploads"))
    as_url = replace(settings, storage=f"file://{tmp_path / 'uploads'}")
    assert storage_from_settings(as_path).root == tmp_path / "uploads"
    assert storage_from_settings(as_url).root == tmp_path / "uploads"


@pytest.mark.parametrize("url", ["s3://giving-files/covers", "https://files.example.org/"])
def test_bucket_urls_are_refused_clearly_until_supported(tmp_path: Path, url: str) -> None:
    settings = replace(load_settings({"GIVING_INSTANCE": str(tmp_path)}), storage=url)
    with pytest.raises(ConfigError, match="only a local directory"):
        storage_from_settings(settings)
