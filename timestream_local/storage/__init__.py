"""Storage: where rows and descriptions are kept (see ../README.md for the map).

The DuckDB database and its lockdown, the memory tier, the magnetic tier's Parquet files, the write
log and the flusher that commits it. Nothing here knows Timestream's rules or the APIs: modules in
this package import only each other and the shared modules (exceptions, models, catalog).
"""
