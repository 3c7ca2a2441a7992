"""Looking after the local pipeline: supervision with restarts, `make status`, the run lock."""
