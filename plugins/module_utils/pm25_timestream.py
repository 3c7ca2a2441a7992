"""Shared pieces of the project's Timestream modules (timestream_database, timestream_table,
timestream_scheduled_query).

Two jobs: turn the errors boto3 raises against Amazon Timestream or timestream_local into one
sentence a person can act on, and reconcile a resource's tags (the options ``tags`` and
``purge_tags``, with the amazon.aws collection's meaning). The modules run on the managed host,
which may have Python 3.9 (Amazon Linux 2023), so this file avoids newer syntax at run time.
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


class CallFailed(Exception):
    """An AWS call made by a helper here failed; carries the API action for the error sentence."""

    def __init__(self, action: str, error: BaseException) -> None:
        super().__init__(str(error))
        self.action = action
        self.error = error


def fail(module, exc: BaseException, action: str, what: str) -> None:
    """Stop the module with the sentence from explain(); the traceback only shows with -vvv."""
    if isinstance(exc, CallFailed):
        action, exc = exc.action, exc.error
    module.fail_json(
        msg=explain(exc, action, what, module.params.get("endpoint_url")),
        error_code=error_code(exc) or type(exc).__name__,
    )


AWS_ERRORS = (ClientError, BotoCoreError)
# What a module's main() catches and hands to fail().
ERRORS = (*AWS_ERRORS, CallFailed)


def delete(call, **request) -> None:
    """Call a Delete* API; ResourceNotFoundException counts as done. AWS documents that answer
    when the SDK retries a delete whose first attempt went through (or when another client
    deleted the resource since it was described): either way the resource is gone, as asked."""
    try:
        call(**request)
    except AWS_ERRORS as exc:
        if not is_not_found(exc):
            raise


# ---------------------------------------------------------------------------------------------- tags
# Timestream's rules (API reference: Tag, TagResource; developer guide: tagging restrictions): a key
# is 1-128 characters and does not start with "aws:" (those are AWS's own tags), a value 0-256
# characters, and a resource holds at most 50 tags.
TAG_KEY_LENGTH = (1, 128)
TAG_VALUE_LENGTH = (0, 256)
MAX_TAGS = 50
RESERVED_TAG_PREFIX = "aws:"

TAG_OPTIONS = {
    "tags": {"type": "dict", "aliases": ["resource_tags"]},
    "purge_tags": {"type": "bool", "default": True},
}


def tag_problem(tags: dict) -> str:
    """Why these tags cannot be set ('' when they can)."""
    if len(tags) > MAX_TAGS:
        return f"tags holds {len(tags)} tags; a Timestream resource holds at most {MAX_TAGS}."
    low, high = TAG_KEY_LENGTH
    for key, value in tags.items():
        if not low <= len(key) <= high:
            return f"the tag key '{key}' has {len(key)} characters; a key has {low} to {high}."
        if key.lower().startswith(RESERVED_TAG_PREFIX):
            return (
                f"the tag key '{key}' starts with '{RESERVED_TAG_PREFIX}', which AWS keeps for its own tags."
            )
        if len(value) > TAG_VALUE_LENGTH[1]:
            return (
                f"the value of the tag '{key}' has {len(value)} characters; a value has at most "
                f"{TAG_VALUE_LENGTH[1]}."
            )
    return ""


def wanted_tags(module) -> dict | None:
    """The tags option as strings (None: leave the resource's tags alone); stops the module with one
    sentence when Timestream would refuse them, so that check mode tells too."""
    tags = module.params.get("tags")
    if tags is None:
        return None
    wanted = {str(key): "" if value is None else str(value) for key, value in tags.items()}
    problem = tag_problem(wanted)
    if problem:
        module.fail_json(msg=f"Cannot use these tags: {problem}")
    return wanted


def target_tags(current: dict, wanted: dict | None, purge: bool) -> dict:
    """The tags a resource should end with. Tags not in ``wanted`` stay unless ``purge`` is set;
    AWS's own tags (aws:...) always stay."""
    if wanted is None:
        return dict(current)
    kept = {key: value for key, value in current.items() if not purge or key.startswith(RESERVED_TAG_PREFIX)}
    return {**kept, **wanted}


def tag_list(tags: dict) -> list:
    """Tags in the API's shape (a Create call's Tags, TagResource's Tags), without AWS's own tags,
    which no caller may set."""
    return [
        {"Key": key, "Value": value}
        for key, value in sorted(tags.items())
        if not key.startswith(RESERVED_TAG_PREFIX)
    ]


def read_tags(client, arn: str) -> dict:
    """ListTagsForResource as a dict."""
    try:
        answer = client.list_tags_for_resource(ResourceARN=arn)
    except AWS_ERRORS as exc:
        raise CallFailed("ListTagsForResource", exc) from exc
    return {tag["Key"]: tag.get("Value", "") for tag in answer.get("Tags", [])}


def sync_tags(client, arn: str, current: dict, target: dict, check_mode: bool) -> bool:
    """Make the resource's tags ``target`` (UntagResource first, so that replacing tags never
    passes through more than the limit); True when something changed (or would, in check mode)."""
    removed = sorted(key for key in current if key not in target)
    changed = {key: value for key, value in target.items() if current.get(key) != value}
    if check_mode or not (removed or changed):
        return bool(removed or changed)
    if removed:
        try:
            client.untag_resource(ResourceARN=arn, TagKeys=removed)
        except AWS_ERRORS as exc:
            raise CallFailed("UntagResource", exc) from exc
    if changed:
        try:
            client.tag_resource(ResourceARN=arn, Tags=tag_list(changed))
        except AWS_ERRORS as exc:
            raise CallFailed("TagResource", exc) from exc
    return True
