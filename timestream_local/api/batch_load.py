"""Batch load on the timestream-write endpoint: CreateBatchLoadTask, DescribeBatchLoadTask,
ListBatchLoadTasks and ResumeBatchLoadTask.

CreateBatchLoadTask checks everything it can before it answers, so a task that would fail at once is
refused with the field that is wrong: the parameters (domain/batch_config.py), the target table, the
source and report buckets, the data model (read from S3 when DataModelS3Configuration names it) and
AWS's quotas on the files under the source prefix. The loading is the loader thread's
(api/batch_runs.py), started with the server; a handler never waits for it. Without an S3 endpoint
every action is refused at once: batch load reads S3.
"""

from __future__ import annotations

import json
from typing import Any

from timestream_local.api.batch_runs import Loader
from timestream_local.api.params import Call, page, page_args
from timestream_local.domain.batch_config import (
    MAX_DATA_MODEL_BYTES,
    check_sources,
    parse_data_model,
    parse_request,
)
from timestream_local.domain.batch_loads import STATUSES, BatchLoadTasks
from timestream_local.domain.catalogue import Catalogue
from timestream_local.exceptions import ResourceNotFoundException, ValidationException
from timestream_local.storage.objects import ObjectStore, ObjectStoreError

NO_S3 = (
    "Batch load reads its files from S3, and this server has no S3 endpoint: start it with "
    "--s3-endpoint-url (for example the URL of moto's server, MinIO, or https://s3.<region>.amazonaws.com)."
)
_TASK_ID = "TaskId"


def _task_id(params: dict[str, Any]) -> str:
    value = params.get(_TASK_ID)
    if not isinstance(value, str) or not 3 <= len(value) <= 32 or not value.isalnum() or not value.isupper():
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at 'taskId' failed to satisfy constraint: "
            "Member must have length between 3 and 32 and match [A-Z0-9]+"
        )
    return value


class BatchLoadApi:
    """The batch load actions, and the loader thread (started with the server)."""

    def __init__(
        self, tasks: BatchLoadTasks, catalogue: Catalogue, objects: ObjectStore | None, loader: Loader | None
    ) -> None:
        self.tasks = tasks
        self.catalogue = catalogue
        self.objects = objects
        self.loader = loader
        if loader is not None:
            loader.start()  # now, as every thread of the server (server.py says why)

    def actions(self) -> dict[str, Any]:
        return {
            "CreateBatchLoadTask": self.create,
            "DescribeBatchLoadTask": self.describe,
            "ListBatchLoadTasks": self.list,
            "ResumeBatchLoadTask": self.resume,
        }

    def close(self) -> None:
        """Stop the loader (a task under way is saved as PROGRESS_STOPPED, to be resumed)."""
        if self.loader is not None:
            self.loader.stop()

    def _s3(self) -> ObjectStore:
        if self.objects is None:
            raise ValidationException(NO_S3)
        return self.objects

    def create(self, call: Call) -> dict[str, Any]:
        objects = self._s3()
        params = call.params
        token = params.get("ClientToken")
        if token is not None and (not isinstance(token, str) or not 1 <= len(token) <= 64):
            raise ValidationException("ClientToken must be a string of 1 to 64 characters.")
        request = parse_request(params)
        database, table = request["TargetDatabaseName"], request["TargetTableName"]
        try:
            self.catalogue.describe_database(database)
        except ResourceNotFoundException as error:
            raise ResourceNotFoundException(
                f"TargetDatabaseName: the database {database} does not exist."
            ) from error
        try:
            self.catalogue.describe_table(database, table)
        except ResourceNotFoundException as error:
            raise ResourceNotFoundException(
                f"TargetTableName: the table {table} does not exist in the database {database}."
            ) from error
        source = request["DataSourceConfiguration"]["DataSourceS3Configuration"]
        report = request["ReportConfiguration"]["ReportS3Configuration"]
        for field, bucket in (
            ("DataSourceConfiguration.DataSourceS3Configuration.BucketName", source["BucketName"]),
            ("ReportConfiguration.ReportS3Configuration.BucketName", report["BucketName"]),
        ):
            try:
                objects.check_bucket(bucket)
            except ObjectStoreError as error:
                raise ValidationException(f"{field}: {error}") from error
        model = self._data_model(objects, request["DataModelConfiguration"])
        prefix = source.get("ObjectKeyPrefix", "")
        try:
            listed = objects.list(source["BucketName"], prefix)
        except ObjectStoreError as error:
            raise ValidationException(
                f"DataSourceConfiguration.DataSourceS3Configuration.ObjectKeyPrefix: {error}"
            ) from error
        files = check_sources(listed, f"s3://{source['BucketName']}/{prefix}")
        return {"TaskId": self.tasks.create(request, model, files, token)}

    @staticmethod
    def _data_model(objects: ObjectStore, config: dict[str, Any]) -> dict[str, Any]:
        if "DataModel" in config:
            return parse_data_model(config["DataModel"], "DataModelConfiguration.DataModel")
        where = config["DataModelS3Configuration"]
        field = "DataModelConfiguration.DataModelS3Configuration"
        try:
            body = objects.get(where["BucketName"], where["ObjectKey"], MAX_DATA_MODEL_BYTES)
        except ObjectStoreError as error:
            raise ValidationException(f"{field}: {error}") from error
        try:
            document = json.loads(body)
        except (ValueError, RecursionError) as error:
            raise ValidationException(
                f"{field}: s3://{where['BucketName']}/{where['ObjectKey']} is not a JSON data model: {error}"
            ) from error
        if isinstance(document, dict) and isinstance(document.get("DataModel"), dict):
            document = document["DataModel"]  # the object may hold {"DataModel": {...}} or the model itself
        return parse_data_model(document, f"{field} (s3://{where['BucketName']}/{where['ObjectKey']})")

    def describe(self, call: Call) -> dict[str, Any]:
        self._s3()
        return {"BatchLoadTaskDescription": self.tasks.describe(_task_id(call.params))}

    def list(self, call: Call) -> dict[str, Any]:
        self._s3()
        params = call.params
        status = params.get("TaskStatus")
        if status is not None and status not in STATUSES:
            raise ValidationException(
                f"1 validation error detected: Value '{status}' at 'taskStatus' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(STATUSES)}]"
            )
        start, size = page_args(params, 100)
        items, token = page(self.tasks.list(status), start, size)
        body: dict[str, Any] = {"BatchLoadTasks": items}
        if token:
            body["NextToken"] = token
        return body

    def resume(self, call: Call) -> dict[str, Any]:
        self._s3()
        self.tasks.resume(_task_id(call.params))
        return {}
