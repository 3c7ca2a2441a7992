"""S3 as the store reaches it: where UNLOAD writes, batch load reads and scheduled-query error
reports go, when the server is started with ``--s3-endpoint-url``.

One ``ObjectStore`` wraps one boto3 S3 client on that endpoint (any S3-compatible service, or real
S3), in the server's region, with the credentials boto3 finds in the server's environment (never the
clients' own: the server acts on its own authority, as Timestream acts with the caller's role). Every
failure becomes an ``ObjectStoreError`` whose text is one sentence naming the bucket, the key and S3's
error code, fit to hand back to a client or write in the log.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.config
import botocore.exceptions

CHUNK_BYTES = 1 << 20  # what stream() yields at a time
PART_BYTES = 8 << 20  # multipart upload part size (S3's minimum is 5 MiB, except the last part)


def encryption_args(option: str | None, kms_key: str | None = None) -> dict[str, str]:
    """S3's server-side encryption parameters for Timestream's option (SSE_S3 or SSE_KMS)."""
    if option == "SSE_KMS":
        return {"ServerSideEncryption": "aws:kms", **({"SSEKMSKeyId": kms_key} if kms_key else {})}
    if option == "SSE_S3":
        return {"ServerSideEncryption": "AES256"}
    return {}


class ObjectStoreError(Exception):
    """An S3 call failed; ``code`` is S3's error code (e.g. NoSuchBucket, AccessDenied) or a local one."""

    def __init__(self, message: str, code: str = "S3Error") -> None:
        super().__init__(message)
        self.code = code


