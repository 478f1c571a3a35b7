"""Benchmark of the warehouse at scale: ingest, dbt builds, the nightly increment and
the baselines they race against (the mart SQL run directly in DuckDB, and pandas)."""
