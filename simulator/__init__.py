"""Simulated PM2.5 sensor fleet: realistic readings for the catalogue's stations, sent to
Kinesis Data Streams, Timestream or stdout. Run ``python -m simulator --help``."""

from simulator.model import FleetModel, ModelParams
from simulator.records import Reading, partition_key, record_dict, record_json

__all__ = ["FleetModel", "ModelParams", "Reading", "partition_key", "record_dict", "record_json"]
