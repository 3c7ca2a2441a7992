"""The domain: Timestream's rules applied to the store (see ../README.md for the map).

The catalogue of databases and tables, the WriteRecords rules (records, ingestion window, schema,
versions) and the streaming fast path. Modules here use storage/ below them and never the API
handlers or the HTTP front above them.
"""
