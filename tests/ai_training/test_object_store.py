"""Deleting a resident's folder of artifacts, in both stores (erasure relies on it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sst_core.objects import (
    CHUNK_BYTES,
    LocalStore,
    ObjectStore,
    ObjectStoreSettings,
    open_store,
    recording_key,
    recording_prefix,
    resident_prefix,
)


def _fill(store: ObjectStore) -> None:
    for n in range(3):
        store.put(f"{resident_prefix(1)}v{n}.json", b"one")
    store.put(f"{resident_prefix(10)}v0.json", b"ten")  # a prefix of "resident-1" by text
    store.put("routine-models/population/v0.json", b"prior")


def _check(store: ObjectStore) -> None:
    assert store.delete_prefix(resident_prefix(1)) == 3
    for n in range(3):
        with pytest.raises(KeyError):
            store.get(f"{resident_prefix(1)}v{n}.json")
    assert store.get(f"{resident_prefix(10)}v0.json") == b"ten"
    assert store.get("routine-models/population/v0.json") == b"prior"
    assert store.delete_prefix(resident_prefix(1)) == 0  # again: nothing left, no error


def test_local_store_deletes_one_residents_folder_only(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "objects")
    _fill(store)
    _check(store)
    with pytest.raises(ValueError):
        store.delete_prefix("routine-models/resident-")  # not a folder: refused


def test_s3_store_deletes_one_residents_objects_only(s3_endpoint: str) -> None:
    settings = ObjectStoreSettings(
        object_store="s3",
        s3_endpoint_url=s3_endpoint,
        s3_bucket="erasure-test",
        s3_access_key_id="test",
        s3_secret_access_key="test",
    )
    store = open_store(settings)
    _fill(store)
    _check(store)


def _files(store: ObjectStore, tmp_path: Path) -> None:
    """put_file, chunks and delete of one recording-sized key, in either store."""
    film = tmp_path / "film.mp4"
    data = bytes(range(256)) * 9000  # a little over 2 MiB: several chunks
    film.write_bytes(data)
    key = recording_key(3, "a" * 32)
    assert key == f"recordings/resident-3/{'a' * 32}.mp4"
    store.put_file(key, film)
    assert b"".join(store.chunks(key)) == data
    assert len(next(iter(store.chunks(key)))) <= CHUNK_BYTES
    assert store.delete(key) is True
    assert store.delete(key) is False
    with pytest.raises(KeyError):
        store.chunks(key)
    store.put_file(key, film)
    assert store.delete_prefix(recording_prefix(3)) == 1
    with pytest.raises(KeyError):
        store.get(key)


def test_local_store_streams_files_in_and_out(tmp_path: Path) -> None:
    _files(LocalStore(tmp_path / "objects"), tmp_path)


def test_s3_store_streams_files_in_and_out(s3_endpoint: str, tmp_path: Path) -> None:
    settings = ObjectStoreSettings(
        object_store="s3",
        s3_endpoint_url=s3_endpoint,
        s3_bucket="files-test",
        s3_access_key_id="test",
        s3_secret_access_key="test",
    )
    _files(open_store(settings), tmp_path)
