"""Field encryption: values open only with their key, in their place, and keys rotate."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from giving.errors import ConfigError
from giving.impact.crypto import (
    DecryptionError,
    FieldCipher,
    cipher_from_environment,
    derive_key,
    local_secret,
    require_data_key_in_production,
)

SECRET = "an-old-but-long-enough-secret-for-the-tests-0001"
NEW_SECRET = "a-new-and-equally-long-secret-for-the-tests-0002"


def test_a_value_round_trips_and_the_stored_form_names_its_key_but_hides_the_text() -> None:
    cipher = FieldCipher.from_secrets([SECRET])
    token = cipher.encrypt("Lives with her grandmother in Xichang", context="notes.abc")
    assert token.startswith(f"v1:{cipher.key_id}:")
    assert "grandmother" not in token
    assert cipher.decrypt(token, context="notes.abc") == "Lives with her grandmother in Xichang"
    # Same text, fresh nonce: equal notes do not give equal ciphertexts.
    assert cipher.encrypt("same", context="x") != cipher.encrypt("same", context="x")


def test_a_ciphertext_copied_to_another_record_or_column_does_not_open() -> None:
    cipher = FieldCipher.from_secrets([SECRET])
    token = cipher.encrypt("Xichang", context="beneficiary_children.city.child-a")
    with pytest.raises(DecryptionError):
        cipher.decrypt(token, context="beneficiary_children.city.child-b")
    with pytest.raises(DecryptionError):
        cipher.decrypt(token, context="beneficiary_children.notes.child-a")


def test_tampering_and_garbage_are_refused() -> None:
    cipher = FieldCipher.from_secrets([SECRET])
    token = cipher.encrypt("Xichang", context="c")
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    for bad in (flipped, "not-encrypted", "v2:abcd:xyz", f"v1:{cipher.key_id}:!!", "v1:x:AA"):
        with pytest.raises(DecryptionError):
            cipher.decrypt(bad, context="c")


def test_rotation_keeps_old_values_readable_and_says_which_need_rewriting() -> None:
    old = FieldCipher.from_secrets([SECRET])
    token = old.encrypt("Kunming", context="c")
    rotated = FieldCipher.from_secrets([NEW_SECRET, SECRET])
    assert rotated.key_id != old.key_id
    assert rotated.decrypt(token, context="c") == "Kunming"
    assert rotated.needs_rotation(token)
    assert not rotated.needs_rotation(rotated.encrypt("Kunming", context="c"))
    new_only = FieldCipher.from_secrets([NEW_SECRET])
    with pytest.raises(DecryptionError, match="not configured"):
        new_only.decrypt(token, context="c")


def test_key_material_never_appears_in_a_repr() -> None:
    key = derive_key(SECRET)
    assert key.key_id in repr(key)
    assert key.key.hex() not in repr(key)
    assert SECRET not in repr(key)


def test_the_local_development_key_is_created_once_and_private(tmp_path: Path) -> None:
    first = local_secret(tmp_path)
    assert local_secret(tmp_path) == first
    mode = stat.S_IMODE((tmp_path / "data-key").stat().st_mode)
    assert mode == 0o600
    cipher = cipher_from_environment({}, instance_path=tmp_path, is_production=False)
    assert cipher.key_id == derive_key(first).key_id


def test_the_environment_key_wins_and_lists_old_keys_after_the_new(tmp_path: Path) -> None:
    cipher = cipher_from_environment(
        {"GIVING_DATA_KEY": f"{NEW_SECRET}, {SECRET}"}, instance_path=tmp_path, is_production=False
    )
    assert cipher.key_id == derive_key(NEW_SECRET).key_id
    assert not (tmp_path / "data-key").exists()


def test_production_refuses_to_start_without_a_long_data_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GIVING_DATA_KEY"):
        cipher_from_environment({}, instance_path=tmp_path, is_production=True)
    with pytest.raises(ConfigError, match="at least 32"):
        require_data_key_in_production({"GIVING_DATA_KEY": "short"}, is_production=True)
    require_data_key_in_production({"GIVING_DATA_KEY": SECRET}, is_production=True)
    assert not (tmp_path / "data-key").exists()


def test_the_app_refuses_to_start_in_production_without_a_data_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from giving import create_app
    from giving.config import load_settings
    from giving.impact.keyring import field_cipher

    monkeypatch.delenv("GIVING_DATA_KEY", raising=False)
    environ = {
        "GIVING_ENV": "production",
        "SECRET_KEY": "s" * 48,
        "DATABASE_URL": "postgresql://giving@127.0.0.1:1/never-connected",
        "GIVING_INSTANCE": str(tmp_path),
        # Production refuses per-process rate limits; the store is never connected to here.
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0",
    }
    with pytest.raises(ConfigError, match="GIVING_DATA_KEY"):
        create_app(settings=load_settings(environ))
    monkeypatch.setenv("GIVING_DATA_KEY", SECRET)
    app = create_app(settings=load_settings({**environ, "GIVING_DATA_KEY": SECRET}))
    with app.app_context():
        assert field_cipher().key_id == derive_key(SECRET).key_id
    assert not (tmp_path / "data-key").exists()
    app.extensions["giving.engine"].dispose()


def _first_key(folder: str) -> str:
    return local_secret(Path(folder))


def test_workers_starting_together_on_a_fresh_folder_share_one_whole_key(
    tmp_path: Path,
) -> None:
    """Gunicorn starts its workers at once; each makes the local key if it is missing. One
    that read the file between another's create and write used to get an empty key."""
    import concurrent.futures
    import multiprocessing

    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(8, mp_context=context) as pool:
        for attempt in range(15):
            folder = tmp_path / f"instance-{attempt}"
            keys = set(pool.map(_first_key, [str(folder)] * 16))
            assert len(keys) == 1
            (key,) = keys
            assert len(key) >= 32
            assert (folder / "data-key").read_text(encoding="ascii").strip() == key
            assert [p.name for p in folder.iterdir()] == ["data-key"]  # no temporary left


def test_an_empty_key_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "data-key").write_text("", encoding="ascii")
    with pytest.raises(ConfigError, match="is empty, so it holds no key: delete it"):
        local_secret(tmp_path)
