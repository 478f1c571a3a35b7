"""Plain-Python ingestion for the market divergence warehouse: universe, providers, schemas, loader.

Nothing in this package imports Dagster, so every piece can be used from a notebook,
a script or a test without an orchestrator.
"""
