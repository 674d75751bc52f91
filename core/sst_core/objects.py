"""Object storage for model artifacts, datasets and video recordings: any S3 API, or a folder.

Both stores speak the same verbs on keys like "routine-models/resident-7/....json".
The S3 store goes through boto3 (AWS, MinIO in compose, moto's server in the tests); the
local one (the default on a single machine) keeps each object as a file under one folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, SecretStr


def resident_prefix(resident_id: int) -> str:
    """Where a resident's routine models live (erasure deletes everything under it)."""
    return f"routine-models/resident-{resident_id}/"


def recording_prefix(resident_id: int) -> str:
    """Where a resident's emergency video recordings live (erasure deletes them all)."""
    return f"recordings/resident-{resident_id}/"


def recording_key(resident_id: int, session_id: str, suffix: str = ".mp4") -> str:
    """The key of one session's recording."""
    return f"{recording_prefix(resident_id)}{session_id}{suffix}"


CHUNK_BYTES = 1 << 20


class ObjectStoreSettings(BaseModel):
    """Where artifacts go; mixed into the settings of the services that use it."""

    object_store: Literal["auto", "local", "s3"] = Field(
        default="auto", description="auto: S3 when SST_S3_ENDPOINT_URL is set, else local."
    )
    object_store_dir: Path = Field(
        default=Path("var/objects"), description="Folder of the local object store."
    )
    s3_endpoint_url: str | None = None
    s3_bucket: str = "sst"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_region: str = "us-east-1"


class ObjectStore(Protocol):
    """put/get/exists of whole objects by key."""

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, replacing what was there."""

    def get(self, key: str) -> bytes:
        """The bytes under `key`; KeyError if there are none."""

    def describe(self, key: str) -> str:
        """Where `key` lives, for people (a path or an s3:// URL)."""

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with `prefix` (a folder: ends with "/")."""

    def put_file(self, key: str, path: Path) -> None:
        """Store the file at `path` under `key` without reading it into memory."""

    def delete(self, key: str) -> bool:
        """Delete one object; False if there was none."""

    def chunks(self, key: str) -> Iterator[bytes]:
        """The bytes under `key`, a chunk at a time; KeyError (at once) if there are none."""


class LocalStore:
    """Objects as files under one folder (written whole, then renamed into place)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"object key {key!r} leaves the store")
        return path

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, atomically."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)

    def get(self, key: str) -> bytes:
        """The bytes under `key`; KeyError if there are none."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise KeyError(key) from exc

    def describe(self, key: str) -> str:
        """The file of `key`."""
        return str(self._path(key))

    def delete_prefix(self, prefix: str) -> int:
        """Delete the folder `prefix` and the objects in it; how many objects there were."""
        if not prefix.endswith("/"):
            raise ValueError("the local store deletes whole folders: end the prefix with /")
        folder = self._path(prefix)
        if not folder.is_dir():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".tmp-"))
        shutil.rmtree(folder)
        return count

    def put_file(self, key: str, path: Path) -> None:
        """Copy the file at `path` under `key`, atomically."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        os.close(fd)
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)

    def delete(self, key: str) -> bool:
        """Delete the file of `key`; False if there was none."""
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def chunks(self, key: str) -> Iterator[bytes]:
        """The file of `key`, a chunk at a time."""
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise KeyError(key) from exc
        return _read_chunks(handle)


class S3Store:
    """Objects in one bucket of an S3 API, through boto3 (the bucket is made if missing)."""

    def __init__(self, settings: ObjectStoreSettings) -> None:
        import boto3  # only the S3 store needs it loaded

        secret = settings.s3_secret_access_key
        self.bucket = settings.s3_bucket
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            region_name=settings.s3_region,
        )
        self._bucket_checked = False

    def _ensure_bucket(self) -> None:
        if self._bucket_checked:
            return
        existing = {b["Name"] for b in self.client.list_buckets().get("Buckets", [])}
        if self.bucket not in existing:
            self.client.create_bucket(Bucket=self.bucket)
        self._bucket_checked = True

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`."""
        self._ensure_bucket()
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def get(self, key: str) -> bytes:
        """The bytes under `key`; KeyError if there are none."""
        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.NoSuchKey as exc:
            raise KeyError(key) from exc
        except self.client.exceptions.NoSuchBucket as exc:
            raise KeyError(key) from exc
        body: bytes = reply["Body"].read()
        return body

    def put_file(self, key: str, path: Path) -> None:
        """Upload the file at `path` under `key` (multipart when large)."""
        self._ensure_bucket()
        self.client.upload_file(str(path), self.bucket, key)

    def delete(self, key: str) -> bool:
        """Delete `key`; False if there was none."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchBucket"):
                return False
            raise
        self.client.delete_object(Bucket=self.bucket, Key=key)
        return True

    def chunks(self, key: str) -> Iterator[bytes]:
        """The object's body, streamed a chunk at a time."""
        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=key)
        except (self.client.exceptions.NoSuchKey, self.client.exceptions.NoSuchBucket) as exc:
            raise KeyError(key) from exc
        body = reply["Body"]
        return _stream_chunks(body)

    def describe(self, key: str) -> str:
        """The s3:// URL of `key`."""
        return f"s3://{self.bucket}/{key}"

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix` (1,000 per request); how many."""
        deleted = 0
        pages = self.client.get_paginator("list_objects_v2")
        try:
            for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if not keys:
                    continue
                reply = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True}
                )
                errors = reply.get("Errors", [])
                if errors:
                    raise OSError(
                        f"{len(errors)} objects under {prefix!r} not deleted: {errors[0]}"
                    )
                deleted += len(keys)
        except self.client.exceptions.NoSuchBucket:
            return deleted
        return deleted


def _read_chunks(handle: Any) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk


def _stream_chunks(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK_BYTES)
    finally:
        body.close()


def open_store(settings: ObjectStoreSettings) -> ObjectStore:
    """The store the settings name: S3 (boto3) or a local folder."""
    use_s3 = settings.object_store == "s3" or (
        settings.object_store == "auto" and bool(settings.s3_endpoint_url)
    )
    if use_s3:
        return S3Store(settings)
    return LocalStore(settings.object_store_dir)
