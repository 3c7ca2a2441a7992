"""timestream_local: a store that speaks Amazon Timestream's Write and Query APIs on one machine.

Start it with `python -m timestream_local serve --host 127.0.0.1 --port 8600 --data-dir DIR` and point
boto3 (`endpoint_url=`), the AWS CLI (`--endpoint-url`) or Grafana's Timestream plugin (`endpoint`) at
it. Rows live in DuckDB (memory tier) and Parquet files (magnetic tier). README.md in this folder is
the map: which module owns what, and how a WriteRecords call and a Query travel through them.
"""

__version__ = "0.1.0"
