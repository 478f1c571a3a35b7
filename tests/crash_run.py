"""`python tests/crash_run.py POINT MARKER [job]`: the real `orchestration.run`, stopped at POINT.

POINT says where the process stops and waits to be killed; when it gets there it creates
the file MARKER and sleeps, so a test can SIGKILL it at exactly that moment:

- `load:N`: inside the N-th raw load, after its rows are written and before its
  transaction commits;
- `dbt:N`: after dbt reported its N-th finished model, while `dbt build` goes on;
- `publish:N`: in the middle of writing the new serving file (its N-th comment);
- `none`: runs to the end.
"""

import sys
import time
from pathlib import Path
from typing import Any


def _stop_here(marker: Path, wait: bool = True, where: str = "") -> None:
    marker.write_text(where + "\n", encoding="utf-8")
    while wait:
        time.sleep(1)


def install(point: str, marker: Path) -> None:
    kind, _, count_text = point.partition(":")
    if kind == "none":
        return
    count = int(count_text)
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
        import ingestion.publish as publish

        comment = publish._comment

        def paused_comment(*args: Any, **kwargs: Any) -> None:
            comment(*args, **kwargs)
            if reached():
                _stop_here(marker)

        publish._comment = paused_comment
    elif kind == "dbt":
        from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

        stream = DbtCliInvocation.stream_raw_events

        def watched(self: DbtCliInvocation) -> Any:
            for event in stream(self):
                name = event.raw_event.get("info", {}).get("name")
                # dbt goes on building in its own process; the test kills both.
                if name == "LogModelResult" and reached():
                    _stop_here(marker, wait=False)
                yield event

        DbtCliInvocation.stream_raw_events = watched
    else:
        raise SystemExit(f"unknown crash point {point!r}")


if __name__ == "__main__":
    point, marker = sys.argv[1], Path(sys.argv[2])
    install(point, marker)
    from orchestration.run import main

    sys.exit(main(sys.argv[3:]))