def check_endpoint(url: str) -> str | None:
    """None if ``url`` can be an S3 endpoint, else the sentence that says what is wrong with it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"--s3-endpoint-url {url!r} is not an http:// or https:// URL with a host name."
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"--s3-endpoint-url {url!r} must be only scheme, host and port (no path or query)."
    return None


class ObjectStore:
    """Put, get, list and stream objects in S3 through one endpoint."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        self.endpoint_url = endpoint_url
        config = botocore.config.Config(
            connect_timeout=5,
            read_timeout=30,
            retries={"mode": "standard", "max_attempts": 3},
            s3={"addressing_style": "path"},  # what S3-compatible services (MinIO, moto) expect
        )
        self._client: Any = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )

    # ------------------------------------------------------------------------------------- calls
    def check_bucket(self, bucket: str) -> None:
        """Raise ObjectStoreError unless ``bucket`` exists and can be reached."""
        self._call("HeadBucket", bucket, "", lambda: self._client.head_bucket(Bucket=bucket))

    def put(
        self,
        bucket: str,
        key: str,
        body: bytes,
        content_type: str = "application/octet-stream",
        encryption: dict[str, str] | None = None,
    ) -> None:
        """Write one object; ``encryption`` is encryption_args()'s answer (S3's default without it)."""
        self._call(
            "PutObject",
            bucket,
            key,
            lambda: self._client.put_object(
                Bucket=bucket, Key=key, Body=body, ContentType=content_type, **(encryption or {})
            ),
        )

    def put_stream(
        self,
        bucket: str,
        key: str,
        chunks: Iterable[bytes],
        content_type: str = "application/octet-stream",
        encryption: dict[str, str] | None = None,
    ) -> int:
        """Write an object from chunks without holding it whole (a multipart upload once it passes
        one part); returns its size. On failure the partial upload is aborted."""
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        size = 0
        try:
            for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                while len(buffer) >= PART_BYTES:
                    if upload_id is None:
                        upload_id = self._start_upload(bucket, key, content_type, encryption)
                    parts.append(
                        self._upload_part(bucket, key, upload_id, len(parts) + 1, bytes(buffer[:PART_BYTES]))
                    )
                    del buffer[:PART_BYTES]
            if upload_id is None:
                self.put(bucket, key, bytes(buffer), content_type, encryption)
                return size
            if buffer or not parts:
                parts.append(self._upload_part(bucket, key, upload_id, len(parts) + 1, bytes(buffer)))
            self._call(
                "CompleteMultipartUpload",
                bucket,
                key,
                lambda: self._client.complete_multipart_upload(
                    Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                ),
            )
            return size
        except BaseException:
            if upload_id is not None:  # the first error is the one to report; lifecycle rules clean up
                with contextlib.suppress(botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                    self._client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise

    def size(self, bucket: str, key: str) -> int:
        head = self._call("HeadObject", bucket, key, lambda: self._client.head_object(Bucket=bucket, Key=key))
        return int(head["ContentLength"])

    def get(self, bucket: str, key: str, max_bytes: int) -> bytes:
        """The whole object, refused (code ObjectTooLarge) when it is larger than ``max_bytes``."""
        size = self.size(bucket, key)
        if size > max_bytes:
            raise ObjectStoreError(
                f"s3://{bucket}/{key} is {size} bytes, more than the {max_bytes} allowed here.",
                "ObjectTooLarge",
            )
        return b"".join(self.stream(bucket, key))

    def stream(self, bucket: str, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks of at most CHUNK_BYTES, read as they are consumed."""
        answer = self._call("GetObject", bucket, key, lambda: self._client.get_object(Bucket=bucket, Key=key))
        body = answer["Body"]
        try:
            while True:
                try:
                    chunk = body.read(CHUNK_BYTES)
                except (botocore.exceptions.BotoCoreError, OSError) as error:
                    raise ObjectStoreError(
                        f"reading s3://{bucket}/{key} from {self.endpoint_url} failed: {error}", "ReadFailed"
                    ) from error
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()

    def list(self, bucket: str, prefix: str = "") -> list[tuple[str, int]]:
        """(key, size) of every object under ``prefix``, in S3's (lexicographic) order."""
        found: list[tuple[str, int]] = []
        paginator = self._client.get_paginator("list_objects_v2")

        def every_page() -> None:
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                found.extend((item["Key"], int(item["Size"])) for item in page.get("Contents", []))

        self._call("ListObjectsV2", bucket, prefix, every_page)
        return found

    # ---------------------------------------------------------------------------------- internals
    def _start_upload(
        self, bucket: str, key: str, content_type: str, encryption: dict[str, str] | None
    ) -> str:
        answer = self._call(
            "CreateMultipartUpload",
            bucket,
            key,
            lambda: self._client.create_multipart_upload(
                Bucket=bucket, Key=key, ContentType=content_type, **(encryption or {})
            ),
        )
        return str(answer["UploadId"])

    def _upload_part(self, bucket: str, key: str, upload_id: str, number: int, body: bytes) -> dict[str, Any]:
        answer = self._call(
            "UploadPart",
            bucket,
            key,
            lambda: self._client.upload_part(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
            ),
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def _call(self, action: str, bucket: str, key: str, call: Any) -> Any:
        where = f"s3://{bucket}/{key}"
        try:
            return call()
        except botocore.exceptions.ClientError as error:
            details = error.response.get("Error", {})
            code = str(details.get("Code") or "S3Error")
            if code == "NoSuchBucket" or (code == "404" and not key):
                code, text = "NoSuchBucket", f"the bucket {bucket} does not exist"
            elif code in ("404", "NoSuchKey"):
                text = f"{where} does not exist"
                code = "NoSuchKey" if code == "404" else code
            elif code in ("403", "AccessDenied"):
                code, text = "AccessDenied", f"access to {where} was denied to the server's credentials"
            else:
                text = f"{action} on {where} failed: {details.get('Message') or code}"
            raise ObjectStoreError(f"S3 ({self.endpoint_url}): {text} ({code}).", code) from error
        except botocore.exceptions.NoCredentialsError as error:
            raise ObjectStoreError(
                f"S3 ({self.endpoint_url}): the server has no AWS credentials to call {action} on {where}; "
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a profile) in its environment.",
                "NoCredentials",
            ) from error
        except (botocore.exceptions.BotoCoreError, OSError) as error:
            raise ObjectStoreError(
                f"S3 ({self.endpoint_url}): {action} on {where} failed: {error}.", "Unreachable"
            ) from error
