"""The lean WriteRecords client of bench/timestream_ingest.py as a reusable writer: one keep-alive
HTTP connection, bodies encoded with msgspec and signed with botocore's SigV4 signer."""

from __future__ import annotations

import http.client
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

import msgspec
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.services import LOCAL_CREDENTIALS

BATCH = 100  # WriteRecords' limit
COMMON = {"MeasureName": "pm2.5", "MeasureValueType": "BIGINT", "TimeUnit": "MILLISECONDS"}


def reading(city: str, location: str, value: int, time_ms: int) -> dict:
    """One record as the forwarder sends it (the measure's name and type in CommonAttributes)."""
    return {
        "Dimensions": [{"Name": "city", "Value": city}, {"Name": "location", "Value": location}],
        "MeasureValue": str(value),
        "Time": str(time_ms),
    }


def batched(records: Iterable[dict], size: int = BATCH) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class LeanWriter:
    """WriteRecords calls on one keep-alive connection; a refused call raises SystemExit with the answer."""

    def __init__(self, url: str, database: str = "iot", table: str = "pm25") -> None:
        self._url = url
        parts = urlsplit(url)
        self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self._signer = SigV4Auth(
            Credentials(LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"], LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]),
            "timestream",
            "us-east-1",
        )
        self._database, self._table = database, table

    def write(self, records: list[dict]) -> None:
        body = msgspec.json.encode(
            {
                "DatabaseName": self._database,
                "TableName": self._table,
                "CommonAttributes": COMMON,
                "Records": records,
            }
        )
        request = AWSRequest(
            method="POST",
            url=self._url + "/",
            data=body,
            headers={
                "X-Amz-Target": "Timestream_20181101.WriteRecords",
                "Content-Type": "application/x-amz-json-1.0",
            },
        )
        self._signer.add_auth(request)
        self._connection.request("POST", "/", body=body, headers=dict(request.headers.items()))
        response = self._connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise SystemExit(f"WriteRecords failed: {response.status} {payload[:300]!r}")

    def write_all(self, records: Iterable[dict]) -> int:
        sent = 0
        for batch in batched(records):
            self.write(batch)
            sent += len(batch)
        return sent

    def close(self) -> None:
        self._connection.close()
