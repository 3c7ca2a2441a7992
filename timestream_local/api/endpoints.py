"""DescribeEndpoints, which the Write and the Query API both have: this server is the one endpoint.

The SDKs call it first when endpoint discovery is on and then send every request to the address
it names, so it answers the address the server is bound to, with its scheme: AWS answers a bare host
name, which SDKs reach over https://, but this server speaks plain HTTP. botocore (boto3, the AWS
CLI) uses an address that starts with "http" as it is, so a client configured only through
AWS_ENDPOINT_URL (endpoint discovery stays on) works; a client that puts https:// in front anyway
is refused at once (http1.TlsOnPlainPort) instead of waiting for a timeout.
"""

from __future__ import annotations

from typing import Any

from timestream_local.api.params import Call


class Endpoints:
    def __init__(self, address: str) -> None:
        self.address = address

    def actions(self) -> dict[str, Any]:
        return {"DescribeEndpoints": self.describe_endpoints}

    def describe_endpoints(self, _call: Call) -> dict[str, Any]:
        return {"Endpoints": [{"Address": f"http://{self.address}", "CachePeriodInMinutes": 1440}]}
