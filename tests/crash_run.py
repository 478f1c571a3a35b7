"""`python tests/crash_run.py POINT MARKER [job]`: the real `orchestration.run`, stopped at POINT.

POINT says where the process stops and waits to be killed; when it gets there it creates
the file MARKER and sleeps, so a test can SIGKILL it at exactly that moment:

- `load:N`: inside the N-th raw load, after its rows are written and before its
  transaction commits;
- `dbt:MODEL`: inside MODEL's build, its rows and its `meta.incremental_state` row written
  and not yet committed (dbt itself stops there: see tests/dbt_paused.py);
- `publish:N`: in the middle of writing the new serving file (its N-th comment);
- `none`: runs to the end.
"""

import os
import sys
import time
from pathlib import Path
from typing import Any

DBT_PAUSED = Path(__file__).with_name("dbt_paused.py")


def _stop_here(marker: Path, where: str = "") -> None:
    marker.write_text(where + "\n", encoding="utf-8")
    while True:
        time.sleep(1)


def install(point: str, marker: Path) -> None:
    kind, _, argument = point.partition(":")
    if kind == "none":
        return
    if kind in ("dbt", "publish"):
        # The stops below are set in this process: the build run has to run here, not in a
        # fork of the warm dbt process (orchestration.warm_dbt).
        os.environ["WARM_DBT"] = "0"
    if kind == "dbt":
        _pause_dbt_in(argument, marker)
        return
    count = int(argument)
    calls = {"n": 0}

    def reached() -> bool:
        calls["n"] += 1
        return calls["n"] == count

    if kind == "load":
        import ingestion.loader as loader

        upsert = loader.upsert

        def paused_upsert(*args: Any, **kwargs: Any) -> Any:
            result = upsert(*args, **kwargs)
            if reached():
                table, dataset, frame = args[1], args[2], args[3]
                _stop_here(marker, where=f"{table} {frame[dataset.keys[0]].iloc[0]}")
            return result

        loader.upsert = paused_upsert
    elif kind == "publish":
        import serving.publish as publish

        comment = publish._comment

        def paused_comment(*args: Any, **kwargs: Any) -> None:
            comment(*args, **kwargs)
            if reached():
                _stop_here(marker)

        publish._comment = paused_comment
    else:
        raise SystemExit(f"unknown crash point {point!r}")


def _pause_dbt_in(model: str, marker: Path) -> None:
    """Run dbt through tests/dbt_paused.py, which stops inside `model`'s transaction."""
    import orchestration.dbt_resource as dbt_resource

    wrapper = marker.with_name(f"dbt-paused-in-{model}")
    wrapper.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{DBT_PAUSED}" "{model}" "{marker}" "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    dbt_resource.dbt_executable = lambda: str(wrapper)


if __name__ == "__main__":
    point, marker = sys.argv[1], Path(sys.argv[2])
    install(point, marker)
    from orchestration.run import main

    sys.exit(main(sys.argv[3:]))
