"""AWS Signature Version 4 verification for requests to this server (header-signed POSTs).

The server recomputes the signature from the request and its own copy of the secret key and
compares. Beyond a matching signature, a request must be signed for what it is:

* the credential scope names service ``timestream`` (what boto3's timestream-write and
  timestream-query clients sign with) and the server's own region (``--region``), so a signature
  made for another service or region is not accepted here;
* the signed headers include ``host``, ``x-amz-date`` and ``x-amz-target`` (the operation: a
  signature without it could be replayed as another operation);
* the body is covered: the canonical request always carries the hash of the body as received, so
  ``UNSIGNED-PAYLOAD`` (or any other ``x-amz-content-sha256`` that is not the body's hash) is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Mapping
from urllib.parse import quote, unquote

from timestream_local.exceptions import AccessDeniedException

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "timestream"  # the signing name of both Timestream APIs (botocore's service models)
REQUIRED_SIGNED_HEADERS = ("host", "x-amz-date", "x-amz-target")
MAX_SKEW = dt.timedelta(minutes=15)
_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<signature>[0-9a-fA-F]+)\s*$"
)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def _canonical_query(query: str) -> str:
    if not query:
        return ""
    pairs = []
    for part in query.split("&"):
        name, _, value = part.partition("=")
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def _canonical_path(path: str) -> str:
    return quote(path or "/", safe="/-_.~%")


def _canonical_headers(signed: list[str], headers: Mapping[str, str]) -> str:
    """The canonical headers block; the signed headers must include the required ones."""
    unsigned = [name for name in REQUIRED_SIGNED_HEADERS if name not in signed]
    if unsigned:
        raise AccessDeniedException(
            f"The signature must cover the {', '.join(REQUIRED_SIGNED_HEADERS)} headers; "
            f"SignedHeaders lacks {', '.join(unsigned)}."
        )
    lines = []
    for name in signed:
        if name not in headers:
            raise AccessDeniedException(f"The signed header {name} is missing from the request.")
        lines.append(f"{name}:{' '.join(headers[name].split())}\n")
    return "".join(lines)


def _payload_hash(headers: Mapping[str, str], body: bytes) -> str:
    """The hash of the body as received: what the signature must cover, whatever a header claims."""
    payload_hash = hashlib.sha256(body).hexdigest()
    declared = headers.get("x-amz-content-sha256")
    if declared is not None and declared != payload_hash:
        if declared.startswith(("UNSIGNED-PAYLOAD", "STREAMING-")):
            raise AccessDeniedException(
                f"x-amz-content-sha256 {declared[:40]} is not accepted: the signature must cover "
                "the request body (sign with its SHA-256 hash)."
            )
        raise AccessDeniedException("The request body does not match its x-amz-content-sha256 header.")
    return payload_hash


class SigV4Verifier:
    def __init__(self, access_key: str, secret_key: str, region: str = "us-east-1") -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region

    def _check_scope(self, service: str, region: str) -> None:
        if service != SERVICE:
            raise AccessDeniedException(
                f"Credential should be scoped to correct service: '{SERVICE}', not '{service}'."
            )
        if region != self.region:
            raise AccessDeniedException(
                f"Credential should be scoped to a valid region, not '{region}' "
                f"(this server's region is '{self.region}')."
            )

    def verify(
        self,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        now: dt.datetime | None = None,
    ) -> None:
        """Raise AccessDeniedException unless the request is signed with our key pair, for this
        service and region, over its host, date, operation and body."""
        lower = {k.lower(): v for k, v in headers.items()}
        authorization = lower.get("authorization")
        if not authorization:
            raise AccessDeniedException(
                "Missing Authentication Token: the request is not signed (no Authorization header)."
            )
        match = _AUTH.match(authorization.strip())
        if not match:
            raise AccessDeniedException("The Authorization header is not a valid AWS4-HMAC-SHA256 signature.")
        scope_parts = match["credential"].split("/")
        if len(scope_parts) != 5 or scope_parts[4] != "aws4_request":
            raise AccessDeniedException("The credential scope in the Authorization header is malformed.")
        access_key, date, region, service, _ = scope_parts
        if not hmac.compare_digest(access_key, self.access_key):
            raise AccessDeniedException("The security token included in the request is invalid.")
        amz_date = lower.get("x-amz-date", "")
        try:
            signed_at = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        except ValueError as error:
            raise AccessDeniedException("The request has no valid X-Amz-Date header.") from error
        if amz_date[:8] != date:
            raise AccessDeniedException("The credential scope date does not match X-Amz-Date.")
        self._check_scope(service, region)
        current = now or dt.datetime.now(dt.UTC)
        if abs(current - signed_at) > MAX_SKEW:
            raise AccessDeniedException(
                f"Signature expired: {amz_date} is more than 15 minutes away from the server time "
                f"{current:%Y%m%dT%H%M%SZ}."
            )
        signed_headers = match["signed"].lower().split(";")
        canonical_request = "\n".join(
            [
                method,
                _canonical_path(path),
                _canonical_query(query),
                _canonical_headers(signed_headers, lower),
                ";".join(signed_headers),
                _payload_hash(lower, body),
            ]
        )
        scope = f"{date}/{region}/{service}/aws4_request"
        string_to_sign = "\n".join(
            [ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()]
        )
        expected = hmac.new(
            signing_key(self.secret_key, date, region, service),
            string_to_sign.encode("utf-8"),
            hashlib.sha256,
        ).hexdigest()
        if not hmac.compare_digest(expected, match["signature"].lower()):
            raise AccessDeniedException(
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method."
            )
