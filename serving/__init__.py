"""What readers get: the published serving file and Parquet, the `warehouse` CLI, the report.

Nothing here imports Dagster or the orchestration package: publication is a plain function
the orchestration calls, and the CLI and the report only read what was published.
"""
