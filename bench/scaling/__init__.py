"""Parts of the fleet-scale bench (bench/fleet_scale.py): the synthetic national network, the history
built into a data directory, the live pipeline with its freshness probe, and the figures."""
