"""`python -m bench.soak_reader SERVING LOG STOP`: an analyst querying the serving file
until STOP exists, one line per query in LOG.

Each query opens the file read-only, as a BI tool's refresh does, and reads a mart and
the publication it belongs to. A line is `<monotonic seconds> ok <rows> <data_through>`
or `<monotonic seconds> error <message>`; CLOCK_MONOTONIC is shared by the processes of
one machine, so the soak can tell which nightly each query overlapped.
"""

import sys
import time
from pathlib import Path

import duckdb

PAUSE_SECONDS = 0.1  # an eager dashboard, not a load test: leave the cores to the pipeline

QUERY = (
    "select (select count(*) from marts.divergence_daily), "
    "(select data_through from meta.publication)"
)


def query_once(serving: Path) -> str:
    try:
        with duckdb.connect(str(serving), read_only=True) as con:
            rows, through = con.execute(QUERY).fetchone()
        return f"ok {rows} {through}"
    except Exception as exc:  # every failure a reader could meet is what is counted
        text = " ".join(str(exc).split())
        return f"error {type(exc).__name__}: {text}"


def main(argv: list[str]) -> int:
    serving, log, stop = (Path(arg) for arg in argv)
    with log.open("w", encoding="utf-8", buffering=1) as out:
        while not stop.exists():
            out.write(f"{time.monotonic():.3f} {query_once(serving)}\n")
            time.sleep(PAUSE_SECONDS)
        # one query after the pipeline said it is done: the last publication is read too
        out.write(f"{time.monotonic():.3f} {query_once(serving)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
