"""AWS Signature Version 4 verification for requests to this server (header-signed POSTs).

The server recomputes the signature from the request and its own copy of the secret key, for the
date, region and service named in the request's credential scope, and compares.
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


class SigV4Verifier:
    def __init__(self, access_key: str, secret_key: str) -> None:
        self.access_key = access_key
        self.secret_key = secret_key

    def verify(
        self,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        now: dt.datetime | None = None,
    ) -> None:
        """Raise AccessDeniedException unless the request is signed with our key pair."""
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
        current = now or dt.datetime.now(dt.UTC)
        if abs(current - signed_at) > MAX_SKEW:
            raise AccessDeniedException(
                f"Signature expired: {amz_date} is more than 15 minutes away from the server time "
                f"{current:%Y%m%dT%H%M%SZ}."
            )
        signed_headers = match["signed"].lower().split(";")
        if "host" not in signed_headers:
            raise AccessDeniedException("The signature must cover the host header.")
        canonical_headers = ""
        for name in signed_headers:
            if name not in lower:
                raise AccessDeniedException(f"The signed header {name} is missing from the request.")
            canonical_headers += f"{name}:{' '.join(lower[name].split())}\n"
        payload_hash = lower.get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest()
        if payload_hash != "UNSIGNED-PAYLOAD" and payload_hash != hashlib.sha256(body).hexdigest():
            raise AccessDeniedException("The request body does not match its x-amz-content-sha256 header.")
        canonical_request = "\n".join(
            [
                method,
                _canonical_path(path),
                _canonical_query(query),
                canonical_headers,
                ";".join(signed_headers),
                payload_hash,
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
