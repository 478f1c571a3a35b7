"""Table-by-table equality of two warehouses, exact except for the last bits of floats.

Integers, text, dates and booleans must be equal. Floating values must agree to 1e-12
relative: DuckDB sums and multiplies within a group or window in an order that depends
on how the rows reached the operator (a partition's length, an incremental build's
smaller input), so two correct builds of the same data can differ in the last bits.
"""

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

# columns holding the time of the build that wrote the row
BUILD_STAMPS = ("recomputed_at",)


def table_contents(warehouse: Path, where: str) -> dict[str, pd.DataFrame]:
    """Every table of the schemas `where` selects, sorted on all its columns."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            f"select schema_name, table_name from duckdb_tables() {where} order by 1, 2"
        ).fetchall()
        frames = {}
        for schema, table in tables:
            frame = con.execute(f"select * from {schema}.{table}").df()
            # when a row was written differs between the builds by design
            frame = frame.drop(columns=[c for c in BUILD_STAMPS if c in frame.columns])
            exact = [c for c in frame.columns if not pd.api.types.is_float_dtype(frame[c])]
            frames[f"{schema}.{table}"] = frame.sort_values(
                exact + [c for c in frame.columns if c not in exact]
            ).reset_index(drop=True)
        return frames


def assert_same_contents(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    assert sorted(left) == sorted(right)
    for table, frame in left.items():
        other = right[table]
        assert list(frame.columns) == list(other.columns), table
        assert len(frame) == len(other), table
        for column in frame.columns:
            if pd.api.types.is_float_dtype(frame[column]):
                assert np.allclose(
                    frame[column].to_numpy(float),
                    other[column].to_numpy(float),
                    rtol=1e-12,
                    atol=1e-15,
                    equal_nan=True,
                ), f"{table}.{column}"
            else:
                assert frame[column].equals(other[column]), f"{table}.{column}"
