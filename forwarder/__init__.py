"""forwarder: a Kinesis Data Streams -> Amazon Timestream bridge that loses nothing.

It reads every shard of a stream (following resharding), turns the legacy Flink connector's flat
JSON records into Timestream records, writes them in batches of up to 100, sends records Timestream
rejects (and records that are not valid) to a dead-letter file, and checkpoints each shard only
after its records are written. Run ``python -m forwarder --help``.
"""

__version__ = "0.1.0"
