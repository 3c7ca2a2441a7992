"""Shared pieces of the project's Timestream modules (timestream_database, timestream_table).

One job: turn the errors boto3 raises against Amazon Timestream or timestream_local into one
sentence a person can act on. The modules run on the managed host, which may have Python 3.9
(Amazon Linux 2023), so this file avoids newer syntax at run time.
"""

from __future__ import annotations

try:
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )
except ImportError:  # AnsibleAWSModule reports the missing SDK itself
    BotoCoreError = ClientError = EndpointConnectionError = NoCredentialsError = NoRegionError = Exception

LIVEANALYTICS_CLOSED = (
    "Amazon Timestream for LiveAnalytics stopped accepting new customers on 2025-06-20, so an account "
    "that never used it gets AccessDeniedException whatever its IAM policies say. Set "
    "timestream_backend: local to run the project's timestream_local store instead "
    "(or use credentials allowed to call {action})."
)

NOT_FOUND_CODES = ("ResourceNotFoundException",)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError ('' for anything else)."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(exc)


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and error_code(exc) in NOT_FOUND_CODES


CODE_SENTENCES = {
    "AccessDeniedException": "Timestream{where} denied {action} ({message}). " + LIVEANALYTICS_CLOSED,
    "UnrecognizedClientException": "Timestream{where} rejected the credentials ({code}: {message}).",
    "InvalidSignatureException": "Timestream{where} rejected the credentials ({code}: {message}).",
    "ValidationException": "Timestream{where} says the request is invalid: {message}",
    "ServiceQuotaExceededException": "a Timestream quota is exhausted: {message}",
}


def explain(exc: BaseException, action: str, what: str, endpoint_url: str | None = None) -> str:
    """One sentence saying what failed, why, and what to do about it."""
    where = f" at {endpoint_url}" if endpoint_url else ""
    if isinstance(exc, NoCredentialsError):
        reason = (
            "no AWS credentials were found; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "or pass access_key and secret_key."
        )
    elif isinstance(exc, NoRegionError):
        reason = "no AWS region is set; pass region or set AWS_DEFAULT_REGION."
    elif isinstance(exc, EndpointConnectionError):
        hint = " Is timestream_local running there?" if endpoint_url else ""
        reason = f"the Timestream endpoint{where} does not answer ({exc}).{hint}"
    else:
        code = error_code(exc)
        template = CODE_SENTENCES.get(code, "{code} from Timestream{where}: {message}" if code else "{exc}")
        reason = template.format(where=where, action=action, message=error_message(exc), code=code, exc=exc)
    return f"Cannot {what}: {reason}"


def fail(module, exc: BaseException, action: str, what: str) -> None:
    """Stop the module with the sentence from explain(); the traceback only shows with -vvv."""
    module.fail_json(
        msg=explain(exc, action, what, module.params.get("endpoint_url")),
        error_code=error_code(exc) or type(exc).__name__,
    )


AWS_ERRORS = (ClientError, BotoCoreError)


def delete(call, **request) -> None:
    """Call a Delete* API; ResourceNotFoundException counts as done. AWS documents that answer
    when the SDK retries a delete whose first attempt went through (or when another client
    deleted the resource since it was described): either way the resource is gone, as asked."""
    try:
        call(**request)
    except AWS_ERRORS as exc:
        if not is_not_found(exc):
            raise
