"""Destinations for readings: Kinesis Data Streams, Timestream (direct) and stdout."""

from simulator.sinks.base import RetryPolicy, Sink, SinkStats
from simulator.sinks.kinesis import KinesisSink
from simulator.sinks.stdout import OutputClosed, StdoutSink
from simulator.sinks.timestream import TimestreamSink

__all__ = ["KinesisSink", "OutputClosed", "RetryPolicy", "Sink", "SinkStats", "StdoutSink", "TimestreamSink"]
