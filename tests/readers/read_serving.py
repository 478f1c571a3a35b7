"""Run by an older DuckDB (and pyarrow) in .venv-readers: print what a BI tool would see.

Prints one JSON document: the engine's version, every mart's row count and a few values,
the table and column comments, meta.publication, and each Parquet file's key-value
metadata as pyarrow reads it.
"""

import json
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq


def main(serving_file: str) -> None:
    con = duckdb.connect(serving_file, read_only=True)
    marts = [
        row[0]
        for row in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
        ).fetchall()
    ]
    found = {"duckdb": duckdb.__version__, "marts": {}, "parquet": {}}
    for mart in marts:
        (count,) = con.execute(f"select count(*) from marts.{mart}").fetchone()
        first = con.execute(f"select * from marts.{mart} order by all limit 1").fetchone()
        (comment,) = con.execute(
            "select comment from duckdb_tables() where schema_name = 'marts' and table_name = ?",
            [mart],
        ).fetchone()
        columns = con.execute(
            "select column_name, comment from duckdb_columns() where schema_name = 'marts' "
            "and table_name = ? order by column_index",
            [mart],
        ).fetchall()
        found["marts"][mart] = {
            "rows": count,
            "first_row": [str(value) for value in first],
            "comment": comment,
            "columns": dict(columns),
        }
        parquet = Path(serving_file).parent / "parquet" / f"{mart}.parquet"
        metadata = pq.read_schema(parquet).metadata or {}
        found["parquet"][mart] = {
            "rows": pq.read_metadata(parquet).num_rows,
            "metadata": {k.decode(): v.decode() for k, v in metadata.items()},
        }
    found["publication"] = [
        str(value) for value in con.execute("select * from meta.publication").fetchone()
    ]
    print(json.dumps(found))


if __name__ == "__main__":
    main(sys.argv[1])
