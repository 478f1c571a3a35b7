"""Names of what a publication leaves in the serving folder, shared by its readers."""

from pathlib import Path

# Not marts.duckdb: DuckDB names the catalog after the file, and a catalog "marts" would
# make every "marts.<table>" reference ambiguous for readers.
SERVING_FILE = "serving.duckdb"
PARQUET_DIR = "parquet"
REPORT_DIR = "report"
REPORT_FILE = "index.html"


def serving_file(serving_dir: Path) -> Path:
    """The published DuckDB file inside `serving_dir`."""
    return serving_dir / SERVING_FILE
