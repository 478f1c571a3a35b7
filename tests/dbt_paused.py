"""`python tests/dbt_paused.py MODEL MARKER [dbt arguments]`: the dbt CLI, stopped in a model.

It runs dbt in this process, exactly as the `dbt` executable would, except that when
MODEL's build has written its rows and its row of `meta.incremental_state` (the statement
of `record_incremental_state` or `record_runs_state`) but not yet committed, it creates
the file MARKER and waits to be killed. A test can then kill the run at a point inside a
model's transaction that the run itself announced, instead of guessing it with a clock.
"""

import sys
import time
from pathlib import Path
from typing import Any


def _records_state(sql: str, model: str) -> bool:
    return (
        "meta.incremental_state" in sql
        and "built_at = cast(now() as timestamp)" in sql
        and f"model_name = '{model}'" in sql
    )


def install(model: str, marker: Path) -> None:
    from dbt.adapters.duckdb.environments.local import DuckDBCursorWrapper

    execute = DuckDBCursorWrapper.execute

    def paused_execute(self: DuckDBCursorWrapper, sql: str, bindings: Any = None) -> Any:
        result = execute(self, sql, bindings)
        if _records_state(sql, model):
            marker.write_text(f"{model}\n", encoding="utf-8")
            while True:
                time.sleep(1)
        return result

    DuckDBCursorWrapper.execute = paused_execute


if __name__ == "__main__":
    install(sys.argv[1], Path(sys.argv[2]))
    from dbt.cli.main import cli

    sys.argv = ["dbt", *sys.argv[3:]]
    sys.exit(cli())
