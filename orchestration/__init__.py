"""The Dagster code location of the market divergence warehouse."""
