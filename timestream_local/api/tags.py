"""TagResource, UntagResource and ListTagsForResource, as both APIs have them (the Write API for
databases and tables, the Query API for scheduled queries; on this server one handler answers both,
as the actions share their names). The rules and the ARNs they accept are domain/tags.py's.
"""

from __future__ import annotations

from typing import Any

from timestream_local.api.params import Call, page, page_args, string
from timestream_local.domain.tags import MAX_TAGS_PER_REQUEST, TagStore, parse_tag_keys, parse_tags, to_api


class TagsApi:
    """The three tag actions on one store's tags."""

    def __init__(self, tags: TagStore) -> None:
        self.tags = tags

    def actions(self) -> dict[str, Any]:
        return {
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags_for_resource,
        }

    def tag_resource(self, call: Call) -> dict[str, Any]:
        params = call.params
        arn = string(params, "ResourceARN")
        self.tags.tag_resource(arn, parse_tags(params.get("Tags")))
        return {}

    def untag_resource(self, call: Call) -> dict[str, Any]:
        params = call.params
        arn = string(params, "ResourceARN")
        self.tags.untag_resource(arn, parse_tag_keys(params.get("TagKeys")))
        return {}

    def list_tags_for_resource(self, call: Call) -> dict[str, Any]:
        """Every tag (the Write API's form); the Query API's MaxResults and NextToken page them."""
        params = call.params
        arn = string(params, "ResourceARN")
        start, size = page_args(params, MAX_TAGS_PER_REQUEST)
        items, token = page(to_api(self.tags.list_tags(arn)), start, size)
        body: dict[str, Any] = {"Tags": items}
        if token:
            body["NextToken"] = token
        return body
